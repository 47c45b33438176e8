"""When a paid visit really ends (agent/visits/visit_ends.py): every order served, nothing left to
pay, and the grace period passed since the later of the payment and the last dish served."""

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec

from agent.events import EventBus
from agent.orders import order_status
from agent.state import STATE
from agent.visits import table_sessions, visit_ends
from tests.agent.helpers import place, table_tokens
from tests.agent.visits.test_settlement import _pay, _share
from tests.waiting import eventually

GRACE_S = 15 * 60


async def _paid_visit(client, *items: str) -> tuple[str, list[str]]:
    """A visit at Table 1 with these orders, its bill paid in full: (visit id, order ids)."""
    token = (await table_tokens(client))["Table 1"]
    for item in items:
        assert (await place(client, token, [{"item_id": item, "qty": 1}])).status == 201
    await _pay(client, await _share(client, token, {"kind": "remaining"}))
    state = client.app[STATE]
    visit_id, = await state.database.read(lambda db: db.execute("SELECT id FROM table_sessions").fetchone())
    orders = await state.database.read(lambda db: [r[0] for r in db.execute("SELECT id FROM orders ORDER BY number")])
    return visit_id, orders


async def _due(client, after_s: float) -> list[str]:
    state = client.app[STATE]
    now = datetime.now(UTC) + timedelta(seconds=after_s)
    found = await state.database.read(visit_ends.due, GRACE_S, now, state.config.restaurant.tax_mode)
    return [visit for visit, _ in found]


async def test_a_paid_visit_ends_only_when_all_is_served_and_the_grace_period_passed(agent_client):
    state = agent_client.app[STATE]
    visit_id, (soup, dessert) = await _paid_visit(agent_client, "onion-soup", "creme-brulee")
    visit = await state.database.read(table_sessions.get, visit_id)
    assert visit["settled_at"] and visit["closed_at"] is None  # paid: settled, not closed
    await state.database.write(order_status.set_order_status, soup, "served")
    assert await _due(agent_client, GRACE_S + 60) == []  # the dessert is still coming, however long it takes
    await state.database.write(order_status.set_order_status, dessert, "served")
    assert await _due(agent_client, GRACE_S - 60) == []  # served just now: the party has its grace period
    assert await _due(agent_client, GRACE_S + 1) == [visit_id]


async def test_an_order_after_paying_keeps_the_visit_open_until_that_is_paid_too(agent_client):
    state = agent_client.app[STATE]
    visit_id, orders = await _paid_visit(agent_client, "onion-soup")
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "espresso", "qty": 1}])).status == 201  # the party's phone
    orders = await state.database.read(lambda db: db.execute(
        "SELECT id, session_id FROM orders ORDER BY number").fetchall())
    assert {row[1] for row in orders} == {visit_id}  # on the party's own tab, not a new visit
    for order_id, _ in orders:
        await state.database.write(order_status.set_order_status, order_id, "served")
    assert await _due(agent_client, GRACE_S + 1) == []  # the espresso is not paid
    await _pay(agent_client, await _share(agent_client, token, {"kind": "remaining"}))
    assert await _due(agent_client, GRACE_S + 1) == [visit_id]


async def test_an_unpaid_visit_never_ends_by_itself(agent_client):
    state = agent_client.app[STATE]
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    order_id, = await state.database.read(lambda db: db.execute("SELECT id FROM orders").fetchone())
    await state.database.write(order_status.set_order_status, order_id, "served")
    assert await _due(agent_client, 24 * 3600) == []


async def test_ending_closes_the_visit_tells_the_hub_and_the_phones(agent_client):
    state = agent_client.app[STATE]
    visit_id, orders = await _paid_visit(agent_client, "onion-soup")
    await state.database.write(order_status.set_order_status, orders[0], "served")
    later = datetime.now(UTC) + timedelta(seconds=GRACE_S + 1)
    events = await state.database.write(visit_ends.end_due, state.config, later)
    assert events == [("session", {"closed": True, "session_id": visit_id, "reason": "over"}, events[0][2])]
    visit = await state.database.read(table_sessions.get, visit_id)
    assert visit["closed_at"] and await state.database.read(lambda db: db.execute(
        "SELECT closed_by FROM table_sessions WHERE id = ?", [visit_id]).fetchone()[0]) == visit_ends.CLOSED_BY
    reported = await state.database.read(lambda db: db.execute(
        "SELECT payload FROM outbox WHERE type = 'bill.changed' ORDER BY seq DESC LIMIT 1").fetchone()[0])
    assert msgspec.json.decode(reported)["data"]["status"] == "closed"
    assert await state.database.write(visit_ends.end_due, state.config, later) == []  # once


async def test_the_background_task_ends_visits_as_they_fall_due(agent_client):
    state = agent_client.app[STATE]
    visit_id, orders = await _paid_visit(agent_client, "onion-soup")
    await state.database.write(order_status.set_order_status, orders[0], "served")
    config = msgspec.structs.replace(state.config, restaurant=msgspec.structs.replace(
        state.config.restaurant, visit_grace_minutes=0.005))  # 0.3 s
    bus = EventBus()
    woken = []
    with bus.subscribe(table_id=None, staff=True) as watching:
        task = asyncio.create_task(visit_ends.end_visits_when_over(state.database, bus, lambda: config,
                                                                   lambda: woken.append(True)))
        try:
            event = await asyncio.wait_for(watching.queue.get(), 10)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert (event.kind, event.data["session_id"], event.data["reason"]) == ("session", visit_id, "over")
    assert woken  # the link is told to send the closed bill to the hub
    await eventually(lambda: state.database.read(lambda db: db.execute(
        "SELECT closed_at FROM table_sessions WHERE id = ?", [visit_id]).fetchone()[0]), what="closed")
