"""Applying what the hub says about payments: a share paid, a card declined, a refund made.

Each handler runs inside the inbox's transaction (agent/inbox.py) together with the record of the
message, so a payment is applied exactly once however often the hub sends it. They return the
events to publish once that transaction has committed.
"""

import logging
from collections.abc import Callable

import sqlite_utils

from agent.config import AgentConfig
from agent.visits import bill_feed, bills, settlement, shares, visit_ends
from contract import messages

log = logging.getLogger(__name__)

Events = list[tuple[str, dict, str | None]]


def _after_change(db: sqlite_utils.Database, config: AgentConfig, share: dict) -> Events:
    events: Events = []
    bill = bills.bill_event(db, share["session_id"], config.restaurant.tax_mode)
    if bill is None:
        return events
    events.append(bill)
    _, data, table_id = bill
    events += visit_ends.settle_if_paid(db, config, share["session_id"], table_id, data["settled"])
    bill_feed.report(db, config, share["session_id"])
    return events


def make_handlers(current_config: Callable[[], AgentConfig]) -> dict:
    """current_config: settings the hub pushes change the agent's config while it runs."""

    def payment_recorded(db: sqlite_utils.Database, env, data: messages.PaymentRecorded) -> Events:
        config = current_config()
        share, newly_paid = shares.apply_payment(db, data, tax_mode=config.restaurant.tax_mode)
        if share is None:
            # a share this agent never made: nothing to attach it to, but the money is real
            raise ValueError(f"payment {data.payment_id} is for unknown share {data.share_id}")
        if newly_paid and share["status"] == "overpaid":
            log.warning("payment %s is for share %s, which the bill no longer wanted: kept as an overpayment to refund",
                        data.payment_id, data.share_id)
        elif newly_paid:
            settlement.tell_pos(db, config, share)
        return _after_change(db, config, share)

    def payment_failed(db: sqlite_utils.Database, env, data: messages.PaymentFailed) -> Events:
        share = shares.apply_failure(db, data.share_id)
        return _after_change(db, current_config(), share) if share else []

    def refund_recorded(db: sqlite_utils.Database, env, data: messages.RefundRecorded) -> Events:
        share = shares.apply_refund(db, data)
        if share is None:
            raise ValueError(f"refund {data.refund_id} is for unknown share {data.share_id}")
        return _after_change(db, current_config(), share)

    return {messages.PaymentRecorded.TYPE: payment_recorded, messages.PaymentFailed.TYPE: payment_failed,
            messages.RefundRecorded.TYPE: refund_recorded}
