"""The link against a real Mosquitto: apply, ack, survive garbage and broker restarts."""

import asyncio
import contextlib

import aiomqtt
import pytest

from contract import envelope, messages, topics
from hub.backoff import Backoff
from hub.config import HubConfig
from hub.link import HubLink
from hub.store import HubStore, migrate
from tests.hub.factories import TOKEN, encoded, enroll, order_placed
from tests.waiting import eventually

pytestmark = pytest.mark.service
AGENT = "agent-1"


@pytest.fixture(params=[True, False], ids=["shared", "plain"])
async def hub(request, broker, tmp_path):
    config = HubConfig(data_dir=tmp_path, operator_token=TOKEN, broker_port=broker.port,
                       shared_subscription=request.param)
    migrate(config.database_url)
    store = HubStore.open(config.database_url)
    enroll(store.engine, AGENT)
    link = HubLink(config, store, backoff=Backoff(0.05, 0.5))  # fast retries keep the test short
    task = asyncio.create_task(link.run())
    await asyncio.wait_for(link.wait_connected(), 10)
    yield link, store
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await store.close()


@contextlib.asynccontextmanager
async def agent(broker):
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier=f"test-{AGENT}") as client:
        await client.subscribe(topics.down(AGENT, "ack"), qos=1)
        yield client


async def publish_and_ack(client: aiomqtt.Client, body: bytes) -> list[str]:
    await client.publish(topics.up(AGENT, "order.placed"), body, qos=1)
    async with asyncio.timeout(10):
        async for message in client.messages:
            env = envelope.decode(message.payload)
            assert (env.type, env.agent_id) == ("ack", AGENT)
            return envelope.decode_data(env).ids
    raise AssertionError("no ack")


async def test_order_is_applied_once_and_acked_every_time(hub, broker):
    link, store = hub
    data = order_placed()
    body = encoded(AGENT, data)
    msg_id = envelope.decode(body).id
    async with agent(broker) as client:
        assert await publish_and_ack(client, body) == [msg_id]
        assert await publish_and_ack(client, body) == [msg_id]
    assert await store.count_orders(AGENT) == 1
    assert (await store.get_order(data.order_id))["agent_id"] == AGENT


async def test_garbage_does_not_kill_the_link(hub, broker):
    link, store = hub
    data = order_placed()
    body = encoded(AGENT, data)
    async with agent(broker) as client:
        await client.publish(topics.up(AGENT, "order.placed"), b"\xff not json at all", qos=1)
        await client.publish(topics.up(AGENT, "presence"), b'{"id": 1}', qos=1)
        assert await publish_and_ack(client, body) == [envelope.decode(body).id]
    assert link.connected
    assert await store.get_order(data.order_id) is not None


async def test_presence_updates_online(hub, broker):
    link, store = hub
    async with agent(broker) as client:
        await client.publish(topics.up(AGENT, "presence"), encoded(AGENT, messages.Presence(online=True)), qos=1)
        # presence is not acked; an order behind it on the same connection proves it was handled
        await publish_and_ack(client, encoded(AGENT, order_placed()))
    assert (await store.get_agent(AGENT))["online"] is True


async def test_link_reconnects_after_broker_restart(hub, broker):
    link, store = hub
    await asyncio.to_thread(broker.stop)
    await eventually(lambda: not link.connected, within=15, what="link down")
    await asyncio.sleep(0.3)  # let it fail a few connection attempts
    await asyncio.to_thread(broker.start)
    await eventually(lambda: link.connected, within=15, what="link up again")

    data = order_placed()
    body = encoded(AGENT, data)
    async with agent(broker) as client:
        assert await publish_and_ack(client, body) == [envelope.decode(body).id]
    assert await store.count_orders(AGENT) == 1
