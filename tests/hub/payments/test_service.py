"""PaymentService on the store alone (SQLite and PostgreSQL): external payments, idempotency, races."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from contract.ids import uuid7
from contract.messages import PaymentTaken
from contract.pay_link import ShareToPay
from hub.payments.fees import FeePlan, platform_fee
from hub.payments.link_handlers import apply_payment_taken
from hub.payments.service import PaymentMessageRejected, PaymentService, entry_sets
from tests.hub.factories import decoded

PLAN = FeePlan(basis_points=150, fixed_minor=10)


def taken(amount=4000, tip=500, method="cash", payment_id=None, share_id=None) -> PaymentTaken:
    return PaymentTaken(payment_id=payment_id or uuid7(), share_id=share_id or uuid7(), bill_id="bill-9",
                        table_name="Table 9", method=method, currency="EUR", amount_minor=amount, tip_minor=tip,
                        taken_at="2026-11-24T19:00:00.000Z")


async def restaurant(service: PaymentService, *, fee_on_external: bool, agent="agent-cash") -> dict:
    return await service.create_restaurant(name="Bistro", country="FR", currency="EUR", plan=PLAN,
                                           fee_on_external=fee_on_external, agent_ids=[agent], charges_enabled=True)


async def test_cash_with_fee_owed(store):
    service = PaymentService(store.engine)
    rest = await restaurant(service, fee_on_external=True)
    data = taken()
    assert await apply_payment_taken(store, decoded("agent-cash", data), data) is True
    assert await apply_payment_taken(store, decoded("agent-cash", data), data) is False  # same message
    assert await apply_payment_taken(store, decoded("agent-cash", data, seq=2), data) is False  # same payment id
    payment = await service.payment(data.payment_id)
    fee = platform_fee(PLAN, 4000, 500)
    assert (payment["provider"], payment["method"], payment["fee_minor"]) == ("external", "cash", fee)
    rows = await service.all_entries()
    [entries] = entry_sets(rows).values()
    assert sum(e.amount_minor for e in entries) == 0
    by_account = {(e.account, e.kind): e.amount_minor for e in entries}
    assert by_account[(f"platform:receivable:{rest['id']}", "fee_owed")] == fee
    assert by_account[(f"restaurant:{rest['id']}", "fee_owed")] == -fee
    assert by_account[("external:cash", "payment")] == -4500


async def test_terminal_without_fee_and_rejections(store):
    service = PaymentService(store.engine)
    await restaurant(service, fee_on_external=False)
    data = taken(method="terminal")
    assert await apply_payment_taken(store, decoded("agent-cash", data), data) is True
    assert (await service.payment(data.payment_id))["fee_minor"] == 0
    kinds = {r["kind"] for r in await service.all_entries()}
    assert "fee_owed" not in kinds
    with pytest.raises(PaymentMessageRejected, match="no restaurant"):
        await apply_payment_taken(store, decoded("agent-stray", data), data)
    # a card payment cannot be refunded through the platform when it never went through it
    from hub.payments.service import PaymentError
    with pytest.raises(PaymentError) as refused:
        await service.reserve_refund(data.payment_id, 100, reason="", requested_by="operator")
    assert refused.value.code == "not_a_card_payment"


def share(amount=2000, tip=0) -> ShareToPay:
    return ShareToPay(v=1, agent_id="agent-cash", share_id=uuid7(), bill_id="b", table_name="T", currency="EUR",
                      amount_minor=amount, tip_minor=tip, description="d", issued_at=0, expires_at=0,
                      return_url="http://a/t/x")


async def test_one_payment_per_share_however_many_report_it(store):
    woken: list[str] = []
    service = PaymentService(store.engine, woken.append)
    rest = await restaurant(service, fee_on_external=False)
    the_share = share(2000, 100)
    hold = datetime.now(UTC) + timedelta(minutes=5)
    decision = await service.decide(the_share, rest, provider="demo", hold_expires_at=hold, session_expires_at=2**40)
    assert decision.kind == "create"
    again = await service.decide(the_share, rest, provider="demo", hold_expires_at=hold, session_expires_at=2**40)
    assert again.kind == "create" and again.attempt["id"] == decision.attempt["id"]  # the same reserved attempt
    await service.attempt_opened(decision.attempt["id"], "demo_x", None)
    attempt = await service.attempt(decision.attempt["id"])
    outcomes = await asyncio.gather(*(service.record_card_payment(attempt, intent_id="pi_1") for _ in range(8)))
    assert sorted(o for o, _ in outcomes) == ["duplicate"] * 7 + ["recorded"]
    assert len({p["id"] for _, p in outcomes}) == 1
    assert woken == ["agent-cash"]
    assert len(entry_sets(await service.all_entries())) == 1
    assert (await service.decide(the_share, rest, provider="demo", hold_expires_at=hold,
                                 session_expires_at=2**40)).kind == "paid"


async def test_refund_reservations_race(store):
    service = PaymentService(store.engine)
    rest = await restaurant(service, fee_on_external=False)
    hold = datetime.now(UTC) + timedelta(minutes=5)
    decision = await service.decide(share(1000), rest, provider="demo", hold_expires_at=hold, session_expires_at=2**40)
    _, payment = await service.record_card_payment(decision.attempt)

    async def try_refund() -> bool:
        from hub.payments.service import PaymentError
        try:
            await service.reserve_refund(payment["id"], 100, reason="", requested_by="operator")
            return True
        except PaymentError:
            return False
    results = await asyncio.gather(*(try_refund() for _ in range(15)))
    assert results.count(True) == 10
    refunds = (await service.payment(payment["id"]))["refunds"]
    await asyncio.gather(*(service.complete_refund(r["id"], f"re_{n}") for n, r in enumerate(refunds)))
    stored = await service.payment(payment["id"])
    assert stored["refunded_minor"] == 1000
    assert sum(r["fee_refunded_minor"] for r in stored["refunds"]) == payment["fee_minor"]
    for entries in entry_sets(await service.all_entries()).values():
        assert sum(e.amount_minor for e in entries) == 0


async def test_account_updated_out_of_order(store):
    service = PaymentService(store.engine)
    rest = await restaurant(service, fee_on_external=False)
    await service.set_stripe_account(rest["id"], "acct_1")
    assert await service.account_updated("acct_1", True, 200) == "charges_enabled=True"
    assert (await service.account_updated("acct_1", False, 100)).startswith("ignored")  # older, late
    assert (await service.restaurant(rest["id"]))["charges_enabled"] is True
    assert (await service.account_updated("acct_unknown", True, 300)).startswith("ignored")


async def test_payment_taken_in_an_unknown_currency_is_rejected_not_retried(store):
    service = PaymentService(store.engine)
    await restaurant(service, fee_on_external=True)
    data = taken()
    bad = PaymentTaken(**{**{f: getattr(data, f) for f in data.__struct_fields__}, "currency": "XXX"})
    with pytest.raises(PaymentMessageRejected, match="XXX"):
        await apply_payment_taken(store, decoded("agent-cash", bad), bad)
    assert await service.payment(bad.payment_id) is None and await service.all_entries() == []


async def test_another_agent_naming_my_share_pays_nothing_of_it(store):
    """A share is its agent's: agent-b's cash payment for agent-cash's share id must not make
    agent-cash's genuine pay link answer "already paid", and agent-cash's own payment still counts."""
    service = PaymentService(store.engine)
    mine = await restaurant(service, fee_on_external=False)
    await restaurant(service, fee_on_external=False, agent="agent-b")
    the_share = share(2000)
    forged = taken(share_id=the_share.share_id)
    assert await apply_payment_taken(store, decoded("agent-b", forged), forged) is True  # agent-b's own books
    hold = datetime.now(UTC) + timedelta(minutes=5)
    decision = await service.decide(the_share, mine, provider="demo", hold_expires_at=hold, session_expires_at=2**40)
    assert decision.kind == "create"
    assert await service.find_payment(share=("agent-cash", the_share.share_id)) is None
    outcome, payment = await service.record_card_payment(decision.attempt)
    assert outcome == "recorded" and payment["agent_id"] == "agent-cash"
    assert (await service.find_payment(share=("agent-b", the_share.share_id)))["id"] == forged.payment_id
