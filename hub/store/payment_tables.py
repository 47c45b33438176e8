"""The payment tables: restaurants, checkout attempts, payments, refunds, Stripe events, the ledger.

Same `metadata` as hub/store/tables.py, so Alembic and the store see one schema; migration
0003_payments must match these. Amounts are integer minor units of the row's currency.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from hub.store.tables import UTCDateTime, metadata

restaurants = Table(
    "restaurants", metadata,
    Column("id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("country", String(2), nullable=False),
    Column("currency", String(3), nullable=False),
    # the fee plan (hub.fees.FeePlan)
    Column("fee_basis_points", Integer, nullable=False),
    Column("fee_fixed_minor", BigInteger, nullable=False),
    Column("fee_min_minor", BigInteger, nullable=True),
    Column("fee_cap_minor", BigInteger, nullable=True),
    Column("fee_on_tips", Boolean, nullable=False, server_default=false()),
    # whether cash / own-terminal payments owe the platform its fee
    Column("fee_on_external", Boolean, nullable=False, server_default=false()),
    Column("stripe_account_id", String, nullable=True, unique=True),
    Column("charges_enabled", Boolean, nullable=False, server_default=false()),
    # `created` of the newest account.updated applied: an older event arriving late changes nothing
    Column("account_synced_at", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

restaurant_agents = Table(
    "restaurant_agents", metadata,
    Column("agent_id", String, primary_key=True),
    Column("restaurant_id", String, ForeignKey("restaurants.id"), nullable=False, index=True),
)

# One row per attempt to take a share's money: a Checkout Session (or its demo twin). A share gets
# a new attempt only when the previous one expired, so it never has two open at once.
checkout_attempts = Table(
    "checkout_attempts", metadata,
    Column("id", String, primary_key=True),
    Column("share_id", String, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("restaurant_id", String, ForeignKey("restaurants.id"), nullable=False),
    Column("agent_id", String, nullable=False),
    Column("bill_id", String, nullable=False),
    Column("table_name", String, nullable=False),
    Column("description", String, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("tip_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),
    Column("provider", String, nullable=False),  # "stripe" | "demo"
    Column("status", String, nullable=False),  # creating | open | complete | expired | failed
    Column("session_id", String, nullable=True, unique=True),
    Column("url", Text, nullable=True),
    Column("return_url", Text, nullable=False),
    Column("hold_expires_at", UTCDateTime, nullable=False),  # the agent's hold, in hub time
    Column("session_expires_at", BigInteger, nullable=False),  # unix seconds, sent to Stripe as is
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("agent_id", "share_id", "attempt", name="uq_checkout_attempts_agent_share_attempt"),
)

payments = Table(
    "payments", metadata,
    Column("id", String, primary_key=True),
    Column("share_id", String, nullable=False),
    Column("restaurant_id", String, ForeignKey("restaurants.id"), nullable=False, index=True),
    Column("agent_id", String, nullable=False),
    Column("bill_id", String, nullable=False),
    Column("table_name", String, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("tip_minor", BigInteger, nullable=False),
    Column("fee_minor", BigInteger, nullable=False),  # kept by the platform, or owed for external ones
    Column("provider", String, nullable=False),  # stripe | demo | external
    Column("method", String, nullable=False),  # card | cash | terminal
    Column("status", String, nullable=False),  # succeeded
    Column("attempt_id", String, nullable=True),
    Column("checkout_session_id", String, nullable=True),
    Column("payment_intent_id", String, nullable=True, unique=True),
    Column("charge_id", String, nullable=True),
    # refunds: reserved counts pending ones too (the check against the total); done only succeeded ones
    Column("refund_reserved_minor", BigInteger, nullable=False, server_default="0"),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Index("ix_payments_paid_at", "paid_at"),
    # a share is its agent's: another agent naming the same share id pays nothing of it
    UniqueConstraint("agent_id", "share_id", name="uq_payments_agent_share"),
)

refunds = Table(
    "refunds", metadata,
    Column("id", String, primary_key=True),
    Column("payment_id", String, ForeignKey("payments.id"), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("fee_refunded_minor", BigInteger, nullable=True),  # set when it succeeded
    Column("status", String, nullable=False),  # pending | succeeded | failed
    Column("provider_refund_id", String, nullable=True, unique=True),
    Column("reason", Text, nullable=False),
    Column("requested_by", String, nullable=False),  # operator | staff:<agent id> | stripe
    Column("failure", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
)

# Every Stripe event id the hub has handled (webhook or reconciliation), with what it did.
stripe_events = Table(
    "stripe_events", metadata,
    Column("id", String, primary_key=True),
    Column("type", String, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("outcome", Text, nullable=False),
)

# Append-only: rows are inserted in balanced sets (hub.ledger) and never updated or deleted.
ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_set_id", String, nullable=False, index=True),
    Column("account", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # debit positive, credit negative
    Column("currency", String(3), nullable=False),
    Column("restaurant_id", String, nullable=False),
    Column("payment_id", String, nullable=True, index=True),
    Column("refund_id", String, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_ledger_entries_restaurant_created", "restaurant_id", "created_at"),
)
