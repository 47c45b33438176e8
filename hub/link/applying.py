"""Applying up-messages (agent -> hub): check each one, apply it once, say what to ack.

Delivery is at-least-once (QoS 1 plus the agents' outboxes), so every message is applied
idempotently (the store records its id in the same transaction) and acked after it is durable.
A message the hub cannot use is recorded as rejected and acked too: resending would not help.
A message from an agent the hub never enrolled (or revoked) is refused before anything else
(hub/link/roster.py): nothing written, nothing acked.
What agents report about their bills and devices is kept as the latest state by seq
(hub/store/agent_state.py).
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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
from hub.link.downlink import DownPump
from hub.link.presence import AgentPresence
from hub.link.roster import Roster
from hub.payments.taken_batch import PaymentsTaken
from hub.store import HubStore, agent_state, ingest
from hub.store.agent_state import ReportRejected

log = logging.getLogger(__name__)

LOG_HEAD_BYTES = 200  # how much of a bad payload a log line may show
MAX_REASON_CHARS = 500
# Types an agent may send. Presence is state, not outboxed, and acks are never acked back.
# Payment types are applied by handlers the payments side registers (HubLink.handle).
ACCEPTED_TYPES = {OrderPlaced.TYPE, Presence.TYPE, Ack.TYPE, PaymentTaken.TYPE, RefundRequested.TYPE,
                  BillChanged.TYPE, DeviceStatus.TYPE}
UNACKED_TYPES = {Presence.TYPE, Ack.TYPE}

# Applies one message (idempotently, by its id or its own key); raises MessageRejected (or a
# ValueError subclass the handler documents as "never applicable") for a message to record and ack.
Handler = Callable[[Envelope, object], Awaitable[object]]


class MessageRejected(ValueError):
    """A handler's verdict: this message can never be applied; record it as rejected and ack it."""


class PrerequisiteMissing(Exception):
    """A handler's verdict: what this message needs has not arrived yet (a refund for a payment still
    in flight, perhaps on another worker): not applied, not rejected; the intake tries it again."""


@dataclass(frozen=True)
class Incoming:
    """One message as the broker handed it over."""

    topic: str
    payload: bytes
    retained: bool = False
    mid: int = 0  # the broker's packet id: PUBACKed once done with
    qos: int = 0


class UpApplier:
    def __init__(self, store: HubStore, presence: AgentPresence, pump: DownPump, roster: Roster,
                 on_outcome: Callable[[str, str], None] | None = None) -> None:
        self._store = store
        self._roster = roster
        self._on_outcome = on_outcome
        self._presence = presence
        self._pump = pump
        self._handlers: dict[str, Handler] = {
            PaymentTaken.TYPE: self._payment_taken,
            # latest state by seq; "applied", "stale" (a newer one is stored) or "duplicate"
            BillChanged.TYPE: store.apply_bill_changed,
            DeviceStatus.TYPE: store.apply_device_status,
        }
        # Types applied many to a transaction by the intake (hub/store/ingest.py; orders there itself).
        self._effects: dict[str, ingest.Effect] = {
            OrderPlaced.TYPE: _never,
            BillChanged.TYPE: agent_state.BILLS,  # many in one statement (write_many)
            DeviceStatus.TYPE: agent_state.DEVICES,
            PaymentTaken.TYPE: PaymentsTaken(MessageRejected),  # many in one statement too
        }
        self._rejects: tuple[type[Exception], ...] = (MessageRejected, ReportRejected)
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (type, outcome) -> messages

    def handle(self, type_: str, handler: Handler, *, rejects: tuple[type[Exception], ...] = ()) -> None:
        """Apply messages of `type_` with `handler`; the exceptions in `rejects` mean "record as
        rejected and ack" (any other one: not acked, so the agent sends it again)."""
        self._handlers[type_] = handler
        self._effects.pop(type_, None)  # a handler of one's own: applied alone, not in a batch
        self._rejects = tuple({*self._rejects, *rejects})

    async def _payment_taken(self, env: Envelope, data: object) -> bool:
        # cash or the restaurant's own terminal, recorded by staff at the agent
        from hub.payments.link_handlers import apply_payment_taken
        from hub.payments.service import PaymentMessageRejected

        try:
            return await apply_payment_taken(self._store, env, data)
        except PaymentMessageRejected as exc:
            raise MessageRejected(str(exc)) from exc

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
        if not await self._roster.admits(agent_id, where.type):
            self._count(where.type, "refused")
            return None
        try:
            env = envelope.decode(payload)
        except InvalidMessage as exc:
            # No usable id, so nothing to record or ack: log enough to find the sender's bug.
            log.warning("undecodable envelope dropped agent=%s type=%s size=%d error=%s head=%r",
                        agent_id, where.type, len(payload), str(exc)[:LOG_HEAD_BYTES],
                        payload[:LOG_HEAD_BYTES])
            await self._presence.touch(agent_id, None, retained)
            return None

        data, reason = check(where, env)
        if isinstance(data, Presence) and reason is None:
            await self._presence.arrived(agent_id, env, data, retained)  # one transaction
        else:
            await self._presence.touch(agent_id, None, retained)
            if reason is None and not retained:  # a retained message was sent who knows when
                await self._presence.measure_clock(agent_id, env)
        if reason is not None:
            recorded = await self._store.record_rejected(env.id, agent_id, env.type, reason, payload)
            log.warning("message rejected agent=%s id=%s type=%s recorded=%s reason=%s",
                        agent_id, env.id, env.type, recorded, reason)
            self._count(env.type, "rejected")
            return agent_id, env.id
        if isinstance(data, OrderPlaced):
            applied = await self._store.apply_order_placed(env, data)
            self._count(env.type, "applied" if applied else "duplicate")
            log.debug("order.placed %s agent=%s id=%s seq=%d order=%s", "applied" if applied else "duplicate",
                      agent_id, env.id, env.seq, data.order_id)
        elif isinstance(data, Presence):
            # DEBUG: 2,000 agents reconnecting after a broker restart are 2,000 lines (counted instead)
            log.debug("agent presence agent=%s online=%s retained=%s", agent_id, data.online, retained)
            self._pump.presence_changed(agent_id, data.online)
        elif isinstance(data, Ack):
            await self._pump.acked(agent_id, data.ids)
        elif env.type in self._handlers:
            try:
                outcome = await self._handlers[env.type](env, data)
            except self._rejects as exc:
                recorded = await self._store.record_rejected(env.id, agent_id, env.type,
                                                             str(exc)[:MAX_REASON_CHARS], payload)
                log.warning("message rejected agent=%s id=%s type=%s recorded=%s reason=%s",
                            agent_id, env.id, env.type, recorded, exc)
                self._count(env.type, "rejected")
                return agent_id, env.id
            self._count(env.type, outcome_word(outcome))
            log.debug("%s agent=%s id=%s seq=%d outcome=%s", env.type, agent_id, env.id, env.seq, outcome)
        else:
            # accepted but nothing here applies it (payments not wired in): not acked, so the
            # agent keeps it until a hub that can apply it comes up; never silently dropped
            log.error("no handler for %s agent=%s id=%s: not acked", env.type, agent_id, env.id)
            return None
        return None if env.type in UNACKED_TYPES else (agent_id, env.id)


    def _count(self, type_: str, outcome: str) -> None:
        type_ = type_ if type_ in ACCEPTED_TYPES else "other"  # a sender's word must not mint metric series
        self.outcomes[(type_, outcome)] += 1
        if self._on_outcome is not None:
            self._on_outcome(type_, outcome)

    # --- many at once (the intake) ---

    async def apply_many(self, batch: list[Incoming]) -> tuple[list[tuple[str, str]], list[Incoming]]:
        """Apply a batch: the batchable ones in as few transactions as it takes, the others (presence,
        acks, rejects, refunds...) one by one meanwhile. Returns what to ack (agent, id) and what waits
        for a prerequisite (to try again later). Messages from senders the hub does not admit are
        dropped first (counted, never acked)."""
        batch = await self._admitted(batch)
        items: dict[str, tuple[ingest.Item, bytes]] = {}  # message id -> item (a resend in the batch: once)
        singles: list[Incoming] = []
        for message in batch:
            item = self._batchable(message)
            if item is None:
                singles.append(message)
            else:
                items.setdefault(item.env.id, (item, message.payload))
        single_results = asyncio.gather(*(self._alone(m) for m in singles))
        try:
            return await self._apply_items(items, singles, single_results)
        except BaseException:
            single_results.cancel()  # cancelled mid-batch (the hub stopping): the singles stop too
            raise

    async def _apply_items(self, items, singles: list[Incoming], single_results) -> tuple[list, list]:
        acks, waiting = [], []
        if items:
            listed = [item for item, _ in items.values()]
            clocks = {env.agent_id: offset for env in (i.env for i in listed)
                      if (offset := self._presence.due_clock(env)) is not None}
            seen = self._presence.due_seen({i.env.agent_id for i in listed})
            results = await self._store.apply_up_batch(listed, self._effects, self._rejects, seen=seen, clocks=clocks)
            for (item, payload), result in zip(items.values(), results, strict=True):
                if await self._settle(item.env, payload, result):
                    acks.append((item.env.agent_id, item.env.id))
        for message, (ack, wait) in zip(singles, await single_results, strict=True):
            if ack is not None:
                acks.append(ack)
            if wait:
                waiting.append(message)
        return acks, waiting

    async def _admitted(self, batch: list[Incoming]) -> list[Incoming]:
        senders: list[tuple[Incoming, topics.Topic | None]] = []
        for message in batch:
            try:
                senders.append((message, topics.parse(message.topic)))
            except ValueError:
                senders.append((message, None))  # process() logs and drops it
        verdicts = await self._roster.verdicts({w.agent_id for _, w in senders if w and w.direction == "up"})
        kept = []
        for message, where in senders:
            if where is None or where.direction != "up" or verdicts[where.agent_id] == "enrolled":
                kept.append(message)
            else:
                await self._roster.refuse(where.agent_id, where.type, verdicts[where.agent_id])
                self._count(where.type, "refused")
        return kept

    def _batchable(self, message: Incoming) -> ingest.Item | None:
        """The message as a batch item, or None for the one-by-one path (which also logs and records
        what is wrong with it)."""
        if message.retained:
            return None
        try:
            where = topics.parse(message.topic)
            if where.direction != "up":
                return None
            env = envelope.decode(message.payload)
        except (ValueError, InvalidMessage):
            return None
        if env.type not in self._effects:
            return None
        data, reason = check(where, env)
        return None if reason is not None else ingest.Item(env, data)

    async def _settle(self, env: Envelope, payload: bytes, result: object) -> bool:
        """Count a batch item's outcome (recording a rejected one); True to ack it."""
        if isinstance(result, ingest.Failed):
            log.error("message not applied agent=%s id=%s type=%s: %r (not acked: the agent resends it)",
                      env.agent_id, env.id, env.type, result.error)
            self._count(env.type, "retried")
            return False
        if isinstance(result, ingest.Rejected):
            recorded = await self._store.record_rejected(env.id, env.agent_id, env.type,
                                                         result.reason[:MAX_REASON_CHARS], payload)
            log.warning("message rejected agent=%s id=%s type=%s recorded=%s reason=%s",
                        env.agent_id, env.id, env.type, recorded, result.reason)
            self._count(env.type, "rejected")
            return True
        self._count(env.type, outcome_word(result))
        log.debug("%s agent=%s id=%s seq=%d outcome=%s", env.type, env.agent_id, env.id, env.seq, result)
        return True

    async def _alone(self, message: Incoming) -> tuple[tuple[str, str] | None, bool]:
        """process() for one message: (what to ack, whether it waits for a prerequisite)."""
        try:
            return await self.process(message.topic, message.payload, retained=message.retained), False
        except PrerequisiteMissing as exc:
            log.debug("message waits for a prerequisite topic=%s: %s", message.topic, exc)
            self._count(topics.parse(message.topic).type, "waiting")
            return None, True
        except Exception:
            # Most likely the database: not acked, so the agent resends it later.
            log.exception("message not applied topic=%s size=%d", message.topic, len(message.payload))
            return None, False


def outcome_word(outcome: object) -> str:
    """An effect's answer as a counter label: True/False (payments) or a word (state, orders)."""
    if isinstance(outcome, bool):
        return "applied" if outcome else "duplicate"
    return str(outcome)


def _never(conn, env, data):  # order.placed is stored by ingest.apply_batch itself
    raise AssertionError("order.placed has no per-message effect")


def check(where: topics.Topic, env: Envelope) -> tuple[object | None, str | None]:
    """The typed data, or why the message cannot be applied."""
    if env.agent_id != where.agent_id:
        return None, f"envelope agent_id {env.agent_id!r} does not match topic agent {where.agent_id!r}"
    if env.type != where.type:
        return None, f"envelope type {env.type!r} does not match topic type {where.type!r}"
    if env.type not in ACCEPTED_TYPES and messages.by_type(env.type) is not None:
        return None, f"{env.type} is not accepted from agents"
    try:
        data = envelope.decode_data(env)
    except InvalidMessage as exc:
        return None, str(exc)[:MAX_REASON_CHARS]
    return data, _inconsistent(data)


def _inconsistent(data: object) -> str | None:
    """What the types cannot say: an order's lines must add up to its total."""
    if isinstance(data, OrderPlaced):
        lines = sum(line.line_total_minor for line in data.lines)
        if lines != data.total_minor:
            return f"order total_minor {data.total_minor} is not the sum of its lines ({lines})"
    return None
