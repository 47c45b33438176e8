"""Pay links that must no longer take money (issue 15, findings 3 and 4): a share of a bill the
agent reported settled or closed, and a demo payment posted after the share's hold expired."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from contract import messages
from hub.appkeys import STORE
from hub.payments.context import PAYMENTS
from hub.store.payment_tables import checkout_attempts
from tests.hub.factories import decoded
from tests.hub.payments.conftest import create_restaurant, register_agent
from tests.hub.payments.helpers import payments_of, queued


async def _bill_is(client, agent_id, status, *, seq, left_minor=0):
    data = messages.BillChanged(bill_id="bill-1", table_name="Table 4", currency="EUR", total_minor=2250,
                                paid_minor=2250 - left_minor, left_minor=left_minor, status=status,
                                changed_at="2026-11-25T19:30:00.000Z")
    assert await client.app[STORE].apply_bill_changed(decoded(agent_id, data, seq=seq), data) == "applied"


@pytest.mark.parametrize("status", ["settled", "closed"])
async def test_a_share_of_a_settled_bill_is_refused(demo_hub, status):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    old, _ = agent.link(2250)
    resp = await client.get(f"/pay/{old}")  # opened, then released on the agent; another share paid the rest
    assert resp.status == 200
    await _bill_is(client, agent.agent_id, status, seq=1)
    resp = await client.get(f"/pay/{old}")
    assert resp.status == 409 and "already been paid" in await resp.text()
    resp = await client.post("/pay/demo", data={"token": old, "action": "pay"})
    assert resp.status == 409 and "already been paid" in await resp.text()
    fresh, _ = agent.link(1000)  # never opened before the bill was paid
    resp = await client.get(f"/pay/{fresh}")
    assert resp.status == 409
    assert await payments_of(client) == [] and await queued(client, agent.agent_id) == []


async def test_an_open_bill_still_takes_payments(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    await _bill_is(client, agent.agent_id, "open", seq=1, left_minor=2250)
    token, _ = agent.link(2250)
    assert (await client.get(f"/pay/{token}")).status == 200
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"}, allow_redirects=False)
    assert resp.status == 303
    assert len(await payments_of(client)) == 1


async def test_a_demo_payment_after_the_hold_expired_is_refused(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, share = agent.link(2000)
    assert (await client.get(f"/pay/{token}")).status == 200
    # the diner sat on the card page until the agent's hold was over
    engine = client.app[PAYMENTS].service.engine
    with engine.begin() as conn:
        conn.execute(update(checkout_attempts).where(checkout_attempts.c.share_id == share.share_id)
                     .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=5)))
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"})
    assert resp.status == 410 and "expired" in await resp.text()
    assert await payments_of(client) == [] and await queued(client, agent.agent_id) == []
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"})
    assert resp.status == 410  # and it stays refused


async def test_pay_pages_cannot_be_framed(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2000)
    for path in (f"/pay/{token}", "/pay/x.y", "/onboarding/done"):
        resp = await client.get(path)
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], path
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
