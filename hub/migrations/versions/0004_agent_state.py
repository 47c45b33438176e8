"""What agents report about themselves: the latest state of each bill and each device.

Revision ID: 0004_agent_state
Revises: 0003_payments
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_agent_state"
down_revision = "0003_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_bills",
        sa.Column("agent_id", sa.String, primary_key=True),
        sa.Column("bill_id", sa.String, primary_key=True),
        sa.Column("table_name", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger, nullable=False),
        sa.Column("paid_minor", sa.BigInteger, nullable=False),
        sa.Column("left_minor", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("changed_at", sa.String, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_agent_bills_agent_status", "agent_bills", ["agent_id", "status"])
    op.create_table(
        "agent_devices",
        sa.Column("agent_id", sa.String, primary_key=True),
        sa.Column("device", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("waiting", sa.BigInteger, nullable=False),
        sa.Column("held", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.String, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_devices")
    op.drop_table("agent_bills")
