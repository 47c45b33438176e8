"""Requests from a table to staff: "call a waiter" and "bring the bill"."""

import sqlite_utils

from agent.visits.table_sessions import join, now_iso
from contract.ids import uuid7

KINDS = ("waiter", "bill")


def create(db: sqlite_utils.Database, table_id: str, kind: str, visit_key: str | None = None) -> dict:
    """A new request, or the one already waiting of that kind (tapping twice does not page twice);
    it belongs to the phone's visit (its key) while that is open, else to the table's current one."""
    session = join(db, table_id, visit_key)
    row = db.execute("""SELECT id FROM table_requests WHERE session_id = ? AND kind = ?
                        AND acknowledged_at IS NULL""", [session.id, kind]).fetchone()
    if row:
        return get(db, row[0])
    request_id = uuid7()
    db.execute("INSERT INTO table_requests (id, table_id, session_id, kind, created_at) VALUES (?, ?, ?, ?, ?)",
               [request_id, table_id, session.id, kind, now_iso()])
    return get(db, request_id)


def acknowledge(db: sqlite_utils.Database, request_id: str, by: str) -> dict | None:
    db.execute("UPDATE table_requests SET acknowledged_at = ?, acknowledged_by = ? WHERE id = ? "
               "AND acknowledged_at IS NULL", [now_iso(), by, request_id])
    return get(db, request_id)


def get(db: sqlite_utils.Database, request_id: str) -> dict | None:
    row = db.execute("""SELECT r.id, r.kind, r.created_at, r.acknowledged_at, r.acknowledged_by, r.table_id, t.name,
                               r.session_id
                        FROM table_requests r JOIN tables t ON t.id = r.table_id WHERE r.id = ?""",
                     [request_id]).fetchone()
    if row is None:
        return None
    return {"id": row[0], "kind": row[1], "created_at": row[2], "acknowledged_at": row[3],
            "acknowledged_by": row[4], "acknowledged": row[3] is not None,
            "table": {"id": row[5], "name": row[6]}, "session_id": row[7]}


def open_requests(db: sqlite_utils.Database) -> list[dict]:
    ids = [r[0] for r in db.execute(
        "SELECT id FROM table_requests WHERE acknowledged_at IS NULL ORDER BY created_at")]
    return [get(db, i) for i in ids]


def session_requests(db: sqlite_utils.Database, session_id: str) -> list[dict]:
    ids = [r[0] for r in db.execute("SELECT id FROM table_requests WHERE session_id = ? ORDER BY created_at",
                                    [session_id])]
    return [get(db, i) for i in ids]
