"""Message types carried in the envelope's `data`, one struct per type.

Amounts are integer minor units of `currency` (see contract.money).
"""

from typing import Annotated, ClassVar

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
    unit_price_minor: int
    line_total_minor: int
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
    """agent -> hub, retained; the agent's last will publishes online=False."""

    TYPE: ClassVar[str] = "presence"

    online: bool


_TYPES: dict[str, type[msgspec.Struct]] = {cls.TYPE: cls for cls in (OrderPlaced, Ack, Presence)}


def by_type(type_: str) -> type[msgspec.Struct] | None:
    return _TYPES.get(type_)


def type_of(data: msgspec.Struct) -> str:
    tag = getattr(data, "TYPE", None)
    if _TYPES.get(tag) is not type(data):
        raise TypeError(f"{type(data).__name__} is not a link message type")
    return tag
