"""Pay links that must not lead to a payment get a clear page, are logged, and change nothing."""

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contract import pay_link
from hub.appkeys import STORE
from tests.hub.payments.conftest import create_restaurant, register_agent
from tests.hub.payments.helpers import payments_of


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _page(client, token: str, status: int, text: str, **headers) -> str:
    resp = await client.get(f"/pay/{token}", headers=headers, allow_redirects=False)
    page = await resp.text()
    assert resp.status == status, page
    assert resp.content_type == "text/html" and text in page and "Traceback" not in page
    return page


async def test_tampered_forged_and_garbage_links(demo_hub, caplog):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, share = agent.link(2000)
    head, signature = token.split(".")
    cheaper = pay_link.ShareToPay(**{**{f: getattr(share, f) for f in share.__struct_fields__}, "amount_minor": 1})
    tampered = f"{_b64(pay_link._encoder.encode(cheaper))}.{signature}"
    forged = pay_link.sign(cheaper, Ed25519PrivateKey.generate())  # right agent id, someone else's key
    unknown_agent = pay_link.sign(pay_link.ShareToPay(**{**{f: getattr(share, f) for f in share.__struct_fields__},
                                                         "agent_id": "agent-nobody"}), agent.key)
    for bad in (tampered, forged, unknown_agent, "garbage", head, "a.b", "x" * 5000):
        await _page(client, bad, 400, "This payment link is not valid")
    await _page(client, tampered, 400, "Dieser Zahlungslink ist ungültig", **{"Accept-Language": "de"})
    assert "pay link refused" in caplog.text and "signature does not match" in caplog.text
    assert await payments_of(client) == []


async def test_expired_link_respects_the_agent_clock(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2000, expires_in=-120)
    await _page(client, token, 410, "This payment link has expired")
    # the agent's clock runs 10 minutes ahead of the hub's (offset = hub - agent < 0): what it
    # calls "500 s from now" ended 100 s ago in hub time
    await client.app[STORE].set_clock_offset(agent.agent_id, -600_000)
    token, _ = agent.link(2000, expires_in=500)
    await _page(client, token, 410, "expired")
    # ...and 10 minutes behind: a link that looks expired by 2 minutes still has 8 to go
    await client.app[STORE].set_clock_offset(agent.agent_id, 600_000)
    token, _ = agent.link(2000, expires_in=-120)
    await _page(client, token, 200, "DEMO")


async def test_small_leeway_at_the_edge(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2000, expires_in=-5)  # a few seconds of clock error are forgiven
    await _page(client, token, 200, "Demo payment")


async def test_replayed_link_after_payment(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2000)
    await _page(client, token, 200, "Demo payment")
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"}, allow_redirects=False)
    assert resp.status == 303
    for _ in range(2):
        await _page(client, token, 200, "Already paid")
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"}, allow_redirects=False)
    assert resp.status == 200 and "Already paid" in await resp.text()
    assert len(await payments_of(client)) == 1


async def test_agent_without_restaurant_or_charges(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    token, _ = agent.link(2000)
    await _page(client, token, 503, "Card payments are not available")  # bound to no restaurant
    await create_restaurant(client)  # bound, but the account is not onboarded yet
    await _page(client, token, 503, "cannot take card payments yet")
    assert standin.calls("PostCheckoutSessions") == []


async def test_stripe_down_gives_a_retry_page(stripe_hub, standin):
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await create_restaurant(client)
    standin.enable_charges(restaurant["stripe_account_id"])
    await standin.settle()
    token, share = agent.link(2000)
    standin.down = True
    await _page(client, token, 502, "The payment service did not answer")
    standin.down = False
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    assert resp.status == 303  # the same attempt, the same idempotency key
    keys = {c.idempotency_key for c in standin.calls("PostCheckoutSessions")}
    assert keys == {f"agent-{share.agent_id}-share-{share.share_id}-attempt-1"}


async def test_a_half_made_attempt_is_abandoned_after_a_while(stripe_hub, standin):
    from sqlalchemy import update

    from hub.payments.context import PAYMENTS
    from hub.store.payment_tables import checkout_attempts
    client = stripe_hub
    agent = await register_agent(client)
    restaurant = await create_restaurant(client)
    standin.enable_charges(restaurant["stripe_account_id"])
    await standin.settle()
    token, share = agent.link(2000)
    standin.down = True
    await _page(client, token, 502, "did not answer")
    standin.down = False
    engine = client.app[PAYMENTS].service.engine
    with engine.begin() as conn:  # as if that happened five minutes ago
        conn.execute(update(checkout_attempts).values(session_expires_at=checkout_attempts.c.session_expires_at - 300))
    resp = await client.get(f"/pay/{token}", allow_redirects=False)
    assert resp.status == 303
    assert [c.idempotency_key for c in standin.calls("PostCheckoutSessions")][-1] == \
        f"agent-{share.agent_id}-share-{share.share_id}-attempt-2"
