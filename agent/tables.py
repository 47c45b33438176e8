"""Restaurant tables and their QR tokens.

A token is 128 random bits (base64url): it cannot be guessed from another table's token, nor
enumerated. Rotating it makes the old QR code stop working.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from contract.ids import uuid7


@dataclass(frozen=True)
class Table:
    id: str
    name: str
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(16)


def ensure_tables(db: sqlite_utils.Database, names: list[str]) -> None:
    """Create the configured tables that do not exist yet (first start)."""
    existing = {row[0] for row in db.execute("SELECT name FROM tables")}
    now = datetime.now(UTC).isoformat()
    for name in names:
        if name not in existing:
            db.execute("INSERT INTO tables (id, name, token, created_at) VALUES (?, ?, ?, ?)",
                       [uuid7(), name, new_token(), now])


def by_token(db: sqlite_utils.Database, token: str) -> Table | None:
    row = db.execute("SELECT id, name, token FROM tables WHERE token = ?", [token]).fetchone()
    return Table(*row) if row else None


def all_tables(db: sqlite_utils.Database) -> list[Table]:
    return [Table(*row) for row in db.execute("SELECT id, name, token FROM tables ORDER BY created_at, name")]
