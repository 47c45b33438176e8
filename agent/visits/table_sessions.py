"""Table sessions: one party's visit to a table, from its first order to the table being closed.

Orders, requests and the bill belong to the session, never to the table itself, so the next party
that scans the same QR code starts with a fresh table and sees nothing of the previous guests.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from contract.ids import uuid7


@dataclass(frozen=True)
class TableSession:
    id: str
    table_id: str
    opened_at: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def current(db: sqlite_utils.Database, table_id: str) -> TableSession | None:
    row = db.execute("SELECT id, table_id, opened_at FROM table_sessions WHERE table_id = ? AND closed_at IS NULL",
                     [table_id]).fetchone()
    return TableSession(*row) if row else None


def open_or_current(db: sqlite_utils.Database, table_id: str) -> TableSession:
    """The party's session, opened now if the table had none. Writer thread only."""
    session = current(db, table_id)
    if session is None:
        session = TableSession(uuid7(), table_id, now_iso())
        db.execute("INSERT INTO table_sessions (id, table_id, opened_at) VALUES (?, ?, ?)",
                   [session.id, table_id, session.opened_at])
    return session


def close(db: sqlite_utils.Database, session_id: str, closed_by: str) -> bool:
    """Close an open session; False when it was already closed (or never existed)."""
    cursor = db.execute("UPDATE table_sessions SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                        [now_iso(), closed_by, session_id])
    return cursor.rowcount == 1


def get(db: sqlite_utils.Database, session_id: str) -> dict | None:
    row = db.execute("""SELECT s.id, s.table_id, t.name, s.opened_at, s.closed_at FROM table_sessions s
                        JOIN tables t ON t.id = s.table_id WHERE s.id = ?""", [session_id]).fetchone()
    if row is None:
        return None
    return {"id": row[0], "table_id": row[1], "table_name": row[2], "opened_at": row[3], "closed_at": row[4]}
