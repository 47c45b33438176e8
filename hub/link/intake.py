"""The intake: up-messages taken from the broker, applied in batches and concurrently, acked after commit.

One per connection. paho's callback hands each message straight to the intake (hub/link/wire.py:
no aiomqtt Message, queue or iterator per message). The batcher waits for one of `concurrency` apply slots, then takes everything queued
(up to `max_batch`) as one batch: at a low rate each message goes alone at once; under load,
batches grow while earlier ones commit, and commits per message fall. After a batch commits, each
agent's ids go into the next coalesced Ack (hub/link/acks.py: one per agent per few ms, across
batches); once it is published, each message is PUBACKed to the broker.

Back-pressure: paho sends PUBACK only when told (manual ack), so the broker counts the messages
this worker has not finished against its in-flight limit for us (Mosquitto's
max_inflight_messages) and keeps the rest in its queue rather than in our memory: what waits here
for a batch never exceeds that limit, and at most `max_in_flight` are in batches at once.
(aiomqtt's max_queued_incoming_messages would drop messages paho had already acked, so it is not
used.) docs/scaling.md says how the limits fit together.

A message whose prerequisite has not arrived (PrerequisiteMissing: a refund for a payment still in
flight, maybe on another worker) is PUBACKed, kept here and tried again with growing pauses for
PREREQUISITE_WAIT_S; still missing then, it is left unacked and the agent's outbox resends it.
Never rejected for arriving in the wrong order.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque

import aiomqtt

from hub.link.acks import AckCoalescer
from hub.link.applying import Incoming, UpApplier
from hub.link.wire import Wire
from hub.metrics import HubMetrics

log = logging.getLogger(__name__)

# With a batch already committing, the next one gathers for up to LINGER_S (or until FILL are
# queued) instead of starting with the few there: each batch has fixed costs (a thread hop, the
# roster, the agents' upsert, a commit, an ack flush), and at 1,000 msg/s from 200 agents batches
# of 8 cost 0.91 CPU ms a message where batches of 28 at saturation cost 0.35 (bench/README.md,
# 2026-12-06). With nothing committing a message goes at once: no linger at a low rate.
LINGER_S = 0.02
FILL = 100
PREREQUISITE_WAIT_S = 60.0
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
MAX_WAITING = 10_000  # parked messages at most; past that they are left to the agents' resends


class Intake:
    def __init__(self, applier: UpApplier, ack_seq: itertools.count, *, max_in_flight: int, max_batch: int,
                 concurrency: int, metrics: HubMetrics | None = None, linger_s: float = LINGER_S,
                 fill: int = FILL) -> None:
        self._metrics = metrics
        self._applier = applier
        self._ack_seq = ack_seq
        self._max_in_flight = max_in_flight
        self._max_batch = max_batch
        self._concurrency = concurrency
        self._linger_s, self._fill = linger_s, min(fill, max_batch)
        self.in_flight = 0  # taken from the broker, not finished
        self.waiting = 0  # parked for a prerequisite
        self._queued: deque[Incoming] = deque()  # taken, not yet in a batch
        self._arrived = asyncio.Event()  # set when _queued gains a message
        self._tasks: set[asyncio.Task] = set()
        self._working = 0  # taken into batches, not finished (at most max_in_flight)
        self._ended: asyncio.Future[None] | None = None

    async def run(self, client: aiomqtt.Client) -> None:
        """Consume until the connection ends (its MqttError is raised) or cancelled. Call
        wire.manual_acks(client) before connecting."""
        await self.run_on(Wire(client))

    async def run_on(self, wire: Wire) -> None:
        """run() on a wire of one's own (the tests' stand-in for the broker)."""
        slots = asyncio.Semaphore(self._concurrency)
        self.in_flight = self.waiting = self._working = 0
        self._queued.clear()
        self._ended = asyncio.get_running_loop().create_future()
        self._acks = AckCoalescer(wire, self._ack_seq)
        wire.take(self._take)
        self._spawn(wire.ended())
        self._spawn(self._batches(wire, slots))
        try:
            await self._ended  # the first task to fail ends the lot (a lost connection, mostly)
        finally:
            wire.take(_dropped)  # anything still arriving is the broker's to send again
            self._acks.close()
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._ended.done():
            self._ended.set_exception(task.exception())

    def _take(self, incoming: Incoming) -> None:
        self._queued.append(incoming)
        self.in_flight += 1
        self._arrived.set()

    async def _batches(self, wire: Wire, slots: asyncio.Semaphore) -> None:
        while True:
            await slots.acquire()
            while not self._queued or self._working >= self._max_in_flight:
                self._arrived.clear()
                await self._arrived.wait()
            await self._linger()
            size = min(len(self._queued), self._max_batch, self._max_in_flight - self._working)
            batch = [self._queued.popleft() for _ in range(size)]
            self._working += size
            self._spawn(self._apply(wire, batch, slots))

    async def _linger(self) -> None:
        """While a batch commits, let the next one gather: until FILL are queued, LINGER_S has
        passed, or nothing is committing any more."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger_s
        while self._working and len(self._queued) < self._fill and (left := deadline - loop.time()) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._arrived.wait()

    async def _apply(self, wire: Wire, batch: list[Incoming], slots: asyncio.Semaphore) -> None:
        try:
            started = time.perf_counter()
            try:
                acks, waiting = await self._applier.apply_many(batch)
                if self._metrics is not None:
                    self._metrics.apply_seconds.observe(time.perf_counter() - started)
                    self._metrics.batch_size.observe(len(batch))
            except Exception:  # none acked: the agents resend them
                log.exception("batch not applied size=%d", len(batch))
                acks, waiting = [], []
            await self._acks.send(acks)  # a broken connection -> reconnect, resend
            for incoming in waiting:
                self._park(incoming)
        finally:
            for incoming in batch:  # only now does the broker count them done (back-pressure)
                wire.puback(incoming)
            self.in_flight -= len(batch)
            self._working -= len(batch)
            # held until the acks are out: meanwhile the queue fills and the next batch is larger
            # (freed at commit instead, the 2,000-agent bench ran batches of 11, not ~150)
            slots.release()
            self._arrived.set()  # the batcher may be waiting for room

    def _park(self, incoming: Incoming) -> None:
        if self.waiting >= MAX_WAITING:
            log.warning("too many messages waiting for a prerequisite; left to the agent's resend topic=%s",
                        incoming.topic)
            return
        self.waiting += 1
        self._spawn(self._retry(incoming))

    async def _retry(self, incoming: Incoming) -> None:
        loop = asyncio.get_running_loop()
        give_up, pause = loop.time() + PREREQUISITE_WAIT_S, RETRY_FIRST_S
        try:
            while loop.time() < give_up:
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_S)
                acks, waiting = await self._applier.apply_many([incoming])
                if not waiting:
                    await self._acks.send(acks)
                    return
            log.warning("prerequisite still missing after %.0fs; left to the agent's resend topic=%s",
                        PREREQUISITE_WAIT_S, incoming.topic)
        finally:
            self.waiting -= 1


def _dropped(incoming: Incoming) -> None:
    """After the intake ended: not PUBACKed, so the broker redelivers it (or the agent resends)."""
