"""The interface every POS driver implements, and the order it is given."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from drivers.options import reject_unknown


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
    # the table visit (the party's session) the order belongs to: a POS that keeps one check per
    # visit (Pos.one_check_per_visit) adds each order of it to that check; "" when not known
    visit_id: str = ""


@dataclass
class PosModifier:
    pos_id: str
    name: str
    price_minor: int


@dataclass
class PosItem:
    pos_id: str  # the POS's own id of the thing to order (Square: the item variation)
    name: str
    price_minor: int
    category: str
    available: bool
    modifiers: list[PosModifier] = field(default_factory=list)


@dataclass
class PosMenu:
    items: list[PosItem]


UpdateKind = Literal["sold_out", "back_in_stock", "check_status", "menu_changed"]


@dataclass
class PosUpdate:
    """Something the POS tells us: an item sold out or back, a check changed state, the menu changed.

    pos_id is the item's (or the check's) id in the POS; "" for menu_changed. detail is human text
    or, for check_status, the new state (e.g. "OPEN", "COMPLETED", "CANCELED").
    """

    kind: UpdateKind
    pos_id: str
    detail: str = ""


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (aiohttp's CIMultiDict or a plain dict)."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


class Pos(abc.ABC):
    """A POS that turns orders into checks.

    Subclasses take their settings as keyword-only arguments and pass anything they do not know
    on to this constructor, so a misspelt option in the config fails loudly at start-up.
    """

    # True: submit_order puts every order of a visit (PosOrder.visit_id) on one check, as a till
    # keeps one check per table, and the agent records a payment once on that check, closing it
    # when the visit's bill is paid. False: each order is its own check and a payment is spread
    # over them (oldest first), each closed once paid.
    one_check_per_visit: bool = False

    def __init__(self, **options: Any) -> None:
        reject_unknown(self, options)

    @abc.abstractmethod
    async def submit_order(self, order: PosOrder, idempotency_key: str) -> str:
        """Create a check for the order (or, with one_check_per_visit, add it to its visit's open
        check) and return the POS's reference for that check.

        The same idempotency_key again returns the same reference and adds nothing twice, so a
        retry after a lost answer is always safe.
        Raises PosUnavailable when the POS cannot be reached, PosError when it refuses.
        """

    def _cannot(self, what: str) -> NotImplementedError:
        return NotImplementedError(f"{self.describe()} cannot {what}; this driver does not support it")

    async def add_payment(self, check_ref: str, amount_minor: int, tip_minor: int, method: str,
                          idempotency_key: str) -> str:
        """Record a payment taken by Tableside (method "card" via Stripe, "cash", ...) on a check.

        amount_minor excludes the tip. Returns the POS's reference for the payment; the same
        idempotency_key again returns the same reference and records nothing new.
        """
        raise self._cannot("record payments")

    async def close_check(self, check_ref: str) -> None:
        """Mark the check paid and closed. Closing a closed check again is not an error."""
        raise self._cannot("close checks")

    async def fetch_menu(self) -> PosMenu:
        """The POS's catalogue, to import into or reconcile with our menu."""
        raise self._cannot("export its menu")

    async def poll_updates(self, since: str | None) -> tuple[list[PosUpdate], str | None]:
        """Updates after the opaque cursor `since`, and the cursor to pass next time.

        since=None asks for a full sync: the current state of everything the driver can report
        (e.g. every sold-out item), so a fresh agent starts right.
        """
        raise self._cannot("be polled for updates")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[PosUpdate]:
        """Verify a webhook the POS sent us and turn it into updates; PosError if it is not genuine.

        Header names are matched case-insensitively.
        """
        raise self._cannot("send webhooks")

    async def check(self) -> str:
        """Health probe: a short human text when the POS answers, PosUnavailable/PosError otherwise."""
        raise self._cannot("be health-checked")

    async def close(self) -> None:  # noqa: B027 - optional hook, deliberately empty
        """Release connections; most drivers hold none."""

    def describe(self) -> str:
        """A short human label, e.g. for the staff dashboard and log lines."""
        return type(self).__name__
