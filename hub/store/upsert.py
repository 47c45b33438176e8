"""INSERT ... ON CONFLICT for the two backends we run on (SQLite and PostgreSQL).

Conflicts are settled by the database itself, so two writers racing on one key are safe
without locks or catching errors (an IntegrityError would abort a PostgreSQL transaction).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def dialect_insert(conn: Connection, table: Table):
    """INSERT with ON CONFLICT clauses, for the connection's database."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {name!r}")


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert one row unless its primary key exists; True when the row was inserted."""
    # RETURNING, not rowcount: psycopg 3 under SQLAlchemy 2.1 reports rowcount -1 here.
    key = list(table.primary_key.columns)
    stmt = dialect_insert(conn, table).values(**values).on_conflict_do_nothing().returning(*key)
    return conn.execute(stmt).first() is not None


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str],
           update: Mapping[str, Any]) -> None:
    """Insert one row, or update `update` on the existing row with the same `keys`."""
    stmt = dialect_insert(conn, table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(update)))


def upsert_newer(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str], *,
                 by: str = "seq") -> bool:
    """Insert one row, or replace the row with the same `keys` when its `by` column is lower than
    the new row's: a late, older update never overwrites a newer one. True when a row was written."""
    column = table.c[by]
    update = {name: value for name, value in values.items() if name not in keys}
    # The WHERE is checked against the row as it is when the conflict locks it (PostgreSQL
    # re-reads it under READ COMMITTED), so two writers racing on one key still keep the newer.
    stmt = dialect_insert(conn, table).values(**values).on_conflict_do_update(
        index_elements=list(keys), set_=update, where=column < values[by]).returning(column)
    return conn.execute(stmt).first() is not None


def upsert_newer_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], *,
                      by: str = "seq") -> set[tuple[Any, ...]]:
    """upsert_newer for many rows in ONE statement (distinct keys: PostgreSQL refuses to update a
    row twice in a statement); the (keys..., by) of the rows written."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":  # one short statement, not one compiled for each row count
        kept = ", ".join(f"{name} = EXCLUDED.{name}" for name in rows[0] if name not in keys)
        conflict = (f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {kept}"
                    f" WHERE {table.name}.{by} < EXCLUDED.{by}")
        return set(insert_unnest(conn, table, rows, conflict=conflict, returning=", ".join([*keys, by])))
    stmt = dialect_insert(conn, table).values(list(rows))
    update = {name: stmt.excluded[name] for name in rows[0] if name not in keys}
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=update, where=table.c[by] < stmt.excluded[by])
    returned = conn.execute(stmt.returning(*(table.c[k] for k in keys), table.c[by]))
    return {tuple(row) for row in returned}


def insert_many_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> set[Any]:
    """Insert many rows of a one-column-key table, skipping keys that exist; the keys inserted.
    SQLAlchemy sends them as multi-row INSERTs ("insertmanyvalues"), not one statement a row."""
    if not rows:
        return set()
    (key,) = table.primary_key.columns
    if conn.dialect.name == "postgresql":
        return {row[0] for row in insert_unnest(conn, table, rows, ignore_conflicts=True, returning=key.name)}
    stmt = dialect_insert(conn, table).on_conflict_do_nothing().returning(key)
    return {row[0] for row in conn.execute(stmt, list(rows))}


def insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows (no conflicts expected)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        insert_unnest(conn, table, rows)
    else:
        conn.execute(table.insert(), list(rows))


def insert_unnest(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *,
                  ignore_conflicts: bool = False, conflict: str = "", returning: str | None = None) -> list[Any]:
    """PostgreSQL: INSERT ... SELECT FROM unnest(one array per column): one short statement for any
    number of rows, where a multi-row VALUES costs the driver a long query to parse each time.
    Values go to the driver as they are (the hub's column types need no conversion on PostgreSQL)."""
    columns = list(rows[0])
    casts = ", ".join(f"%b::{table.c[c].type.compile(dialect=conn.dialect)}[]" for c in columns)
    sql = (f'INSERT INTO {table.name} ({", ".join(columns)}) SELECT * FROM unnest({casts})'
           f'{" ON CONFLICT DO NOTHING" if ignore_conflicts else conflict}'
           f'{f" RETURNING {returning}" if returning else ""}')
    # binary parameters (%b): text arrays in text form are escaped element by element, slowly
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(sql, tuple([row[c] for row in rows] for c in columns))
        return cursor.fetchall() if returning else []


def upsert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str],
                update: Sequence[str]) -> None:
    """upsert for many rows at once; `update` names the columns an existing row takes from the new one.
    Rows must not repeat a key (PostgreSQL refuses to update one row twice in a statement)."""
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in update})
    conn.execute(stmt, list(rows))
