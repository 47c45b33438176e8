"""Restaurant tables and their QR tokens.

A token is 128 random bits (base64url): it cannot be guessed from another table's token, nor
enumerated. Rotating it makes the old QR code stop working.

Staff create, rename, group (by area), rotate and remove tables from the dashboard. A removed
table that has past orders keeps its row, renamed and with a dead token, because orders refer to
it; one that never had an order is deleted. Either way its name is remembered, so the configured
tables created on start-up (ensure_tables) do not bring it back.
"""

import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from contract.ids import uuid7

NAME_LENGTH = 40
AREA_LENGTH = 40
_REMOVED = "tables_removed"  # settings key: names staff removed


@dataclass(frozen=True)
class Table:
    id: str
    name: str
    token: str
    area: str = ""

    def public(self) -> dict:
        return {"id": self.id, "name": self.name, "token": self.token, "area": self.area}


class TableError(ValueError):
    """A refused change to the tables: status, code and a message for the person."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def new_token() -> str:
    return secrets.token_urlsafe(16)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _removed_names(db: sqlite_utils.Database) -> list[str]:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [_REMOVED]).fetchone()
    return json.loads(row[0]) if row else []


def _set_removed_names(db: sqlite_utils.Database, names: list[str]) -> None:
    db.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
               [_REMOVED, json.dumps(sorted(set(names)))])


def ensure_tables(db: sqlite_utils.Database, names: list[str]) -> None:
    """Create the configured tables that do not exist yet (first start), unless staff removed them."""
    existing = {row[0] for row in db.execute("SELECT name FROM tables")} | set(_removed_names(db))
    now = _now()
    for name in names:
        if name not in existing:
            db.execute("INSERT INTO tables (id, name, token, created_at) VALUES (?, ?, ?, ?)",
                       [uuid7(), name, new_token(), now])


_COLUMNS = "id, name, token, area"


def by_token(db: sqlite_utils.Database, token: str) -> Table | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM tables WHERE token = ? AND retired_at IS NULL", [token]).fetchone()
    return Table(*row) if row else None


def by_id(db: sqlite_utils.Database, table_id: str) -> Table | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM tables WHERE id = ? AND retired_at IS NULL", [table_id]).fetchone()
    return Table(*row) if row else None


def all_tables(db: sqlite_utils.Database) -> list[Table]:
    return [Table(*row) for row in db.execute(
        f"SELECT {_COLUMNS} FROM tables WHERE retired_at IS NULL ORDER BY area, created_at, name")]


# -- changes from the dashboard (inside the caller's write transaction) ------------------------------


_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co"})


def _clean(value: object, what: str, limit: int, required: bool) -> str:
    if not isinstance(value, str):
        raise TableError(400, "invalid", f"{what} must be text", what)
    if any(unicodedata.category(ch) in _INVISIBLE for ch in value):
        # NUL, other controls, bidi overrides (U+202E): a name that prints or shows other than it reads
        raise TableError(400, "invalid", f"a {what} may not hold control or invisible formatting characters", what)
    value = " ".join(value.split())
    if required and not value:
        raise TableError(400, "invalid", f"a table needs a {what}", what)
    if len(value) > limit:
        raise TableError(400, "invalid", f"a {what} has at most {limit} characters", what)
    return value


def _check_free(db: sqlite_utils.Database, name: str, table_id: str | None) -> None:
    clash = db.execute("SELECT id FROM tables WHERE lower(name) = lower(?) AND id != ?", [name, table_id or ""])
    if clash.fetchone():
        raise TableError(409, "name_taken", f"there is already a table called {name!r}", "name")


def _get(db: sqlite_utils.Database, table_id: str) -> Table:
    table = by_id(db, table_id)
    if table is None:
        raise TableError(404, "not_found", "there is no such table")
    return table


def create_table(db: sqlite_utils.Database, name: object, area: object = "") -> Table:
    name = _clean(name, "name", NAME_LENGTH, True)
    area = _clean(area, "area", AREA_LENGTH, False)
    _check_free(db, name, None)
    table_id = uuid7()
    db.execute("INSERT INTO tables (id, name, token, area, created_at) VALUES (?, ?, ?, ?, ?)",
               [table_id, name, new_token(), area, _now()])
    _set_removed_names(db, [n for n in _removed_names(db) if n != name])
    return _get(db, table_id)


def update_table(db: sqlite_utils.Database, table_id: str, name: object = None, area: object = None) -> Table:
    """Rename and/or move to an area; None leaves a field as it is."""
    _get(db, table_id)
    if name is not None:
        name = _clean(name, "name", NAME_LENGTH, True)
        _check_free(db, name, table_id)
        db.execute("UPDATE tables SET name = ? WHERE id = ?", [name, table_id])
    if area is not None:
        db.execute("UPDATE tables SET area = ? WHERE id = ?", [_clean(area, "area", AREA_LENGTH, False), table_id])
    return _get(db, table_id)


def rotate_token(db: sqlite_utils.Database, table_id: str) -> Table:
    """A new token: the old QR code (and any photo of it) stops working at once."""
    _get(db, table_id)
    db.execute("UPDATE tables SET token = ? WHERE id = ?", [new_token(), table_id])
    return _get(db, table_id)


def open_orders(db: sqlite_utils.Database, table_id: str) -> int:
    """Orders still being served, or on a bill not yet settled (the party's visit is open)."""
    return db.execute("""
        SELECT COUNT(*) FROM orders o LEFT JOIN table_sessions s ON s.id = o.session_id
        WHERE o.table_id = ? AND (o.status != 'served' OR (o.session_id IS NOT NULL AND s.closed_at IS NULL))""",
                      [table_id]).fetchone()[0]


def remove_table(db: sqlite_utils.Database, table_id: str) -> None:
    table = _get(db, table_id)
    count = open_orders(db, table_id)
    if count:
        raise TableError(409, "table_has_open_orders", f"{table.name} has {count} open order(s): serve them and "
                         "close the bill first; the table was not removed")
    used = any(db.execute(f"SELECT 1 FROM {t} WHERE table_id = ? LIMIT 1", [table_id]).fetchone()
               for t in ("orders", "table_sessions", "table_requests"))
    if used:  # history refers to it: keep the row, free the name, kill the token
        now = _now()
        db.execute("UPDATE tables SET retired_at = ?, token = ?, name = ? WHERE id = ?",
                   [now, new_token(), f"{table.name} (removed {now[:19]}Z {table.id[-6:]})", table_id])
    else:
        db.execute("DELETE FROM tables WHERE id = ?", [table_id])
    _set_removed_names(db, [*_removed_names(db), table.name])
