"""What enrollment and backups answer on success (hub/web/enrollment_api.py, backups_api.py): a box's
credentials, enrollment codes as operators see them, backups held and the gap after a restore."""

from datetime import datetime
from typing import Literal

from contract.openapi import Answer


class Broker(Answer):
    host: str
    port: int
    tls: bool


class RestaurantRef(Answer):
    id: str
    name: str


class Renewed(Answer):
    """A certificate for the box's key, and where to reach the hub and its broker."""
    agent_id: str
    certificate: str
    ca_certificate: str
    certificate_expires_at: datetime
    broker: Broker
    hub_url: str


class Enrolled(Renewed):
    restaurant: RestaurantRef
    replaced: list[str]  # agents revoked because this box replaces them


class Code(Answer):
    """An enrollment code: never its value (shown once, when made) or its hash."""
    id: str
    restaurant_id: str
    replaces: bool
    state: Literal["active", "used", "expired", "cancelled"]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None
    cancelled_at: datetime | None


class NewCode(Code):
    code: str


class Codes(Answer):
    codes: list[Code]


class Revoked(Answer):
    agent_id: str
    revoked: bool


class Backup(Answer):
    """A sealed backup held for a box, as it described it when uploading (times as it sent them)."""
    name: str
    size: int
    created_at: str
    key_id: str
    outbox_seq: int
    uploaded_at: str


class Uploaded(Backup):
    hub_max_seq: int  # lower than what the box saw acked: this hub lost messages


class Backups(Answer):
    backups: list[Backup]


class ReceivedOrder(Answer):
    id: str
    number: int
    table_name: str
    currency: str
    total_minor: int
    placed_at: str
    received_at: datetime


class Gap(Answer):
    """After a restore: what the hub sends again and what it holds that the backup may lack."""
    requeued: int
    max_seq: int
    orders: list[ReceivedOrder]
    last_seen_at: datetime | None


class Claimed(Renewed):
    """A replacement box's credentials under the dead box's id, and its backups to restore from."""
    restaurant: RestaurantRef
    backups: list[Backup]

