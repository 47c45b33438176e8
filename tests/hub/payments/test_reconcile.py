"""Reconciliation: what Stripe knows and no webhook told the hub gets applied, once."""

from hub.payments.context import PAYMENTS
from hub.payments.reconcile import reconcile
from tests.hub.payments.conftest import create_restaurant, register_agent
from tests.hub.payments.helpers import assert_ledger_balanced, payments_of, queued


async def test_a_payment_whose_webhook_never_came(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await create_restaurant(client)
    standin.auto_deliver = False  # Stripe cannot reach the hub: no webhook at all from here on
    standin.enable_charges(restaurant["stripe_account_id"])
    token, share = agent.link(2500, 250)
    payments = client.app[PAYMENTS]
    counts = await reconcile(payments)  # account.updated never came either
    assert counts.get("accounts_updated") == 1
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    session_id = resp.headers["Location"].rsplit("/", 1)[-1]
    standin.pay(session_id)
    assert await payments_of(client) == []
    counts = await reconcile(payments)
    assert counts["events_applied"] >= 2
    [payment] = await payments_of(client)
    assert payment["share_id"] == share.share_id and payment["charge_id"]
    assert [kind for kind, _ in await queued(client, agent.agent_id)] == ["payment.recorded"]
    again = await reconcile(payments)
    assert again.get("events_applied", 0) == 0 and again.get("sessions_recorded", 0) == 0
    assert len(await payments_of(client)) == 1
    await assert_ledger_balanced(client)
    # the webhooks finally arrive: nothing more
    for event in list(standin.events.values()):
        assert (await standin.deliver(event)).status == 200
    assert len(await payments_of(client)) == 1 and len(await queued(client, agent.agent_id)) == 1


async def test_open_sessions_are_expired_when_the_hold_ends(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await create_restaurant(client)
    standin.enable_charges(restaurant["stripe_account_id"])
    await standin.settle()
    token, share = agent.link(2000, expires_in=-5)  # inside the leeway: the page opens; the hold is over
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    session_id = resp.headers["Location"].rsplit("/", 1)[-1]
    fresh, _ = agent.link(2000, expires_in=600)
    resp = await client.get(f"/pay/{fresh}", allow_redirects=False)
    fresh_session = resp.headers["Location"].rsplit("/", 1)[-1]
    counts = await reconcile(client.app[PAYMENTS])
    assert counts["expired"] == 1
    assert standin.sessions[session_id]["status"] == "expired"
    assert standin.sessions[fresh_session]["status"] == "open"
    attempt = await client.app[PAYMENTS].service.find_attempt(session_id=session_id)
    assert attempt["status"] == "expired"


async def test_a_session_paid_just_before_its_hold_ended_is_recorded_not_expired(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await create_restaurant(client)
    standin.enable_charges(restaurant["stripe_account_id"])
    await standin.settle()
    standin.auto_deliver = False
    token, _ = agent.link(2000, expires_in=-5)
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    standin.pay(resp.headers["Location"].rsplit("/", 1)[-1])
    await reconcile(client.app[PAYMENTS])
    assert len(await payments_of(client)) == 1


async def test_demo_attempts_expire_with_their_hold(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2000, expires_in=-5)
    assert (await client.get(f"/pay/{token}")).status == 200
    assert (await reconcile(client.app[PAYMENTS]))["expired"] == 1
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"})
    assert resp.status == 410 and await payments_of(client) == []


async def test_every_request_fits_stripes_openapi(stripe_hub, standin):
    client = stripe_hub
    restaurant = await create_restaurant(client)
    standin.enable_charges(restaurant["stripe_account_id"])
    await reconcile(client.app[PAYMENTS])
    assert {c.operation_id for c in standin.requests} >= {"GetEvents", "GetCheckoutSessions", "PostAccounts"}
    assert all(not r.problems and r.status == 200 for r in standin.requests), \
        [(r.operation_id, r.problems) for r in standin.requests if r.problems]
