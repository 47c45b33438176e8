"""Finds printer and POS drivers by name through entry points, built-in or from another package."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, TypeVar

from drivers.pos.base import Pos
from drivers.printer import Printer

PRINTER_GROUP = "tableside.printers"
POS_GROUP = "tableside.pos"

_T = TypeVar("_T")


def _names(group: str) -> list[str]:
    return sorted({ep.name for ep in entry_points(group=group)})


def _load(group: str, kind: str, base: type[_T], what: str) -> type[_T]:
    found = [ep for ep in entry_points(group=group) if ep.name == kind]
    if not found:
        known = ", ".join(_names(group)) or "none (is the tableside package installed?)"
        raise LookupError(f"unknown {what} kind {kind!r}; known kinds: {known}")
    cls = found[0].load()
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{what} kind {kind!r} ({found[0].value}) is not a {base.__name__} subclass")
    return cls


def load_printer(kind: str, **options: Any) -> Printer:
    return _load(PRINTER_GROUP, kind, Printer, "printer")(**options)


def load_pos(kind: str, **options: Any) -> Pos:
    return _load(POS_GROUP, kind, Pos, "POS")(**options)


def available_printers() -> list[str]:
    return _names(PRINTER_GROUP)


def available_pos() -> list[str]:
    return _names(POS_GROUP)
