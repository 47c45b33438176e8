"""What a kitchen ticket says and how it is laid out on paper."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime

from drivers.escpos.commands import EscPos

MIN_COLUMNS = 16


@dataclass
class TicketLine:
    qty: int
    name: str
    modifiers: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class KitchenTicket:
    table_name: str
    order_number: int
    placed_at: datetime
    lines: list[TicketLine]
    reprint: bool = False


def _wrap(text: str, width: int, indent: str = "", hanging: str | None = None) -> list[str]:
    """Wrap to the paper width; a word longer than a line is broken rather than run off the edge."""
    follow = indent if hanging is None else hanging
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=follow) or [indent.rstrip()]


def render_kitchen_ticket(ticket: KitchenTicket, columns: int = 48) -> bytes:
    """ESC/POS bytes for one ticket, ending in its only cut.

    columns is characters per line at normal size: 48 on 80 mm paper, 42 or 32 on narrower rolls.
    """
    if columns < MIN_COLUMNS:
        raise ValueError(f"columns must be at least {MIN_COLUMNS}, got {columns}")
    wide = columns // 2  # double-width characters take two columns each
    doc = EscPos().init()

    if ticket.reprint:
        # Loud, so the kitchen does not cook a second round of the same order.
        doc.align("center").bold(True).size(2, 2)
        for row in _wrap("** REPRINT **", wide):
            doc.line(row)
        doc.size(1, 1).bold(False).align("left")

    doc.bold(True).size(2, 2)
    for row in _wrap(ticket.table_name, wide):
        doc.line(row)
    doc.bold(False)
    for row in _wrap(f"Order #{ticket.order_number}", wide):
        doc.line(row)
    doc.size(1, 1)

    clock, date = ticket.placed_at.strftime("%H:%M"), ticket.placed_at.strftime("%Y-%m-%d")
    doc.line(clock + date.rjust(columns - len(clock)))
    doc.line("-" * columns)

    for item in ticket.lines:
        head = f"{item.qty} x "
        doc.bold(True)
        for row in _wrap(head + item.name, columns, hanging=" " * len(head)):
            doc.line(row)
        doc.bold(False)
        for modifier in item.modifiers:
            for row in _wrap(modifier, columns, indent="  + ", hanging="    "):
                doc.line(row)
        if item.note:
            for row in _wrap(item.note, columns, indent="  ! ", hanging="    "):
                doc.line(row)

    doc.line("-" * columns)
    return doc.feed(2).cut().to_bytes()
