"""Hub -> agent over a real Mosquitto: HubLink's outbox pump and AgentLink's inbox, end to end."""

import asyncio
import contextlib
import shutil
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest

from agent.link.pump import AgentLink
from agent.store.database import Database
from agent.store.migrations import migrate as migrate_agent
from contract import envelope, messages, topics
from hub.app import create_app
from hub.appkeys import STORE
from hub.backoff import Backoff
from hub.config import HubConfig
from hub.link import HubLink
from hub.store import HubStore, downlink
from hub.store import migrate as migrate_hub
from tests.agent.helpers import make_config
from tests.hub.factories import TOKEN, enroll
from tests.services import Mosquitto
from tests.waiting import eventually

pytestmark = pytest.mark.service
AGENT = "test-agent"  # make_config's agent id
RESEND_AFTER = 1.0


def failed(share_id: str) -> messages.PaymentFailed:
    return messages.PaymentFailed(share_id=share_id, reason="declined")


@pytest.fixture
async def hub(broker, tmp_path):
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_hub(config.database_url)
    store = HubStore.open(config.database_url)
    enroll(store.engine, AGENT)
    link = HubLink(config, store, backoff=Backoff(0.05, 0.5), resend_after=RESEND_AFTER)
    task = asyncio.create_task(link.run())
    await asyncio.wait_for(link.wait_connected(), 10)
    yield link, store
    link.stop()
    await asyncio.wait_for(task, 10)
    await store.close()


class Agent:
    """A real AgentLink on its own database; its handler records what it applied, in order."""

    def __init__(self, tmp_path, port: int, public_key: str = "") -> None:
        self.database = Database(tmp_path / "agent" / "agent.sqlite")
        self.config = make_config(tmp_path, broker_port=port, pos=False, link={"resend_after": RESEND_AFTER})
        self.public_key = public_key
        self.handlers = {"payment.failed": self.apply}  # message type -> how this stand-in applies it
        self.link: AgentLink | None = None

    @staticmethod
    def apply(db, env, data):
        db.execute("INSERT INTO applied (message_id, seq, share_id) VALUES (?, ?, ?)",
                   [env.id, env.seq, data.share_id])

    async def applied(self) -> list[tuple[str, int, str]]:
        return await self.database.read(
            lambda db: [tuple(r) for r in db.execute("SELECT message_id, seq, share_id FROM applied ORDER BY rowid")])

    @contextlib.asynccontextmanager
    async def running(self):
        self.database.start()
        await asyncio.to_thread(migrate_agent, self.database)
        await self.database.write(lambda db: db.execute(
            "CREATE TABLE IF NOT EXISTS applied (message_id TEXT, seq INTEGER, share_id TEXT)"))
        self.link = AgentLink(self.config, self.database, handlers=self.handlers, public_key=self.public_key)
        task = asyncio.create_task(self.link.run())
        try:
            await eventually(lambda: self.link.connected, what="agent link up")
            yield self
        finally:
            self.link.stop()
            await asyncio.wait_for(task, 10)
            self.database.close()


async def waiting(store) -> int:
    return await store.down_waiting(AGENT)


async def test_enqueued_while_agent_offline_arrives_once_after_it_connects(hub, broker, tmp_path):
    link, store = hub
    message_id = await store.enqueue_down(AGENT, failed("share-1"))
    link.wake(AGENT)  # nobody listens yet: the broker drops it, the outbox keeps it
    await asyncio.sleep(0.3)
    async with Agent(tmp_path, broker.port).running() as agent:
        await eventually(lambda: _equals(waiting(store), 0), what="acked")
        await asyncio.sleep(3 * RESEND_AFTER)  # room for any stray resend
        assert await agent.applied() == [(message_id, 1, "share-1")]


async def test_messages_arrive_in_seq_order(hub, broker, tmp_path):
    link, store = hub
    async with Agent(tmp_path, broker.port).running() as agent:
        def enqueue_two() -> None:
            with store.engine.begin() as conn:  # e.g. the payments code, in its own transaction
                for share in ("share-a", "share-b", "share-c"):
                    downlink.enqueue_down(conn, AGENT, failed(share))

        await asyncio.to_thread(enqueue_two)
        link.wake(AGENT)
        await eventually(lambda: _equals(waiting(store), 0), what="all acked")
        applied = await agent.applied()
        assert [(seq, share) for _, seq, share in applied] == [(1, "share-a"), (2, "share-b"), (3, "share-c")]


async def test_lost_ack_is_redelivered_applied_once_and_acked_again(tmp_path):
    # The broker drops the agent's acks (an ACL denies its ack topic), then lets them through.
    acl = tmp_path / "acl"
    acl.write_text(f"topic readwrite #\ntopic deny {topics.up(AGENT, 'ack')}\n")
    broker = Mosquitto(extra_config=f"acl_file {acl}\n")
    broker.start()
    try:
        await _lost_ack_scenario(broker, tmp_path, f"acl_file {acl}\n")
    finally:
        broker.stop()
        shutil.rmtree(broker.dir, ignore_errors=True)


async def _lost_ack_scenario(broker: Mosquitto, tmp_path, acl_line: str) -> None:
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_hub(config.database_url)
    store = HubStore.open(config.database_url)
    enroll(store.engine, AGENT)
    link = HubLink(config, store, backoff=Backoff(0.05, 0.5), resend_after=RESEND_AFTER)
    hub_task = asyncio.create_task(link.run())
    seen: list[str] = []  # every delivery of a down message, as a bystander sees it
    try:
        async with aiomqtt.Client("127.0.0.1", broker.port) as watcher, \
                Agent(tmp_path, broker.port).running() as agent:
            await watcher.subscribe(topics.agent_subscription(AGENT), qos=1)
            watching = asyncio.create_task(_collect(watcher, seen))
            await asyncio.wait_for(link.wait_connected(), 10)
            message_id = await store.enqueue_down(AGENT, failed("share-1"))
            link.wake(AGENT)
            await eventually(lambda: seen.count(message_id) >= 3, within=15, what="redelivered")
            assert await agent.applied() == [(message_id, 1, "share-1")]  # once, however often it came
            assert await waiting(store) == 1  # no ack got through

            broker.config.write_text(broker.config.read_text().replace(acl_line, ""))  # acks get through now
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)
            await eventually(lambda: _equals(waiting(store), 0), within=20, what="acked after all")
            assert await agent.applied() == [(message_id, 1, "share-1")]
            watching.cancel()
    finally:
        link.stop()
        await asyncio.wait_for(hub_task, 10)
        await store.close()


async def _collect(client: aiomqtt.Client, seen: list[str]) -> None:
    with contextlib.suppress(aiomqtt.MqttError):
        async for message in client.messages:
            seen.append(envelope.decode(message.payload).id)


async def test_presence_brings_the_key_first_one_kept(hub, broker, tmp_path):
    link, store = hub
    async with Agent(tmp_path, broker.port, public_key="key-A").running():
        await eventually(lambda: _equals(store.agent_key(AGENT), "key-A"), what="key stored")
    async with Agent(tmp_path, broker.port, public_key="key-B").running():
        await eventually(lambda: _refused(store), what="other key seen and refused")
        assert await store.agent_key(AGENT) == "key-A"


async def test_clock_offset_of_an_agent_five_minutes_behind(hub, broker, tmp_path, monkeypatch):
    link, store = hub
    def five_minutes_behind() -> str:
        return (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="milliseconds")

    monkeypatch.setattr(envelope, "now_iso", five_minutes_behind)  # every envelope, this process
    async with Agent(tmp_path, broker.port).running():
        offset = await eventually(lambda: _offset_above(store, 290_000), what="offset measured")
    assert 300_000 <= offset < 305_000


async def _equals(value, expected) -> bool:
    return await value == expected


async def _refused(store) -> bool:
    agent = await store.get_agent(AGENT)
    return agent is not None and agent["refused_key"] == "key-B"


async def _offset_above(store, minimum: int) -> int | None:
    offset = await store.agent_clock_offset(AGENT)
    return offset if offset > minimum else None


async def test_two_hub_workers_share_the_acks(hub, broker, tmp_path):
    link, store = hub
    second = HubLink(HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port),
                     store, backoff=Backoff(0.05, 0.5), resend_after=RESEND_AFTER)
    task = asyncio.create_task(second.run())
    try:
        await asyncio.wait_for(second.wait_connected(), 10)
        async with Agent(tmp_path, broker.port).running() as agent:
            ids = [await store.enqueue_down(AGENT, failed(f"share-{i}")) for i in range(6)]
            link.wake(AGENT)  # only the first worker is told; acks land on either
            await eventually(lambda: _equals(waiting(store), 0), within=15, what="all acked")
            assert sorted(message_id for message_id, _, _ in await agent.applied()) == sorted(ids)
    finally:
        second.stop()
        await asyncio.wait_for(task, 10)


async def test_settings_an_operator_pushes_reach_the_agent_over_the_broker(broker, tmp_path, aiohttp_client):
    # the whole hub app (API, outbox, link) on the real broker; PUT, then the agent applies and acks
    config = HubConfig(data_dir=tmp_path / "hub", operator_token=TOKEN, broker_port=broker.port)
    client = await aiohttp_client(create_app(config))
    store = client.app[STORE]
    enroll(store.engine, AGENT)
    agent = Agent(tmp_path, broker.port)
    received: list[tuple[str, messages.SettingsPushed]] = []
    agent.handlers["settings.pushed"] = lambda db, env, data: received.append((env.id, data))
    async with agent.running():
        await eventually(lambda: _online(store), what="agent seen online by the hub")
        resp = await client.put(f"/api/v1/agents/{AGENT}/settings", json={"hold_minutes": 20, "wifi_ssid": "Guests"},
                                headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status == 202
        queued = await resp.json()
        await eventually(lambda: _equals(waiting(store), 0), what="settings acked by the agent")
        ((message_id, data),) = received
        assert message_id == queued["id"] and queued["type"] == "settings.pushed"
        assert (data.hold_minutes, data.wifi_ssid, data.close_when_paid) == (20, "Guests", None)


async def _online(store) -> bool:
    agent = await store.get_agent(AGENT)
    return agent is not None and agent["online"]
