"""What the agent's JSON API answers when it succeeds, as the OpenAPI description states it
(contract/openapi.py): the diner's side and the visit shapes staff see too. Handlers build plain
dicts; these structs describe them, and the test suite checks every answer against them."""

from typing import Literal

from contract.openapi import Answer

OrderStatus = Literal["received", "preparing", "ready", "served"]
ShareStatus = Literal["held", "paid", "overpaid", "released", "expired"]


class Named(Answer):
    name: str


class TableRef(Answer):
    id: str
    name: str


# -- the menu -------------------------------------------------------------------------------------


class MenuRestaurant(Answer):
    name: str
    currency: str
    exponent: int
    lang: str
    locale: str = "en"
    languages: list[str] = []
    prices_include_tax: bool = True


class MenuModifier(Answer):
    id: str
    name: str
    price_minor: int
    available: bool


class MenuGroup(Answer):
    id: str
    name: str
    min: int
    max: int
    modifiers: list[MenuModifier]


class Photo(Answer):
    url: str
    width: int
    height: int


class MenuItem(Answer):
    id: str
    name: str
    description: str
    price_minor: int
    allergens: list[str]
    tags: list[str]
    available: bool
    course: str
    modifier_groups: list[str]
    photo: Photo | None


class MenuCategory(Answer):
    id: str
    name: str
    items: list[MenuItem]


class Menu(Answer):
    restaurant: MenuRestaurant
    modifier_groups: list[MenuGroup]
    categories: list[MenuCategory]


# -- the table and the phone's visit --------------------------------------------------------------


class Restaurant(Answer):
    name: str
    currency: str
    locale: str


class Visit(Answer):
    id: str
    opened_at: str
    settled: bool
    receipt_url: str


class Ended(Answer):
    receipt_url: str


class TablePage(Answer):
    table: Named
    restaurant: Restaurant
    session: Visit | None
    ended: Ended | None
    hub_online: bool


# -- orders ---------------------------------------------------------------------------------------


class ChosenModifier(Answer):
    id: str
    name: str
    price_minor: int


class PlacedLine(Answer):
    item_id: str
    name: str
    qty: int
    unit_price_minor: int
    line_total_minor: int
    modifiers: list[ChosenModifier]
    note: str


class OrderHead(Answer):
    id: str
    number: int
    status: OrderStatus
    currency: str
    total_minor: int
    created_at: str


class PlacedOrderView(OrderHead):
    """An order as placed (agent/orders/place.py)."""
    table: Named
    lines: list[PlacedLine]


class PlacedOrder(Answer):
    order: PlacedOrderView


class OrderLine(Answer):
    position: int
    item_id: str
    name: str
    qty: int
    unit_price_minor: int
    line_total_minor: int
    modifiers: list[Named]
    note: str
    stations: list[str]
    status: OrderStatus
    voided: bool


class OrderView(OrderHead):
    """An order as diners and staff follow it (agent/orders/order_status.py)."""
    session_id: str | None
    table: TableRef
    lines: list[OrderLine]


class OneOrder(Answer):
    order: OrderView


class Orders(Answer):
    orders: list[OrderView]


# -- calls to staff -------------------------------------------------------------------------------


class TableRequestView(Answer):
    id: str
    kind: Literal["waiter", "bill"]
    created_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    acknowledged: bool
    table: TableRef
    session_id: str


class OneRequest(Answer):
    request: TableRequestView


class Requests(Answer):
    requests: list[TableRequestView]


# -- the bill and its shares ----------------------------------------------------------------------


class BillLine(Answer):
    id: str
    name: str
    qty: int
    price_minor: int
    tax_rate_bp: int
    tax_minor: int
    amount_minor: int
    paid_minor: int
    held_minor: int
    voided: bool
    left_minor: int
    options: list[str]


class Tax(Answer):
    rate_bp: int
    tax_minor: int


class BillShare(Answer):
    id: str
    kind: str
    amount_minor: int
    tip_minor: int
    status: ShareStatus
    method: str | None
    paid_at: str | None
    expires_at: str
    refunded_minor: int
    payment_id: str | None


class BillView(Answer):
    id: str | None  # None: nothing ordered yet
    version: str  # as in the bill's live event: the page fetches the bill when it changes ("" for none yet)
    currency: str
    tax_mode: Literal["inclusive", "exclusive"]
    lines: list[BillLine]
    subtotal_minor: int
    taxes: list[Tax]
    total_minor: int
    paid_minor: int
    held_minor: int
    left_minor: int
    tips_minor: int
    overpaid_minor: int
    refunded_minor: int
    settled: bool
    shares: list[BillShare]


class PayState(Answer):
    hub_online: bool


class Bill(Answer):
    bill: BillView
    pay: PayState


class NewShare(Answer):
    id: str
    kind: str
    amount_minor: int
    tip_minor: int
    total_minor: int
    currency: str
    expires_at: str
    status: ShareStatus


class ShareLink(Answer):
    share: NewShare
    pay_url: str


# -- the box's own health -------------------------------------------------------------------------


class DeviceHealth(Answer):
    queue: dict[str, int]  # jobs by status
    state: Literal["ok", "failing"]
    failures: int
    failing_since: str | None
    last_error: str | None
    status: str | None  # what the device last said of itself (printers: online, paper_out, ...)
    status_detail: str


class Certificate(Answer):
    """The link certificate's renewal (agent/link/renewal.py)."""
    state: Literal["ok", "due", "expired", "unknown"]
    expires_at: str | None
    renews_at: str | None
    renewed_at: str | None
    failures: int
    last_error: str | None


class LinkHealth(Answer):
    connected: bool
    waiting: int
    last_ack_at: str | None
    certificate: Certificate | None


class Alive(Answer):
    """/healthz for anyone; the details only for the box itself (loopback)."""
    ok: bool
    link: LinkHealth | None = None
    devices: dict[str, DeviceHealth] | None = None
