"""Telling the hub where a bill stands after each change (an order, a payment, a void, a refund,
the table closed), in the same transaction as the change. Only the latest undelivered state of a
bill waits in the outbox (outbox.append's `replaces`), and the writes of one group commit that change
the same bill (a rush of orders on one long tab) report it once, after the last of them: the totals
are summed over the whole bill, which must not be done for every order."""

import sqlite_utils

from agent.config import AgentConfig
from agent.store import outbox
from agent.store.database import once_before_commit
from agent.visits import bills, table_sessions
from agent.visits.table_sessions import now_iso
from contract import messages


def report(db: sqlite_utils.Database, config: AgentConfig, session_id: str) -> None:
    """Within the caller's transaction, before it commits."""
    once_before_commit(db, ("bill_feed", session_id), lambda db: _report_now(db, config, session_id))


def _report_now(db: sqlite_utils.Database, config: AgentConfig, session_id: str) -> None:
    session = table_sessions.get(db, session_id)
    bill = bills.totals(db, session_id, config.restaurant.tax_mode, now_iso())
    if session is None or bill is None:
        return
    status = "closed" if session["closed_at"] else "settled" if bill.settled else "open"
    outbox.append(db, config.agent.id, messages.BillChanged(
        bill_id=session_id, table_name=session["table_name"], currency=bill.currency,
        total_minor=bill.total_minor, paid_minor=bill.paid_minor, left_minor=bill.left_minor,
        status=status, changed_at=now_iso()), replaces=f"bill:{session_id}")
