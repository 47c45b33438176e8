"""The agent's inbox: messages from the hub (payments, refunds), each applied exactly once.

`receive` runs in ONE writer transaction: it records the message id and calls the handler for its
type, so a message's effect and its record commit together. The link acks after the commit; a
duplicate is acked again and applies nothing. A message that cannot be applied (bad data, a
handler that raises) is recorded as rejected, with the reason, and acked all the same: resending
would not help, and it must never hold up the messages behind it. Staff and operators see it.
"""

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec
import sqlite_utils

from contract import envelope
from contract.envelope import Envelope, InvalidMessage

log = logging.getLogger(__name__)

Events = list[tuple[str, dict, str | None]]  # (kind, data, table_id) to publish after commit
Handler = Callable[[sqlite_utils.Database, Envelope, msgspec.Struct], Events | None]
Status = Literal["applied", "duplicate", "unhandled", "rejected"]

MAX_REASON_CHARS = 500
MAX_PAYLOAD_CHARS = 64 * 1024
_SAVEPOINT = "inbox_handler"


@dataclass(frozen=True)
class Outcome:
    status: Status
    events: Events = field(default_factory=list)
    reason: str | None = None


def receive(db: sqlite_utils.Database, env: Envelope, handlers: dict[str, Handler]) -> Outcome:
    """Apply one message inside the caller's (writer) transaction."""
    if db.execute("SELECT 1 FROM inbox WHERE id = ?", [env.id]).fetchone():
        return Outcome("duplicate")
    handler = handlers.get(env.type)
    if handler is None:
        reason = f"no handler for {env.type!r} on this agent"
        _record(db, env, "unhandled", reason)
        return Outcome("unhandled", reason=reason)
    try:
        data = envelope.decode_data(env)
    except InvalidMessage as exc:
        return reject(db, env, str(exc))
    # A savepoint, so a handler that fails half-way leaves nothing behind but the rejected record.
    db.execute(f"SAVEPOINT {_SAVEPOINT}")
    try:
        events = handler(db, env, data) or []
    except sqlite3.OperationalError:
        # The database itself (disk full, I/O): the whole transaction fails, nothing is acked and
        # the hub sends the message again later; rejecting it would lose a real payment.
        raise
    except Exception as exc:
        db.execute(f"ROLLBACK TO {_SAVEPOINT}")
        db.execute(f"RELEASE {_SAVEPOINT}")
        return reject(db, env, f"{type(exc).__name__}: {exc}")
    db.execute(f"RELEASE {_SAVEPOINT}")
    _record(db, env, "applied", None)
    return Outcome("applied", events=list(events))


def reject(db: sqlite_utils.Database, env: Envelope, reason: str) -> Outcome:
    """Record a message as rejected (once); it is acked, never applied."""
    reason = reason[:MAX_REASON_CHARS]
    if db.execute("SELECT 1 FROM inbox WHERE id = ?", [env.id]).fetchone():
        return Outcome("duplicate")
    _record(db, env, "rejected", reason)
    return Outcome("rejected", reason=reason)


def _record(db: sqlite_utils.Database, env: Envelope, status: Status, reason: str | None) -> None:
    # what was applied is in the tables it changed; only what was not is kept as it came
    payload = None if status == "applied" else bytes(env.data)[:MAX_PAYLOAD_CHARS].decode("utf-8", "replace")
    db.execute(
        "INSERT INTO inbox (id, seq, type, status, reason, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [env.id, env.seq, env.type, status, reason, payload, datetime.now(UTC).isoformat()])


def not_applied(db: sqlite_utils.Database, limit: int = 100) -> list[dict]:
    """Rejected and unhandled messages, newest first (for staff and operators)."""
    rows = db.execute(
        "SELECT id, seq, type, status, reason, payload, received_at FROM inbox "
        "WHERE status IN ('rejected', 'unhandled') ORDER BY received_at DESC LIMIT ?", [limit])
    columns = ["id", "seq", "type", "status", "reason", "payload", "received_at"]
    return [dict(zip(columns, row, strict=True)) for row in rows]


def status_of(db: sqlite_utils.Database, message_id: str) -> str | None:
    row = db.execute("SELECT status FROM inbox WHERE id = ?", [message_id]).fetchone()
    return row[0] if row else None


def prune(db: sqlite_utils.Database, older_than: timedelta) -> int:
    """Forget applied messages older than `older_than`; how many. The hub stops resending a
    message once it is acked and prunes its own copy after the same time, so an old id is never
    seen again. Rejected and unhandled ones stay for people to look at."""
    cutoff = (datetime.now(UTC) - older_than).isoformat()
    return db.execute("DELETE FROM inbox WHERE status = 'applied' AND received_at < ?", [cutoff]).rowcount
