"""HubLink: the hub's end of the MQTT link, one connection to the broker per worker.

Connects and subscribes (through the shared subscription, so several workers split the load),
hands up-messages to the intake (hub/link/intake.py: batches, acks after commit, back-pressure),
which applies them through hub/link/applying.py, runs the downlink pump (hub/link/downlink.py)
while connected, reconnects with back-off, and prunes (hub/link/pruning.py) meanwhile.
"""

import asyncio
import contextlib
import functools
import itertools
import logging

import aiomqtt

from contract import topics
from hub import broker_login
from hub.backoff import Backoff
from hub.config import HubConfig
from hub.link.applying import Handler, Incoming, UpApplier
from hub.link.downlink import DOWN_RESEND_AFTER_S, DOWN_WINDOW, DownPump
from hub.link.intake import Intake
from hub.link.presence import AgentPresence
from hub.link.pruning import prune_periodically
from hub.link.roster import Roster
from hub.link.wire import manual_acks
from hub.metrics import HubMetrics
from hub.store import HubStore
from hub.store.singleton import run_as_singleton

log = logging.getLogger(__name__)

KEEPALIVE_S = 30  # notice a dead broker within about a minute
OUT_IN_FLIGHT = 1000  # QoS 1 publishes (down messages, the hello) awaiting the broker's PUBACK


class HubLink:
    def __init__(self, config: HubConfig, store: HubStore, *, backoff: Backoff | None = None,
                 window: int = DOWN_WINDOW, resend_after: float = DOWN_RESEND_AFTER_S,
                 metrics: HubMetrics | None = None) -> None:
        self._config = config
        self._store = store
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ack_seq = itertools.count(1)  # acks are not outboxed, so a process counter does
        self._pump = DownPump(store, self._ack_seq, window=window, resend_after=resend_after)
        counted = metrics.count_link if metrics else None
        self.roster = Roster(store.engine)
        self._applier = UpApplier(store, AgentPresence(store), self._pump, self.roster, on_outcome=counted)
        self._intake = Intake(self._applier, self._ack_seq, max_in_flight=config.max_in_flight,
                              max_batch=config.max_batch, concurrency=config.batches_at_once, metrics=metrics)
        if metrics is not None:
            metrics.in_flight.set_function(lambda: self._intake.in_flight)
            metrics.waiting.set_function(lambda: self._intake.waiting)
            metrics.link_connected.set_function(lambda: 1 if self.connected else 0)

    def handle(self, type_: str, handler: Handler, *, rejects: tuple[type[Exception], ...] = ()) -> None:
        """Apply messages of `type_` with `handler`; the exceptions in `rejects` mean "record as
        rejected and ack" (any other one: not acked, so the agent sends it again)."""
        self._applier.handle(type_, handler, rejects=rejects)

    def wake(self, agent_id: str) -> None:
        """Messages for the agent were enqueued (and committed): send them now. Event loop only."""
        self._pump.wake(agent_id)

    async def process(self, topic: str, payload: bytes, *, retained: bool = False) -> tuple[str, str] | None:
        """Apply one message; returns (agent_id, message_id) to ack, or None for no ack."""
        return await self._applier.process(topic, payload, retained=retained)

    async def apply_many(self, batch: list[Incoming]) -> tuple[list[tuple[str, str]], list[Incoming]]:
        """Apply a batch as the intake does: (agent_id, message_id) pairs to ack, and the messages
        waiting for a prerequisite."""
        return await self._applier.apply_many(batch)

    @property
    def outcomes(self):
        """(type, outcome) -> messages since start: applied, duplicate, stale, rejected, retried, waiting."""
        return self._applier.outcomes

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def subscription(self) -> str:
        if self._config.shared_subscription:
            return topics.HUB_SHARED_SUBSCRIPTION
        return topics.HUB_SUBSCRIPTION

    async def wait_connected(self) -> None:
        """Return once connected and subscribed."""
        await self._connected.wait()

    def stop(self) -> None:
        """Leave the broker cleanly instead of being cancelled mid-handshake."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect, consume and pump, reconnect with back-off; until stop() (or cancelled).
        Prunes delivered down messages meanwhile."""
        # one worker at a time prunes (hub/store/singleton.py)
        prune = functools.partial(prune_periodically, self._store, self._config.retention_days)
        pruning = asyncio.create_task(run_as_singleton(self._store.engine, "hub.link.prune", prune),
                                      name="hub-link-prune")
        try:
            await self._connect_loop()
        finally:
            pruning.cancel()
            await asyncio.gather(pruning, return_exceptions=True)

    async def _connect_loop(self) -> None:
        broker = f"{self._config.broker_host}:{self._config.broker_port}"
        failing = False  # log a state change once, not every failed attempt
        while not self._stopping.is_set():
            error: BaseException | None = None
            try:
                async with self._client() as client:
                    await self._subscribe(client)
                    self._connected.set()
                    self._backoff.reset()
                    failing = False
                    log.info("link connected broker=%s subscription=%s", broker, self.subscription)
                    await self._consume_until_stopped(client)
            except aiomqtt.MqttError as exc:
                error = exc
            except Exception as exc:  # a bug here must not end the link for good
                log.exception("link failed broker=%s", broker)
                error = exc
            finally:
                was_connected = self.connected
                self._connected.clear()
            delay = self._backoff.next()
            if was_connected or not failing:
                log.warning("link %s broker=%s error=%s retry_in=%.1fs",
                            "lost" if was_connected else "cannot connect", broker, error, delay)
            else:
                log.debug("link still down broker=%s error=%s retry_in=%.1fs", broker, error, delay)
            failing = True
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # comes as the wait ends, and the loop would outlive the hub's shutdown
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    async def _consume_until_stopped(self, client: aiomqtt.Client) -> None:
        tasks = [asyncio.create_task(self._intake.run(client)), asyncio.create_task(self._pump.run(client)),
                 asyncio.create_task(self._stopping.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception():
                raise task.exception()

    def _client(self) -> aiomqtt.Client:
        cfg = self._config
        client = aiomqtt.Client(
            **broker_login.client_args(cfg), identifier=cfg.client_id,
            # No broker session: the agents' outboxes resend whatever was not acked.
            clean_session=True, keepalive=KEEPALIVE_S, timeout=10,
            # acks to many agents go out at once; paho's default of 20 unacked would queue them
            # behind each other until they time out
            max_inflight_messages=OUT_IN_FLIGHT,
        )
        client.pending_calls_threshold = 10 * OUT_IN_FLIGHT  # aiomqtt warns per publish past this
        manual_acks(client)
        return client

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        granted = await client.subscribe(self.subscription, qos=1)
        codes = [getattr(code, "value", code) for code in granted]
        if any(code >= 0x80 for code in codes):
            raise aiomqtt.MqttError(f"broker refused subscription {self.subscription} (codes {codes})")
