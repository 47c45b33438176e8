"""`tableside demo` with the demo provider: the restaurant exists at start (and after a restart), and
a diner's share is paid on the hub's demo card page and reaches the agent's bill."""

import uuid

import aiohttp

from tests.e2e.test_demo import demo
from tests.waiting import eventually


async def test_demo_pays_a_share_end_to_end(tmp_path):
    async with demo(tmp_path) as info, aiohttp.ClientSession() as http:
        assert info["payments"] == "demo" and info["restaurant_id"] == "demo-restaurant"
        auth = {"Authorization": f"Bearer {info['operator_token']}"}
        async with http.get(f"{info['hub_url']}/api/v1/restaurants/demo-restaurant", headers=auth) as r:
            restaurant = await r.json()
        assert restaurant["agent_ids"] == [info["agent_id"]] and restaurant["charges_enabled"] is True
        assert restaurant["fee_plan"]["basis_points"] == 150 and restaurant["fee_plan"]["fixed_minor"] == 10

        table = info["tables"][0]
        base = f"{info['agent_url']}/api/v1/tables/{table['token']}"
        async with http.post(f"{base}/orders", json={"lines": [{"item_id": "onion-soup", "qty": 2}]},
                             headers={"Idempotency-Key": str(uuid.uuid4())}) as r:
            assert r.status == 201, await r.text()
        async with http.post(f"{base}/bill/shares", json={"kind": "remaining", "tip_minor": 100},
                             headers={"Idempotency-Key": str(uuid.uuid4())}) as r:
            body = await r.json()
            assert r.status in (200, 201), body
        share, pay_url = body["share"], body["pay_url"]
        async with http.get(f"{base}/bill") as r:
            bill_before = (await r.json())["bill"]
        assert bill_before["id"] and bill_before["held_minor"] == share["amount_minor"] and not bill_before["settled"]
        assert pay_url.startswith(f"{info['hub_url']}/pay/")

        async def card_page():  # the hub learns the agent's key from its presence, over MQTT
            async with http.get(pay_url) as page:
                return page.status == 200 and "Pay " in await page.text()
        await eventually(card_page, within=15, what="the demo card page")
        token = pay_url.rsplit("/", 1)[-1]
        async with http.post(f"{info['hub_url']}/pay/demo", data={"token": token, "action": "pay"}) as r:
            assert r.status == 200 and "Payment received" in await r.text()

        async def bill_settled():
            # the whole bill is paid, so the agent closes the table's session: its bill is gone
            async with http.get(f"{base}/bill") as r:
                bill = (await r.json())["bill"]
            return bill["id"] != bill_before["id"] or bill["settled"]
        await eventually(bill_settled, within=15, what="the payment on the agent's bill")

    async with demo(tmp_path) as again:  # a restart finds the same restaurant
        assert again["restaurant_id"] == "demo-restaurant"

