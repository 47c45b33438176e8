"""Enrollment: one-time codes and issued certificates; agents enrolled or revoked.

Agents the hub knew before this migration were let in by the broker's password file and are
kept as enrolled (their enrolled_at is their created_at), so an upgrade locks no restaurant out.

Revision ID: 0005_enrollment
Revises: 0004_agent_state
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)  # hub.store.tables.UTCDateTime, as stored

revision = "0005_enrollment"
down_revision = "0004_agent_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("enrolled_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("revoked_at", UTCDateTime, nullable=True))
    op.execute("UPDATE agents SET enrolled_at = created_at")
    op.create_table(
        "enrollment_codes",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("restaurant_id", sa.String, sa.ForeignKey("restaurants.id"), nullable=False),
        sa.Column("code_hash", sa.String, nullable=False, unique=True),
        sa.Column("replaces", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("used_by", sa.String, nullable=True),
        sa.Column("cancelled_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_enrollment_codes_restaurant_id", "enrollment_codes", ["restaurant_id"])
    op.create_table(
        "agent_certificates",
        sa.Column("serial", sa.String, primary_key=True),
        sa.Column("agent_id", sa.String, nullable=False),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("not_after", UTCDateTime, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_agent_certificates_agent_id", "agent_certificates", ["agent_id"])
    op.create_index("ix_agent_certificates_revoked", "agent_certificates", ["revoked_at"])


def downgrade() -> None:
    op.drop_table("agent_certificates")
    op.drop_table("enrollment_codes")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("enrolled_at")
