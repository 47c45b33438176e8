"""The diner's live stream: hello first, then their table's orders, bill and visit, nothing of
other tables; it ends cleanly when the agent stops."""

import asyncio
import json

from agent.orders import order_status
from agent.state import STATE
from agent.web import live
from tests.agent.helpers import place, table_tokens


async def _events(response):
    """Yield (event, data) from an SSE response."""
    kind = None
    while True:
        line = (await response.content.readline()).decode()
        if not line:
            return
        line = line.rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])


async def _next(stream, kind):
    async def find():
        async for event, data in stream:
            if event == kind:
                return data
    return await asyncio.wait_for(find(), 5)


async def test_orders_and_status_changes_reach_only_their_table(agent_client):
    tokens = await table_tokens(agent_client)
    mine = await agent_client.get(f"/api/v1/tables/{tokens['Table 1']}/events")
    other = await agent_client.get(f"/api/v1/tables/{tokens['Table 2']}/events")
    assert mine.headers["Content-Type"] == "text/event-stream"
    stream, other_stream = _events(mine), _events(other)
    assert (await _next(stream, "hello")) == {"session_id": None}
    assert (await _next(other_stream, "hello")) == {"session_id": None}

    placed = await place(agent_client, tokens["Table 1"], [{"item_id": "onion-soup", "qty": 2}])
    order_id = (await placed.json())["order"]["id"]
    order = await _next(stream, "order")
    assert order["id"] == order_id and order["status"] == "received"
    bill = await _next(stream, "bill")
    assert bill["total_minor"] == 1900

    state = agent_client.app[STATE]
    changed = await state.database.write(order_status.set_order_status, order_id, "ready")
    live.publish(state, live.order_event(changed))
    assert (await _next(stream, "order"))["status"] == "ready"

    # Table 2's own order is published after all of Table 1's news: the first it hears is its own
    theirs = await place(agent_client, tokens["Table 2"], [{"item_id": "onion-soup", "qty": 1}])
    assert (await _next(other_stream, "order"))["id"] == (await theirs.json())["order"]["id"]
    mine.close()
    other.close()


async def test_reconnecting_gets_a_fresh_hello_with_the_current_visit(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])
    table = await (await agent_client.get(f"/api/v1/tables/{token}")).json()
    response = await agent_client.get(f"/api/v1/tables/{token}/events")
    assert (await _next(_events(response), "hello")) == {"session_id": table["session"]["id"]}
    response.close()


async def test_requests_reach_staff_and_tapping_twice_pages_once(agent_client):
    token = (await table_tokens(agent_client))["Table 1"]
    first = await agent_client.post(f"/api/v1/tables/{token}/requests", json={"kind": "waiter"})
    again = await agent_client.post(f"/api/v1/tables/{token}/requests", json={"kind": "waiter"})
    assert first.status == again.status == 201
    assert (await first.json())["request"]["id"] == (await again.json())["request"]["id"]
    bad = await agent_client.post(f"/api/v1/tables/{token}/requests", json={"kind": "dance"})
    assert bad.status == 422 and (await bad.json())["error"]["field"] == "kind"
    junk = await agent_client.post(f"/api/v1/tables/{token}/requests", data=b"{",
                                   headers={"Content-Type": "application/json"})
    assert junk.status == 400


async def test_an_order_sums_its_bill_for_open_pages_only(agent_client, monkeypatch):
    """In a rush over many tables, a bill nobody watches is not worked out after every order; a
    page open on the table (or staff's board) still hears it."""
    from agent.visits import bills

    sums = []
    real = bills.bill_event
    monkeypatch.setattr(bills, "bill_event", lambda *args: sums.append(args[1]) or real(*args))
    tokens = await table_tokens(agent_client)
    watching = await agent_client.get(f"/api/v1/tables/{tokens['Table 2']}/events")
    stream = _events(watching)
    await _next(stream, "hello")

    assert (await place(agent_client, tokens["Table 1"], [{"item_id": "onion-soup", "qty": 1}])).status == 201
    await asyncio.sleep(live.BILL_NEWS_DELAY * 4)
    assert sums == [] and not agent_client.app[STATE].bill_news  # nobody has Table 1 open

    assert (await place(agent_client, tokens["Table 2"], [{"item_id": "onion-soup", "qty": 1}])).status == 201
    assert (await _next(stream, "bill"))["total_minor"] == 950
    assert len(sums) == 1
    watching.close()
