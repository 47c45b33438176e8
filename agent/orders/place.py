"""Taking an order: in ONE transaction the order, its lines, a device job per printer/POS that
must see it, and the outbox message for the hub. After that the order cannot be lost, and the
dispatcher and the link each do their part from what is stored."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import sqlite_utils

from agent.config import AgentConfig
from agent.devices.jobs import POS_DEVICE, add_job
from agent.menu.pricing import OrderRejected, PricedLine, PricedOrder
from agent.orders import order_status
from agent.orders.routing import route
from agent.store import outbox
from agent.visits import bill_feed, table_sessions
from agent.visits.tables import Table
from contract import messages
from contract.ids import uuid7


@dataclass(frozen=True)
class PlacedOrder:
    order: dict
    replayed: bool  # True when the Idempotency-Key had already made this order
    visit_key: str = ""  # the key of the visit it belongs to, for the phone that sent it
    view: dict | None = None  # a new order as open pages see it (order_status.order_view), for its event


def _line_dict(line: PricedLine) -> dict:
    return {"item_id": line.item_id, "name": line.name, "qty": line.qty,
            "unit_price_minor": line.unit_price_minor, "line_total_minor": line.line_total_minor,
            "modifiers": [{"id": m.id, "name": m.name, "price_minor": m.price_minor} for m in line.modifiers],
            "note": line.note}


def place_order(db: sqlite_utils.Database, config: AgentConfig, table: Table, priced: PricedOrder,
                idempotency_key: str, request_hash: str, visit_key: str | None = None) -> PlacedOrder:
    """Runs on the writer thread inside its transaction. The key is the table's own: another table
    sending it places its own order (stored as "{table id}:{key}", one unique column). visit_key: the
    phone's own visit's, which the order joins while it is open (table_sessions.join)."""
    idempotency_key = f"{table.id}:{idempotency_key}"
    existing = db.execute("SELECT id, request_hash FROM orders WHERE idempotency_key = ?",
                          [idempotency_key]).fetchone()
    if existing:
        if existing[1] != request_hash:
            raise OrderRejected(422, "idempotency_key_reused",
                                "this Idempotency-Key was already used for a different order", "Idempotency-Key")
        key = db.execute("SELECT s.visit_key FROM orders o JOIN table_sessions s ON s.id = o.session_id "
                         "WHERE o.id = ?", [existing[0]]).fetchone()
        return PlacedOrder(get_order(db, existing[0]), replayed=True, visit_key=key[0] if key else "")

    order_id = uuid7()
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM orders").fetchone()[0]
    session = table_sessions.join(db, table.id, visit_key)
    db.execute("""INSERT INTO orders (id, number, table_id, session_id, idempotency_key, request_hash, status,
                                      currency, total_minor, created_at, updated_at)
                  VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)""",
               [order_id, number, table.id, session.id, idempotency_key, request_hash, priced.currency,
                priced.total_minor, now, now])
    line_dicts = [_line_dict(line) for line in priced.lines]
    rows = [{**d, "order_id": order_id, "position": i, "modifiers": json.dumps(d["modifiers"]),
             "stations": json.dumps(line.stations), "course": line.course, "status": "received", "voided_at": None,
             # the rate is kept on the line: a later menu change never alters a bill already run up
             "tax_rate_bp": config.restaurant.tax_rate_bp if line.tax_rate_bp is None else line.tax_rate_bp}
            for i, (d, line) in enumerate(zip(line_dicts, priced.lines, strict=True))]
    # plain executemany, not sqlite-utils' insert_all: that asks SQLite for the table's columns on
    # every call, the biggest cost of the whole transaction
    db.conn.executemany(
        """INSERT INTO order_lines (order_id, position, item_id, name, qty, unit_price_minor, line_total_minor,
                                    modifiers, note, stations, course, tax_rate_bp)
           VALUES (:order_id, :position, :item_id, :name, :qty, :unit_price_minor, :line_total_minor,
                   :modifiers, :note, :stations, :course, :tax_rate_bp)""", rows)

    ticket_base = {"order_id": order_id, "table_name": table.name, "order_number": number, "placed_at": now}
    for printer, lines in route(priced.lines, config.printers).items():
        add_job(db, printer, "kitchen_ticket", {
            **ticket_base,
            "lines": [{"qty": ln.qty, "name": ln.name, "modifiers": [m.name for m in ln.modifiers],
                       "note": ln.note, "course": ln.course} for ln in lines]}, order_id)
    if config.pos is not None:
        add_job(db, POS_DEVICE, "pos_order", {
            **ticket_base, "visit_id": session.id, "currency": priced.currency, "total_minor": priced.total_minor,
            "lines": [{**d, "pos_id": line.pos_id} for d, line in zip(line_dicts, priced.lines, strict=True)]},
            order_id)

    outbox.append(db, config.agent.id, messages.OrderPlaced(
        order_id=order_id, number=number, table_id=table.id, table_name=table.name, placed_at=now,
        currency=priced.currency, total_minor=priced.total_minor,
        lines=[msgspec.convert(d, messages.OrderLine) for d in line_dicts]))
    bill_feed.report_soon(db, session.id)  # summed once a second for all its orders, not per order
    # both answers from what was just written, not read back
    row = (order_id, number, "received", priced.currency, priced.total_minor, now, session.id, table.id, table.name)
    return PlacedOrder(_public(row, rows), replayed=False, visit_key=session.visit_key,
                       view=order_status.view(row, rows))


def get_order(db: sqlite_utils.Database, order_id: str) -> dict | None:
    row = db.execute("""SELECT o.id, o.number, o.status, o.currency, o.total_minor, o.created_at, o.session_id,
                               o.table_id, t.name FROM orders o JOIN tables t ON t.id = o.table_id WHERE o.id = ?""",
                     [order_id]).fetchone()
    if row is None:
        return None
    return _public(row, db.query("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", [order_id]))


def _public(row: tuple, lines) -> dict:
    """The order as the phone that placed it sees it, from the row order_status.view takes."""
    return {"id": row[0], "number": row[1], "status": row[2], "currency": row[3], "total_minor": row[4],
            "created_at": row[5], "table": {"name": row[8]},
            "lines": [{"item_id": r["item_id"], "name": r["name"], "qty": r["qty"],
                       "unit_price_minor": r["unit_price_minor"], "line_total_minor": r["line_total_minor"],
                       "modifiers": json.loads(r["modifiers"]), "note": r["note"]} for r in lines]}
