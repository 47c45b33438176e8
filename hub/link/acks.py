"""Acks to agents, coalesced: one Ack per agent per ACK_EVERY_S, naming every id committed for it.

Each Ack is a QoS 1 publish (a packet out, the broker's PUBACK back, a future in aiomqtt); with
2,000 agents a batch of ~100 messages touches ~100 agents, so acking per batch cost nearly a
publish per message. Batches that commit within ACK_EVERY_S of each other share their publishes:
ids committed meanwhile for one agent go in one Ack. Only ids already committed are ever handed
in, so an Ack still means "applied" (the agent stops resending them); an Ack never goes out empty
(an empty one is the hub's hello: "send everything again").
"""

import asyncio
import itertools
from collections.abc import Callable, Coroutine

import aiomqtt

from contract import envelope, topics
from contract.messages import Ack

ACK_EVERY_S = 0.005  # a few ms: a batch's commit takes longer, so no ack waits long for company
ACK_PUBLISH_TIMEOUT_S = 60.0  # a busy broker may take a while; past this the connection is taken for dead


class AckCoalescer:
    """One per connection. send() returns once the Acks naming those ids are published (the
    broker PUBACKed them), or raises what the publish raised (the connection is gone)."""

    def __init__(self, client: aiomqtt.Client, ack_seq: itertools.count,
                 spawn: Callable[[Coroutine], None], *, every_s: float = ACK_EVERY_S) -> None:
        self._client = client
        self._ack_seq = ack_seq
        self._spawn = spawn
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
        self._spawn(self._publish(pending, published))

    async def _publish(self, pending: dict[str, dict[str, None]], published: asyncio.Future[None]) -> None:
        try:
            # at once, not one after another: each publish waits for the broker's PUBACK
            await asyncio.gather(*(
                self._client.publish(topics.down(agent_id, Ack.TYPE),
                                     envelope.encode(agent_id, next(self._ack_seq), Ack(ids=list(ids))), qos=1,
                                     timeout=ACK_PUBLISH_TIMEOUT_S)
                for agent_id, ids in pending.items()))
            self.publishes += len(pending)
        except asyncio.CancelledError:
            published.cancel()
            raise
        except BaseException as exc:
            if not published.done():
                published.set_exception(exc)
                published.exception()  # retrieved here: with no waiter left it must not warn
            raise
        if not published.done():
            published.set_result(None)
