"""The hub's tables (SQLAlchemy Core). Migrations in hub/migrations must match these."""

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend: SQLite drops the zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# Ids are unbounded strings: a malformed id from an agent must still be recordable, never a
# DataError that would leave the message unacked forever.
agents = Table(
    "agents", metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=True),
    Column("online", Boolean, nullable=False, server_default=false()),
    # link, hub -> agent (migration 0002_link_down):
    # the agent's signing key, trusted on first use; a different one later is kept here, not used
    Column("public_key", String, nullable=True),
    Column("refused_key", String, nullable=True),
    # hub receive time - the agent's sent_at: how far the agent's clock is behind (ms)
    Column("clock_offset_ms", BigInteger, nullable=True),
    # enrollment (migration 0005_enrollment): only an enrolled, unrevoked agent's messages are applied
    Column("enrolled_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

# One row per applied link message: the receiver's half of exactly-once.
inbox = Table(
    "inbox", metadata,
    Column("message_id", String, primary_key=True),
    Column("agent_id", String, nullable=False, index=True),
    Column("type", String, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders", metadata,
    Column("id", String, primary_key=True),
    Column("agent_id", String, nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("table_id", String, nullable=False),
    Column("table_name", String, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("placed_at", String, nullable=False),  # as the agent wrote it (ISO 8601)
    Column("received_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),  # the OrderPlaced data as received, JSON
)

order_lines = Table(
    "order_lines", metadata,
    Column("order_id", String, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("item_id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("qty", Integer, nullable=False),
    Column("unit_price_minor", BigInteger, nullable=False),
    Column("line_total_minor", BigInteger, nullable=False),
    Column("modifiers", Text, nullable=False),  # JSON list of {id, name, price_minor}
    Column("note", Text, nullable=False),
)

# Messages the hub could not apply, kept so someone can look; they are acked all the same.
rejected_messages = Table(
    "rejected_messages", metadata,
    Column("message_id", String, primary_key=True),
    Column("agent_id", String, nullable=False, index=True),
    Column("type", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)


# Agent ids whose messages the hub refused (never enrolled, or revoked): who knocked, for operators.
# Bounded by hub/link/roster.py (MAX_REFUSED_SENDERS rows); the messages themselves are not kept.
refused_senders = Table(
    "refused_senders", metadata,
    Column("agent_id", String, primary_key=True),
    Column("verdict", String, nullable=False),  # "unknown" or "revoked"
    Column("messages", BigInteger, nullable=False),
    Column("last_type", String, nullable=False),
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
)


# link, hub -> agent

# The hub's outbox, per agent: a message leaves it only when the agent acks its id.
down_messages = Table(
    "down_messages", metadata,
    Column("id", String, primary_key=True),
    Column("agent_id", String, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # the envelope as sent
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("agent_id", "seq", name="uq_down_messages_agent_seq"),
    Index("ix_down_messages_delivered_at", "delivered_at"),
)

# The last seq given out per agent. Taking the next one updates this row, which locks it until
# the enqueuing transaction ends: seqs are handed out in commit order and a rollback leaves no gap.
down_counters = Table(
    "down_counters", metadata,
    Column("agent_id", String, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)


# What agents report about themselves (migration 0004_agent_state): the latest state per bill and
# per device, replaced only by a message with a higher seq (hub/store/agent_state.py).

agent_bills = Table(
    "agent_bills", metadata,
    Column("agent_id", String, primary_key=True),
    Column("bill_id", String, primary_key=True),
    Column("table_name", String, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("paid_minor", BigInteger, nullable=False),
    Column("left_minor", BigInteger, nullable=False),
    Column("status", String, nullable=False),  # open | settled | closed
    Column("changed_at", String, nullable=False),  # as the agent wrote it (ISO 8601)
    Column("seq", BigInteger, nullable=False),  # of the message that said so
    Index("ix_agent_bills_agent_status", "agent_id", "status"),
)

agent_devices = Table(
    "agent_devices", metadata,
    Column("agent_id", String, primary_key=True),
    Column("device", String, primary_key=True),
    Column("kind", String, nullable=False),  # printer | pos
    Column("state", String, nullable=False),  # online, offline, paper_out, ...
    Column("detail", Text, nullable=False),
    Column("waiting", BigInteger, nullable=False),  # jobs queued for it
    Column("held", BigInteger, nullable=False),  # jobs waiting for staff
    Column("changed_at", String, nullable=False),  # as the agent wrote it (ISO 8601)
    Column("seq", BigInteger, nullable=False),
)
