"""What a customer receipt says and how it is laid out on paper.

Amounts are integers in minor units (cents); exponent says how many of them make a major unit
(2 for EUR, 0 for JPY, 3 for KWD). drivers cannot import the contract, so the caller passes it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from drivers.escpos.codepages import primary_language
from drivers.escpos.commands import EscPos

PAPER_COLUMNS = MappingProxyType({"80mm": 48, "58mm": 32})  # characters per line at Font A

_LABELS = {
    "en": ("Table", "Order", "Subtotal", "Tip", "Total", "Paid by", "COPY", "Your receipt online"),
    "de": ("Tisch", "Bestellung", "Zwischensumme", "Trinkgeld", "Gesamt", "Bezahlt mit", "KOPIE", "Ihre Quittung online"),
    "fr": ("Table", "Commande", "Sous-total", "Pourboire", "Total", "Payé par", "COPIE", "Votre reçu en ligne"),
    "es": ("Mesa", "Pedido", "Subtotal", "Propina", "Total", "Pagado con", "COPIA", "Su recibo en línea"),
    "it": ("Tavolo", "Ordine", "Subtotale", "Mancia", "Totale", "Pagato con", "COPIA", "La ricevuta online"),
    "nl": ("Tafel", "Bestelling", "Subtotaal", "Fooi", "Totaal", "Betaald met", "KOPIE", "Uw bon online"),
}
# Decimal mark and thousands separator.
_NUMBER_STYLE = MappingProxyType({"en": (".", ","), "fr": (",", " ")})
_COMMA_DECIMAL = frozenset({"de", "es", "it", "nl", "pt", "pl", "cs", "hu", "ru", "uk", "el", "tr", "da", "sv", "fi", "nb"})


@dataclass
class ReceiptLine:
    qty: int
    name: str
    amount_minor: int  # the line's total (qty x unit price, modifiers included)
    modifiers: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Receipt:
    restaurant_name: str
    table_name: str
    order_numbers: list[int]
    lines: list[ReceiptLine]
    currency: str  # ISO 4217 code, printed with the total
    subtotal_minor: int
    taxes: list[tuple[str, int]]  # (label, amount), e.g. ("VAT 10% incl.", 273)
    tip_minor: int
    total_minor: int
    paid_by: str
    printed_at: datetime
    footer: str = ""
    e_receipt_url: str | None = None
    reprint: bool = False
    exponent: int = 2


def format_amount(amount_minor: int, exponent: int = 2, language: str = "en") -> str:
    """1234567, 2 -> '12,345.67' (en), '12.345,67' (de); 1200, 0 -> '1,200'."""
    if not 0 <= exponent <= 4:
        raise ValueError(f"exponent must be 0..4, got {exponent}")
    lang = primary_language(language)
    decimal_mark, group = _NUMBER_STYLE.get(lang, (",", ".") if lang in _COMMA_DECIMAL else (".", ","))
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    text = f"{major:,}".replace(",", group)
    if exponent:
        text += decimal_mark + f"{minor:0{exponent}d}"
    return sign + text


def _two_columns(left: str, right: str, columns: int, indent: int = 0) -> list[str]:
    """left wrapped into the space right leaves, right aligned on the first line."""
    room = max(columns - len(right) - 1, columns // 2)
    rows = textwrap.wrap(left, room, subsequent_indent=" " * indent) or [""]
    first = rows[0]
    if len(first) + 1 + len(right) > columns:
        return [*rows, right.rjust(columns)]
    return [first + right.rjust(columns - len(first)), *rows[1:]]


def render_receipt(receipt: Receipt, paper: str = "80mm", language: str = "en") -> bytes:
    """ESC/POS bytes for one customer receipt, ending in its only cut."""
    if paper not in PAPER_COLUMNS:
        raise ValueError(f"paper must be one of {', '.join(PAPER_COLUMNS)}, got {paper!r}")
    columns = PAPER_COLUMNS[paper]
    table, order, subtotal, tip, total, paid_by, copy, online = _LABELS.get(primary_language(language), _LABELS["en"])

    def money(amount: int) -> str:
        return format_amount(amount, receipt.exponent, language)

    doc = EscPos.for_language(language).init()
    doc.align("center")
    if receipt.reprint:
        doc.bold(True).line(f"** {copy} **").bold(False)
    doc.bold(True).size(1, 2)
    for row in textwrap.wrap(receipt.restaurant_name, columns) or [""]:
        doc.line(row)
    doc.size(1, 1).bold(False).align("left")

    orders = ", ".join(f"#{n}" for n in receipt.order_numbers)
    for row in textwrap.wrap(f"{table}: {receipt.table_name}", columns):
        doc.line(row)
    if orders:
        for row in textwrap.wrap(f"{order} {orders}", columns, subsequent_indent="  "):
            doc.line(row)
    clock, date = receipt.printed_at.strftime("%H:%M"), receipt.printed_at.strftime("%Y-%m-%d")
    doc.line(date + clock.rjust(columns - len(date)))
    doc.line("-" * columns)

    for item in receipt.lines:
        head = f"{item.qty} x "
        for row in _two_columns(head + item.name, money(item.amount_minor), columns, indent=len(head)):
            doc.line(row)
        for modifier in item.modifiers:
            for row in textwrap.wrap(modifier, columns, initial_indent="  + ", subsequent_indent="    "):
                doc.line(row)
    doc.line("-" * columns)

    for label, amount in [(subtotal, receipt.subtotal_minor), *receipt.taxes]:
        for row in _two_columns(label, money(amount), columns):
            doc.line(row)
    if receipt.tip_minor:
        for row in _two_columns(tip, money(receipt.tip_minor), columns):
            doc.line(row)
    doc.bold(True).size(1, 2)
    for row in _two_columns(total, f"{receipt.currency} {money(receipt.total_minor)}", columns):
        doc.line(row)
    doc.size(1, 1).bold(False)
    for row in _two_columns(paid_by, receipt.paid_by, columns):
        doc.line(row)

    if receipt.footer:
        doc.line("-" * columns).align("center")
        for paragraph in receipt.footer.splitlines():
            for row in textwrap.wrap(paragraph, columns) or [""]:
                doc.line(row)
        doc.align("left")
    if receipt.e_receipt_url:
        doc.feed(1).align("center").qr(receipt.e_receipt_url, module_size=4 if paper == "58mm" else 6)
        doc.line().line(online).align("left")
    return doc.feed(3).cut().to_bytes()
