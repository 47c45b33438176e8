"""Order and line status as the kitchen and the floor move them: received -> preparing -> ready -> served.

An order's status is the least advanced status of its lines that are not voided, so the diner sees
"ready" only when everything in that round is.
"""

import json
from collections.abc import Iterable, Mapping

import sqlite_utils

from agent.visits.table_sessions import now_iso

STATUSES = ("received", "preparing", "ready", "served")


class StatusError(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def check_status(value: object) -> str:
    if value not in STATUSES:
        raise StatusError(422, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    return value  # type: ignore[return-value]


def _refresh_order(db: sqlite_utils.Database, order_id: str) -> None:
    statuses = [r[0] for r in db.execute(
        "SELECT status FROM order_lines WHERE order_id = ? AND voided_at IS NULL", [order_id])]
    status = min(statuses, key=STATUSES.index) if statuses else "served"
    db.execute("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", [status, now_iso(), order_id])


def set_order_status(db: sqlite_utils.Database, order_id: str, status: str) -> dict:
    """Move every line of the order that is not voided; writer thread."""
    if db.execute("SELECT 1 FROM orders WHERE id = ?", [order_id]).fetchone() is None:
        raise StatusError(404, "not_found", "no such order")
    db.execute("UPDATE order_lines SET status = ? WHERE order_id = ? AND voided_at IS NULL", [status, order_id])
    _refresh_order(db, order_id)
    return order_view(db, order_id)


def set_line_status(db: sqlite_utils.Database, order_id: str, position: int, status: str) -> dict:
    cursor = db.execute("UPDATE order_lines SET status = ? WHERE order_id = ? AND position = ? AND voided_at IS NULL",
                        [status, order_id, position])
    if cursor.rowcount != 1:
        raise StatusError(404, "not_found", "no such line, or it was voided")
    _refresh_order(db, order_id)
    return order_view(db, order_id)


def void_line(db: sqlite_utils.Database, order_id: str, position: int, by: str) -> dict:
    """Take a line off the bill (a manager's decision). Refused once any of it is paid or held."""
    row = db.execute("SELECT voided_at FROM order_lines WHERE order_id = ? AND position = ?",
                     [order_id, position]).fetchone()
    if row is None:
        raise StatusError(404, "not_found", "no such line")
    if row[0] is not None:
        raise StatusError(409, "already_voided", "this line is already voided")
    covered = db.execute("""SELECT COUNT(*) FROM bill_share_lines l JOIN bill_shares s ON s.id = l.share_id
                            WHERE l.order_id = ? AND l.position = ? AND s.status IN ('held', 'paid')
                              AND (s.status = 'paid' OR s.expires_at > ?)""",
                         [order_id, position, now_iso()]).fetchone()[0]
    if covered:
        raise StatusError(409, "line_paid", "a diner has paid or is paying for this line; refund it instead")
    db.execute("UPDATE order_lines SET voided_at = ?, voided_by = ? WHERE order_id = ? AND position = ?",
               [now_iso(), by, order_id, position])
    _refresh_order(db, order_id)
    return order_view(db, order_id)


def order_view(db: sqlite_utils.Database, order_id: str) -> dict:
    """An order as diners and staff see it (no idempotency keys or internal hashes)."""
    row = db.execute("""SELECT o.id, o.number, o.status, o.currency, o.total_minor, o.created_at, o.session_id,
                               o.table_id, t.name FROM orders o JOIN tables t ON t.id = o.table_id WHERE o.id = ?""",
                     [order_id]).fetchone()
    return view(row, db.query("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", [order_id]))


def view(row: tuple, lines: Iterable[Mapping]) -> dict:
    """order_view from the order's row (its columns as order_view selects them) and its lines' rows,
    whether read back or just written (place_order, which need not read them again)."""
    return {"id": row[0], "number": row[1], "status": row[2], "currency": row[3], "total_minor": row[4],
            "created_at": row[5], "session_id": row[6], "table": {"id": row[7], "name": row[8]},
            "lines": [{"position": r["position"], "item_id": r["item_id"], "name": r["name"], "qty": r["qty"],
                       "unit_price_minor": r["unit_price_minor"], "line_total_minor": r["line_total_minor"],
                       "modifiers": [{"name": m["name"]} for m in json.loads(r["modifiers"])], "note": r["note"],
                       "stations": json.loads(r["stations"]), "status": r["status"],
                       "voided": r["voided_at"] is not None}
                      for r in lines]}


def session_orders(db: sqlite_utils.Database, session_id: str) -> list[dict]:
    ids = [r[0] for r in db.execute("SELECT id FROM orders WHERE session_id = ? ORDER BY number", [session_id])]
    return [order_view(db, order_id) for order_id in ids]


def open_orders(db: sqlite_utils.Database, limit: int = 200) -> list[dict]:
    """Orders not yet fully served, oldest first (the staff board)."""
    ids = [r[0] for r in db.execute(
        "SELECT id FROM orders WHERE status != 'served' ORDER BY number LIMIT ?", [limit])]
    return [order_view(db, order_id) for order_id in ids]
