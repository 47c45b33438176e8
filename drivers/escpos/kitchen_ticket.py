"""What a kitchen ticket says and how it is laid out on paper."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime

from drivers.escpos.commands import EscPos

MIN_COLUMNS = 16
PAPER_COLUMNS = {"80mm": 48, "58mm": 32}  # characters per line at Font A
# The order the kitchen sends courses out; a course not listed goes with "other".
COURSES = ("starter", "main", "side", "dessert", "drink", "other")


@dataclass
class TicketLine:
    qty: int
    name: str
    modifiers: list[str] = field(default_factory=list)
    note: str = ""
    course: str = ""  # one of COURSES; "" (or anything else) counts as "other"


@dataclass
class KitchenTicket:
    table_name: str
    order_number: int
    placed_at: datetime
    lines: list[TicketLine]
    reprint: bool = False
    redirected_from: str = ""  # the station printer that was out, when a fallback prints this


def _wrap(text: str, width: int, indent: str = "", hanging: str | None = None) -> list[str]:
    """Wrap to the paper width; a word longer than a line is broken rather than run off the edge."""
    follow = indent if hanging is None else hanging
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=follow) or [indent.rstrip()]


def _by_course(lines: list[TicketLine]) -> list[tuple[str, list[TicketLine]]]:
    groups: dict[str, list[TicketLine]] = {course: [] for course in COURSES}
    for line in lines:
        course = line.course.strip().lower()
        groups[course if course in groups else "other"].append(line)
    return [(course, items) for course, items in groups.items() if items]


def render_kitchen_ticket(
    ticket: KitchenTicket, columns: int | None = None, *, paper: str = "80mm", language: str = "en"
) -> bytes:
    """ESC/POS bytes for one ticket, ending in its only cut.

    columns is characters per line at normal size; by default it follows paper (48 on 80 mm,
    32 on 58 mm). language picks the code page (see codepages.py). Lines are grouped by course
    in COURSES order under a small header, unless no line names a course.
    """
    if columns is None:
        if paper not in PAPER_COLUMNS:
            raise ValueError(f"paper must be one of {', '.join(PAPER_COLUMNS)}, got {paper!r}")
        columns = PAPER_COLUMNS[paper]
    if columns < MIN_COLUMNS:
        raise ValueError(f"columns must be at least {MIN_COLUMNS}, got {columns}")
    wide = columns // 2  # double-width characters take two columns each
    doc = EscPos.for_language(language).init()

    if ticket.reprint:
        # Loud, so the kitchen does not cook a second round of the same order.
        doc.align("center").bold(True).size(2, 2)
        for row in _wrap("** REPRINT **", wide):
            doc.line(row)
        doc.size(1, 1).bold(False).align("left")

    if ticket.redirected_from:
        # The fallback printer may stand in another room: say whose ticket this is.
        doc.align("center").bold(True)
        for row in _wrap(f">> for {ticket.redirected_from.upper()} (its printer is out) <<", columns):
            doc.line(row)
        doc.bold(False).align("left")

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

    groups = _by_course(ticket.lines)
    with_headers = any(line.course for line in ticket.lines)
    for course, items in groups:
        if with_headers:
            doc.line(f"-- {course.upper()} --"[:columns])
        _render_items(doc, items, columns)

    doc.line("-" * columns)
    return doc.feed(2).cut().to_bytes()


def _render_items(doc: EscPos, items: list[TicketLine], columns: int) -> None:
    for item in items:
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
