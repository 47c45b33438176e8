"""What the staff API answers when it succeeds (contract/openapi.py): accounts, tables, the menu
editor, devices, bills, the board and the day's report. The visit shapes diners see too (orders,
bills, calls) are in agent/web/answers.py."""

from typing import Literal

from agent.web.answers import BillView, DeviceHealth, OrderView, TableRef
from contract.openapi import Answer

Role = Literal["manager", "server", "kitchen"]
Translations = dict[str, dict[str, str]]  # language -> {"name", "description"?}


class Deleted(Answer):
    deleted: str


# -- sign-in and accounts -------------------------------------------------------------------------


class Staff(Answer):
    id: str
    name: str
    role: Role


class Session(Answer):
    staff: Staff
    csrf_token: str


class SignedOut(Answer):
    signed_out: bool


class Account(Answer):
    id: str
    name: str
    role: Role
    secret_kind: Literal["pin", "password"]
    disabled: bool
    locked_until: str | None


class OneAccount(Answer):
    account: Account


class Accounts(Answer):
    accounts: list[Account]


# -- tables ---------------------------------------------------------------------------------------


class Table(Answer):
    id: str
    name: str
    area: str
    token: str | None = None  # not for the kitchen: the keys to order at a table
    url: str | None = None


class OneTable(Answer):
    table: Table


class Tables(Answer):
    tables: list[Table]


# -- the menu editor ------------------------------------------------------------------------------


class PhotoFile(Answer):
    path: str
    width: int
    height: int


class EditedItem(Answer):
    id: str
    category_id: str
    name: str
    description: str
    price_minor: int
    available: bool
    allergens: list[str]
    tags: list[str]
    stations: list[str]
    course: str
    modifier_groups: list[str]
    translations: Translations
    photo: PhotoFile | None
    version: int
    tax_rate_bp: int | None = None


class EditedModifier(Answer):
    id: str
    group_id: str
    name: str
    price_minor: int
    available: bool
    translations: Translations
    version: int


class EditedGroup(Answer):
    id: str
    name: str
    min: int
    max: int
    translations: Translations
    version: int
    modifiers: list[EditedModifier]


class EditedCategory(Answer):
    id: str
    name: str
    translations: Translations
    version: int


class EditorCategory(Answer):
    id: str
    name: str
    translations: Translations
    version: int
    items: list[EditedItem]


class EditorRestaurant(Answer):
    name: str
    currency: str
    locale: str = "en"
    languages: list[str] = []
    prices_include_tax: bool = True


class EditorMenu(Answer):
    restaurant: EditorRestaurant | None
    exponent: int
    categories: list[EditorCategory]
    modifier_groups: list[EditedGroup]


class OneItem(Answer):
    item: EditedItem


class OneModifier(Answer):
    modifier: EditedModifier


class OneGroup(Answer):
    group: EditedGroup


class OneCategory(Answer):
    category: EditedCategory


class MenuCounts(Answer):
    categories: int
    items: int
    modifier_groups: int


class MenuImported(Answer):
    imported: MenuCounts


class RowCounts(Answer):
    created: int
    updated: int


class CsvImported(Answer):
    imported: RowCounts


class PosCounts(Answer):
    created: int
    updated: int
    retired: int
    skipped: list[str]


class PosImported(Answer):
    imported: PosCounts


class PosWebhook(Answer):
    applied: int
    ignored: int
    menu_changed: bool
    menu_refetch_error: str | None = None


# -- devices and the link -------------------------------------------------------------------------


class HeldTicket(Answer):
    id: str
    device: str
    order_id: str | None
    created_at: str
    reason: str | None
    table: str | None
    number: int | None


class Device(DeviceHealth):
    name: str
    held: list[HeldTicket]


class Link(Answer):
    connected: bool
    waiting: int
    last_ack_at: str | None


class LinkDetail(Link):
    offline_since: str | None


class Backup(Answer):
    last_good_at: str | None
    last_good_name: str | None
    last_uploaded_at: str | None
    uploads: bool
    last_error: str | None
    stale: bool


class Devices(Answer):
    devices: list[Device]
    link: LinkDetail
    alerts: list[str]
    backup: Backup | None = None


class Queued(Answer):
    queued: bool


class JobDone(Answer):
    done: Literal["release", "reprint", "drop"]


# -- bills ----------------------------------------------------------------------------------------


class Payment(Answer):
    id: str
    kind: str
    status: Literal["paid", "overpaid"]
    amount_minor: int
    tip_minor: int
    method: str | None
    provider: str | None
    fee_minor: int | None
    paid_at: str | None
    taken_by: str | None
    refunded_minor: int


class OpenBill(BillView):
    table: TableRef
    opened_at: str
    payments: list[Payment]


class Bills(Answer):
    bills: list[OpenBill]


class Taken(Answer):
    payment: Payment


class Printing(Answer):
    printer: str


class Closed(Answer):
    closed: bool


class Released(Answer):
    released: str
    by: str


class Refund(Answer):
    id: str
    share_id: str
    amount_minor: int
    status: Literal["requested"]


class RefundAsked(Answer):
    refund: Refund


# -- the board ------------------------------------------------------------------------------------


class Board(Answer):
    orders: list[OrderView]
    stations: list[str]


class Flooded(Answer):
    table_id: str
    table_name: str
    refused: int
    seconds_ago: int


class FloodedTables(Answer):
    tables: list[Flooded]


# -- the day's report -----------------------------------------------------------------------------


class HourSales(Answer):
    hour: int
    sales_minor: int


class ItemSales(Answer):
    name: str
    qty: int
    sales_minor: int


class MethodTotals(Answer):
    method: str
    count: int
    amount_minor: int
    tip_minor: int


class DayReport(Answer):
    date: str
    currency: str
    orders: int
    sales_minor: int
    sales_by_hour: list[HourSales]
    top_items: list[ItemSales]
    payments: list[MethodTotals]
    paid_minor: int
    platform_fees_minor: int
    tips_minor: int
    refunds_minor: int


class Report(Answer):
    report: DayReport

