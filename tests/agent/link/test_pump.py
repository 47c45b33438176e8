"""The agent's outbox pump against a real Mosquitto; the test itself plays the hub's part."""

import asyncio
import contextlib

import aiomqtt
import pytest

from agent.app import create_app
from agent.state import STATE
from contract import envelope, messages, topics
from tests.agent.helpers import make_config, place, table_tokens
from tests.waiting import eventually

SOUP = {"item_id": "onion-soup", "qty": 1}


class FakeHubEnd:
    """Collects what agents publish and acks on request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[envelope.Envelope] = []
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self):
        self._client = aiomqtt.Client("127.0.0.1", self.port)
        await self._client.__aenter__()
        await self._client.subscribe(topics.HUB_SUBSCRIPTION, qos=1)
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc):
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await self._task
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(None, None, None)

    async def _collect(self):
        with contextlib.suppress(aiomqtt.MqttError):
            async for message in self._client.messages:
                self.received.append(envelope.decode(message.payload))

    def orders(self):
        return [e for e in self.received if e.type == "order.placed"]

    async def ack(self, agent_id: str, ids: list[str]):
        await self._client.publish(topics.down(agent_id, "ack"),
                                   envelope.encode(agent_id, 1, messages.Ack(ids=ids)), qos=1)


async def _waiting(client) -> int:
    """Orders not yet acked (bill and device state messages go along, unacked by this fake hub)."""
    return await client.app[STATE].database.read(lambda db: db.execute(
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND type = 'order.placed'").fetchone()[0])


@pytest.fixture
async def linked(aiohttp_client, tmp_path, broker):
    config = make_config(tmp_path, broker_port=broker.port, pos=False, link={"resend_after": 1.0})
    client = await aiohttp_client(create_app(config))
    await eventually(lambda: client.app[STATE].link.connected, what="agent link up")
    return client


async def test_order_is_published_and_delivered_only_on_ack(linked, broker):
    async with FakeHubEnd(broker.port) as hub:
        token = (await table_tokens(linked))["Table 1"]
        order = (await (await place(linked, token, [SOUP])).json())["order"]
        await eventually(hub.orders, what="order published")
        env = hub.orders()[0]
        data = envelope.decode_data(env)
        assert env.agent_id == "test-agent" and env.seq >= 1
        assert data.order_id == order["id"] and data.total_minor == order["total_minor"]
        assert await _waiting(linked) == 1
        await hub.ack("test-agent", [env.id])
        await eventually(lambda: _none_waiting(linked), what="delivered")


async def _none_waiting(client) -> bool:
    return await _waiting(client) == 0


async def test_unacked_message_is_sent_again(linked, broker):
    async with FakeHubEnd(broker.port) as hub:
        token = (await table_tokens(linked))["Table 1"]
        await place(linked, token, [SOUP])
        await eventually(lambda: len(hub.orders()) >= 2, within=10, what="resend without ack")
        assert len({e.id for e in hub.orders()}) == 1  # the same message, again
        await hub.ack("test-agent", [hub.orders()[0].id])
        await eventually(lambda: _none_waiting(linked), what="delivered")


async def test_a_hub_that_acks_late_is_sent_again_less_and_less_often(linked, broker):
    """resend_after 1 s: sent at 0, again after 1 s, then after 2 s, then 4 s (not every second,
    which would be 5 copies by 5.5 s); a late ack leaves it so, an ack in time restores it."""
    link = linked.app[STATE].link
    async with FakeHubEnd(broker.port) as hub:
        token = (await table_tokens(linked))["Table 1"]
        await place(linked, token, [SOUP])
        await eventually(hub.orders, what="order published")
        await asyncio.sleep(5.5)
        assert len(hub.orders()) == 3 and len({e.id for e in hub.orders()}) == 1
        assert link.resend_patience == 4
        await hub.ack("test-agent", [e.id for e in hub.received])  # 2 s after the last copy: still late
        await eventually(lambda: _none_waiting(linked), what="delivered")
        assert link.resend_patience == 4
        await place(linked, token, [SOUP])
        await eventually(lambda: len(hub.orders()) == 4, what="the next order published")
        await hub.ack("test-agent", [e.id for e in hub.received])  # at once
        await eventually(lambda: _none_waiting(linked), what="delivered")
        assert link.resend_patience == 1


async def test_orders_taken_while_broker_down_arrive_after_it_returns(linked, broker):
    broker.stop()
    await eventually(lambda: not linked.app[STATE].link.connected, what="link down")
    token = (await table_tokens(linked))["Table 2"]
    placed = [await place(linked, token, [SOUP]) for _ in range(3)]
    assert [r.status for r in placed] == [201, 201, 201]  # the diner is never refused
    broker.start()
    async with FakeHubEnd(broker.port) as hub:
        await eventually(lambda: len({e.id for e in hub.orders()}) == 3, within=20, what="catch-up")
        seqs = [e.seq for e in hub.orders()[:3]]
        assert seqs == sorted(seqs)
        await hub.ack("test-agent", [e.id for e in hub.orders()])
        await eventually(lambda: _none_waiting(linked), what="all delivered")


async def test_presence_is_announced(linked, broker):
    async with FakeHubEnd(broker.port) as hub:
        # presence is retained, so a late subscriber still sees the agent online
        await eventually(lambda: [e for e in hub.received if e.type == "presence"], what="presence")
        presence = next(e for e in hub.received if e.type == "presence")
        assert envelope.decode_data(presence).online is True
