"""Acks to agents, coalesced: one Ack per agent per ACK_EVERY_S, naming every id committed for it.

With 2,000 agents a batch of ~100 messages touches ~100 agents, so acking per batch cost nearly a
publish per message. Batches that commit within ACK_EVERY_S of each other share their publishes:
ids committed meanwhile for one agent go in one Ack. Only ids already committed are ever handed
in, so an Ack still means "applied" (the agent stops resending them); an Ack never goes out empty
(an empty one is the hub's hello: "send everything again"). Acks are QoS 0 (hub/link/wire.py says
why): handed to paho for the socket at once, no future and no PUBACK each.
"""

import asyncio
import itertools

from contract import envelope, topics
from contract.messages import Ack
from hub.link.wire import Wire

ACK_EVERY_S = 0.005  # a few ms: a batch's commit takes longer, so no ack waits long for company


class AckCoalescer:
    """One per connection. send() returns once the Acks naming those ids are handed to paho, or
    raises what publishing raised (the connection is gone)."""

    def __init__(self, wire: Wire, ack_seq: itertools.count, *, every_s: float = ACK_EVERY_S) -> None:
        self._wire = wire
        self._ack_seq = ack_seq
        self._every_s = every_s
        self._pending: dict[str, dict[str, None]] = {}  # agent -> ids (ordered, each once)
        self._published: asyncio.Future[None] | None = None  # for what _pending holds
        self._timer: asyncio.TimerHandle | None = None
        self.publishes = 0  # Acks published since start

    async def send(self, acks: list[tuple[str, str]]) -> None:
        if not acks:
            return
        for agent_id, message_id in acks:
            self._pending.setdefault(agent_id, {})[message_id] = None
        if self._published is None:
            loop = asyncio.get_running_loop()
            self._published = loop.create_future()
            self._timer = loop.call_later(self._every_s, self._flush)
        # shield: one waiter cancelled (its batch's task) must not cancel the others' publish
        await asyncio.shield(self._published)

    def close(self) -> None:
        """The connection is gone: what was not published yet never will be (the agents resend)."""
        if self._timer is not None:
            self._timer.cancel()
        if self._published is not None and not self._published.done():
            self._published.cancel()
        self._pending, self._published, self._timer = {}, None, None

    def _flush(self) -> None:
        pending, published = self._pending, self._published
        self._pending, self._published, self._timer = {}, None, None
        try:
            for agent_id, ids in pending.items():
                self._wire.publish_now(topics.down(agent_id, Ack.TYPE),
                                       envelope.encode(agent_id, next(self._ack_seq), Ack(ids=list(ids))))
                self.publishes += 1
        except Exception as exc:
            published.set_exception(exc)
            published.exception()  # retrieved here: with no waiter left it must not warn
            return
        published.set_result(None)
