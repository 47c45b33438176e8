"""Turn a diner's order request into priced lines, from the agent's own menu only.

Whatever a client says a price or total is, is ignored: unknown fields are dropped on decode.
Every rejection names the field that is wrong.
"""

import hashlib
from dataclasses import dataclass
from typing import Annotated

import msgspec

from agent.menu.catalog import Menu
from contract.money import MAX_MINOR

MAX_LINES = 100
MAX_QTY = 99
MAX_NOTE = 200


class LineRequest(msgspec.Struct):
    item_id: str
    qty: Annotated[int, msgspec.Meta(ge=1, le=MAX_QTY)] = 1
    modifiers: list[str] = []
    note: Annotated[str, msgspec.Meta(max_length=MAX_NOTE)] = ""


class OrderRequest(msgspec.Struct):
    lines: Annotated[list[LineRequest], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class OrderRejected(Exception):
    """An order the agent will not take. status/code/field go to the client as they are."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class PricedModifier:
    id: str
    name: str
    price_minor: int


@dataclass(frozen=True)
class PricedLine:
    item_id: str
    name: str
    qty: int
    unit_price_minor: int  # item plus its modifiers
    modifiers: tuple[PricedModifier, ...]
    note: str
    stations: tuple[str, ...]
    course: str
    tax_rate_bp: int | None = None  # the item's own rate (None: the restaurant's)
    pos_id: str | None = None

    @property
    def line_total_minor(self) -> int:
        return self.unit_price_minor * self.qty


@dataclass(frozen=True)
class PricedOrder:
    currency: str
    lines: tuple[PricedLine, ...]

    @property
    def total_minor(self) -> int:
        return sum(line.line_total_minor for line in self.lines)


def explain(exc: msgspec.ValidationError) -> tuple[str, str | None]:
    """("field: what is wrong", field) from msgspec's "... - at `$.field`"."""
    message, _, where = str(exc).rpartition(" - at `")
    field = where.rstrip("`").removeprefix("$.") if where else None
    return (f"{field}: {message}" if field else str(exc)), field


def decode_request(body: bytes) -> OrderRequest:
    try:
        return msgspec.json.decode(body, type=OrderRequest)
    except msgspec.ValidationError as exc:
        message, field = explain(exc)
        raise OrderRejected(422, "invalid_order", message, field) from None
    except msgspec.DecodeError as exc:
        raise OrderRejected(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None


def request_hash(request: OrderRequest) -> str:
    """Fingerprint of what was asked (after dropping ignored fields), to spot a reused key."""
    return hashlib.sha256(msgspec.json.encode(request)).hexdigest()


def price(menu: Menu, request: OrderRequest) -> PricedOrder:
    return PricedOrder(menu.currency, tuple(_price_line(menu, line, i) for i, line in enumerate(request.lines)))


def _price_line(menu: Menu, line: LineRequest, i: int) -> PricedLine:
    where = f"lines[{i}]"
    item = menu.items.get(line.item_id)
    if item is None:
        raise OrderRejected(422, "unknown_item", f"{where}.item_id: no item {line.item_id!r} on the menu",
                            f"{where}.item_id")
    if not item.available:
        raise OrderRejected(409, "sold_out", f"{item.name} is sold out", f"{where}.item_id")
    if len(set(line.modifiers)) != len(line.modifiers):
        raise OrderRejected(422, "duplicate_modifier", f"{where}.modifiers: a modifier is listed twice",
                            f"{where}.modifiers")
    chosen: dict[str, list[str]] = {gid: [] for gid in item.modifier_group_ids}
    priced = []
    for j, mid in enumerate(line.modifiers):
        mod = menu.modifiers.get(mid)
        if mod is None or mod.group_id not in chosen:
            raise OrderRejected(422, "unknown_modifier",
                                f"{where}.modifiers[{j}]: {mid!r} is not a choice for {item.name}",
                                f"{where}.modifiers[{j}]")
        if not mod.available:
            raise OrderRejected(409, "sold_out", f"{mod.name} is sold out", f"{where}.modifiers[{j}]")
        chosen[mod.group_id].append(mid)
        priced.append(PricedModifier(mod.id, mod.name, mod.price_minor))
    for gid, ids in chosen.items():
        group = menu.groups[gid]
        if not group.min <= len(ids) <= group.max:
            need = f"exactly {group.min}" if group.min == group.max else f"{group.min} to {group.max}"
            raise OrderRejected(422, "modifier_choice",
                                f"{where}.modifiers: {item.name} needs {need} choice(s) of {group.name}",
                                f"{where}.modifiers")
    unit = item.price_minor + sum(m.price_minor for m in priced)
    if unit < 0:
        raise OrderRejected(422, "invalid_order", f"{where}: the line would cost less than nothing", where)
    if unit > MAX_MINOR:  # a price stored before prices were bounded
        raise OrderRejected(422, "invalid_order", f"{where}: {item.name} is priced more than an order can take", where)
    return PricedLine(item.id, item.name, line.qty, unit, tuple(priced), line.note.strip(), item.stations, item.course,
                      item.tax_rate_bp, item.pos_id)
