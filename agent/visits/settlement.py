"""What follows a payment on the restaurant side: the POS hears of it, and a receipt prints when
someone asks for one. Both are device jobs written in the payment's own transaction, so neither
is lost nor made twice."""


import sqlite_utils

from agent.config import AgentConfig
from agent.devices.jobs import POS_DEVICE, add_job
from agent.visits import bills, receipts
from agent.visits.table_sessions import now_iso


def allocations(db: sqlite_utils.Database, share: dict, tax_mode: str) -> tuple[list[dict], bool]:
    """Spread a payment over the visit's orders, oldest first, after what the payments recorded
    before it already covered; the tip goes with the last part. Also whether the visit's bill is
    paid with it. A POS with one check per order pays and closes each; one with one check per visit
    (Pos.one_check_per_visit) takes the sum on the visit's check and closes it when the bill is paid."""
    bill = bills.load(db, share["session_id"], tax_mode, now_iso())
    order_totals: dict[str, int] = {}
    for line in bill.lines:
        if not line.voided:
            order_totals[line.order_id] = order_totals.get(line.order_id, 0) + line.amount_minor
    # What the POS was told before: every other paid share, each told when it was recorded here.
    # Not "paid earlier by the clock": a card payment made during an uplink cut arrives after cash
    # taken later, and spreading it as if first would pay (and close) the same checks twice.
    before = sum(s["amount_minor"] for s in bill.shares if s["status"] == "paid" and s["id"] != share["id"])
    start, end = before, before + share["amount_minor"]
    parts, cursor = [], 0
    for order_id, total in order_totals.items():
        low, high = cursor, cursor + total
        cursor = high
        amount = max(0, min(end, high) - max(start, low))
        if amount:
            parts.append({"order_id": order_id, "amount_minor": amount, "tip_minor": 0, "closes": end >= high})
    if not parts and bill.lines:  # paid beyond the bill (an expired hold paid late): onto the last check
        parts.append({"order_id": bill.lines[-1].order_id, "amount_minor": share["amount_minor"], "tip_minor": 0,
                      "closes": True})
    if parts:
        parts[-1]["tip_minor"] = share["tip_minor"]
    return parts, end >= cursor


def tell_pos(db: sqlite_utils.Database, config: AgentConfig, share: dict) -> None:
    if config.pos is None:
        return
    parts, visit_paid = allocations(db, share, config.restaurant.tax_mode)
    add_job(db, POS_DEVICE, "pos_payment", {
        "payment_id": share["payment_id"], "method": share["method"], "visit_id": share["session_id"],
        "visit_paid": visit_paid, "allocations": parts})


def receipt_printer(config: AgentConfig) -> str | None:
    """The printer with a "receipt" station, else the first one."""
    for printer in config.printers:
        if "receipt" in printer.stations:
            return printer.name
    return config.printers[0].name if config.printers else None


def print_receipt(db: sqlite_utils.Database, config: AgentConfig, session_id: str, restaurant_name: str,
                  share_id: str | None = None) -> str | None:
    printer = receipt_printer(config)
    if printer is not None:
        add_job(db, printer, "receipt", receipts.receipt_payload(
            db, session_id, config.restaurant.tax_mode, restaurant_name, share_id))
    return printer
