"""The interface every POS driver implements, and the order it is given."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any


class PosError(Exception):
    """The POS refused or failed an order; the message says what is wrong and what to do."""


class PosUnavailable(PosError):
    """The POS could not be reached: worth retrying later, unlike other errors."""


@dataclass
class PosLine:
    item_id: str
    name: str
    qty: int
    unit_price_minor: int  # integer minor units of the order's currency
    modifiers: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class PosOrder:
    order_id: str
    number: int
    table_name: str
    currency: str  # ISO 4217 code
    total_minor: int
    lines: list[PosLine]


class Pos(abc.ABC):
    """A POS that turns orders into checks.

    Subclasses take their settings as keyword-only arguments and pass anything they do not know
    on to this constructor, so a misspelt option in the config fails loudly at start-up.
    """

    def __init__(self, **options: Any) -> None:
        if options:
            raise TypeError(f"{type(self).__name__} does not understand the option(s): {', '.join(sorted(options))}")

    @abc.abstractmethod
    async def submit_order(self, order: PosOrder, idempotency_key: str) -> str:
        """Create a check for the order and return the POS's reference for it.

        The same idempotency_key again returns the same reference and creates no second check,
        so a retry after a lost answer is always safe.
        Raises PosUnavailable when the POS cannot be reached, PosError when it refuses.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook, deliberately empty
        """Release connections; most drivers hold none."""

    def describe(self) -> str:
        """A short human label, e.g. for the staff dashboard and log lines."""
        return type(self).__name__
