"""The link gate: senders refused because the hub never enrolled them (or revoked them); and a
share is its agent's: payments and checkout attempts are unique per (agent, share), not per share
id alone, so one agent naming another's share id cannot make that share "already paid".

Revision ID: 0006_link_gate
Revises: 0005_enrollment
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)  # hub.store.tables.UTCDateTime, as stored

revision = "0006_link_gate"
down_revision = "0005_enrollment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _drop_unique("payments", ["share_id"])
    _add_unique("payments", "uq_payments_agent_share", ["agent_id", "share_id"])
    _drop_unique("checkout_attempts", ["share_id", "attempt"])
    _add_unique("checkout_attempts", "uq_checkout_attempts_agent_share_attempt", ["agent_id", "share_id", "attempt"])
    op.create_table(
        "refused_senders",
        sa.Column("agent_id", sa.String, primary_key=True),
        sa.Column("verdict", sa.String, nullable=False),
        sa.Column("messages", sa.BigInteger, nullable=False),
        sa.Column("last_type", sa.String, nullable=False),
        sa.Column("first_at", UTCDateTime, nullable=False),
        sa.Column("last_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("refused_senders")


def _drop_unique(table: str, columns: list[str]) -> None:
    """Drop the unique constraint on exactly these columns. PostgreSQL named it itself; SQLite cannot
    drop a constraint, so there the table is rebuilt without it (alembic's batch mode)."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        reflected = sa.Table(table, sa.MetaData(), autoload_with=bind)
        for constraint in list(reflected.constraints):
            if isinstance(constraint, sa.UniqueConstraint) and [c.name for c in constraint.columns] == columns:
                reflected.constraints.remove(constraint)
        for column in reflected.columns:
            column.unique = None
        with op.batch_alter_table(table, copy_from=reflected, recreate="always"):
            pass
        return
    for unique in sa.inspect(bind).get_unique_constraints(table):
        if unique["column_names"] == columns:
            op.drop_constraint(unique["name"], table, type_="unique")


def _add_unique(table: str, name: str, columns: list[str]) -> None:
    with op.batch_alter_table(table) as batch:  # a rebuild on SQLite, an ALTER TABLE elsewhere
        batch.create_unique_constraint(name, columns)
