"""The demo provider: the hub's own clearly marked card page, the same rows and messages as Stripe."""

from contract.messages import PaymentFailed, PaymentRecorded, RefundRecorded
from tests.hub.payments.conftest import AUTH, PLAN, create_restaurant, register_agent
from tests.hub.payments.helpers import assert_ledger_balanced, payments_of, plan_fee, queued


async def test_demo_pay(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    restaurant = await create_restaurant(client)
    assert restaurant["onboarding_url"] is None and restaurant["charges_enabled"] is True
    token, share = agent.link(2400, 200)
    resp = await client.get(f"/pay/{token}")
    page = await resp.text()
    assert resp.status == 200 and "DEMO: no real money moves" in page
    assert "Pay €26.00" in page and ">Decline</button>" in page and f'value="{token}"' in page
    assert page.count("DEMO: no real money moves") == 1  # said once, beside the buttons
    assert "<script" not in page
    german = await (await client.get(f"/pay/{token}?lang=de")).text()  # the language the diner chose
    assert "26,00\u00a0€ bezahlen" in german and "Demo-Zahlung" in german
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay", "lang": "de"}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/pay/done/")
    done = await client.get(resp.headers["Location"])
    assert "Zahlung erhalten" in await done.text()  # the form carried the diner's language on
    [payment] = await payments_of(client)
    fee = plan_fee(PLAN, 2400, 200)
    assert (payment["provider"], payment["method"], payment["fee_minor"], payment["share_id"]) == \
        ("demo", "card", fee, share.share_id)
    await assert_ledger_balanced(client)
    [(kind, message)] = await queued(client, agent.agent_id)
    assert isinstance(message, PaymentRecorded) and message.provider == "demo" and message.fee_minor == fee

    # refunds in demo succeed at once
    resp = await client.post(f"/api/v1/payments/{payment['id']}/refunds", json={"amount_minor": 2600}, headers=AUTH)
    refund = await resp.json()
    assert resp.status == 201 and refund["status"] == "succeeded" and refund["fee_refunded_minor"] == fee
    assert isinstance((await queued(client, agent.agent_id))[-1][1], RefundRecorded)
    rows = await assert_ledger_balanced(client)
    assert sum(r["amount_minor"] for r in rows if r["account"].startswith("restaurant:")) == 0


async def test_demo_decline_then_a_new_share(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, share = agent.link(2000)
    await client.get(f"/pay/{token}")
    resp = await client.post("/pay/demo", data={"token": token, "action": "decline"}, allow_redirects=False)
    assert resp.status == 303
    done = await client.get(resp.headers["Location"])
    assert "The payment was declined" in await done.text()
    [(kind, message)] = await queued(client, agent.agent_id)
    assert isinstance(message, PaymentFailed) and message.share_id == share.share_id
    # the declined share is over: the link says so, paying it now is refused
    resp = await client.get(f"/pay/{token}")
    assert resp.status == 409 and "declined" in await resp.text()
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"})
    assert resp.status == 410
    assert await payments_of(client) == []
    assert len(await queued(client, agent.agent_id)) == 1


async def test_demo_form_bad_input(demo_hub):
    client = demo_hub
    agent = await register_agent(client)
    await create_restaurant(client)
    token, _ = agent.link(2000)
    for data in ({}, {"token": token}, {"token": token, "action": "steal"}, {"token": "x.y", "action": "pay"}):
        resp = await client.post("/pay/demo", data=data)
        assert resp.status == 400 and "not valid" in await resp.text()
    # a valid token whose page was never opened: no attempt to pay
    resp = await client.post("/pay/demo", data={"token": token, "action": "pay"})
    assert resp.status == 410
    assert await payments_of(client) == []


async def test_demo_form_is_refused_when_stripe_is_configured(stripe_hub):
    resp = await stripe_hub.post("/pay/demo", data={"token": "x", "action": "pay"})
    assert resp.status == 404
