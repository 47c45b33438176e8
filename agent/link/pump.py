"""The agent's end of the link: publish the outbox to the hub, mark messages delivered on ack.

- QoS 1, in seq order, at most `window` messages in flight without an ack.
- After every (re)connect everything not acked is sent again; so is whatever waits longer than
  `resend_after` without an ack (the hub may have been down while the broker was up), and all of
  it at once when the hub says hello (an Ack with no ids) after it (re)connected.
- A hub that acks late is busy, not gone: each resend that met no timely ack doubles the wait
  before the next (up to RESEND_PATIENCE_MAX x `resend_after`), and an ack that comes within
  `resend_after` of its send restores it. Without this, 2,000 agents resending their windows every
  15 s at an overloaded hub tripled its load and it never caught up (bench/README.md).
- Nothing relies on the broker or paho keeping messages: the outbox table is the truth.

And the other way: messages from the hub go through the inbox (agent/inbox.py), applied once by
the handler for their type, then acked, duplicates included. Presence carries the agent's public
key. Delivered outbox rows and applied inbox rows are pruned after `link.retention_days`.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiomqtt

from agent.config import AgentConfig
from agent.events import EventBus
from agent.link import inbox
from agent.store import outbox
from agent.store.database import Database
from contract import envelope, messages, topics

log = logging.getLogger(__name__)

BACKOFF_START = 0.5
BACKOFF_MAX = 15.0  # the uplink is back: a restaurant should not wait long to catch up
PRUNE_EVERY_S = 3600.0
RESEND_PATIENCE_MAX = 8  # x resend_after: 15 s becomes at most 2 minutes at a hub that acks late


class AgentLink:
    def __init__(self, config: AgentConfig, database: Database, *,
                 handlers: dict[str, inbox.Handler] | None = None, events: EventBus | None = None,
                 public_key: str = "", after_apply: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.config = config
        self.after_apply = after_apply  # given the type: wake the device queues, reload the menu, ...
        self.database = database
        self.agent_id = config.agent.id
        self.handlers = handlers or {}  # message type -> how to apply it (agent/inbox.py)
        self.events = events
        self.public_key = public_key  # sent in presence; the hub trusts the first one it sees
        self.connected = False
        self.last_ack_at: datetime | None = None
        self._offline_since: datetime | None = datetime.now(UTC)  # not connected yet
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._in_flight: dict[str, float] = {}  # message id -> when sent
        self._sent_up_to = 0  # highest seq published in this connection
        self.resend_patience = 1  # x resend_after before unacked messages are sent again

    @property
    def offline_since(self) -> datetime | None:
        """When the link went down (or the agent started without it); None while connected.
        Staff see "offline since 12:03, 14 messages waiting"."""
        return None if self.connected else self._offline_since

    def wake(self) -> None:
        """New outbox messages were written."""
        self._wake.set()

    async def run(self) -> None:
        """Connect, pump, reconnect with back-off; until stop(). Prunes old rows meanwhile."""
        pruning = asyncio.create_task(self._prune_periodically(), name="link-prune")
        try:
            await self._connect_loop()
        finally:
            pruning.cancel()
            await asyncio.gather(pruning, return_exceptions=True)

    async def _connect_loop(self) -> None:
        backoff = BACKOFF_START
        while not self._stopping.is_set():
            error: Exception | None = None
            try:
                await self._session()
            except (aiomqtt.MqttError, OSError) as exc:
                error = exc
            if self._reconnect.is_set() and error is None:  # asked to: straight back
                self._reconnect.clear()
                self.connected = False
                continue
            if self.connected:  # it was up: after a drop, try again soon
                backoff = BACKOFF_START
                self._offline_since = datetime.now(UTC)
            self.connected = False
            if error is not None:
                log.warning("link down", extra={"error": str(error), "retry_in": round(backoff, 2)})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff * random.uniform(0.8, 1.2)):  # not wait_for: see dispatch
                    await self._stopping.wait()
            backoff = min(backoff * 2, BACKOFF_MAX)

    def reconnect(self) -> None:
        """Leave the broker cleanly and connect again at once, reading the TLS files anew (a
        renewed certificate: agent/link/renewal.py). No offline presence: nobody should notice."""
        self._reconnect.set()

    def stop(self) -> None:
        """Leave the broker cleanly (saying offline) instead of being cancelled mid-handshake."""
        self._stopping.set()

    def _presence(self, online: bool) -> bytes:
        # presence is not an outbox message: seq 0 means "not sequenced"
        return envelope.encode(self.agent_id, 0, messages.Presence(online=online, public_key=self.public_key))

    async def _session(self) -> None:
        broker = self.config.broker
        will = aiomqtt.Will(topics.up(self.agent_id, "presence"), self._presence(False), qos=1, retain=True)
        async with aiomqtt.Client(
            broker.host, broker.port, identifier=f"tableside-agent-{self.agent_id}",
            username=broker.username, password=broker.password, keepalive=broker.keepalive,
            will=will, clean_session=True, tls_params=_tls(broker),
        ) as client:
            await client.subscribe(topics.agent_subscription(self.agent_id), qos=1)
            await client.publish(topics.up(self.agent_id, "presence"), self._presence(True), qos=1, retain=True)
            self.connected = True
            self._in_flight.clear()
            self._sent_up_to = 0
            log.info("link up", extra={"broker": f"{broker.host}:{broker.port}"})
            await first_failure(self._pump(client), self._receive(client), self._stopping.wait(),
                                self._reconnect.wait())
            if self._stopping.is_set():  # leaving for good, not reconnecting: say so
                await client.publish(topics.up(self.agent_id, "presence"), self._presence(False), qos=1, retain=True)

    async def _pump(self, client: aiomqtt.Client) -> None:
        window, resend_after = self.config.link.window, self.config.link.resend_after
        while True:
            self._wake.clear()
            waited = resend_after * self.resend_patience
            if self._in_flight and time.monotonic() - min(self._in_flight.values()) > waited:
                log.info("no ack in time, resending",
                         extra={"in_flight": len(self._in_flight), "waited_s": round(waited, 1)})
                self._in_flight.clear()
                self.resend_patience = min(self.resend_patience * 2, RESEND_PATIENCE_MAX)
            if not self._in_flight:
                # nothing awaits an ack: look from the start, so no undelivered row is ever skipped
                self._sent_up_to = 0
            room = window - len(self._in_flight)
            batch = await self.database.read(outbox.pending, self._sent_up_to, room) if room > 0 else []
            for message in batch:
                await client.publish(topics.up(self.agent_id, message.type), outbox.stamped(message.payload), qos=1)
                self._in_flight[message.id] = time.monotonic()
                self._sent_up_to = message.seq
            if not batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(resend_after / 3):
                        await self._wake.wait()

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for mqtt_message in client.messages:
            try:
                topic = topics.parse(str(mqtt_message.topic))
                env = envelope.decode(mqtt_message.payload)
            except (ValueError, envelope.InvalidMessage) as exc:
                # no usable id: nothing to record or ack
                log.warning("dropped a bad message from the hub", extra={"error": str(exc)})
                continue
            if topic.agent_id != self.agent_id:
                continue
            if env.type == messages.Ack.TYPE:
                try:
                    ack = envelope.decode_data(env)
                except envelope.InvalidMessage as exc:
                    log.warning("dropped a bad ack from the hub", extra={"error": str(exc)})
                    continue
                if not ack.ids:
                    # the hub's hello after it (re)connected: what it had in flight from us may be
                    # lost with it, so send everything unacked now instead of after resend_after
                    log.info("hub reconnected, resending", extra={"in_flight": len(self._in_flight)})
                    self._in_flight.clear()
                    self._wake.set()
                    continue
                await self._acked(ack.ids)
            else:
                await self._apply(client, topic, env)

    async def _apply(self, client: aiomqtt.Client, topic: topics.Topic, env: envelope.Envelope) -> None:
        """Apply a hub message once (inbox), publish its events, ack it; not acked if the write failed."""
        try:
            if env.agent_id != self.agent_id or env.type != topic.type:
                why = f"envelope ({env.agent_id}, {env.type}) does not match its topic ({topic.agent_id}, {topic.type})"
                outcome = await self.database.write(inbox.reject, env, why)
            else:
                outcome = await self.database.write(inbox.receive, env, self.handlers)
        except Exception:
            log.exception("hub message not applied, not acked: the hub sends it again",
                          extra={"message_id": env.id, "type": env.type})
            return
        log_fields = {"message_id": env.id, "type": env.type, "seq": env.seq, "status": outcome.status}
        if outcome.status in ("rejected", "unhandled"):
            log.warning("hub message not applied", extra={**log_fields, "reason": outcome.reason})
        else:
            log.info("hub message received", extra=log_fields)
        self._publish_events(env, outcome)
        if outcome.status == "applied" and self.after_apply is not None:
            try:
                await self.after_apply(env.type)
            except Exception:  # applied and committed: a failed follow-up must not withhold the ack
                log.exception("after applying a hub message", extra={"message_id": env.id, "type": env.type})
        body = envelope.encode(self.agent_id, 0, messages.Ack(ids=[env.id]))  # acks are not outboxed: seq 0
        await client.publish(topics.up(self.agent_id, messages.Ack.TYPE), body, qos=1)

    def _publish_events(self, env: envelope.Envelope, outcome: inbox.Outcome) -> None:
        if self.events is None:
            return
        for kind, data, table_id in outcome.events:
            self.events.publish(kind, data, table_id=table_id)
        if outcome.status in ("rejected", "unhandled"):
            self.events.publish("link", {"message_id": env.id, "type": env.type, "status": outcome.status,
                                         "reason": outcome.reason}, staff_only=True)

    async def _acked(self, ids: list[str]) -> None:
        if ids:
            await self.database.write(outbox.mark_delivered, ids)
        now = time.monotonic()
        for message_id in ids:
            sent = self._in_flight.pop(message_id, None)
            if sent is not None and now - sent < self.config.link.resend_after:
                self.resend_patience = 1  # the hub keeps up again
        self.last_ack_at = datetime.now(UTC)
        self._wake.set()  # room in the window

    async def _prune_periodically(self) -> None:
        older_than = timedelta(days=self.config.link.retention_days)
        while True:
            try:
                sent = await self.database.write(outbox.prune, older_than)
                received = await self.database.write(inbox.prune, older_than)
                if sent or received:
                    log.info("link pruned", extra={"outbox": sent, "inbox": received})
            except Exception:  # a failed prune must not take the link down; try next time
                log.exception("link prune failed")
            await asyncio.sleep(PRUNE_EVERY_S)


async def first_failure(*coros) -> None:
    """Run coroutines together until one ends (or fails); cancel the rest; raise what it raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


def _tls(broker) -> aiomqtt.TLSParameters | None:
    """The box's certificate (from pairing) and the hub's CA; files read at each connect, so a
    renewed certificate is used from the next connection on."""
    if not broker.tls:
        return None
    return aiomqtt.TLSParameters(ca_certs=broker.cafile, certfile=broker.certfile, keyfile=broker.keyfile)
