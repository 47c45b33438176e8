"""Refunds through Stripe: partial then full, the fee given back in proportion, the ledger to the cent."""

import asyncio

from contract.envelope import Envelope
from contract.ids import uuid7
from contract.messages import RefundRecorded, RefundRequested
from hub.payments.context import PAYMENTS
from hub.payments.fees import refund_fee
from hub.payments.link_handlers import apply_refund_requested
from hub.payments.service import PaymentMessageRejected
from tests.hub.factories import decoded
from tests.hub.payments.conftest import AUTH, PLAN, create_restaurant, register_agent
from tests.hub.payments.helpers import assert_ledger_balanced, payments_of, plan_fee, queued


async def paid_share(client, standin, agent, amount=3333, tip=0) -> dict:
    token, share = agent.link(amount, tip)
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    assert resp.status == 303
    session_id = resp.headers["Location"].rsplit("/", 1)[-1]
    standin.pay(session_id)
    await standin.settle()
    [payment] = [p for p in await payments_of(client) if p["share_id"] == share.share_id]
    return payment


async def stripe_restaurant(client, standin, **extra) -> dict:
    restaurant = await create_restaurant(client, **extra)
    standin.enable_charges(restaurant["stripe_account_id"])
    await standin.settle()
    return restaurant


async def refund(client, payment_id: str, amount, reason="cold soup"):
    return await client.post(f"/api/v1/payments/{payment_id}/refunds", json={"amount_minor": amount, "reason": reason},
                             headers=AUTH)


async def test_partial_then_full_refund(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await stripe_restaurant(client, standin)
    payment = await paid_share(client, standin, agent, 3333, 200)
    fee = plan_fee(PLAN, 3333, 200)
    assert payment["fee_minor"] == fee == 60  # round_half_up(1.5 % of 3333) = 50, + 10
    total = 3533

    resp = await refund(client, payment["id"], 1000)
    first = await resp.json()
    assert resp.status == 201, first
    assert first["status"] == "succeeded" and first["provider_refund_id"].startswith("re_")
    assert first["fee_refunded_minor"] == refund_fee(fee, total, 0, 1000) == 17
    [call] = standin.calls("PostRefunds")
    assert call.body["refund_application_fee"] is True and call.body["reverse_transfer"] is True
    assert call.body["amount"] == 1000 and call.body["payment_intent"] == payment["payment_intent_id"]
    assert call.idempotency_key == f"refund-{first['id']}"

    resp = await refund(client, payment["id"], total - 999)  # one more than is left
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "exceeds_refundable"
    assert len(standin.calls("PostRefunds")) == 1  # refused before Stripe was asked

    resp = await refund(client, payment["id"], total - 1000)
    second = await resp.json()
    assert resp.status == 201 and second["fee_refunded_minor"] == fee - 17
    await standin.settle()  # the charge.refunded webhooks: known refunds, nothing booked twice
    assert all(d.status == 200 for d in standin.deliveries)

    resp = await refund(client, payment["id"], 1)
    assert resp.status == 409
    stored = await client.app[PAYMENTS].service.payment(payment["id"])
    assert stored["refunded_minor"] == total and [r["status"] for r in stored["refunds"]] == ["succeeded"] * 2
    rows = await assert_ledger_balanced(client)
    account = f"restaurant:{restaurant['id']}"
    assert sum(r["amount_minor"] for r in rows if r["account"] == account) == 0  # all given back, fee too
    assert sum(r["amount_minor"] for r in rows if r["account"] == "platform:fees") == 0
    sets = {r["entry_set_id"] for r in rows}
    assert len(sets) == 3  # the charge and two refunds
    refunds_sent = [m for _, m in await queued(client, agent.agent_id) if isinstance(m, RefundRecorded)]
    assert [(m.refund_id, m.amount_minor, m.status) for m in refunds_sent] == \
        [(first["id"], 1000, "succeeded"), (second["id"], total - 1000, "succeeded")]


async def test_fees_equal_the_plan_on_every_charge(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    plan = {"basis_points": 290, "fixed_minor": 30, "min_minor": 50, "cap_minor": 500, "fee_on_tips": True}
    restaurant = await stripe_restaurant(client, standin, plan=plan)
    amounts = [(1, 0), (999, 101), (12345, 0), (50000, 5000)]
    for amount, tip in amounts:
        await paid_share(client, standin, agent, amount, tip)
    rows = await assert_ledger_balanced(client)
    fees = -sum(r["amount_minor"] for r in rows if r["account"] == f"restaurant:{restaurant['id']}" and r["kind"] == "fee")
    assert fees == sum(plan_fee(plan, a, t) for a, t in amounts)
    intents = [c.body["payment_intent_data"].get("application_fee_amount", 0) for c in standin.calls("PostCheckoutSessions")]
    assert intents == [plan_fee(plan, a, t) for a, t in amounts]


async def test_concurrent_refunds_never_exceed_the_payment(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await stripe_restaurant(client, standin)
    payment = await paid_share(client, standin, agent, 1000)
    answers = await asyncio.gather(*(refund(client, payment["id"], 300) for _ in range(6)))
    assert sorted(a.status for a in answers) == [201, 201, 201, 409, 409, 409]
    assert sum(r["amount"] for r in standin.refunds.values()) == 900
    await assert_ledger_balanced(client)


async def test_refund_made_in_the_stripe_dashboard_is_booked_once(stripe_hub, standin):
    import stripe as sdk
    client = stripe_hub
    agent = await register_agent(client)
    await stripe_restaurant(client, standin)
    payment = await paid_share(client, standin, agent, 2000)
    dashboard = sdk.StripeClient("sk_test_dashboard", base_addresses={"api": str(standin.server.make_url(""))},
                                 max_network_retries=0)
    await asyncio.to_thread(dashboard.v1.refunds.create, {"payment_intent": payment["payment_intent_id"], "amount": 500})
    await standin.settle()
    for event in [e for e in standin.events.values() if e["type"] == "charge.refunded"]:
        await standin.deliver(event)  # again: nothing more
    stored = await client.app[PAYMENTS].service.payment(payment["id"])
    assert [(r["amount_minor"], r["requested_by"], r["status"]) for r in stored["refunds"]] == [(500, "stripe", "succeeded")]
    await assert_ledger_balanced(client)


async def test_staff_refund_over_the_link(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await stripe_restaurant(client, standin)
    payment = await paid_share(client, standin, agent, 2000)
    payments = client.app[PAYMENTS]
    asked = RefundRequested(refund_id=uuid7(), payment_id=payment["id"], amount_minor=700, reason="wrong dish")
    env = decoded(agent.agent_id, asked)
    assert await apply_refund_requested(client.app, env, asked) == "succeeded"
    assert await apply_refund_requested(payments, decoded(agent.agent_id, asked, seq=2), asked) == "succeeded"
    assert len(standin.calls("PostRefunds")) == 1  # the same refund id: one refund
    too_much = RefundRequested(refund_id=uuid7(), payment_id=payment["id"], amount_minor=1301)
    assert await apply_refund_requested(client.app, decoded(agent.agent_id, too_much, seq=3), too_much) == "failed"
    sent = [m for _, m in await queued(client, agent.agent_id) if isinstance(m, RefundRecorded)]
    assert [(m.refund_id, m.status) for m in sent] == [(asked.refund_id, "succeeded"), (too_much.refund_id, "failed")]
    other: Envelope = decoded("agent-other", asked)
    try:
        await apply_refund_requested(client.app, other, asked)
        raise AssertionError("another agent's refund was accepted")
    except PaymentMessageRejected as exc:
        assert "agent-other" in str(exc)
    stored = await payments.service.payment(payment["id"])
    assert stored["refunded_minor"] == 700 and stored["refunds"][0]["requested_by"] == f"staff:{agent.agent_id}"


async def test_stripe_refusing_a_refund_frees_the_amount(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await stripe_restaurant(client, standin)
    payment = await paid_share(client, standin, agent, 2000)
    standin.down = True
    resp = await refund(client, payment["id"], 2000)
    assert resp.status == 502 and (await resp.json())["error"]["code"] == "provider_error"
    standin.down = False
    resp = await refund(client, payment["id"], 2000)
    assert resp.status == 201
    stored = await client.app[PAYMENTS].service.payment(payment["id"])
    assert [r["status"] for r in stored["refunds"]] == ["failed", "succeeded"]
    await assert_ledger_balanced(client)


async def test_refund_bad_input(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await stripe_restaurant(client, standin)
    payment = await paid_share(client, standin, agent, 2000)
    url = f"/api/v1/payments/{payment['id']}/refunds"
    for body, status in (({"amount_minor": 0}, 422), ({"amount_minor": -5}, 422), ({"amount_minor": "5"}, 422),
                         ({"amount_minor": True}, 422), ({}, 422), ({"amount_minor": 5, "reason": 7}, 422),
                         ({"amount_minor": 5, "colour": "red"}, 422), ([1], 400)):
        resp = await client.post(url, json=body, headers=AUTH)
        assert resp.status == status, body
        assert (await resp.json())["error"]["message"]
    resp = await client.post(url, data=b"{nope", headers=AUTH)
    assert resp.status == 400
    resp = await client.post("/api/v1/payments/nope/refunds", json={"amount_minor": 5}, headers=AUTH)
    assert resp.status == 404
    resp = await client.post(url, json={"amount_minor": 5})
    assert resp.status == 401
    assert standin.calls("PostRefunds") == []
