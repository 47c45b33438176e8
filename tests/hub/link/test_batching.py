"""The intake's batcher: a message goes at once when nothing is committing; while a batch commits,
what trickles in gathers into one batch (up to a fill or a linger) instead of a batch each."""

import asyncio
import itertools

import pytest

from contract import topics
from hub.link.applying import Incoming
from hub.link.intake import Intake

SAFETY_S = 10  # only so a broken batcher fails the test instead of hanging it


class Wire:
    """The broker side, recorded: what was PUBACKed and acked."""

    def __init__(self) -> None:
        self.deliver = None
        self.pubacked: list[int] = []
        self.acked: list[str] = []
        self.done = asyncio.Event()

    def take(self, deliver) -> None:
        self.deliver = deliver

    def puback(self, incoming: Incoming) -> None:
        self.pubacked.append(incoming.mid)
        self.done.set()

    def publish_now(self, topic: str, payload: bytes) -> None:
        self.acked.append(topics.parse(topic).agent_id)

    async def ended(self) -> None:
        await asyncio.Event().wait()  # the connection never ends here


class Applier:
    """Records each batch's message numbers; the first batch commits only when `release` is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.changed = asyncio.Event()

    async def apply_many(self, batch: list[Incoming]):
        self.batches.append([m.mid for m in batch])
        self.changed.set()
        if len(self.batches) == 1:
            await self.release.wait()
        return [("agent-1", f"id-{m.mid}") for m in batch], []

    async def batches_are(self, expected: list[list[int]]) -> None:
        async with asyncio.timeout(SAFETY_S):
            while self.batches != expected:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def running():
    applier, wire = Applier(), Wire()
    # a linger far longer than the test: only a fill or the end of committing can end it
    intake = Intake(applier, itertools.count(1), max_in_flight=1000, max_batch=500, concurrency=4,
                    linger_s=3600, fill=10)
    task = asyncio.create_task(intake.run_on(wire))
    await asyncio.sleep(0)
    yield applier, wire
    applier.release.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def message(n: int) -> Incoming:
    return Incoming(topics.up("agent-1", "order.placed"), b"{}", mid=n, qos=1)


async def test_with_nothing_committing_a_message_goes_at_once(running):
    applier, wire = running
    wire.deliver(message(1))
    await applier.batches_are([[1]])  # no linger: the hour-long one would hang here


async def test_what_trickles_in_while_a_batch_commits_goes_as_one_batch(running):
    applier, wire = running
    wire.deliver(message(1))
    await applier.batches_are([[1]])
    for n in range(2, 12):  # one at a time, the batcher free to run between them (3 slots are free)
        wire.deliver(message(n))
        await asyncio.sleep(0.001)
    await applier.batches_are([[1], list(range(2, 12))])  # filled to 10, not ten batches of one
    applier.release.set()
    async with asyncio.timeout(SAFETY_S):
        while len(wire.pubacked) < 11:
            wire.done.clear()
            await wire.done.wait()
    assert sorted(wire.pubacked) == list(range(1, 12))


async def test_the_gathering_ends_when_nothing_is_committing_any_more(running):
    applier, wire = running
    wire.deliver(message(1))
    await applier.batches_are([[1]])
    wire.deliver(message(2))
    wire.deliver(message(3))
    await asyncio.sleep(0.01)
    assert applier.batches == [[1]]  # fewer than the fill, the first batch still committing: waiting
    applier.release.set()
    await applier.batches_are([[1], [2, 3]])
