"""Enrollment (migration 0005_enrollment): one-time codes and the certificates the hub's CA issued."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text, false

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
