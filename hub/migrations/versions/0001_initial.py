"""Initial tables: agents, inbox, orders, order_lines, rejected_messages.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types: a migration must not change when tables.py does.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("online", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String, primary_key=True),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_index("ix_inbox_agent_id", "inbox", ["agent_id"])
    op.create_table(
        "orders",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("table_id", sa.String, nullable=False),
        sa.Column("table_name", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("placed_at", sa.String, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_orders_agent_id", "orders", ["agent_id"])
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("item_id", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger, nullable=False),
        sa.Column("line_total_minor", sa.BigInteger, nullable=False),
        sa.Column("modifiers", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "rejected_messages",
        sa.Column("message_id", sa.String, primary_key=True),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_index("ix_rejected_messages_agent_id", "rejected_messages", ["agent_id"])


def downgrade() -> None:
    op.drop_table("rejected_messages")
    op.drop_table("order_lines")
    op.drop_table("orders")
    op.drop_table("inbox")
    op.drop_table("agents")
