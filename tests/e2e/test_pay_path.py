"""The pay path end to end over a real Mosquitto, demo provider: a diner's share paid on the hub's
card page reaches the agent's bill and the POS; staff take cash (the hub books the fee owed) and
refund a card payment through the hub; the ledger and the daily report add up."""

from datetime import UTC, datetime

from agent.staff.accounts import create_account
from agent.visits import table_sessions
from hub.appkeys import STORE
from tests.e2e.system import OPERATOR_TOKEN, broker, running_system
from tests.waiting import eventually

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
PLAN = {"basis_points": 150, "fixed_minor": 10, "fee_on_tips": False}



async def _json(response):
    async with response:
        return response.status, await response.json()


async def test_card_cash_and_refund_over_the_link(tmp_path, emulator):
    async with broker("mosquitto") as (port, shared), running_system(tmp_path, port, shared, emulator.port) as s:
        state = s.agent_state
        # the agent's key reaches the hub with its presence; then the operator binds it to a restaurant
        await eventually(lambda: s.hub.app[STORE].agent_key(state.config.agent.id), within=15, what="agent key")
        status, restaurant = await _json(await s.http.post(f"{s.hub.url}/api/v1/restaurants", headers=AUTH, json={
            "name": "Brasserie Lumière", "country": "FR", "currency": "EUR", "fee_plan": PLAN,
            "fee_on_external": True, "agent_ids": [state.config.agent.id]}))
        assert status == 201, restaurant

        token = await s.token()
        assert (await s.order(token, [{"item_id": "onion-soup", "qty": 2}])).status == 201  # 19.00
        base = f"{s.agent.url}/api/v1/tables/{token}"
        status, made = await _json(await s.http.post(f"{base}/bill/shares", json={"kind": "amount", "amount_minor": 1000,
                                                                                "tip_minor": 150}))
        assert status == 201, made

        # the diner pays on the hub's demo card page
        async with s.http.get(made["pay_url"]) as page:
            assert page.status == 200 and "DEMO" in await page.text()
        signed = made["pay_url"].rsplit("/pay/", 1)[1]
        async with s.http.post(f"{s.hub.url}/pay/demo", data={"token": signed, "action": "pay"}) as done:
            assert done.status == 200 and "Payment received" in await done.text()

        async def bill():
            return (await _json(await s.http.get(f"{base}/bill")))[1]["bill"]

        paid = await eventually(lambda: _paid(bill), within=15, what="payment at the agent")
        assert paid["paid_minor"] == 1000 and paid["tips_minor"] == 150 and paid["left_minor"] == 900
        pos = state.dispatcher.devices["pos"].pos
        await eventually(lambda: any(pos.payments_for(c["ref"]) for c in pos.checks), what="payment at the POS")

        # staff: cash for the rest, then a partial refund of the card payment
        await state.database.write(create_account, "Ana", "manager", "2468")
        status, signed_in = await _json(await s.http.post(f"{s.agent.url}/api/v1/staff/session",
                                                          json={"name": "Ana", "secret": "2468"}))
        csrf = {"X-CSRF-Token": signed_in["csrf_token"]}
        session = await state.database.read(table_sessions.current, (await _table_id(state, token)))
        status, cash = await _json(await s.http.post(f"{s.agent.url}/api/v1/staff/bills/{session.id}/payments",
                                                     headers=csrf, json={"method": "cash"}))
        assert status == 201 and cash["payment"]["amount_minor"] == 900
        card_share = next(x for x in paid["shares"] if x["method"] == "card")
        status, refund = await _json(await s.http.post(f"{s.agent.url}/api/v1/staff/shares/{card_share['id']}/refunds",
                                                       headers=csrf, json={"amount_minor": 400, "reason": "cold"}))
        assert status == 202, refund

        async def refunded():
            return await state.database.read(lambda db: db.execute(
                "SELECT refunded_minor FROM bill_shares WHERE id = ?", [card_share["id"]]).fetchone()[0] == 400)

        await eventually(refunded, within=15, what="refund back at the agent")

        async def hub_payments():
            status, body = await _json(await s.http.get(f"{s.hub.url}/api/v1/payments", headers=AUTH))
            return body["payments"] if len(body["payments"]) == 2 else None

        payments = await eventually(hub_payments, within=15, what="both payments at the hub")
        assert sorted(p["method"] for p in payments) == ["card", "cash"]
        today = datetime.now(UTC).date().isoformat()
        status, report = await _json(await s.http.get(f"{s.hub.url}/api/v1/reports/daily?date={today}", headers=AUTH))
        assert status == 200, report
        # card 10.00 + 1.50 tip: fee 1.5% + 0.10 = 0.25; cash 9.00: fee owed 0.135 -> 0.14 + 0.10 = 0.24;
        # refund 4.00 of the 11.50 card charge gives back 0.25 x 4/11.5 = 0.087 -> 0.09 of the fee
        [day] = report["restaurants"]
        assert {k: day[k] for k in ("gross", "tips", "fees", "fee_refunds", "refunds", "net")} == \
            {"gross": 1900, "tips": 150, "fees": 49, "fee_refunds": 9, "refunds": 400, "net": 1610}


async def _paid(bill_call):
    bill = await bill_call()
    return bill if bill["paid_minor"] else None


async def _table_id(state, token):
    return await state.database.read(lambda db: db.execute("SELECT id FROM tables WHERE token = ?",
                                                           [token]).fetchone()[0])

