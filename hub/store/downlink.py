"""The hub's outbox to agents (link, hub -> agent): blocking functions on a Connection.

`enqueue_down` runs inside the caller's transaction, so "payment recorded in the ledger" and
"message to the agent queued" commit together or not at all.

Seq per agent: one counter row per agent, bumped with INSERT .. ON CONFLICT DO UPDATE .. RETURNING.
The bump row-locks the counter until the caller's transaction ends (SQLite: the whole database is
locked anyway), so two hub processes enqueuing for one agent take turns; seqs are handed out in
commit order and a rolled-back transaction takes its seq back with it (no gap). The alternative,
MAX(seq)+1 with a unique constraint and a retry, cannot retry inside a caller's PostgreSQL
transaction: the IntegrityError aborts the whole transaction, the ledger write with it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contract import envelope, messages
from contract.ids import uuid7
from hub.store.tables import agents, down_counters, down_messages


@dataclass(frozen=True)
class DownMessage:
    id: str
    seq: int
    type: str
    payload: bytes


def _now() -> datetime:
    return datetime.now(UTC)


def _next_seq(conn: Connection, agent_id: str) -> int:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(down_counters).values(agent_id=agent_id, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["agent_id"], set_={"last_seq": down_counters.c.last_seq + 1},
    ).returning(down_counters.c.last_seq)
    return conn.execute(stmt).scalar_one()


def enqueue_down(conn: Connection, agent_id: str, message: msgspec.Struct) -> str:
    """Queue `message` for the agent inside the caller's open transaction; the message id.

    Call HubLink.wake(agent_id) after the transaction commits, so it goes out at once.
    """
    return enqueue_down_message(conn, agent_id, message).id


def enqueue_down_message(conn: Connection, agent_id: str, message: msgspec.Struct) -> DownMessage:
    """enqueue_down, answering with the whole queued message (its seq too)."""
    seq = _next_seq(conn, agent_id)
    message_id = uuid7()
    type_ = messages.type_of(message)
    payload = envelope.encode(agent_id, seq, message, id=message_id)
    conn.execute(down_messages.insert().values(
        id=message_id, agent_id=agent_id, seq=seq, type=type_, payload=payload, created_at=_now()))
    return DownMessage(message_id, seq, type_, payload)


def pending(conn: Connection, agent_id: str, after_seq: int, limit: int) -> list[DownMessage]:
    """Undelivered messages for the agent with seq > after_seq, in seq order."""
    rows = conn.execute(
        select(down_messages.c.id, down_messages.c.seq, down_messages.c.type, down_messages.c.payload)
        .where(down_messages.c.agent_id == agent_id, down_messages.c.delivered_at.is_(None),
               down_messages.c.seq > after_seq)
        .order_by(down_messages.c.seq).limit(limit))
    return [DownMessage(row.id, row.seq, row.type, bytes(row.payload)) for row in rows]


def mark_delivered(conn: Connection, agent_id: str, ids: list[str]) -> int:
    """The agent acked these ids; how many were waiting. Only the agent's own messages count."""
    if not ids:
        return 0
    result = conn.execute(
        update(down_messages)
        .where(down_messages.c.agent_id == agent_id, down_messages.c.id.in_(ids),
               down_messages.c.delivered_at.is_(None))
        .values(delivered_at=_now()).returning(down_messages.c.id))
    return len(result.all())


def waiting(conn: Connection, agent_id: str) -> int:
    return conn.execute(
        select(func.count()).select_from(down_messages)
        .where(down_messages.c.agent_id == agent_id, down_messages.c.delivered_at.is_(None))).scalar_one()


def waiting_per_agent(conn: Connection) -> dict[str, int]:
    """Undelivered message counts of every agent that has any (for operators)."""
    rows = conn.execute(
        select(down_messages.c.agent_id, func.count())
        .where(down_messages.c.delivered_at.is_(None)).group_by(down_messages.c.agent_id))
    return {agent_id: count for agent_id, count in rows}


def online_with_pending(conn: Connection) -> list[str]:
    """Agents that are online and have undelivered messages: what a pump should be sending."""
    has_pending = (select(down_messages.c.agent_id)
                   .where(down_messages.c.delivered_at.is_(None)).distinct().subquery())
    rows = conn.execute(
        select(agents.c.id).where(agents.c.online.is_(True), agents.c.id.in_(select(has_pending.c.agent_id)))
        .order_by(agents.c.id))
    return list(rows.scalars())


def prune(conn: Connection, older_than: timedelta) -> int:
    """Delete messages delivered more than `older_than` ago; how many. Undelivered ones stay."""
    result = conn.execute(
        delete(down_messages)
        .where(down_messages.c.delivered_at.is_not(None), down_messages.c.delivered_at < _now() - older_than)
        .returning(down_messages.c.id))
    return len(result.all())
