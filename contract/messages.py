"""Message types carried in the envelope's `data`, one struct per type.

Amounts are integer minor units of `currency` (see contract.money).
"""

from typing import Annotated, Any, ClassVar, Literal

import msgspec

NonNeg = Annotated[int, msgspec.Meta(ge=0)]
Qty = Annotated[int, msgspec.Meta(ge=1, le=99)]


class LineModifier(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    price_minor: int


class OrderLine(msgspec.Struct, forbid_unknown_fields=True):
    item_id: str
    name: str
    qty: Qty
    unit_price_minor: NonNeg
    line_total_minor: NonNeg  # modifiers may lower a line (a signed price), never below nothing
    modifiers: list[LineModifier] = []
    note: str = ""


class OrderPlaced(msgspec.Struct, forbid_unknown_fields=True):
    """agent -> hub: a diner's order, as the agent priced and stored it."""

    TYPE: ClassVar[str] = "order.placed"

    order_id: str
    number: int
    table_id: str
    table_name: str
    placed_at: str
    currency: str
    total_minor: NonNeg
    lines: list[OrderLine]


class Ack(msgspec.Struct, forbid_unknown_fields=True):
    """hub -> agent: these message ids are applied (or were already); stop resending them."""

    TYPE: ClassVar[str] = "ack"

    ids: list[str]


class Presence(msgspec.Struct, forbid_unknown_fields=True):
    """agent -> hub, retained; the agent's last will publishes online=False.

    public_key: the agent's Ed25519 public key (base64url, raw 32 bytes) that signs its pay links;
    the hub trusts the first one it sees for an agent (the broker's ACL vouches for the sender) and
    refuses a different one until an operator resets it.
    """

    TYPE: ClassVar[str] = "presence"

    online: bool
    public_key: str = ""


PaymentMethod = Literal["card", "cash", "terminal"]


class PaymentRecorded(msgspec.Struct, forbid_unknown_fields=True):
    """hub -> agent: a share was paid by card (Stripe or the demo provider); apply it to the bill."""

    TYPE: ClassVar[str] = "payment.recorded"

    payment_id: str
    share_id: str
    bill_id: str
    currency: str
    amount_minor: NonNeg
    tip_minor: NonNeg
    fee_minor: NonNeg
    provider: str
    paid_at: str
    method: PaymentMethod = "card"


class PaymentFailed(msgspec.Struct, forbid_unknown_fields=True):
    """hub -> agent: the diner's card was declined; the share's hold can go."""

    TYPE: ClassVar[str] = "payment.failed"

    share_id: str
    reason: str


class RefundRecorded(msgspec.Struct, forbid_unknown_fields=True):
    """hub -> agent: money went back to the diner (from the operator API or asked by staff)."""

    TYPE: ClassVar[str] = "refund.recorded"

    refund_id: str
    payment_id: str
    share_id: str
    currency: str
    amount_minor: NonNeg
    refunded_at: str
    status: Literal["succeeded", "failed"] = "succeeded"
    reason: str = ""


class PaymentTaken(msgspec.Struct, forbid_unknown_fields=True):
    """agent -> hub: staff recorded a payment outside the platform (cash, own card terminal)."""

    TYPE: ClassVar[str] = "payment.taken"

    payment_id: str
    share_id: str
    bill_id: str
    table_name: str
    method: PaymentMethod
    currency: str
    amount_minor: NonNeg
    tip_minor: NonNeg
    taken_at: str


class RefundRequested(msgspec.Struct, forbid_unknown_fields=True):
    """agent -> hub: staff ask for a card payment to be refunded (in whole or in part)."""

    TYPE: ClassVar[str] = "refund.requested"

    refund_id: str
    payment_id: str
    amount_minor: Annotated[int, msgspec.Meta(gt=0)]
    reason: str = ""


class BillChanged(msgspec.Struct, forbid_unknown_fields=True):
    """agent -> hub: where a bill (one party's visit) stands after a change: an order, a payment,
    a void, a refund, the table closed. The hub keeps the latest by seq."""

    TYPE: ClassVar[str] = "bill.changed"

    bill_id: str
    table_name: str
    currency: str
    total_minor: NonNeg
    paid_minor: NonNeg
    left_minor: NonNeg
    status: Literal["open", "settled", "closed"]
    changed_at: str


class DeviceStatus(msgspec.Struct, forbid_unknown_fields=True):
    """agent -> hub: a printer or the POS changed state (sent on a change, not on every poll)."""

    TYPE: ClassVar[str] = "device.status"

    device: str
    kind: Literal["printer", "pos"]
    state: str  # online, offline, paper_out, cover_open, error, unknown, ...
    detail: str
    waiting: NonNeg  # jobs queued for it
    held: NonNeg  # jobs waiting for staff
    changed_at: str


class MenuPublished(msgspec.Struct, forbid_unknown_fields=True):
    """hub -> agent: an operator published the restaurant's menu (the agent's menu document,
    docs/menu.md); the agent replaces its menu with it, as a manager's JSON import would."""

    TYPE: ClassVar[str] = "menu.published"

    menu: dict[str, Any]
    published_at: str


class SettingsPushed(msgspec.Struct, forbid_unknown_fields=True):
    """hub -> agent: settings an operator changed; a field left out (None) keeps the agent's own."""

    TYPE: ClassVar[str] = "settings.pushed"

    pushed_at: str
    close_when_paid: bool | None = None
    hold_minutes: Annotated[int, msgspec.Meta(ge=1, le=120)] | None = None
    wifi_ssid: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    wifi_password: Annotated[str, msgspec.Meta(max_length=63)] | None = None


_TYPES: dict[str, type[msgspec.Struct]] = {cls.TYPE: cls for cls in (
    OrderPlaced, Ack, Presence, PaymentRecorded, PaymentFailed, RefundRecorded, PaymentTaken, RefundRequested,
    BillChanged, DeviceStatus, MenuPublished, SettingsPushed)}


def by_type(type_: str) -> type[msgspec.Struct] | None:
    return _TYPES.get(type_)


def type_of(data: msgspec.Struct) -> str:
    tag = getattr(data, "TYPE", None)
    if _TYPES.get(tag) is not type(data):
        raise TypeError(f"{type(data).__name__} is not a link message type")
    return tag
