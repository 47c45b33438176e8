"""The agent's outbox: link messages written in the same transaction as what they report.

A message leaves the outbox only when the hub acks its id. `seq` orders messages per agent.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
import sqlite_utils

from contract import envelope
from contract.ids import uuid7


@dataclass(frozen=True)
class OutboxMessage:
    id: str
    seq: int
    type: str
    payload: bytes


def append(db: sqlite_utils.Database, agent_id: str, data: msgspec.Struct, *, replaces: str | None = None) -> str:
    """Add a message inside the caller's (writer) transaction; its id.

    `replaces` names a piece of state ("bill:<id>"): an undelivered older message about it is
    dropped, so hours offline send a bill's latest totals once rather than every step. The seq is
    taken first, so it is never one the dropped message (perhaps already in flight) had.
    """
    memo = getattr(db, "memo", None)  # the writer's (database.WriterDb): the last seq it appended
    last = memo.get("outbox_seq") if memo is not None else None
    if last is None:
        last = db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
    seq = last + 1
    if replaces is not None:
        db.execute("DELETE FROM outbox WHERE replaces = ? AND delivered_at IS NULL", [replaces])
    message_id = uuid7()
    payload = envelope.encode(agent_id, seq, data, id=message_id)
    db.execute("INSERT INTO outbox (id, seq, type, payload, created_at, replaces) VALUES (?, ?, ?, ?, ?, ?)",
               [message_id, seq, data.TYPE, payload, datetime.now(UTC).isoformat(), replaces])
    if memo is not None:
        memo["outbox_seq"] = seq
    return message_id


def pending(db: sqlite_utils.Database, after_seq: int, limit: int) -> list[OutboxMessage]:
    rows = db.execute(
        "SELECT id, seq, type, payload FROM outbox WHERE delivered_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",
        [after_seq, limit]).fetchall()
    return [OutboxMessage(*row) for row in rows]


def mark_delivered(db: sqlite_utils.Database, ids: list[str]) -> int:
    now = datetime.now(UTC).isoformat()
    cur = db.execute(
        f"UPDATE outbox SET delivered_at = ? WHERE delivered_at IS NULL AND id IN ({','.join('?' * len(ids))})",
        [now, *ids])
    return cur.rowcount


def waiting(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]


def stamped(payload: bytes) -> bytes:
    """The stored envelope with sent_at set to now: the hub measures the agent's clock from it,
    and a message that waited in the outbox was still sent just now."""
    env = envelope.decode(payload)
    return _encoder.encode(msgspec.structs.replace(env, sent_at=envelope.now_iso()))


def prune(db: sqlite_utils.Database, older_than: timedelta) -> int:
    """Delete messages delivered more than `older_than` ago; how many. Undelivered ones stay, and
    so does the newest row: `append` numbers from MAX(seq), and an emptied table would start seq
    at 1 again, so after a quiet week the hub would see seqs go backwards."""
    cutoff = (datetime.now(UTC) - older_than).isoformat()
    return db.execute("DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ? "
                      "AND seq < (SELECT MAX(seq) FROM outbox)", [cutoff]).rowcount


_encoder = msgspec.json.Encoder()
