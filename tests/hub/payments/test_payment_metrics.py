"""Payments, Stripe webhooks and reconciliation are counted where they happen (the hub's metrics)."""

import json

from hub.metrics import METRICS
from tests.hub.payments.conftest import AUTH, create_restaurant, register_agent
from tests.hub.payments.test_stripe_flow import onboarded, open_session, post_event
from tests.waiting import eventually


def sample(client, name: str, **labels) -> float | None:
    return client.app[METRICS].registry.get_sample_value(name, labels)


async def test_demo_payments_are_counted_by_outcome(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2400, 200)
    await client.get(f"/pay/{token}")
    assert (await client.post("/pay/demo", data={"token": token, "action": "pay"}, allow_redirects=False)).status == 303
    # the same payment reported again is not a second one
    assert (await client.post("/pay/demo", data={"token": token, "action": "pay"}, allow_redirects=False)).status \
        in (200, 303, 409)
    assert sample(client, "tableside_hub_payments_total", provider="demo", outcome="taken") == 1
    [payment] = (await (await client.get("/api/v1/payments", headers=AUTH)).json())["payments"]
    resp = await client.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount_minor": 1000}, headers=AUTH)
    assert resp.status == 201
    assert sample(client, "tableside_hub_payments_total", provider="demo", outcome="refunded") == 1

    declined, _ = agent.link(1000)
    await client.get(f"/pay/{declined}")
    await client.post("/pay/demo", data={"token": declined, "action": "decline"}, allow_redirects=False)
    assert sample(client, "tableside_hub_payments_total", provider="demo", outcome="failed") == 1
    assert sample(client, "tableside_hub_payments_total", provider="demo", outcome="taken") == 1


async def test_webhooks_are_counted_by_result_with_their_lag(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await onboarded(client, standin)
    token, _ = agent.link(1500)
    session = await open_session(client, standin, token)
    completed, succeeded = standin.pay(session["id"], deliver=False)
    assert (await standin.deliver(completed)).status == 200
    assert sample(client, "tableside_hub_stripe_webhooks_total", type="checkout.session.completed",
                  result="applied") == 1
    assert sample(client, "tableside_hub_payments_total", provider="stripe", outcome="taken") == 1
    lagged = sample(client, "tableside_hub_stripe_webhook_lag_seconds_count")
    assert lagged >= 1  # every verified delivery measures its lag
    assert (await standin.deliver(completed)).status == 200  # Stripe's retry
    assert sample(client, "tableside_hub_stripe_webhooks_total", type="checkout.session.completed",
                  result="duplicate") == 1
    assert (await post_event(client, succeeded, "whsec_wrong")).status == 400
    assert sample(client, "tableside_hub_stripe_webhooks_total", type="unknown", result="bad_signature") == 1
    assert (await client.post("/stripe/webhook", data=json.dumps(succeeded))).status == 400
    assert sample(client, "tableside_hub_stripe_webhooks_total", type="unknown", result="missing_signature") == 1
    assert sample(client, "tableside_hub_stripe_webhook_lag_seconds_count") == lagged + 1  # refused: not measured
    # an old event (created half an hour ago: a retry) lands in the lag's upper buckets
    old = {**succeeded, "id": "evt_old_one", "created": succeeded["created"] - 1800}
    assert (await post_event(client, old)).status == 200
    assert sample(client, "tableside_hub_stripe_webhook_lag_seconds_bucket", le="900.0") == lagged + 1
    assert sample(client, "tableside_hub_stripe_webhook_lag_seconds_bucket", le="3600.0") == lagged + 2


async def test_webhooks_without_a_secret_are_counted_unconfigured(demo_hub):
    resp = await demo_hub.post("/stripe/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})
    assert resp.status == 503
    assert sample(demo_hub, "tableside_hub_stripe_webhooks_total", type="unknown", result="unconfigured") == 1


async def test_reconciliation_counts_its_runs_and_last_success(demo_hub):
    client = demo_hub  # the first pass runs at start-up
    runs = await eventually(
        lambda: sample(client, "tableside_hub_reconcile_runs_total", result="ok") or None, within=30, every=0.1,
        what="the start-up reconciliation pass")
    assert runs == 1
    assert sample(client, "tableside_hub_reconcile_runs_total", result="failed") == 0
    assert sample(client, "tableside_hub_reconcile_last_success_timestamp_seconds") > 0
