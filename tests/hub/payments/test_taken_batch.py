"""Cash payments many to a statement in the batch intake (hub/payments/taken_batch.py) record what
one at a time records (SQLite and PostgreSQL)."""

from sqlalchemy import event, select

from contract import topics
from contract.ids import uuid7
from contract.messages import PaymentTaken
from hub.config import HubConfig
from hub.link import HubLink
from hub.link.applying import Incoming
from hub.payments.fees import FeePlan
from hub.payments.link_handlers import apply_payment_taken
from hub.payments.service import PaymentService, entry_sets
from hub.store.payment_tables import payments
from hub.store.tables import rejected_messages
from tests.hub.factories import TOKEN, decoded, encoded

PLAN = FeePlan(basis_points=150, fixed_minor=10)
AMOUNTS = [(4000, 500, "cash"), (1250, 0, "terminal"), (0, 300, "cash"), (999, 1, "cash"), (0, 0, "cash")]


def taken(amount: int, tip: int, method: str, *, share_id: str | None = None) -> PaymentTaken:
    return PaymentTaken(payment_id=uuid7(), share_id=share_id or uuid7(), bill_id="bill-9", table_name="Table 9",
                        method=method, currency="EUR", amount_minor=amount, tip_minor=tip,
                        taken_at="2026-12-06T19:00:00.000Z")


def incoming(agent: str, data, seq: int) -> Incoming:
    return Incoming(topics.up(agent, data.TYPE), encoded(agent, data, seq=seq), qos=1)


async def read(store, stmt) -> list[dict]:
    def run(conn):
        return [dict(r) for r in conn.execute(stmt).mappings()]
    return await store._run(store._in_connection, run)


async def booked(store, service: PaymentService, agent: str, restaurant_id: str) -> list[tuple]:
    """Each payment of the agent as (amount, tip, fee, method, provider, status) with its ledger set,
    the restaurant's id taken out so two restaurants' books compare."""
    rows = await read(store, select(payments).where(payments.c.agent_id == agent))
    sets = {}
    for set_id, entries in entry_sets(await service.all_entries()).items():
        sets[set_id] = sorted((e.account.replace(restaurant_id, "R"), e.kind, e.amount_minor) for e in entries)
    by_payment = {}
    for row in await service.all_entries():
        by_payment.setdefault(row["payment_id"], sets[row["entry_set_id"]])
    return sorted((r["amount_minor"], r["tip_minor"], r["fee_minor"], r["method"], r["provider"], r["status"],
                   r["restaurant_id"] == restaurant_id, tuple(by_payment.get(r["id"], ()))) for r in rows)


async def test_a_batch_of_cash_payments_books_what_one_at_a_time_books(store, tmp_path):
    service = PaymentService(store.engine)
    batch_rest = await service.create_restaurant(name="Batch", country="FR", currency="EUR", plan=PLAN,
                                                 fee_on_external=True, agent_ids=["agent-cash"], charges_enabled=True)
    alone_rest = await service.create_restaurant(name="Alone", country="FR", currency="EUR", plan=PLAN,
                                                 fee_on_external=True, agent_ids=["agent-a"], charges_enabled=True)
    link = HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)
    messages = [incoming("agent-cash", taken(*amounts), seq) for seq, amounts in enumerate(AMOUNTS, 1)]
    commits = [0]
    event.listen(store.engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))

    acks, waiting = await link.apply_many(messages + [messages[0]])  # and a resend in the same batch

    assert commits[0] == 1 and waiting == []
    assert len(acks) == len(AMOUNTS)  # the resend is the same message: acked once
    assert link.outcomes[("payment.taken", "applied")] == len(AMOUNTS)
    for seq, amounts in enumerate(AMOUNTS, 1):
        data = taken(*amounts)
        assert await apply_payment_taken(store, decoded("agent-a", data, seq=seq), data) is True
    in_batch = await booked(store, service, "agent-cash", batch_rest["id"])
    alone = await booked(store, service, "agent-a", alone_rest["id"])
    assert in_batch == alone
    assert sum(1 for row in in_batch if row[-1]) == len(AMOUNTS) - 1  # 0 + 0 moves no money: no ledger set
    assert all(sum(amount for _, _, amount in row[-1]) == 0 for row in in_batch)  # every set balances

    again, _ = await link.apply_many(messages[:2])  # resent later: acked, nothing booked twice
    assert len(again) == 2
    assert await booked(store, service, "agent-cash", batch_rest["id"]) == in_batch


async def test_a_share_paid_twice_or_a_payment_from_no_restaurant_sinks_none_of_the_others(store, tmp_path):
    service = PaymentService(store.engine)
    rest = await service.create_restaurant(name="Bistro", country="FR", currency="EUR", plan=PLAN,
                                           fee_on_external=False, agent_ids=["agent-cash"], charges_enabled=True)
    link = HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)
    first = taken(2000, 0, "cash")
    same_share = taken(2000, 0, "terminal", share_id=first.share_id)  # another payment id, the same share
    stray = taken(500, 0, "cash")  # agent-1 is enrolled but belongs to no restaurant: no fee plan
    others = [taken(700 + n, 0, "cash") for n in range(5)]
    batch = [incoming("agent-cash", first, 1), incoming("agent-cash", same_share, 2), incoming("agent-1", stray, 1)]
    batch += [incoming("agent-cash", data, 3 + n) for n, data in enumerate(others)]

    acks, _ = await link.apply_many(batch)

    assert len(acks) == len(batch)  # the stray one is recorded rejected and acked: resending cannot help
    stored = {r["id"]: r for r in await read(store, select(payments))}
    assert set(stored) == {first.payment_id, *(d.payment_id for d in others)}
    assert {r["restaurant_id"] for r in stored.values()} == {rest["id"]}
    assert all(r["fee_minor"] == 0 for r in stored.values())  # fee_on_external off
    assert len(entry_sets(await service.all_entries())) == 6  # one set a payment kept
    [rejected] = await read(store, select(rejected_messages))
    assert rejected["agent_id"] == "agent-1" and "belongs to no restaurant" in rejected["reason"]
    assert link.outcomes[("payment.taken", "duplicate")] == 1
    assert link.outcomes[("payment.taken", "rejected")] == 1
