"""Coalesced acks: one Ack per agent per interval, naming every id committed meanwhile, published
before send() returns; never an empty Ack (that is the hub's hello)."""

import asyncio
import itertools

import aiomqtt
import pytest

from contract import envelope, topics
from hub.link.acks import AckCoalescer


class Wire:
    """Records what the coalescer hands to paho; `fail` makes the next publish raise (connection gone)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, list[str]]] = []
        self.fail: Exception | None = None

    def publish_now(self, topic, payload) -> None:
        if self.fail:
            raise self.fail
        self.published.append((topics.parse(topic).agent_id, envelope.decode_data(envelope.decode(payload)).ids))


@pytest.fixture
def broker():
    return Wire()


@pytest.fixture
def acks(broker):
    coalescer = AckCoalescer(broker, itertools.count(1), every_s=0.01)
    yield coalescer
    coalescer.close()


async def test_batches_committed_together_share_one_ack_per_agent(acks, broker):
    first = asyncio.create_task(acks.send([("agent-1", "m1"), ("agent-2", "m2")]))
    second = asyncio.create_task(acks.send([("agent-1", "m3"), ("agent-1", "m1")]))  # m1 resent meanwhile
    await asyncio.sleep(0)
    assert not first.done() and not second.done() and broker.published == []  # the window is open
    await asyncio.gather(first, second)  # returns once published
    assert sorted(broker.published) == [("agent-1", ["m1", "m3"]), ("agent-2", ["m2"])]
    assert acks.publishes == 2


async def test_later_acks_go_in_the_next_ack(acks, broker):
    await acks.send([("agent-1", "m1")])
    await acks.send([("agent-1", "m2")])
    assert broker.published == [("agent-1", ["m1"]), ("agent-1", ["m2"])]


async def test_nothing_to_ack_publishes_nothing(acks, broker):
    await acks.send([])
    await asyncio.sleep(0.03)
    assert broker.published == []  # an empty Ack would tell the agent to resend everything


async def test_a_failed_publish_fails_every_batch_waiting_on_it(acks, broker):
    broker.fail = aiomqtt.MqttError("connection lost")
    waiting = [asyncio.create_task(acks.send([("agent-1", f"m{n}")])) for n in range(3)]
    for task in waiting:
        with pytest.raises(aiomqtt.MqttError):
            await task
