"""What the fault-injection suite found, each pinned by a small fast test of its own."""

import asyncio
import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.config import DispatchSection
from agent.devices.device import Device
from agent.devices.dispatch import HOLD_REFUSED_AFTER, Dispatcher
from agent.store import outbox
from agent.store.database import Database
from agent.store.migrations import migrate
from contract import envelope, messages, topics
from drivers.pos.base import PosError, PosUnavailable
from hub.config import HubConfig
from hub.link import HubLink
from hub.store import HubStore
from hub.store import migrate as migrate_hub
from hub.store.tables import rejected_messages
from tests.agent.helpers import place, table_tokens
from tests.hub.factories import enroll
from tests.waiting import eventually


@pytest.fixture
async def database(tmp_path):
    db = Database(tmp_path / "agent.sqlite")
    db.start()
    migrate(db)
    yield db
    db.close()


async def test_pruning_never_restarts_seq(database):
    """All delivered and older than the retention: the newest row stays, so seq goes on."""
    for _ in range(3):
        await database.write(outbox.append, "agent-1", messages.Presence(online=True))
    ids = [m.id for m in await database.read(outbox.pending, 0, 10)]
    await database.write(outbox.mark_delivered, ids)
    assert await database.write(outbox.prune, timedelta(seconds=-1)) == 2
    await database.write(outbox.append, "agent-1", messages.Presence(online=True))
    assert [m.seq for m in await database.read(outbox.pending, 0, 10)] == [4]


class RefusingPos(Device):
    """A POS that answers, and refuses one job for good (a payment on a check closed by hand)."""

    retry_safe = True

    def __init__(self, refuse: str, error: type[Exception] = PosError) -> None:
        self.refuse, self.error, self.delivered = refuse, error, []

    async def deliver(self, kind: str, payload: dict):
        if payload["name"] == self.refuse:
            raise self.error(f"{payload['name']} refused")
        self.delivered.append(payload["name"])


def _job(db, name: str, created_at: str) -> None:
    db.execute("INSERT INTO device_jobs (id, device, kind, payload, created_at) VALUES (?, 'pos', 'pos_order', ?, ?)",
               [name, f'{{"name": "{name}"}}', created_at])


async def _run_dispatcher(database, pos: RefusingPos, monkeypatch):
    monkeypatch.setattr("agent.devices.dispatch.BACKOFF_START", 0.001)
    monkeypatch.setattr("agent.devices.dispatch.random.uniform", lambda a, b: 1.0)
    await database.write(_job, "bad", "2026-01-01T00:00:00+00:00")
    await database.write(_job, "good", "2026-01-01T00:00:01+00:00")
    dispatcher = Dispatcher(database, {"pos": pos}, DispatchSection())
    return asyncio.create_task(dispatcher.run())


async def test_a_job_the_pos_keeps_refusing_is_held_and_the_queue_moves_on(database, monkeypatch):
    pos = RefusingPos("bad")
    task = await _run_dispatcher(database, pos, monkeypatch)
    try:
        await eventually(lambda: pos.delivered == ["good"], within=10, what="the job behind it delivered")
        status, attempts, error = await database.read(lambda db: db.execute(
            "SELECT status, attempts, last_error FROM device_jobs WHERE id = 'bad'").fetchone())
        assert (status, attempts) == ("held", HOLD_REFUSED_AFTER) and "refused" in error
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_an_unreachable_pos_keeps_its_queue_in_order(database, monkeypatch):
    pos = RefusingPos("bad", PosUnavailable)
    task = await _run_dispatcher(database, pos, monkeypatch)
    try:
        await eventually(lambda: database.read(lambda db: db.execute(
            "SELECT attempts FROM device_jobs WHERE id = 'bad'").fetchone()[0] > HOLD_REFUSED_AFTER + 2),
            within=10, what="many tries")
        assert pos.delivered == []  # nothing overtakes a job waiting for the POS to come back
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_hub_applies_cash_taken_by_staff_or_rejects_it_with_the_reason(tmp_path):
    url = f"sqlite:///{tmp_path}/hub.sqlite"
    migrate_hub(url)
    store = HubStore.open(url)
    enroll(store.engine, "agent-1")
    try:
        link = HubLink(HubConfig(data_dir=tmp_path, operator_token="x" * 24), store)
        cash = messages.PaymentTaken(payment_id="p-1", share_id="s-1", bill_id="b-1", table_name="Table 1",
                                     method="cash", currency="EUR", amount_minor=1250, tip_minor=0,
                                     taken_at="2026-01-01T12:00:00.000Z")
        body = envelope.encode("agent-1", 1, cash)
        message_id = envelope.decode(body).id
        # no restaurant for this agent: never applicable, so recorded with the reason and acked
        assert await link.process(topics.up("agent-1", "payment.taken"), body) == ("agent-1", message_id)
        with store.engine.connect() as conn:
            [row] = conn.execute(select(rejected_messages)).mappings().all()
        assert row["message_id"] == message_id and "not accepted" not in row["reason"]
    finally:
        await store.close()


async def test_staff_see_since_when_the_link_is_down(agent_client):
    """No broker answers here: staff see the link offline since the agent started, with what waits."""
    from agent.staff.accounts import create_account
    from agent.state import STATE

    await agent_client.app[STATE].database.write(create_account, "Ana", "manager", "2468")
    signed = await agent_client.post("/api/v1/staff/session", json={"name": "Ana", "secret": "2468"})
    assert signed.status == 200

    async def link() -> dict:
        return (await (await agent_client.get("/api/v1/staff/devices")).json())["link"]

    async def waiting(n: int) -> bool:
        return (await link())["waiting"] == n

    seen = await link()
    assert seen["connected"] is False and seen["offline_since"] is not None
    await eventually(lambda: waiting(2), what="each device's first status report waiting")
    token = (await table_tokens(agent_client))["Table 1"]
    assert (await place(agent_client, token, [{"item_id": "onion-soup", "qty": 1}])).status == 201
    # the order, and where its bill stands (owed in the order's transaction, made within a second)
    await eventually(lambda: waiting(4), what="the order and its bill report waiting")


async def test_operators_see_each_agents_presence_and_what_waits(aiohttp_client, tmp_path):
    from hub.app import create_app
    from hub.appkeys import STORE
    from tests.services import free_port

    token = "operator-token-0123456789abcdef"
    client = await aiohttp_client(create_app(HubConfig(data_dir=tmp_path, operator_token=token,
                                                       broker_port=free_port())))
    store = client.app[STORE]
    await store.touch_agent("agent-1", True)
    await store.enqueue_down("agent-1", messages.Ack(ids=["m-1"]))
    await store.enqueue_down("agent-1", messages.Ack(ids=["m-2"]))
    resp = await client.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"})
    [agent] = (await resp.json())["agents"]
    presence = agent["presence"]
    assert presence["online"] is True and presence["last_seen_at"] is not None
    assert presence["down_waiting"] == 2 and presence["up_last_seq"] == 0


@pytest.mark.service
async def test_a_restarted_hub_gets_what_it_lost_at_once_not_after_the_resend_timer(broker, tmp_path):
    """The hub died with orders in flight (the broker had no one to give them to). Its hello on
    reconnect makes the agent resend them long before its 60 s resend_after."""
    from agent.link.pump import AgentLink
    from hub.backoff import Backoff
    from tests.agent.helpers import make_config

    config = HubConfig(data_dir=tmp_path / "hub", operator_token="x" * 24, broker_port=broker.port)
    config.data_dir.mkdir(parents=True)
    migrate_hub(config.database_url)
    store = HubStore.open(config.database_url)
    enroll(store.engine, "test-agent")  # make_config's agent id
    database = Database(tmp_path / "agent" / "agent.sqlite")
    database.start()
    migrate(database)
    agent = AgentLink(make_config(tmp_path, broker_port=broker.port, pos=False, link={"resend_after": 60}),
                      database)
    agent_task = asyncio.create_task(agent.run())

    async def start_hub() -> tuple[HubLink, asyncio.Task]:
        link = HubLink(config, store, backoff=Backoff(0.05, 0.5))
        task = asyncio.create_task(link.run())
        await asyncio.wait_for(link.wait_connected(), 10)
        return link, task

    hub, hub_task = await start_hub()
    try:
        await eventually(lambda: agent.connected, within=10, what="the agent connected")
        await eventually(lambda: _online(store, "test-agent"), within=10, what="the agent's presence")
        hub_task.cancel()  # as good as SIGKILL for the broker: the hub's session is gone
        with contextlib.suppress(asyncio.CancelledError):
            await hub_task
        await eventually(lambda: not hub.connected, within=5)
        order = messages.OrderPlaced(
            order_id="o-1", number=1, table_id="t-1", table_name="Table 1", currency="EUR",
            total_minor=550, placed_at="2026-01-01T12:00:00.000Z",
            lines=[messages.OrderLine(item_id="soup", name="Soup", qty=1, unit_price_minor=550, line_total_minor=550)])
        await database.write(outbox.append, "test-agent", order)
        agent.wake()
        seq = await database.read(lambda db: db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0])
        # published into a broker with no hub to take it (else the hub would simply get it later)
        await eventually(lambda: agent._sent_up_to >= seq, what="the order published while the hub is away")
        hub, hub_task = await start_hub()
        await eventually(lambda: store.count_orders("test-agent"), within=10, what="the lost order at the hub")
    finally:
        agent.stop()
        hub.stop()
        await asyncio.wait_for(asyncio.gather(agent_task, hub_task, return_exceptions=True), 15)
        await store.close()
        database.close()


async def _online(store, agent_id: str) -> bool:
    """Seen online by the hub (enrollment made its row long before: the row alone says nothing)."""
    agent = await store.get_agent(agent_id)
    return bool(agent and agent["online"])
