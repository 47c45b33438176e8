"""The staff side of service through its API: board, status pushed to the diner, requests, bills,
cash payments, voids, closing tables, refunds, devices, the day report; and every refusal."""

import json

import aiohttp
import pytest

from agent.state import STATE
from tests.agent.helpers import count, place, session_id_of, table_tokens
from tests.agent.staff.helpers import add_account, csrf, sign_in
from tests.agent.web.diner.test_events import _events, _next

SOUP, ESCARGOTS = "onion-soup", "escargots"
PIN = "2468"


@pytest.fixture
async def staff(agent_client):
    """A manager signed in on agent_client (cookie kept by the client); returns CSRF headers."""
    await add_account(agent_client, "Ana", "manager", PIN)
    return csrf(await sign_in(agent_client, "Ana", PIN))


async def _order(client, token, item=SOUP):
    response = await place(client, token, [{"item_id": item, "qty": 1}])
    return (await response.json())["order"]


async def test_sign_in_is_needed(agent_client):
    response = await agent_client.get("/api/v1/staff/orders")
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "sign_in_required"


async def test_board_and_status_reach_the_diner_live(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    order = await _order(agent_client, token)
    board = await (await agent_client.get("/api/v1/staff/orders")).json()
    assert [o["id"] for o in board["orders"]] == [order["id"]]
    diner = await agent_client.get(f"/api/v1/tables/{token}/events")
    stream = _events(diner)
    await _next(stream, "hello")
    response = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/status", json={"status": "ready"},
                                       headers=staff)
    assert response.status == 200
    assert (await _next(stream, "order"))["status"] == "ready"
    line = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/lines/0/status",
                                   json={"status": "served"}, headers=staff)
    assert (await line.json())["order"]["status"] == "served"
    assert (await (await agent_client.get("/api/v1/staff/orders")).json())["orders"] == []
    bad = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/status", json={"status": "eaten"},
                                  headers=staff)
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "invalid_status"
    diner.close()


async def test_staff_stream_sees_new_orders(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 2"]
    response = await agent_client.get("/api/v1/staff/events")
    stream = _events(response)
    await _next(stream, "hello")
    order = await _order(agent_client, token)
    assert (await _next(stream, "order"))["id"] == order["id"]
    response.close()


async def test_missing_csrf_and_wrong_role_change_nothing(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    order = await _order(agent_client, token)
    refused = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/status", json={"status": "ready"})
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf_failed"
    await add_account(agent_client, "Kim", "kitchen", PIN)
    kitchen = csrf(await sign_in(agent_client, "Kim", PIN))
    void = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/lines/0/void", headers=kitchen)
    assert void.status == 403 and "manager" in (await void.json())["error"]["message"]
    assert await count(agent_client, "SELECT COUNT(*) FROM order_lines WHERE voided_at IS NOT NULL") == 0
    assert await count(agent_client, "SELECT COUNT(*) FROM orders WHERE status = 'ready'") == 0


async def test_requests_are_acknowledged(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    made = await (await agent_client.post(f"/api/v1/tables/{token}/requests", json={"kind": "bill"})).json()
    listed = await (await agent_client.get("/api/v1/staff/requests")).json()
    assert [r["kind"] for r in listed["requests"]] == ["bill"]
    acked = await agent_client.post(f"/api/v1/staff/requests/{made['request']['id']}/ack", headers=staff)
    assert (await acked.json())["request"]["acknowledged_by"] == "Ana"
    assert (await (await agent_client.get("/api/v1/staff/requests")).json())["requests"] == []


async def test_cash_payment_settles_the_bill_and_frees_the_table(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    await _order(agent_client, token)
    await _order(agent_client, token, ESCARGOTS)
    session = await session_id_of(agent_client, token)
    bills = await (await agent_client.get("/api/v1/staff/bills")).json()
    assert [b["total_minor"] for b in bills["bills"]] == [2300]
    half = await agent_client.post(f"/api/v1/staff/bills/{session}/payments", headers=staff,
                                   json={"method": "cash", "share": {"kind": "equal", "parts": 2}})
    assert half.status == 201 and (await half.json())["payment"]["amount_minor"] == 1150
    rest = await agent_client.post(f"/api/v1/staff/bills/{session}/payments", headers=staff,
                                   json={"method": "terminal", "share": {"kind": "remaining", "tip_minor": 100}})
    assert rest.status == 201
    table = await (await agent_client.get(f"/api/v1/tables/{token}")).json()
    assert table["session"]["settled"] is True  # the party's phone (this client) keeps its paid visit
    async with aiohttp.ClientSession() as new_scan:  # a phone without the party's key: a fresh table
        async with new_scan.get(str(agent_client.make_url(f"/api/v1/tables/{token}"))) as resp:
            assert (await resp.json())["session"] is None
    sent = await agent_client.app[STATE].database.read(
        lambda db: [json.loads(r[0])["data"]["method"] for r in
                    db.execute("SELECT payload FROM outbox WHERE type = 'payment.taken' ORDER BY seq")])
    assert sent == ["cash", "terminal"]
    again = await agent_client.post(f"/api/v1/staff/bills/{session}/payments", headers=staff,
                                    json={"method": "cash"})
    assert again.status == 409


async def test_bad_payment_requests_are_refused(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    await _order(agent_client, token)
    session = await session_id_of(agent_client, token)
    for body, status in [({"method": "bitcoin"}, 422), ({"method": "cash", "share": {"kind": "amount",
                                                                                       "amount_minor": 99999}}, 409),
                         ({"method": "cash", "share": {"kind": "?"}}, 422)]:
        response = await agent_client.post(f"/api/v1/staff/bills/{session}/payments", json=body, headers=staff)
        assert response.status == status, body
    assert await count(agent_client, "SELECT COUNT(*) FROM bill_shares") == 0


async def test_closing_an_open_bill_needs_a_manager(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    await _order(agent_client, token)
    session = await session_id_of(agent_client, token)
    await add_account(agent_client, "Sam", "server", PIN)
    server = csrf(await sign_in(agent_client, "Sam", PIN))
    assert (await agent_client.post(f"/api/v1/staff/bills/{session}/close", headers=server)).status == 409
    forced = await agent_client.post(f"/api/v1/staff/bills/{session}/close", json={"force": True}, headers=server)
    assert forced.status == 403
    assert (await (await agent_client.get(f"/api/v1/tables/{token}")).json())["session"] is not None
    headers = csrf(await sign_in(agent_client, "Ana", PIN))  # the cookie is Ana's again
    done = await agent_client.post(f"/api/v1/staff/bills/{session}/close", json={"force": True}, headers=headers)
    assert done.status == 200
    assert (await (await agent_client.get(f"/api/v1/tables/{token}")).json())["session"] is None


async def test_void_takes_a_line_off_the_bill(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    order = await _order(agent_client, token)
    await _order(agent_client, token, ESCARGOTS)
    voided = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/lines/0/void", headers=staff)
    assert voided.status == 200
    bill = await (await agent_client.get(f"/api/v1/tables/{token}/bill")).json()
    assert bill["bill"]["total_minor"] == 1350
    again = await agent_client.post(f"/api/v1/staff/orders/{order['id']}/lines/0/void", headers=staff)
    assert again.status == 409


async def test_refunds_go_to_the_hub_for_card_payments_only(agent_client, staff):
    token = (await table_tokens(agent_client))["Table 1"]
    await _order(agent_client, token)
    session = await session_id_of(agent_client, token)
    cash = await (await agent_client.post(f"/api/v1/staff/bills/{session}/payments", headers=staff,
                                          json={"method": "cash", "share": {"kind": "amount", "amount_minor": 500}})).json()
    refused = await agent_client.post(f"/api/v1/staff/shares/{cash['payment']['id']}/refunds", headers=staff,
                                      json={"amount_minor": 100})
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "not_a_card_payment"
    state = agent_client.app[STATE]
    await state.database.write(lambda db: db.execute(
        "UPDATE bill_shares SET method = 'card', payment_id = 'pay-1' WHERE id = ?", [cash["payment"]["id"]]))
    too_much = await agent_client.post(f"/api/v1/staff/shares/{cash['payment']['id']}/refunds", headers=staff,
                                       json={"amount_minor": 501})
    assert too_much.status == 409
    ok = await agent_client.post(f"/api/v1/staff/shares/{cash['payment']['id']}/refunds", headers=staff,
                                 json={"amount_minor": 300, "reason": "cold soup"})
    assert ok.status == 202
    assert await count(agent_client, "SELECT COUNT(*) FROM outbox WHERE type = 'refund.requested'") == 1
    more = await agent_client.post(f"/api/v1/staff/shares/{cash['payment']['id']}/refunds", headers=staff,
                                   json={"amount_minor": 201})
    assert more.status == 409  # 300 already asked for, 200 left


async def test_devices_test_print_and_report(agent_client, staff, emulator):
    devices = await (await agent_client.get("/api/v1/staff/devices")).json()
    assert {d["name"] for d in devices["devices"]} == {"kitchen", "pos"}
    assert "connected" in devices["link"] and isinstance(devices["alerts"], list)
    response = await agent_client.post("/api/v1/staff/devices/kitchen/test-print", headers=staff)
    assert response.status == 202
    tickets = await emulator.wait_for_tickets(1)
    assert "TEST PAGE" in tickets[0] and "Ana" in tickets[0]
    token = (await table_tokens(agent_client))["Table 1"]
    await _order(agent_client, token)
    report = (await (await agent_client.get("/api/v1/staff/report")).json())["report"]
    assert report["orders"] == 1 and report["sales_minor"] == 950 and report["paid_minor"] == 0  # the bill is open
    assert report["top_items"] == [{"name": "French onion soup", "qty": 1, "sales_minor": 950}]
    csv = await agent_client.get("/api/v1/staff/report?format=csv")
    assert "summary,orders,1" in await csv.text()
    bad = await agent_client.get("/api/v1/staff/report?date=yesterday")
    assert bad.status == 422
