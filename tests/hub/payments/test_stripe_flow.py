"""The whole card path with the real stripe SDK against the Stripe stand-in."""

import json
import time

from contract.messages import PaymentRecorded
from hub.payments.context import PAYMENTS
from tests.hub.payments.conftest import AUTH, PLAN, WEBHOOK_SECRET, create_restaurant, register_agent
from tests.hub.payments.helpers import assert_ledger_balanced, ledger_rows, payments_of, plan_fee, queued
from tests.standins.stripe import sign
from tests.standins.stripe_objects import make_event, make_payment_intent, make_session


async def onboarded(client, standin, **extra) -> dict:
    restaurant = await create_restaurant(client, **extra)
    assert restaurant["onboarding_url"] == str(standin.server.make_url(f"/connect/onboard/{restaurant['stripe_account_id']}"))
    assert restaurant["charges_enabled"] is False
    standin.enable_charges(restaurant["stripe_account_id"])  # the restaurant finished onboarding
    await standin.settle()
    resp = await client.get(f"/api/v1/restaurants/{restaurant['id']}", headers=AUTH)
    assert (await resp.json())["charges_enabled"] is True
    return await resp.json()


async def open_session(client, standin, token: str) -> dict:
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    assert resp.status == 303, await resp.text()
    session_id = resp.headers["Location"].rsplit("/", 1)[-1]
    assert resp.headers["Location"] == str(standin.server.make_url(f"/checkout/{session_id}"))
    return standin.sessions[session_id]


async def test_onboard_pay_webhook_ledger_and_agent_message(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await onboarded(client, standin)
    account = restaurant["stripe_account_id"]
    [created] = standin.calls("PostAccounts")
    assert created.body["metadata"] == {"restaurant_id": restaurant["id"]} and created.idempotency_key
    assert standin.calls("PostAccountLinks")[0].body["account"] == account

    token, share = agent.link(2000, 300)
    session = await open_session(client, standin, token)
    fee = plan_fee(PLAN, 2000, 300)
    assert fee == 40  # 1.5 % of 20.00 (tip not charged) + 0.10
    [call] = standin.calls("PostCheckoutSessions")
    assert not call.problems and call.status == 200
    assert call.idempotency_key == f"agent-{share.agent_id}-share-{share.share_id}-attempt-1"
    intent_data = call.body["payment_intent_data"]
    assert intent_data["application_fee_amount"] == fee
    assert intent_data["transfer_data"] == {"destination": account} and intent_data["on_behalf_of"] == account
    meta = {"restaurant_id": restaurant["id"], "agent_id": agent.agent_id, "bill_id": "bill-1",
            "share_id": share.share_id}
    assert meta.items() <= call.body["metadata"].items() and meta.items() <= intent_data["metadata"].items()
    assert [(li["price_data"]["unit_amount"], li["price_data"]["product_data"]["name"]) for li in call.body["line_items"]] \
        == [(2000, "Share of table 4"), (300, "Tip")]
    assert call.body["expires_at"] >= session["created"] + 1800  # Stripe's minimum
    assert call.body["success_url"].endswith("/pay/done/" + call.body["metadata"]["attempt_id"])

    # opening the link again reuses the open session: no second session
    again = await open_session(client, standin, token)
    assert again["id"] == session["id"] and len(standin.calls("PostCheckoutSessions")) == 1

    # the return page before the webhook: processing, and it records nothing
    done_url = call.body["success_url"].split("/pay/", 1)[1]
    resp = await client.get(f"/pay/{done_url}")
    assert resp.status == 200 and "Payment processing" in await resp.text()
    assert await payments_of(client) == []

    standin.pay(session["id"])
    await standin.settle()
    assert [d.status for d in standin.deliveries[-2:]] == [200, 200]
    [payment] = await payments_of(client)
    assert (payment["amount_minor"], payment["tip_minor"], payment["fee_minor"], payment["provider"]) == \
        (2000, 300, fee, "stripe")
    assert payment["payment_intent_id"] == standin.session_intents[session["id"]]
    assert payment["charge_id"]  # filled from payment_intent.succeeded
    rows = await assert_ledger_balanced(client)
    restaurant_sum = sum(r["amount_minor"] for r in rows if r["account"] == f"restaurant:{restaurant['id']}")
    assert restaurant_sum == 2000 + 300 - fee
    assert sum(r["amount_minor"] for r in rows if r["account"] == "platform:fees") == fee
    [(kind, message)] = await queued(client, agent.agent_id)
    assert kind == "payment.recorded" and isinstance(message, PaymentRecorded)
    assert (message.share_id, message.amount_minor, message.tip_minor, message.fee_minor, message.payment_id) == \
        (share.share_id, 2000, 300, fee, payment["id"])

    resp = await client.get(f"/pay/{done_url}", headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = await resp.text()
    assert "Zahlung erhalten" in page and 'href="http://agent.test/t/tok123"' in page

    # the same webhook again, and the same link again: nothing more happens
    for event in list(standin.events.values()):
        delivery = await standin.deliver(event)
        assert delivery.status == 200
    resp = await client.get(f"/pay/{token}")
    assert resp.status == 200 and "Already paid" in await resp.text()
    assert len(await payments_of(client)) == 1 and len(await queued(client, agent.agent_id)) == 1
    assert len(await assert_ledger_balanced(client)) == len(rows)
    assert all(not r.problems for r in standin.requests)  # every request the hub sent fits Stripe's OpenAPI


async def test_out_of_order_intent_before_session(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await onboarded(client, standin)
    token, share = agent.link(1500)
    session = await open_session(client, standin, token)
    completed, succeeded = standin.pay(session["id"], deliver=False)
    for event in (succeeded, completed, succeeded, completed):
        assert (await standin.deliver(event)).status == 200
    [payment] = await payments_of(client)
    assert payment["checkout_session_id"] == session["id"] and payment["charge_id"]
    assert len(await queued(client, agent.agent_id)) == 1
    rows = await assert_ledger_balanced(client)
    assert len({r["entry_set_id"] for r in rows}) == 1


async def post_event(client, event: dict, secret: str = WEBHOOK_SECRET, *, payload: bytes | None = None,
                     timestamp: int | None = None):
    body = json.dumps(event).encode()
    return await client.post("/stripe/webhook", data=payload or body,
                             headers={"Stripe-Signature": sign(body, secret, timestamp)})


async def test_bad_signature_changes_nothing(stripe_hub, standin, caplog):
    client = stripe_hub
    agent = await register_agent(client)
    await onboarded(client, standin)
    token, _ = agent.link(1500)
    session = await open_session(client, standin, token)
    completed, _ = standin.pay(session["id"], deliver=False)
    tampered = json.dumps(completed).replace('"amount_total": 1500', '"amount_total": 1').encode()
    for answer in (await post_event(client, completed, "whsec_wrong"),
                   await post_event(client, completed, payload=tampered),
                   await post_event(client, completed, timestamp=int(time.time()) - 3600)):
        assert answer.status == 400
        assert (await answer.json())["error"]["code"] == "bad_signature"
    resp = await client.post("/stripe/webhook", data=json.dumps(completed))
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "missing_signature"
    assert "bad signature" in caplog.text
    assert await payments_of(client) == []
    assert not await client.app[PAYMENTS].service.event_seen(completed["id"])
    assert (await post_event(client, completed)).status == 200  # the genuine one still works
    assert len(await payments_of(client)) == 1


async def test_unknown_session_and_intent_are_ignored(stripe_hub, standin, caplog):
    client = stripe_hub
    await onboarded(client, standin)
    # objects the hub never made (another integration on the same Stripe account, say)
    session = make_session({"metadata": {"attempt_id": "nope"}}, 999, "eur", 0, "x")
    session.update(status="complete", payment_status="paid")
    intent = make_payment_intent(session, {"metadata": {"share_id": "s-unknown"}}, 0)
    for kind, obj in (("checkout.session.completed", session), ("payment_intent.succeeded", intent),
                      ("payment_intent.payment_failed", intent)):
        resp = await post_event(client, make_event(kind, obj, int(time.time())))
        answer = await resp.json()
        assert resp.status == 200 and answer["ignored"] is True and "unknown" in answer["outcome"], answer
    assert "unknown checkout session" in caplog.text
    assert await payments_of(client) == [] and await ledger_rows(client) == []


async def test_return_page_never_records(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await onboarded(client, standin)
    token, _ = agent.link(1500)
    session = await open_session(client, standin, token)
    standin.auto_deliver = False
    standin.pay(session["id"])  # paid at Stripe, but no webhook arrives
    attempt_id = session["metadata"]["attempt_id"]
    for _ in range(3):
        resp = await client.get(f"/pay/done/{attempt_id}")
        page = await resp.text()
        assert resp.status == 200 and "Payment processing" in page and 'http-equiv="refresh"' in page
    assert await payments_of(client) == []
    resp = await client.get(f"/pay/cancelled/{attempt_id}", headers={"Accept-Language": "fr"})
    assert "Paiement annulé" in await resp.text()


async def test_zero_decimal_currency(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    plan = {"basis_points": 360, "fixed_minor": 30, "min_minor": 50, "cap_minor": None, "fee_on_tips": False}
    await onboarded(client, standin, plan=plan, currency="JPY")
    token, _ = agent.link(4580, currency="JPY")
    session = await open_session(client, standin, token)
    [call] = standin.calls("PostCheckoutSessions")
    assert call.body["line_items"][0]["price_data"] == {"currency": "jpy", "unit_amount": 4580,
                                                        "product_data": {"name": "Share of table 4"}}
    assert call.body["payment_intent_data"]["application_fee_amount"] == 195
    standin.pay(session["id"])
    await standin.settle()
    [payment] = await payments_of(client)
    assert (payment["currency"], payment["amount_minor"], payment["fee_minor"]) == ("JPY", 4580, 195)
    await assert_ledger_balanced(client)


def test_isk_goes_to_stripe_as_a_two_decimal_amount():
    from hub.payments.stripe_provider import from_stripe, session_params
    attempt = {"currency": "ISK", "amount_minor": 4500, "tip_minor": 500, "fee_minor": 77, "description": "d",
               "table_name": "T", "restaurant_id": "r", "agent_id": "a", "bill_id": "b", "share_id": "s", "id": "i",
               "attempt": 1, "session_expires_at": 0}
    params = session_params(attempt, "acct_1", success_url="https://h/s", cancel_url="https://h/c")
    assert [li["price_data"]["unit_amount"] for li in params["line_items"]] == [450000, 50000]
    assert params["payment_intent_data"]["application_fee_amount"] == 7700
    assert from_stripe(500000, "ISK") == 5000 and from_stripe(500000, "EUR") == 500000
