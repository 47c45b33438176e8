"""Applying up-messages (agent -> hub): check each one, apply it once, say what to ack.

Delivery is at-least-once (QoS 1 plus the agents' outboxes), so every message is applied
idempotently (the store records its id in the same transaction) and acked after it is durable.
A message the hub cannot use is recorded as rejected and acked too: resending would not help.
What agents report about their bills and devices is kept as the latest state by seq
(hub/store/agent_state.py).
"""

import logging
from collections.abc import Awaitable, Callable

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
from hub.store import HubStore
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


class UpApplier:
    def __init__(self, store: HubStore, presence: AgentPresence, pump: DownPump) -> None:
        self._store = store
        self._presence = presence
        self._pump = pump
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
            await self._presence.touch(agent_id, None, retained)
            return None

        data, reason = check(where, env)
        online = data.online if isinstance(data, Presence) else None
        await self._presence.touch(agent_id, online, retained)
        if reason is None and not retained:  # a retained message was sent who knows when
            await self._presence.measure_clock(agent_id, env, force=online is not None)
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
            await self._presence.remember_key(agent_id, data)
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
                return agent_id, env.id
            log.info("%s agent=%s id=%s seq=%d outcome=%s", env.type, agent_id, env.id, env.seq, outcome)
        else:
            # accepted but nothing here applies it (payments not wired in): not acked, so the
            # agent keeps it until a hub that can apply it comes up; never silently dropped
            log.error("no handler for %s agent=%s id=%s: not acked", env.type, agent_id, env.id)
            return None
        return None if env.type in UNACKED_TYPES else (agent_id, env.id)


def check(where: topics.Topic, env: Envelope) -> tuple[object | None, str | None]:
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
