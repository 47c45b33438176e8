"""The agent's end of the link: publish the outbox to the hub, mark messages delivered on ack.

- QoS 1, in seq order, at most `window` messages in flight without an ack.
- After every (re)connect everything not acked is sent again; so is whatever waits longer than
  `resend_after` without an ack (the hub may have been down while the broker was up).
- Nothing relies on the broker or paho keeping messages: the outbox table is the truth.
"""

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime

import aiomqtt

from agent import outbox
from agent.config import AgentConfig
from agent.store.database import Database
from contract import envelope, messages, topics

log = logging.getLogger(__name__)

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0


class AgentLink:
    def __init__(self, config: AgentConfig, database: Database) -> None:
        self.config = config
        self.database = database
        self.agent_id = config.agent.id
        self.connected = False
        self.last_ack_at: datetime | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._in_flight: dict[str, float] = {}  # message id -> when sent
        self._sent_up_to = 0  # highest seq published in this connection

    def wake(self) -> None:
        """New outbox messages were written."""
        self._wake.set()

    async def run(self) -> None:
        """Connect, pump, reconnect with back-off; until stop()."""
        backoff = BACKOFF_START
        while not self._stopping.is_set():
            try:
                await self._session()
            except (aiomqtt.MqttError, OSError) as exc:
                log.warning("link down", extra={"error": str(exc), "retry_in": round(backoff, 2)})
            if self.connected:  # it was up: after a drop, try again soon
                backoff = BACKOFF_START
            self.connected = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, BACKOFF_MAX)

    def stop(self) -> None:
        """Leave the broker cleanly (saying offline) instead of being cancelled mid-handshake."""
        self._stopping.set()

    def _presence(self, online: bool) -> bytes:
        # presence is not an outbox message: seq 0 means "not sequenced"
        return envelope.encode(self.agent_id, 0, messages.Presence(online=online))

    async def _session(self) -> None:
        broker = self.config.broker
        will = aiomqtt.Will(topics.up(self.agent_id, "presence"), self._presence(False), qos=1, retain=True)
        async with aiomqtt.Client(
            broker.host, broker.port, identifier=f"tableside-agent-{self.agent_id}",
            username=broker.username, password=broker.password, keepalive=broker.keepalive,
            will=will, clean_session=True,
        ) as client:
            await client.subscribe(topics.agent_subscription(self.agent_id), qos=1)
            await client.publish(topics.up(self.agent_id, "presence"), self._presence(True), qos=1, retain=True)
            self.connected = True
            self._in_flight.clear()
            self._sent_up_to = 0
            log.info("link up", extra={"broker": f"{broker.host}:{broker.port}"})
            await first_failure(self._pump(client), self._receive(client), self._stopping.wait())
            await client.publish(topics.up(self.agent_id, "presence"), self._presence(False), qos=1, retain=True)

    async def _pump(self, client: aiomqtt.Client) -> None:
        window, resend_after = self.config.link.window, self.config.link.resend_after
        while True:
            self._wake.clear()
            if self._in_flight and time.monotonic() - min(self._in_flight.values()) > resend_after:
                log.info("no ack in time, resending", extra={"in_flight": len(self._in_flight)})
                self._in_flight.clear()
            if not self._in_flight:
                # nothing awaits an ack: look from the start, so no undelivered row is ever skipped
                self._sent_up_to = 0
            room = window - len(self._in_flight)
            batch = await self.database.read(outbox.pending, self._sent_up_to, room) if room > 0 else []
            for message in batch:
                await client.publish(topics.up(self.agent_id, message.type), message.payload, qos=1)
                self._in_flight[message.id] = time.monotonic()
                self._sent_up_to = message.seq
            if not batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), resend_after / 3)

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for mqtt_message in client.messages:
            try:
                topic = topics.parse(str(mqtt_message.topic))
                env = envelope.decode(mqtt_message.payload)
                data = envelope.decode_data(env)
            except (ValueError, envelope.InvalidMessage) as exc:
                log.warning("dropped a bad message from the hub", extra={"error": str(exc)})
                continue
            if topic.agent_id != self.agent_id:
                continue
            if isinstance(data, messages.Ack):
                await self._acked(data.ids)

    async def _acked(self, ids: list[str]) -> None:
        if ids:
            await self.database.write(outbox.mark_delivered, ids)
        for message_id in ids:
            self._in_flight.pop(message_id, None)
        self.last_ack_at = datetime.now(UTC)
        self._wake.set()  # room in the window


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
