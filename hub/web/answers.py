"""What the hub's operator routes, /healthz and its description answer on success (contract/openapi.py:
each handler declares one of these with @answers; in tests every answer is decoded against it).

Times the hub keeps are date-times; times as an agent wrote them (placed_at, changed_at) stay strings.
"""

from datetime import datetime
from typing import Literal

from contract.messages import LineModifier
from contract.openapi import Answer


class LinkState(Answer):
    connected: bool


class Health(Answer):
    ok: bool
    link: LinkState


class Description(Answer):
    """GET /api/v1/openapi.json: an OpenAPI 3.1 document."""
    openapi: str
    info: dict
    paths: dict
    components: dict


class OrderLineView(Answer):
    position: int
    item_id: str
    name: str
    qty: int
    unit_price_minor: int
    line_total_minor: int
    modifiers: list[LineModifier]
    note: str


class Order(Answer):
    id: str
    agent_id: str
    number: int
    table_id: str
    table_name: str
    currency: str
    total_minor: int
    placed_at: str
    received_at: datetime
    lines: list[OrderLineView]


class Presence(Answer):
    online: bool
    last_seen_at: datetime | None
    down_waiting: int  # exact: the hub's own outbox
    up_last_seq: int  # the highest seq the hub applied from the agent


class DeviceSummary(Answer):
    device: str
    kind: Literal["printer", "pos"]
    state: str
    held: int
    waiting: int
    changed_at: str


class Agent(Answer):
    id: str
    name: str
    created_at: datetime
    last_seen_at: datetime | None
    online: bool
    public_key: str | None
    refused_key: str | None
    clock_offset_ms: int | None
    enrolled_at: datetime | None
    revoked_at: datetime | None
    order_count: int
    presence: Presence
    devices: list[DeviceSummary]


class Agents(Answer):
    agents: list[Agent]


class Device(Answer):
    device: str
    kind: Literal["printer", "pos"]
    state: str  # online, offline, paper_out, ...
    detail: str
    waiting: int
    held: int
    changed_at: str
    seq: int


class AgentDevices(Answer):
    agent_id: str
    devices: list[Device]


class Bill(Answer):
    bill_id: str
    table_name: str
    currency: str
    total_minor: int
    paid_minor: int
    left_minor: int
    status: Literal["open", "settled", "closed"]
    changed_at: str
    seq: int


class AgentBills(Answer):
    agent_id: str
    bills: list[Bill]


class RefusedSender(Answer):
    agent_id: str
    verdict: Literal["unknown", "revoked"]  # never enrolled, or revoked
    messages: int
    last_type: str
    first_at: datetime
    last_at: datetime


class RefusedSenders(Answer):
    refused_senders: list[RefusedSender]


class Queued(Answer):
    """A push waiting in the hub's outbox to the agent."""
    id: str
    seq: int
    type: str
