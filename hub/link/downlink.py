"""The downlink pump: the hub's outbox (hub/store/downlink.py) to the agents, hub -> agent.

Each worker pumps the pending messages of online agents in seq order, at most `window` unacked
per agent; the agent's Ack marks them delivered in the shared database (whichever worker gets
it); what stays unacked for `resend_after` is sent again, and so is everything unacked when the
agent comes online or this worker reconnects. A duplicate send is harmless: the agent's inbox
applies each id once and acks it again. On (re)connect the hub says hello to every online agent
(an Ack with no ids), so agents resend what a dead hub lost without waiting for their timers.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

import aiomqtt

from contract import envelope, topics
from contract.messages import Ack
from hub.store import HubStore

log = logging.getLogger(__name__)

DOWN_WINDOW = 100  # unacked messages in flight per agent
DOWN_RESEND_AFTER_S = 15.0
PUMP_RETRY_S = 2.0  # after a database error in the pump


@dataclass
class _InFlight:
    """What this worker sent one agent and still waits an ack for."""

    sent: dict[str, float] = field(default_factory=dict)  # message id -> monotonic send time
    sent_up_to: int = 0  # highest seq published since nothing was in flight


class DownPump:
    def __init__(self, store: HubStore, ack_seq: itertools.count, *, window: int = DOWN_WINDOW,
                 resend_after: float = DOWN_RESEND_AFTER_S) -> None:
        self._store = store
        self._ack_seq = ack_seq  # shared with the up acks: acks are not outboxed, a process counter does
        self._window = window
        self._resend_after = resend_after
        self._flights: dict[str, _InFlight] = {}  # agents this worker is sending to
        self._woken: set[str] = set()  # agents with news for the pump
        self._wake = asyncio.Event()

    def wake(self, agent_id: str) -> None:
        """Messages for the agent were enqueued (and committed): send them now. Event loop only."""
        self._woken.add(agent_id)
        self._wake.set()

    def presence_changed(self, agent_id: str, online: bool) -> None:
        # online: send it everything unacked, from the start; offline: stop sending
        self._flights.pop(agent_id, None)
        if online:
            self.wake(agent_id)

    async def acked(self, agent_id: str, ids: list[str]) -> None:
        delivered = await self._store.mark_down_delivered(agent_id, ids)
        log.debug("down acked agent=%s ids=%d newly_delivered=%d", agent_id, len(ids), delivered)
        flight = self._flights.get(agent_id)
        if flight is not None:
            for message_id in ids:
                flight.sent.pop(message_id, None)
        self._wake.set()  # room in the window

    async def run(self, client: aiomqtt.Client) -> None:
        """Send agents their pending messages; resend what is not acked. Runs while connected."""
        self._flights.clear()  # a new connection: everything unacked goes again
        await self._hello(client)
        next_sweep = 0.0
        while True:
            self._wake.clear()
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
                    await self._wake.wait()

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
            self._let_go(agent_id, flight)
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
            self._let_go(agent_id, flight)  # nothing pending: idle until woken or swept

    def _let_go(self, agent_id: str, flight: "_InFlight") -> None:
        # presence_changed may have dropped (or replaced) this flight during an await above
        if self._flights.get(agent_id) is flight:
            del self._flights[agent_id]
