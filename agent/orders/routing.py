"""Which printer sees which lines of an order: each item names its stations, each printer serves
some stations. A line whose station no printer serves goes to the first printer, so nothing
ordered is silently left off paper."""

from agent.config import PrinterConf
from agent.menu.pricing import PricedLine


def route(lines: tuple[PricedLine, ...], printers: list[PrinterConf]) -> dict[str, list[PricedLine]]:
    routed: dict[str, list[PricedLine]] = {}
    if not printers:
        return routed
    for line in lines:
        targets = [p.name for p in printers if set(p.stations) & set(line.stations)] or [printers[0].name]
        for name in targets:
            routed.setdefault(name, []).append(line)
    return routed
