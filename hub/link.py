"""The hub's end of the MQTT link: apply what agents send, once, and ack it.

Delivery is at-least-once (QoS 1 plus the agents' outboxes), so every message is applied
idempotently (the store records its id in the same transaction) and acked after it is durable.
A message the hub cannot use is recorded as rejected and acked too: resending would not help.

The other way (hub -> agent) works the same from the hub's outbox (hub/store/downlink.py): each
worker pumps the pending messages of online agents in seq order, at most `window` unacked per
agent; the agent's Ack marks them delivered in the shared database (whichever worker gets it);
what stays unacked for `resend_after` is sent again, and so is everything unacked when the
agent comes online or this worker reconnects. A duplicate send is harmless: the agent's inbox
applies each id once and acks it again. On (re)connect the hub says hello to every online agent
(an Ack with no ids), so agents resend what a dead hub lost without waiting for their timers.

Presence also carries the agent's public key (trusted on first use) and every fresh message's
sent_at measures the agent's clock (`clock_offset_ms`). What agents report about their bills and
devices is kept as the latest state by seq (hub/store/agent_state.py).
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiomqtt

from contract import envelope, messages, topics
from contract.envelope import Envelope, InvalidMessage
from contract.messages import (
    Ack,
    BillChanged,
    DeviceStatus,
    OrderPlaced,
    PaymentTaken,
    Presence,
    RefundRequested,
)
from hub.backoff import Backoff
from hub.config import HubConfig
from hub.store import HubStore
from hub.store.agent_state import ReportRejected

log = logging.getLogger(__name__)

LOG_HEAD_BYTES = 200  # how much of a bad payload a log line may show
MAX_REASON_CHARS = 500
KEEPALIVE_S = 30  # notice a dead broker within about a minute
# last_seen is written at most this often per agent while it talks, not once per message:
# a catch-up of thousands of orders would otherwise double the hub's writes.
SEEN_EVERY_S = 5.0
# Types an agent may send. Presence is state, not outboxed, and acks are never acked back.
# Payment types are applied by handlers the payments side registers (HubLink.handle).
ACCEPTED_TYPES = {OrderPlaced.TYPE, Presence.TYPE, Ack.TYPE, PaymentTaken.TYPE, RefundRequested.TYPE,
                  BillChanged.TYPE, DeviceStatus.TYPE}
UNACKED_TYPES = {Presence.TYPE, Ack.TYPE}
# The agent's clock is measured at most this often per agent from ordinary messages (always on presence).
CLOCK_EVERY_S = 5.0
PRUNE_EVERY_S = 3600.0
DOWN_WINDOW = 100  # unacked messages in flight per agent
DOWN_RESEND_AFTER_S = 15.0
PUMP_RETRY_S = 2.0  # after a database error in the pump

# Applies one message (idempotently, by its id or its own key); raises MessageRejected (or a
# ValueError subclass the handler documents as "never applicable") for a message to record and ack.
Handler = Callable[[Envelope, object], Awaitable[object]]


class MessageRejected(ValueError):
    """A handler's verdict: this message can never be applied; record it as rejected and ack it."""


@dataclass
class _InFlight:
    """What this worker sent one agent and still waits an ack for."""

    sent: dict[str, float] = field(default_factory=dict)  # message id -> monotonic send time
    sent_up_to: int = 0  # highest seq published since nothing was in flight


class HubLink:
    def __init__(self, config: HubConfig, store: HubStore, *, backoff: Backoff | None = None,
                 window: int = DOWN_WINDOW, resend_after: float = DOWN_RESEND_AFTER_S) -> None:
        self._config = config
        self._store = store
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._window = window
        self._resend_after = resend_after
        self._connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ack_seq = itertools.count(1)  # acks are not outboxed, so a process counter does
        self._last_touch: dict[str, float] = {}  # agent id -> monotonic time of the last last_seen write
        self._last_clock: dict[str, float] = {}  # agent id -> monotonic time of the last clock measurement
        self._flights: dict[str, _InFlight] = {}  # agents this worker is sending to
        self._woken: set[str] = set()  # agents with news for the pump
        self._pump_wake = asyncio.Event()
        self._handlers: dict[str, Handler] = {
            PaymentTaken.TYPE: self._payment_taken,
            # latest state by seq; "applied", "stale" (a newer one is stored) or "duplicate"
            BillChanged.TYPE: store.apply_bill_changed,
            DeviceStatus.TYPE: store.apply_device_status,
        }
        self._rejects: tuple[type[Exception], ...] = (MessageRejected, ReportRejected)

    def handle(self, type_: str, handler: Handler, *, rejects: tuple[type[Exception], ...] = ()) -> None:
        """Apply messages of `type_` with `handler`; the exceptions in `rejects` mean "record as
        rejected and ack" (any other one: not acked, so the agent sends it again)."""
        self._handlers[type_] = handler
        self._rejects = tuple({*self._rejects, *rejects})

    async def _payment_taken(self, env: Envelope, data: object) -> bool:
        # cash or the restaurant's own terminal, recorded by staff at the agent
        from hub.payments.link_handlers import apply_payment_taken
        from hub.payments.service import PaymentMessageRejected

        try:
            return await apply_payment_taken(self._store, env, data)
        except PaymentMessageRejected as exc:
            raise MessageRejected(str(exc)) from exc

    def wake(self, agent_id: str) -> None:
        """Messages for the agent were enqueued (and committed): send them now. Event loop only."""
        self._woken.add(agent_id)
        self._pump_wake.set()

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
        pruning = asyncio.create_task(self._prune_periodically(), name="hub-link-prune")
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
        async def consume() -> None:
            async for message in client.messages:
                await self._handle(client, message)

        tasks = [asyncio.create_task(consume()), asyncio.create_task(self._pump(client)),
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
        return aiomqtt.Client(
            cfg.broker_host, cfg.broker_port, identifier=cfg.client_id,
            username=cfg.broker_username, password=cfg.broker_password,
            # No broker session: the agents' outboxes resend whatever was not acked.
            clean_session=True, keepalive=KEEPALIVE_S, timeout=10,
        )

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        granted = await client.subscribe(self.subscription, qos=1)
        codes = [getattr(code, "value", code) for code in granted]
        if any(code >= 0x80 for code in codes):
            raise aiomqtt.MqttError(f"broker refused subscription {self.subscription} (codes {codes})")

    async def _handle(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
        try:
            ack = await self.process(message.topic.value, payload, retained=message.retain)
        except Exception:
            # Most likely the database: not acked, so the agent resends it later.
            log.exception("message not applied topic=%s size=%d", message.topic.value, len(payload))
            return
        if ack is not None:
            await self._publish_ack(client, *ack)  # a broken connection here -> reconnect, resend

    async def _publish_ack(self, client: aiomqtt.Client, agent_id: str, message_id: str) -> None:
        body = envelope.encode(agent_id, next(self._ack_seq), Ack(ids=[message_id]))
        await client.publish(topics.down(agent_id, Ack.TYPE), body, qos=1)

    async def process(self, topic: str, payload: bytes, *, retained: bool = False) -> tuple[str, str] | None:
        """Apply one message; returns (agent_id, message_id) to ack, or None for no ack."""
        try:
            where = topics.parse(topic)
        except ValueError:
            log.warning("ignored message on foreign topic topic=%.200s", topic)
            return None
        if where.direction != "up":
            return None
        agent_id = where.agent_id
        try:
            env = envelope.decode(payload)
        except InvalidMessage as exc:
            # No usable id, so nothing to record or ack: log enough to find the sender's bug.
            log.warning("undecodable envelope dropped agent=%s type=%s size=%d error=%s head=%r",
                        agent_id, where.type, len(payload), str(exc)[:LOG_HEAD_BYTES],
                        payload[:LOG_HEAD_BYTES])
            await self._touch(agent_id, None, retained)
            return None

        data, reason = self._check(where, env)
        online = data.online if isinstance(data, Presence) else None
        await self._touch(agent_id, online, retained)
        if reason is None and not retained:  # a retained message was sent who knows when
            await self._measure_clock(agent_id, env, force=online is not None)
        if reason is not None:
            recorded = await self._store.record_rejected(env.id, agent_id, env.type, reason, payload)
            log.warning("message rejected agent=%s id=%s type=%s recorded=%s reason=%s",
                        agent_id, env.id, env.type, recorded, reason)
            return agent_id, env.id
        if isinstance(data, OrderPlaced):
            applied = await self._store.apply_order_placed(env, data)
            log.info("order.placed %s agent=%s id=%s seq=%d order=%s", "applied" if applied else "duplicate",
                     agent_id, env.id, env.seq, data.order_id)
        elif isinstance(data, Presence):
            log.info("agent presence agent=%s online=%s retained=%s", agent_id, data.online, retained)
            await self._presence(agent_id, data)
        elif isinstance(data, Ack):
            await self._down_acked(agent_id, data.ids)
        elif env.type in self._handlers:
            try:
                outcome = await self._handlers[env.type](env, data)
            except self._rejects as exc:
                recorded = await self._store.record_rejected(env.id, agent_id, env.type,
                                                             str(exc)[:MAX_REASON_CHARS], payload)
                log.warning("message rejected agent=%s id=%s type=%s recorded=%s reason=%s",
                            agent_id, env.id, env.type, recorded, exc)
                return agent_id, env.id
            log.info("%s agent=%s id=%s seq=%d outcome=%s", env.type, agent_id, env.id, env.seq, outcome)
        else:
            # accepted but nothing here applies it (payments not wired in): not acked, so the
            # agent keeps it until a hub that can apply it comes up; never silently dropped
            log.error("no handler for %s agent=%s id=%s: not acked", env.type, agent_id, env.id)
            return None
        return None if env.type in UNACKED_TYPES else (agent_id, env.id)

    async def _touch(self, agent_id: str, online: bool | None, retained: bool) -> None:
        """Record the agent as seen (and its presence), skipping writes that would change nothing
        but a few seconds of last_seen."""
        now, last = time.monotonic(), self._last_touch.get(agent_id)
        if online is None and last is not None and now - last < SEEN_EVERY_S:
            return
        await self._store.touch_agent(agent_id, online, seen=not retained)
        if not retained:
            self._last_touch[agent_id] = now

    @staticmethod
    def _check(where: topics.Topic, env: Envelope) -> tuple[object | None, str | None]:
        """The typed data, or why the message cannot be applied."""
        if env.agent_id != where.agent_id:
            return None, f"envelope agent_id {env.agent_id!r} does not match topic agent {where.agent_id!r}"
        if env.type != where.type:
            return None, f"envelope type {env.type!r} does not match topic type {where.type!r}"
        if env.type not in ACCEPTED_TYPES and messages.by_type(env.type) is not None:
            return None, f"{env.type} is not accepted from agents"
        try:
            return envelope.decode_data(env), None
        except InvalidMessage as exc:
            return None, str(exc)[:MAX_REASON_CHARS]

    # --- link, hub -> agent ---

    async def _presence(self, agent_id: str, data: Presence) -> None:
        if data.public_key:
            verdict = await self._store.remember_agent_key(agent_id, data.public_key)
            if verdict == "stored":
                log.info("agent key stored (first seen) agent=%s", agent_id)
            elif verdict == "refused":
                log.error("agent key REFUSED: differs from the key first seen; kept out until an operator "
                          "resets it (reset_agent_key) agent=%s", agent_id)
        # online: send it everything unacked, from the start; offline: stop sending
        self._flights.pop(agent_id, None)
        if data.online:
            self.wake(agent_id)

    async def _down_acked(self, agent_id: str, ids: list[str]) -> None:
        delivered = await self._store.mark_down_delivered(agent_id, ids)
        log.debug("down acked agent=%s ids=%d newly_delivered=%d", agent_id, len(ids), delivered)
        flight = self._flights.get(agent_id)
        if flight is not None:
            for message_id in ids:
                flight.sent.pop(message_id, None)
        self._pump_wake.set()  # room in the window

    async def _measure_clock(self, agent_id: str, env: Envelope, *, force: bool) -> None:
        """clock_offset_ms = hub receive time - the agent's sent_at (positive: agent clock behind)."""
        now = time.monotonic()
        last = self._last_clock.get(agent_id)
        if not force and last is not None and now - last < CLOCK_EVERY_S:
            return
        try:
            sent_at = datetime.fromisoformat(env.sent_at)
        except ValueError:
            return
        if sent_at.tzinfo is None:
            return
        offset_ms = round((datetime.now(UTC) - sent_at).total_seconds() * 1000)
        await self._store.set_clock_offset(agent_id, offset_ms)
        self._last_clock[agent_id] = now

    async def _pump(self, client: aiomqtt.Client) -> None:
        """Send agents their pending messages; resend what is not acked. Runs while connected."""
        self._flights.clear()  # a new connection: everything unacked goes again
        await self._hello(client)
        next_sweep = 0.0
        while True:
            self._pump_wake.clear()
            try:
                due = set(self._flights) | self._woken
                self._woken.clear()
                if time.monotonic() >= next_sweep:
                    # online agents with messages waiting, whoever enqueued them (another worker too)
                    due.update(await self._store.down_targets())
                    next_sweep = time.monotonic() + self._resend_after
                for agent_id in sorted(due):
                    await self._pump_agent(client, agent_id)
            except aiomqtt.MqttError:
                raise
            except Exception:  # the database, most likely: try again soon, keep the connection
                log.exception("down pump failed; retrying in %.1fs", PUMP_RETRY_S)
                await asyncio.sleep(PUMP_RETRY_S)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._resend_after / 3):
                    await self._pump_wake.wait()

    async def _hello(self, client: aiomqtt.Client) -> None:
        """Tell each online agent this hub is (back) up: an Ack with no ids. What the agent had in
        flight to a hub that died is lost (no subscriber held it), so it resends now rather than
        after its resend_after. Harmless with several workers: duplicates are applied once."""
        try:
            online = [a["id"] for a in await self._store.list_agents() if a["online"]]
        except Exception:  # the database: the agents' own resend timers still cover it
            log.exception("hello to agents skipped")
            return
        for agent_id in online:
            body = envelope.encode(agent_id, next(self._ack_seq), Ack(ids=[]))
            await client.publish(topics.down(agent_id, Ack.TYPE), body, qos=1)
        log.info("hello sent to online agents count=%d", len(online))

    async def _pump_agent(self, client: aiomqtt.Client, agent_id: str) -> None:
        flight = self._flights.setdefault(agent_id, _InFlight())
        if flight.sent and time.monotonic() - min(flight.sent.values()) > self._resend_after:
            # No ack in time (agent gone, or its ack went to another worker and it is delivered):
            # let go; the next sweep starts over if the agent is online with messages waiting.
            log.info("down messages not acked in time agent=%s in_flight=%d", agent_id, len(flight.sent))
            del self._flights[agent_id]
            return
        if not flight.sent:
            flight.sent_up_to = 0  # nothing awaits an ack: look from the start, never skip a row
        room = self._window - len(flight.sent)
        batch = await self._store.down_pending(agent_id, flight.sent_up_to, room) if room > 0 else []
        for message in batch:
            await client.publish(topics.down(agent_id, message.type), message.payload, qos=1)
            flight.sent[message.id] = time.monotonic()
            flight.sent_up_to = message.seq
        if batch:
            log.debug("down sent agent=%s count=%d up_to_seq=%d", agent_id, len(batch), flight.sent_up_to)
        if not flight.sent:
            del self._flights[agent_id]  # nothing pending: idle until woken or swept

    async def _prune_periodically(self) -> None:
        older_than = timedelta(days=self._config.retention_days)
        while True:
            try:
                pruned = await self._store.prune_down(older_than)
                # applied up ids: kept twice as long as agents keep delivered rows; a resend older
                # than that is still stopped by each record's own key (order id, payment id)
                seen = await self._store.prune_inbox(older_than * 2)
                if pruned or seen:
                    log.info("pruned delivered down messages count=%d applied up ids count=%d", pruned, seen)
            except Exception:  # a failed prune must not end the link; try next time
                log.exception("down prune failed")
            await asyncio.sleep(PRUNE_EVERY_S)
