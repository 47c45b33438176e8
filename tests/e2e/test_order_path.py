"""One order from the diner's phone to the kitchen printer and the hub, over the embedded amqtt
broker (the demo's) and over a real Mosquitto (production's)."""

import pytest

from agent.store import outbox
from tests.e2e.system import broker, running_system
from tests.waiting import eventually

LINES = [
    {"item_id": "steak-frites", "qty": 2, "modifiers": ["doneness-medium", "sauce-bearnaise"], "note": "one without sauce"},
    {"item_id": "creme-brulee", "qty": 1},
]


@pytest.mark.parametrize("broker_kind", ["amqtt", "mosquitto"])
async def test_order_reaches_printer_and_hub_exactly_once(tmp_path, emulator, broker_kind):
    async with broker(broker_kind) as (port, shared), running_system(tmp_path, port, shared, emulator.port) as system:
        token = await system.token("Table 1")
        resp = await system.order(token, LINES, key="e2e-order-0001")
        assert resp.status == 201
        order = (await resp.json())["order"]

        [ticket] = await emulator.wait_for_tickets(1, timeout=15)
        assert "Table 1" in ticket and f"Order #{order['number']}" in ticket
        assert "2 x Steak frites" in ticket and "+ Medium\n" in ticket and "+ Béarnaise sauce" in ticket
        assert "one without sauce" in ticket and "1 x Crème brûlée" in ticket  # the code page carries the accents

        held = await eventually(lambda: system.hub_order(order["id"]), within=15, what="order at the hub")
        assert held["total_minor"] == order["total_minor"] and held["agent_id"] == "test-agent"
        assert [line["qty"] for line in held["lines"]] == [2, 1]
        await eventually(lambda: _outbox_empty(system), within=15, what="outbox acked")

        # the diner's retry and a link-level resend both change nothing at the hub
        again = await system.order(token, LINES, key="e2e-order-0001")
        assert (await again.json())["order"]["id"] == order["id"]
        await system.agent_state.database.write(lambda db: db.execute("UPDATE outbox SET delivered_at = NULL"))
        system.agent_state.link.wake()
        await eventually(lambda: _outbox_empty(system), within=20, what="resent message acked again")
        assert await system.hub_orders_count() == 1
        assert len(emulator.tickets) == 1


async def _outbox_empty(system) -> bool:
    return await system.agent_state.database.read(outbox.waiting) == 0
