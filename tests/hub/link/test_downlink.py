"""HubLink.process for the hub -> agent half: acks, presence keys, the agent's clock (no broker)."""

from datetime import UTC, datetime, timedelta

import pytest

from contract import envelope, messages, topics
from hub.config import HubConfig
from hub.link import HubLink
from tests.hub.factories import TOKEN, order_placed

AGENT = "agent-1"


@pytest.fixture
def link(store, tmp_path):
    return HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)


def presence(online: bool = True, key: str = "", sent_at: str | None = None) -> bytes:
    return envelope.encode(AGENT, 0, messages.Presence(online=online, public_key=key), sent_at=sent_at)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def test_ack_from_the_agent_marks_its_messages_delivered(link, store):
    first = await store.enqueue_down(AGENT, messages.PaymentFailed(share_id="s-1", reason="declined"))
    second = await store.enqueue_down(AGENT, messages.PaymentFailed(share_id="s-2", reason="declined"))
    ack = envelope.encode(AGENT, 0, messages.Ack(ids=[first]))
    assert await link.process(topics.up(AGENT, "ack"), ack) is None  # acks are never acked back
    assert [m.id for m in await store.down_pending(AGENT, 0, 10)] == [second]
    assert await store.down_waiting(AGENT) == 1


async def test_ack_from_another_agent_delivers_nothing(link, store):
    mine = await store.enqueue_down(AGENT, messages.PaymentFailed(share_id="s-1", reason="declined"))
    forged = envelope.encode("agent-2", 0, messages.Ack(ids=[mine]))
    await link.process(topics.up("agent-2", "ack"), forged)
    assert await store.down_waiting(AGENT) == 1


async def test_presence_key_is_trusted_on_first_use_and_a_different_one_refused(link, store, caplog):
    await link.process(topics.up(AGENT, "presence"), presence(key="key-A"))
    assert await store.agent_key(AGENT) == "key-A"
    await link.process(topics.up(AGENT, "presence"), presence(key="key-B"))
    assert await store.agent_key(AGENT) == "key-A"
    assert any(r.levelname == "ERROR" and "REFUSED" in r.getMessage() for r in caplog.records)
    await store.reset_agent_key(AGENT)  # the operator says the agent was reinstalled
    await link.process(topics.up(AGENT, "presence"), presence(key="key-B"))
    assert await store.agent_key(AGENT) == "key-B"


async def test_presence_without_key_keeps_the_known_one(link, store):
    await link.process(topics.up(AGENT, "presence"), presence(key="key-A"))
    await link.process(topics.up(AGENT, "presence"), presence(online=False))
    assert await store.agent_key(AGENT) == "key-A"


async def test_clock_offset_of_an_agent_five_minutes_behind(link, store):
    behind = iso(datetime.now(UTC) - timedelta(minutes=5))
    await link.process(topics.up(AGENT, "presence"), presence(sent_at=behind))
    offset = await store.agent_clock_offset(AGENT)
    assert 300_000 <= offset < 302_000


async def test_clock_is_measured_from_ordinary_messages_at_most_every_few_seconds(link, store):
    ahead = iso(datetime.now(UTC) + timedelta(minutes=5))
    body = envelope.encode(AGENT, 1, order_placed(), sent_at=ahead)
    await link.process(topics.up(AGENT, "order.placed"), body)
    assert -300_000 <= await store.agent_clock_offset(AGENT) < -298_000
    body = envelope.encode(AGENT, 2, order_placed(), sent_at=iso(datetime.now(UTC)))
    await link.process(topics.up(AGENT, "order.placed"), body)
    assert await store.agent_clock_offset(AGENT) < -298_000  # throttled: not measured again yet
    await link.process(topics.up(AGENT, "presence"), presence(sent_at=iso(datetime.now(UTC))))
    assert abs(await store.agent_clock_offset(AGENT)) < 2_000  # presence always measures


async def test_retained_presence_does_not_measure_the_clock(link, store):
    long_ago = iso(datetime.now(UTC) - timedelta(hours=3))
    await link.process(topics.up(AGENT, "presence"), presence(key="key-A", sent_at=long_ago), retained=True)
    assert await store.agent_clock_offset(AGENT) == 0
    assert await store.agent_key(AGENT) == "key-A"  # the broker kept the agent's own message


async def test_presence_changing_while_the_pump_reads_does_not_break_it(store):
    """The agent goes offline (its flight dropped) while the pump awaits the database for it: the
    pump lets go quietly instead of failing on a flight that is no longer there."""
    import itertools

    from hub.link.downlink import DownPump

    pump = DownPump(store, itertools.count(1))
    read = store.down_pending

    async def offline_meanwhile(agent_id, after_seq, limit):
        pump.presence_changed(agent_id, False)
        return await read(agent_id, after_seq, limit)

    store.down_pending = offline_meanwhile

    class Client:
        async def publish(self, *args, **kwargs):
            raise AssertionError("nothing is pending")

    await pump._pump_agent(Client(), AGENT)  # raised KeyError before
    assert AGENT not in pump._flights
