"""The hub's end of the MQTT link: apply what agents send, once, and ack it.

Delivery is at-least-once (QoS 1 plus the agents' outboxes), so every message is applied
idempotently (the store records its id in the same transaction) and acked after it is durable.
A message the hub cannot use is recorded as rejected and acked too: resending would not help.
"""

import asyncio
import contextlib
import itertools
import logging
import time

import aiomqtt

from contract import envelope, messages, topics
from contract.envelope import Envelope, InvalidMessage
from contract.messages import Ack, OrderPlaced, Presence
from hub.backoff import Backoff
from hub.config import HubConfig
from hub.store import HubStore

log = logging.getLogger(__name__)

LOG_HEAD_BYTES = 200  # how much of a bad payload a log line may show
MAX_REASON_CHARS = 500
KEEPALIVE_S = 30  # notice a dead broker within about a minute
# last_seen is written at most this often per agent while it talks, not once per message:
# a catch-up of thousands of orders would otherwise double the hub's writes.
SEEN_EVERY_S = 5.0
# Types an agent may send. Presence is state, not outboxed, and acks are never acked back.
ACCEPTED_TYPES = {OrderPlaced.TYPE, Presence.TYPE, Ack.TYPE}
UNACKED_TYPES = {Presence.TYPE, Ack.TYPE}


class HubLink:
    def __init__(self, config: HubConfig, store: HubStore, *, backoff: Backoff | None = None) -> None:
        self._config = config
        self._store = store
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self._ack_seq = itertools.count(1)  # acks are not outboxed, so a process counter does
        self._last_touch: dict[str, float] = {}  # agent id -> monotonic time of the last last_seen write

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
        """Connect, consume, reconnect with back-off; until stop() (or cancelled)."""
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
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _consume_until_stopped(self, client: aiomqtt.Client) -> None:
        async def consume() -> None:
            async for message in client.messages:
                await self._handle(client, message)

        consumer = asyncio.create_task(consume())
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait([consumer, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (consumer, stopping):
                task.cancel()
            await asyncio.gather(consumer, stopping, return_exceptions=True)
        if consumer.done() and not consumer.cancelled() and consumer.exception():
            raise consumer.exception()

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
