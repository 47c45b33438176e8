"""Link, hub -> agent: the per-agent down outbox and its seq counters; the agents' keys and clocks.

Revision ID: 0002_link_down
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_link_down"
down_revision = "0001"  # the id 0001_initial.py declares
branch_labels = None
depends_on = None

# Frozen copies of the column types: a migration must not change when tables.py does.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("agents", sa.Column("public_key", sa.String, nullable=True))
    op.add_column("agents", sa.Column("refused_key", sa.String, nullable=True))
    op.add_column("agents", sa.Column("clock_offset_ms", sa.BigInteger, nullable=True))
    op.create_table(
        "down_messages",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.UniqueConstraint("agent_id", "seq", name="uq_down_messages_agent_seq"),
    )
    op.create_index("ix_down_messages_delivered_at", "down_messages", ["delivered_at"])
    op.create_table(
        "down_counters",
        sa.Column("agent_id", sa.String, primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("down_counters")
    op.drop_table("down_messages")
    with op.batch_alter_table("agents") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("clock_offset_ms")
        batch.drop_column("refused_key")
        batch.drop_column("public_key")
