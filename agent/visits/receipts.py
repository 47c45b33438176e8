"""Customer receipts: what a bill's receipt says, stored as a printer job and printed by the driver."""

import sqlite_utils

from agent.visits import bills
from agent.visits.table_sessions import now_iso

METHOD_NAMES = {"card": "Card", "cash": "Cash", "terminal": "Card (terminal)"}


def receipt_payload(db: sqlite_utils.Database, session_id: str, tax_mode: str, restaurant_name: str,
                    share_id: str | None = None) -> dict:
    """The bill of a visit as a receipt; with share_id, the payment of that share as the paid part."""
    bill = bills.load(db, session_id, tax_mode, now_iso())
    table_name = db.execute("SELECT t.name FROM table_sessions s JOIN tables t ON t.id = s.table_id WHERE s.id = ?",
                            [session_id]).fetchone()[0]
    numbers = [r[0] for r in db.execute("SELECT number FROM orders WHERE session_id = ? ORDER BY number",
                                        [session_id])]
    paid = [s for s in bill.shares if s["status"] == "paid" and (share_id is None or s["id"] == share_id)]
    mode = "incl." if tax_mode == "inclusive" else ""
    return {
        "restaurant_name": restaurant_name, "table_name": table_name, "order_numbers": numbers,
        "lines": [{"qty": ln.qty, "name": ln.name, "amount_minor": ln.price_minor} for ln in bill.lines if not ln.voided],
        "currency": bill.currency, "subtotal_minor": bill.subtotal_minor,
        "taxes": [[f"Tax {t['rate_bp'] / 100:g}% {mode}".strip(), t["tax_minor"]] for t in bill.taxes],
        "tip_minor": sum(s["tip_minor"] for s in paid),
        "total_minor": bill.total_minor + sum(s["tip_minor"] for s in paid),
        "paid_by": ", ".join(sorted({METHOD_NAMES.get(s["method"], s["method"] or "") for s in paid})) or "-",
        "printed_at": now_iso(),
    }
