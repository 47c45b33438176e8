"""Cash and own-terminal payments (`payment.taken`) many to a statement, in the batch intake.

One by one, a payment cost four statements (its restaurant, the payment, its ledger set, and
SQLAlchemy compiling each): at 5 % of the dinner-rush mix it was a third of the batches' time on
the event loop's GIL (bench/README.md, 2026-12-06). Here a batch's payments cost three in all:
their agents' restaurants, every payment in one INSERT ... ON CONFLICT DO NOTHING, and every new
payment's ledger set in one INSERT. What each payment records is the same as
PaymentService.apply_payment_taken's (tested side by side in tests/hub/payments/test_taken_batch.py).
"""

import logging
from typing import Any

from sqlalchemy import Connection, select

from contract.envelope import Envelope
from contract.ids import uuid7
from contract.messages import PaymentTaken
from contract.money import exponent
from hub.payments import ledger, records
from hub.payments.fees import platform_fee
from hub.store.ingest import RowFailed
from hub.store.payment_tables import ledger_entries, payments, restaurant_agents, restaurants
from hub.store.upsert import insert_many, insert_many_ignore

log = logging.getLogger(__name__)


class PaymentsTaken:
    """The batch intake's effect for payment.taken (hub/store/ingest.py: row, then write_many)."""

    def __init__(self, rejected: type[ValueError]) -> None:
        self._rejected = rejected  # what a payment that can never apply raises

    def row(self, env: Envelope, data: PaymentTaken) -> dict[str, Any]:
        try:
            exponent(data.currency)
        except ValueError as exc:
            raise self._rejected(str(exc)) from None
        return {"id": data.payment_id, "share_id": data.share_id, "agent_id": env.agent_id, "bill_id": data.bill_id,
                "table_name": data.table_name, "currency": data.currency, "amount_minor": data.amount_minor,
                "tip_minor": data.tip_minor, "provider": "external", "method": data.method, "status": "succeeded"}

    def write_many(self, conn: Connection, rows: list[dict[str, Any]]) -> list[str]:
        """"applied" for each payment recorded, "duplicate" for a payment id or share already
        recorded (or twice in these rows: the first one counts). RowFailed for a payment whose
        agent belongs to no restaurant."""
        owners = _restaurants_of(conn, {row["agent_id"] for row in rows})
        for n, row in enumerate(rows):
            if row["agent_id"] not in owners:
                raise RowFailed(n, self._rejected(
                    f"agent {row['agent_id']!r} belongs to no restaurant: no fee plan to apply"))
        moment = records.now()
        full, sets = [], []
        # A payment id or a share twice in these rows: the first one counts, as one at a time (the
        # others would meet it or what it met; the insert below goes in id order, not arrival order).
        first: dict[tuple[str, str], dict[str, Any]] = {}
        ids: set[str] = set()
        for row in rows:
            if row["id"] not in ids and (row["agent_id"], row["share_id"]) not in first:
                first[(row["agent_id"], row["share_id"])] = row
            ids.add(row["id"])
        for row in first.values():
            restaurant = owners[row["agent_id"]]
            fee = platform_fee(records.fee_plan(restaurant), row["amount_minor"], row["tip_minor"]) \
                if restaurant["fee_on_external"] else 0
            full.append({**row, "restaurant_id": restaurant["id"], "fee_minor": fee, "created_at": moment,
                         "paid_at": moment})
            if row["amount_minor"] + row["tip_minor"] > 0:
                sets.append((row["id"], restaurant["id"], ledger.external_payment_entries(
                    restaurant["id"], row["currency"], row["amount_minor"], row["tip_minor"], fee, row["method"])))
        # in id order, as every writer of these rows, so two workers' batches never deadlock
        stored = insert_many_ignore(conn, payments, sorted(full, key=lambda r: r["id"]))
        entries = []
        for payment_id, restaurant_id, booked in sets:
            if payment_id in stored:
                ledger.check_balanced(booked)
                set_id = uuid7()
                entries += [{"entry_set_id": set_id, "account": e.account, "kind": e.kind,
                             "amount_minor": e.amount_minor, "currency": e.currency, "restaurant_id": restaurant_id,
                             "payment_id": payment_id, "refund_id": None, "created_at": moment} for e in booked]
        insert_many(conn, ledger_entries, entries)
        outcomes, counted = [], set()
        for row in rows:  # a payment id twice in the rows: stored once, the second is a duplicate
            applied = row["id"] in stored and row["id"] not in counted
            counted.add(row["id"])
            outcomes.append("applied" if applied else "duplicate")
            if row["id"] not in stored:  # rare: say so when another payment of the share was kept
                other = records.payment_by_share(conn, row["agent_id"], row["share_id"])
                if other is not None and other["id"] != row["id"]:
                    log.warning("payment.taken for share %s already paid by payment %s; kept the first",
                                row["share_id"], other["id"])
        return outcomes


def _restaurants_of(conn: Connection, agent_ids: set[str]) -> dict[str, dict[str, Any]]:
    """agent id -> its restaurant's row, for those of agent_ids bound to one."""
    found = conn.execute(select(restaurant_agents.c.agent_id, restaurants)
                         .join(restaurants, restaurant_agents.c.restaurant_id == restaurants.c.id)
                         .where(restaurant_agents.c.agent_id.in_(sorted(agent_ids)))).mappings()
    return {row["agent_id"]: dict(row) for row in found}
