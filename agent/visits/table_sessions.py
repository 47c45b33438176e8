"""Table sessions: one party's visit to a table, from its first order to the table being closed.

Orders, requests and the bill belong to the session, never to the table itself, so the next party
that scans the same QR code starts with a fresh table and sees nothing of the previous guests.

A paid visit may go on for a while (dessert still coming): it is then *settled* but open. It is no
longer the table's current visit, so a new scan starts a new one, but the party's phones, which
hold its visit_key, still see it (docs/bills.md, "The end of a visit").
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from contract.ids import uuid7


@dataclass(frozen=True)
class TableSession:
    id: str
    table_id: str
    opened_at: str
    visit_key: str = ""
    settled_at: str | None = None


_COLUMNS = "id, table_id, opened_at, visit_key, settled_at"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def current(db: sqlite_utils.Database, table_id: str) -> TableSession | None:
    """The visit a new scan of the table joins: open and not yet paid."""
    row = db.execute(f"SELECT {_COLUMNS} FROM table_sessions WHERE table_id = ? AND closed_at IS NULL "
                     "AND settled_at IS NULL", [table_id]).fetchone()
    return TableSession(*row) if row else None


def of_phone(db: sqlite_utils.Database, table_id: str, visit_key: str | None) -> TableSession | None:
    """The visit a phone at this table belongs to: the open one its key names (paid or not), else the
    table's current one. A key of a visit that ended, or of another table, counts for nothing."""
    if visit_key:
        row = db.execute(f"SELECT {_COLUMNS} FROM table_sessions WHERE table_id = ? AND visit_key = ? "
                         "AND closed_at IS NULL", [table_id, visit_key]).fetchone()
        if row:
            return TableSession(*row)
    return current(db, table_id)


@dataclass(frozen=True)
class PhoneVisit:
    """What a phone at a table sees: its visit (None: the table has none yet), or, when the visit its
    key names has ended lately, that visit's key, so the phone can say thank you and show the receipt
    instead of the next party's table."""

    session: TableSession | None
    ended_key: str | None = None


def phone_visit(db: sqlite_utils.Database, table_id: str, visit_key: str | None, ended_shown_s: float) -> PhoneVisit:
    if visit_key:
        row = db.execute(f"SELECT {_COLUMNS}, closed_at FROM table_sessions WHERE table_id = ? AND visit_key = ?",
                         [table_id, visit_key]).fetchone()
        if row and row[5] is None:
            return PhoneVisit(TableSession(*row[:5]))
        if row and row[5] > (datetime.now(UTC) - timedelta(seconds=ended_shown_s)).isoformat():
            return PhoneVisit(None, row[3])
    return PhoneVisit(current(db, table_id))


def join(db: sqlite_utils.Database, table_id: str, visit_key: str | None) -> TableSession:
    """The visit an order or a call to staff belongs to: the phone's own (its key) while it is open
    (paid or not: another coffee after paying goes on the party's tab), else the table's current
    one, opened now if need be. Writer thread only, inside the write: no read before it on the
    order path, and a visit that ended meanwhile is not joined."""
    if visit_key:
        row = db.execute(f"SELECT {_COLUMNS} FROM table_sessions WHERE visit_key = ? AND table_id = ? "
                         "AND closed_at IS NULL", [visit_key, table_id]).fetchone()
        if row:
            return TableSession(*row)
    return open_or_current(db, table_id)


def is_current(db: sqlite_utils.Database, table_id: str, session_id: str) -> bool:
    session = current(db, table_id)
    return session is not None and session.id == session_id


def ending(db: sqlite_utils.Database, table_id: str) -> set[str]:
    """The table's paid visits still open for their parties."""
    return {r[0] for r in db.execute("SELECT id FROM table_sessions WHERE table_id = ? AND closed_at IS NULL "
                                     "AND settled_at IS NOT NULL", [table_id])}


def open_or_current(db: sqlite_utils.Database, table_id: str) -> TableSession:
    """The party's session, opened now if the table had none. Writer thread only."""
    session = current(db, table_id)
    if session is None:
        session = TableSession(uuid7(), table_id, now_iso(), secrets.token_urlsafe(16))
        db.execute("INSERT INTO table_sessions (id, table_id, opened_at, visit_key) VALUES (?, ?, ?, ?)",
                   [session.id, table_id, session.opened_at, session.visit_key])
    return session


def settle(db: sqlite_utils.Database, session_id: str) -> bool:
    """The bill is paid: the table is free for the next party, the visit goes on for this one."""
    cursor = db.execute("UPDATE table_sessions SET settled_at = ? WHERE id = ? AND closed_at IS NULL "
                        "AND settled_at IS NULL", [now_iso(), session_id])
    return cursor.rowcount == 1


def close(db: sqlite_utils.Database, session_id: str, closed_by: str) -> bool:
    """Close an open session; False when it was already closed (or never existed)."""
    cursor = db.execute("UPDATE table_sessions SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                        [now_iso(), closed_by, session_id])
    return cursor.rowcount == 1


def get(db: sqlite_utils.Database, session_id: str) -> dict | None:
    row = db.execute("""SELECT s.id, s.table_id, t.name, s.opened_at, s.closed_at, s.settled_at, s.visit_key
                        FROM table_sessions s JOIN tables t ON t.id = s.table_id WHERE s.id = ?""",
                     [session_id]).fetchone()
    if row is None:
        return None
    return {"id": row[0], "table_id": row[1], "table_name": row[2], "opened_at": row[3], "closed_at": row[4],
            "settled_at": row[5], "visit_key": row[6]}


def by_visit_key(db: sqlite_utils.Database, visit_key: str) -> dict | None:
    row = db.execute("SELECT id FROM table_sessions WHERE visit_key = ?", [visit_key]).fetchone()
    return get(db, row[0]) if row else None
