"""Payments: restaurants and their agents, checkout attempts, payments, refunds, Stripe events, ledger.

Revision ID: 0003_payments
Revises: 0002_link_down
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_payments"
down_revision = "0002_link_down"
branch_labels = None
depends_on = None

# Frozen copies of the column types: a migration must not change when the tables do.
TS = sa.DateTime(timezone=True)
LEDGER_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def upgrade() -> None:
    op.create_table(
        "restaurants",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fee_basis_points", sa.Integer, nullable=False),
        sa.Column("fee_fixed_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_min_minor", sa.BigInteger, nullable=True),
        sa.Column("fee_cap_minor", sa.BigInteger, nullable=True),
        sa.Column("fee_on_tips", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("fee_on_external", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("stripe_account_id", sa.String, nullable=True, unique=True),
        sa.Column("charges_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("account_synced_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "restaurant_agents",
        sa.Column("agent_id", sa.String, primary_key=True),
        sa.Column("restaurant_id", sa.String, sa.ForeignKey("restaurants.id"), nullable=False),
    )
    op.create_index("ix_restaurant_agents_restaurant_id", "restaurant_agents", ["restaurant_id"])
    op.create_table(
        "checkout_attempts",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("share_id", sa.String, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("restaurant_id", sa.String, sa.ForeignKey("restaurants.id"), nullable=False),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("bill_id", sa.String, nullable=False),
        sa.Column("table_name", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("tip_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_minor", sa.BigInteger, nullable=False),
        sa.Column("provider", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("session_id", sa.String, nullable=True, unique=True),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("return_url", sa.Text, nullable=False),
        sa.Column("hold_expires_at", TS, nullable=False),
        sa.Column("session_expires_at", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("share_id", "attempt", name="uq_checkout_attempts_share_attempt"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("share_id", sa.String, nullable=False, unique=True),
        sa.Column("restaurant_id", sa.String, sa.ForeignKey("restaurants.id"), nullable=False),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("bill_id", sa.String, nullable=False),
        sa.Column("table_name", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("tip_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_minor", sa.BigInteger, nullable=False),
        sa.Column("provider", sa.String, nullable=False),
        sa.Column("method", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempt_id", sa.String, nullable=True),
        sa.Column("checkout_session_id", sa.String, nullable=True),
        sa.Column("payment_intent_id", sa.String, nullable=True, unique=True),
        sa.Column("charge_id", sa.String, nullable=True),
        sa.Column("refund_reserved_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("refunded_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("paid_at", TS, nullable=False),
    )
    op.create_index("ix_payments_restaurant_id", "payments", ["restaurant_id"])
    op.create_index("ix_payments_paid_at", "payments", ["paid_at"])
    op.create_table(
        "refunds",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("payment_id", sa.String, sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("fee_refunded_minor", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("provider_refund_id", sa.String, nullable=True, unique=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String, nullable=False),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
    )
    op.create_index("ix_refunds_payment_id", "refunds", ["payment_id"])
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", LEDGER_ID, primary_key=True, autoincrement=True),
        sa.Column("entry_set_id", sa.String, nullable=False),
        sa.Column("account", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("restaurant_id", sa.String, nullable=False),
        sa.Column("payment_id", sa.String, nullable=True),
        sa.Column("refund_id", sa.String, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_ledger_entries_entry_set_id", "ledger_entries", ["entry_set_id"])
    op.create_index("ix_ledger_entries_payment_id", "ledger_entries", ["payment_id"])
    op.create_index("ix_ledger_entries_restaurant_created", "ledger_entries", ["restaurant_id", "created_at"])


def downgrade() -> None:
    for table in ("ledger_entries", "stripe_events", "refunds", "payments", "checkout_attempts",
                  "restaurant_agents", "restaurants"):
        op.drop_table(table)
