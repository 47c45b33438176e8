"""HubLink.process: what the hub does with each message, without a broker."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from contract import envelope, messages, topics
from hub.config import HubConfig
from hub.link import HubLink
from hub.store.tables import rejected_messages
from tests.hub.factories import TOKEN, encoded, order_placed


@pytest.fixture
def link(store, tmp_path):
    return HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)


def rejected(store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return {r.message_id: r.reason for r in conn.execute(select(rejected_messages))}


async def test_order_is_applied_and_acked(link, store):
    data = order_placed()
    body = encoded("agent-1", data)
    msg_id = envelope.decode(body).id
    assert await link.process(topics.up("agent-1", "order.placed"), body) == ("agent-1", msg_id)
    assert await link.process(topics.up("agent-1", "order.placed"), body) == ("agent-1", msg_id)
    assert await store.count_orders("agent-1") == 1
    assert (await store.get_agent("agent-1"))["last_seen_at"] is not None


async def test_agent_mismatch_is_rejected_recorded_and_acked(link, store):
    data = order_placed()
    body = encoded("agent-2", data)  # agent-1 publishing as agent-2
    msg_id = envelope.decode(body).id
    assert await link.process(topics.up("agent-1", "order.placed"), body) == ("agent-1", msg_id)
    assert await store.count_orders() == 0
    assert "does not match topic agent" in rejected(store)[msg_id]
    assert (await store.get_agent("agent-2"))["last_seen_at"] is None  # nothing recorded of agent-2


@pytest.mark.parametrize(("type_", "data", "why"), [
    ("order.placed", b'{"order_id": 5}', "bad order.placed data"),
    ("order.refunded", b"{}", "unknown message type"),
])
async def test_bad_data_is_rejected_and_acked(link, store, type_, data, why):
    body = (b'{"id":"m-1","type":"%s","agent_id":"agent-1","seq":1,"sent_at":"x","data":%s}'
            % (type_.encode(), data))
    assert await link.process(topics.up("agent-1", type_), body) == ("agent-1", "m-1")
    assert why in rejected(store)["m-1"]


async def test_undecodable_envelope_is_dropped_but_agent_seen(link, store):
    assert await link.process(topics.up("agent-1", "order.placed"), b"\x00garbage" * 100) is None
    assert rejected(store) == {}
    assert (await store.get_agent("agent-1"))["last_seen_at"] is not None


async def test_presence_sets_online_without_ack(link, store):
    assert await link.process(topics.up("agent-1", "presence"), encoded("agent-1", messages.Presence(online=True))) is None
    assert (await store.get_agent("agent-1"))["online"] is True
    will = encoded("agent-1", messages.Presence(online=False))
    seen = (await store.get_agent("agent-1"))["last_seen_at"]
    assert await link.process(topics.up("agent-1", "presence"), will, retained=True) is None
    agent = await store.get_agent("agent-1")
    assert agent["online"] is False and agent["last_seen_at"] == seen  # a replay is not a sighting


async def test_foreign_and_down_topics_are_ignored(link, store):
    body = encoded("agent-1", order_placed())
    assert await link.process("something/else", body) is None
    assert await link.process(topics.down("agent-1", "order.placed"), body) is None
    assert await store.count_orders() == 0


async def test_a_burst_of_orders_writes_last_seen_once_but_presence_always(link, store, monkeypatch):
    touches = []
    real_touch = store.touch_agent

    async def counting_touch(agent_id, online=None, *, seen=True):
        touches.append(online)
        await real_touch(agent_id, online, seen=seen)

    async def counting_presence(agent_id, online, **kwargs):
        touches.append(online)
        return await real_presence(agent_id, online, **kwargs)

    real_presence = store.record_presence
    monkeypatch.setattr(store, "touch_agent", counting_touch)
    monkeypatch.setattr(store, "record_presence", counting_presence)
    for _ in range(20):  # a catch-up after hours offline
        await link.process(topics.up("agent-1", "order.placed"), encoded("agent-1", order_placed()))
    assert await store.count_orders("agent-1") == 20
    assert touches == [None]
    offline = envelope.encode("agent-1", 0, messages.Presence(online=False))
    await link.process(topics.up("agent-1", "presence"), offline)
    assert touches == [None, False]  # a presence change is never skipped
    assert (await store.get_agent("agent-1"))["online"] is False


async def test_a_presence_is_one_transaction_with_online_seen_clock_and_key(link, store):
    commits = []

    def count(conn) -> None:
        commits.append(conn)

    event.listen(store.engine, "commit", count)
    sent = (datetime.now(UTC) - timedelta(seconds=3)).isoformat(timespec="milliseconds")
    try:
        body = envelope.encode("agent-2", 0, messages.Presence(online=True, public_key="key-2"), sent_at=sent)
        assert await link.process(topics.up("agent-2", "presence"), body) is None
        assert len(commits) == 1
    finally:
        event.remove(store.engine, "commit", count)
    agent = await store.get_agent("agent-2")
    assert agent["online"] is True and agent["last_seen_at"] is not None and agent["public_key"] == "key-2"
    assert 2500 <= agent["clock_offset_ms"] <= 60_000  # the agent's clock is 3 s behind
    other = envelope.encode("agent-2", 0, messages.Presence(online=False, public_key="not-key-2"))
    await link.process(topics.up("agent-2", "presence"), other)
    agent = await store.get_agent("agent-2")
    assert agent["online"] is False and agent["public_key"] == "key-2" and agent["refused_key"] == "not-key-2"
