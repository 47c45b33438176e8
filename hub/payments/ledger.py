"""Double-entry ledger rules: which entries each money event writes, and the daily summary.

Pure logic; the store appends what these builders return and never updates or deletes an entry.
Sign convention: debit positive, credit negative, and every event's entries sum to zero per
currency. A restaurant account's balance is what the restaurant keeps (see docs/payments.md,
"The ledger").
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from contract.money import exponent


class LedgerError(ValueError):
    """Entries that do not balance, or an event that cannot be booked as given."""


# Account names, in one place.
PLATFORM_FEES = "platform:fees"


def restaurant_account(restaurant_id: str) -> str:
    return f"restaurant:{_check_name('restaurant_id', restaurant_id)}"


def receivable_account(restaurant_id: str) -> str:
    """What the restaurant owes the platform (fees on payments that never passed through us)."""
    return f"platform:receivable:{_check_name('restaurant_id', restaurant_id)}"


def external_account(source: str) -> str:
    """The outside world money comes from or goes back to: "external:card", "external:cash"..."""
    return f"external:{_check_name('source', source)}"


# Entry kinds; reports group by these.
SALE = "sale"                  # restaurant: the bill without tip
TIP = "tip"                    # restaurant: the tip
FEE = "fee"                    # restaurant -fee / platform:fees +fee, on a card charge
FEE_OWED = "fee_owed"          # restaurant -fee / receivable +fee, on a cash or own-terminal payment
REFUND = "refund"              # restaurant: money given back to the diner
FEE_REFUND = "fee_refund"      # platform:fees -x / restaurant +x, the fee's share of a refund
PAYMENT = "payment"            # external: money in from the diner
PAYMENT_REFUND = "payment_refund"  # external: money back out to the diner
FEE_COLLECTED = "fee_collected"    # receivable -x / platform:fees +x, when the restaurant pays what it owes
KINDS = frozenset({SALE, TIP, FEE, FEE_OWED, REFUND, FEE_REFUND, PAYMENT, PAYMENT_REFUND, FEE_COLLECTED})

# Ids and sources become parts of account names, so they must not contain the ':' separator.
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def _check_name(what: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise LedgerError(f"{what} must be letters, digits, '_', '.' or '-' (got {value!r})")
    return value


def _check_amount(what: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LedgerError(f"{what} must be a whole number of minor units, 0 or more (got {value!r})")
    return value


def _check_currency(currency: object) -> str:
    try:
        exponent(currency)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise LedgerError(f"unknown or unsupported currency {currency!r}") from None
    return currency  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Entry:
    account: str
    amount_minor: int  # debit positive, credit negative
    currency: str
    kind: str

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account:
            raise LedgerError(f"entry account must be a non-empty string (got {self.account!r})")
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise LedgerError(f"entry amount must be whole minor units (got {self.amount_minor!r})")
        _check_currency(self.currency)
        if self.kind not in KINDS:
            raise LedgerError(f"unknown entry kind {self.kind!r}")


def check_balanced(entries: Iterable[Entry]) -> None:
    """LedgerError unless the entries sum to zero in every currency."""
    totals: dict[str, int] = {}
    for entry in entries:
        totals[entry.currency] = totals.get(entry.currency, 0) + entry.amount_minor
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise LedgerError(f"entries do not balance: {unbalanced} (debits minus credits per currency)")


def _booked(currency: str, rows: list[tuple[str, int, str]]) -> list[Entry]:
    # Zero amounts are left out: they carry no money and only clutter reports.
    entries = [Entry(account, amount, currency, kind) for account, amount, kind in rows if amount != 0]
    check_balanced(entries)
    return entries


def charge_entries(restaurant_id: str, currency: str, amount_minor: int, tip_minor: int, fee_minor: int,
                   source: str = "card") -> list[Entry]:
    """A payment through the platform: the diner pays amount + tip, the platform keeps the fee."""
    restaurant = restaurant_account(restaurant_id)
    _check_currency(currency)
    amount = _check_amount("amount_minor", amount_minor)
    tip = _check_amount("tip_minor", tip_minor)
    fee = _check_amount("fee_minor", fee_minor)
    if amount + tip == 0:
        raise LedgerError("a charge must move money: amount_minor + tip_minor is 0")
    if fee > amount + tip:
        raise LedgerError(f"fee_minor {fee} is more than the charge {amount + tip}")
    return _booked(currency, [
        (external_account(source), -(amount + tip), PAYMENT),
        (restaurant, amount, SALE),
        (restaurant, tip, TIP),
        (restaurant, -fee, FEE),
        (PLATFORM_FEES, fee, FEE),
    ])


def refund_entries(restaurant_id: str, currency: str, refund_minor: int, fee_refund_minor: int,
                   source: str = "card") -> list[Entry]:
    """Money back to the diner; the platform gives back its share of the fee (hub.fees.refund_fee)."""
    restaurant = restaurant_account(restaurant_id)
    _check_currency(currency)
    refund = _check_amount("refund_minor", refund_minor)
    fee_refund = _check_amount("fee_refund_minor", fee_refund_minor)
    if refund == 0:
        raise LedgerError("a refund must move money: refund_minor is 0")
    if fee_refund > refund:
        raise LedgerError(f"fee_refund_minor {fee_refund} is more than the refund {refund}")
    return _booked(currency, [
        (restaurant, -refund, REFUND),
        (external_account(source), refund, PAYMENT_REFUND),
        (PLATFORM_FEES, -fee_refund, FEE_REFUND),
        (restaurant, fee_refund, FEE_REFUND),
    ])


def external_payment_entries(restaurant_id: str, currency: str, amount_minor: int, tip_minor: int,
                             fee_owed_minor: int, method: str) -> list[Entry]:
    """Cash or the restaurant's own card terminal, recorded by staff.

    The money never passed through the platform, so the platform cannot keep its fee: the fee
    (0 if the plan charges none on such payments) becomes a receivable the restaurant owes.
    """
    restaurant = restaurant_account(restaurant_id)
    _check_currency(currency)
    amount = _check_amount("amount_minor", amount_minor)
    tip = _check_amount("tip_minor", tip_minor)
    fee = _check_amount("fee_owed_minor", fee_owed_minor)
    if amount + tip == 0:
        raise LedgerError("a payment must move money: amount_minor + tip_minor is 0")
    if fee > amount + tip:
        raise LedgerError(f"fee_owed_minor {fee} is more than the payment {amount + tip}")
    return _booked(currency, [
        (external_account(method), -(amount + tip), PAYMENT),
        (restaurant, amount, SALE),
        (restaurant, tip, TIP),
        (restaurant, -fee, FEE_OWED),
        (receivable_account(restaurant_id), fee, FEE_OWED),
    ])


def fee_collection_entries(restaurant_id: str, currency: str, collected_minor: int) -> list[Entry]:
    """The restaurant paid (part of) what it owes: the receivable becomes fee income."""
    _check_currency(currency)
    collected = _check_amount("collected_minor", collected_minor)
    if collected == 0:
        raise LedgerError("a collection must move money: collected_minor is 0")
    return _booked(currency, [
        (receivable_account(restaurant_id), -collected, FEE_COLLECTED),
        (PLATFORM_FEES, collected, FEE_COLLECTED),
    ])


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """One currency's totals for restaurant accounts, all as positive amounts.

    net = gross + tips - fees - refunds + fee_refunds: what the restaurant keeps, which is also
    the sum of its account's entries. fees counts both card fees and fees owed.
    """

    gross: int = 0
    fees: int = 0
    tips: int = 0
    refunds: int = 0
    net: int = 0
    fee_refunds: int = 0


# How each kind on a restaurant account adds to a summary field (the sign turns credits positive).
_SUMMARY_FIELD = {SALE: ("gross", 1), TIP: ("tips", 1), FEE: ("fees", -1), FEE_OWED: ("fees", -1),
                  REFUND: ("refunds", -1), FEE_REFUND: ("fee_refunds", 1)}


def summarize(entries: Iterable[Entry], restaurant_id: str | None = None) -> dict[str, Summary]:
    """Totals per currency over restaurant accounts (one restaurant's, if restaurant_id is given)."""
    wanted = restaurant_account(restaurant_id) if restaurant_id is not None else None
    totals: dict[str, dict[str, int]] = {}
    for entry in entries:
        is_restaurant = entry.account == wanted if wanted else entry.account.startswith("restaurant:")
        if not is_restaurant:
            continue
        field, sign = _SUMMARY_FIELD.get(entry.kind, (None, 0))
        if field is None:
            raise LedgerError(f"kind {entry.kind!r} does not belong on restaurant account {entry.account!r}")
        sums = totals.setdefault(entry.currency, dict.fromkeys(("gross", "fees", "tips", "refunds", "fee_refunds"), 0))
        sums[field] += sign * entry.amount_minor
    return {
        currency: Summary(**sums, net=sums["gross"] + sums["tips"] - sums["fees"] - sums["refunds"] + sums["fee_refunds"])
        for currency, sums in totals.items()
    }
