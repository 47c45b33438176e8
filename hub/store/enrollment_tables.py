"""Enrollment (migration 0005_enrollment): one-time codes, the certificates the hub's CA issued,
and who sent on the link without being enrolled."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text, false

from hub.store.tables import UTCDateTime, metadata

# A code is shown once and stored only as its hash (hub/enrollment/codes.py).
enrollment_codes = Table(
    "enrollment_codes", metadata,
    Column("id", String, primary_key=True),  # what operators list and cancel by
    Column("restaurant_id", String, ForeignKey("restaurants.id"), nullable=False, index=True),
    Column("code_hash", String, nullable=False, unique=True),
    Column("replaces", Boolean, nullable=False, server_default=false()),  # the new box takes over, the old is revoked
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_by", String, nullable=True),  # the agent id it enrolled
    Column("cancelled_at", UTCDateTime, nullable=True),
)

agent_certificates = Table(
    "agent_certificates", metadata,
    Column("serial", String, primary_key=True),  # hex
    Column("agent_id", String, nullable=False, index=True),
    Column("not_before", UTCDateTime, nullable=False),
    Column("not_after", UTCDateTime, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_agent_certificates_revoked", "revoked_at"),
)

# Senders on up/{id}/... the hub never enrolled (or revoked): one row per id, a bounded number of
# rows (hub/link/roster.py), so an abuser inventing ids cannot fill the disk.
refused_senders = Table(
    "refused_senders", metadata,
    Column("agent_id", String, primary_key=True),
    Column("reason", String, nullable=False),  # unknown | revoked
    Column("first_at", UTCDateTime, nullable=False),
    Column("last_at", UTCDateTime, nullable=False),
    Column("messages", BigInteger, nullable=False),
    Column("last_topic", Text, nullable=False),
)
