"""A Checkout Session that expired (Stripe's own expires_at, or expired by the hub) tells the agent
at once, so the share's hold is freed and the table can pay the rest (issue 16, point 1)."""

from hub.payments.context import PAYMENTS
from tests.hub.payments.conftest import register_agent
from tests.hub.payments.helpers import queued
from tests.hub.payments.test_stripe_flow import onboarded, open_session


async def test_an_expired_session_frees_the_hold_on_the_agent_once(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    await onboarded(client, standin)
    token, share = agent.link(2745, 0, expires_in=600)
    session = await open_session(client, standin, token)
    payments = client.app[PAYMENTS]
    attempt = await payments.service.find_attempt(session_id=session["id"])
    assert await payments.provider.expire_checkout(attempt) == "expired"  # as Stripe does at expires_at
    await standin.settle()  # the webhook checkout.session.expired is delivered
    assert standin.sessions[session["id"]]["status"] == "expired"
    failed = [data for kind, data in await queued(client, agent.agent_id) if kind == "payment.failed"]
    assert [f.share_id for f in failed] == [share.share_id]
    assert (await payments.service.attempt(attempt["id"]))["status"] == "expired"
    for event in list(standin.events.values()):  # Stripe retries its webhooks: nothing more
        await standin.deliver(event)
    assert len([k for k, _ in await queued(client, agent.agent_id) if k == "payment.failed"]) == 1
