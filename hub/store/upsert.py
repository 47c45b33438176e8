"""INSERT ... ON CONFLICT for the two backends we run on (SQLite and PostgreSQL).

Conflicts are settled by the database itself, so two writers racing on one key are safe
without locks or catching errors (an IntegrityError would abort a PostgreSQL transaction).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table):
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
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing().returning(*key)
    return conn.execute(stmt).first() is not None


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str],
           update: Mapping[str, Any]) -> None:
    """Insert one row, or update `update` on the existing row with the same `keys`."""
    stmt = _insert(conn, table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(update)))


def upsert_newer(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str], *,
                 by: str = "seq") -> bool:
    """Insert one row, or replace the row with the same `keys` when its `by` column is lower than
    the new row's: a late, older update never overwrites a newer one. True when a row was written."""
    column = table.c[by]
    update = {name: value for name, value in values.items() if name not in keys}
    # The WHERE is checked against the row as it is when the conflict locks it (PostgreSQL
    # re-reads it under READ COMMITTED), so two writers racing on one key still keep the newer.
    stmt = _insert(conn, table).values(**values).on_conflict_do_update(
        index_elements=list(keys), set_=update, where=column < values[by]).returning(column)
    return conn.execute(stmt).first() is not None
