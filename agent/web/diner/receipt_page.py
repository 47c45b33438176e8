"""A visit's receipt as a page the diner keeps or prints: /receipt/{visit_key}, in the phone's language
(or ?lang=). The key is the party's own secret (visit_cookie.py): the page shows that visit and
nothing of any other, and works after the visit has ended, so the link can be kept."""

import html
from datetime import datetime

from aiohttp import web

from agent.state import STATE
from agent.visits import bills, table_sessions
from agent.visits.receipts import METHOD_NAMES
from agent.visits.table_sessions import now_iso
from agent.web.diner.notices import UI_LANGUAGES, bad_link_page, pick_language
from contract.money import exponent

routes = web.RouteTableDef()

TEXT = {
    "en": {"title": "Receipt", "table": "Table", "orders": "Orders", "total": "Total", "subtotal": "Subtotal",
           "tax": "Tax {rate} %", "tax_incl": "incl. tax {rate} %", "tip": "Tip", "paid": "Paid", "left": "Left to pay",
           "paid_all": "Paid in full. Thank you for your visit!", "print": "Print or save",
           "by": {"card": "card", "cash": "cash", "terminal": "card (terminal)"}, "voided": "voided",
           "not_paid": "This bill is not paid yet."},
    "de": {"title": "Beleg", "table": "Tisch", "orders": "Bestellungen", "total": "Gesamt", "subtotal": "Zwischensumme",
           "tax": "MwSt. {rate} %", "tax_incl": "inkl. MwSt. {rate} %", "tip": "Trinkgeld", "paid": "Bezahlt",
           "left": "Offen", "paid_all": "Vollständig bezahlt. Danke für Ihren Besuch!", "print": "Drucken oder sichern",
           "by": {"card": "Karte", "cash": "bar", "terminal": "Karte (Terminal)"}, "voided": "storniert",
           "not_paid": "Diese Rechnung ist noch nicht bezahlt."},
    "fr": {"title": "Reçu", "table": "Table", "orders": "Commandes", "total": "Total", "subtotal": "Sous-total",
           "tax": "TVA {rate} %", "tax_incl": "dont TVA {rate} %", "tip": "Pourboire", "paid": "Payé",
           "left": "Reste à payer", "paid_all": "Entièrement payé. Merci de votre visite !",
           "print": "Imprimer ou enregistrer", "by": {"card": "carte", "cash": "espèces", "terminal": "carte (terminal)"},
           "voided": "annulé", "not_paid": "Cette addition n'est pas encore payée."},
}

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

_STYLE = """body{font:1rem/1.5 system-ui,sans-serif;margin:0;color:#1d1b19;background:#faf7f2}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1.25rem 3rem;background:#fff;min-height:100vh;box-sizing:border-box}
h1{font-size:1.4rem;margin:0 0 .25rem}
.meta{color:#4a4540;margin:0 0 1rem}
table{width:100%;border-collapse:collapse}
td{padding:.35rem 0;vertical-align:top;border-bottom:1px solid #ece6dc}
td.amount{text-align:right;white-space:nowrap;padding-left:1rem}
.options{display:block;color:#5f5850;font-size:.9rem}
tr.sum td{border-bottom:0;padding:.2rem 0}
tr.total td{font-weight:700;font-size:1.1rem;border-top:2px solid #1d1b19;padding-top:.5rem}
tr.muted td{color:#5f5850}
.voided{text-decoration:line-through;color:#5f5850}
.thanks{font-weight:600;color:#14532d;margin:1.25rem 0}
.open{font-weight:600;color:#8a2c0d;margin:1.25rem 0}
button{font:inherit;font-weight:600;min-height:3rem;width:100%;border-radius:.6rem;border:0;background:#8a2c0d;
color:#fff;margin-top:1rem;cursor:pointer}
@media print{body{background:#fff}main{padding:0;min-height:0}button{display:none}}"""


def money(lang: str, amount_minor: int, currency: str) -> str:
    """"€28.90" in English, "28,90 €" in German and French."""
    exp = exponent(currency)
    whole, frac = divmod(abs(amount_minor), 10**exp)
    sign = "-" if amount_minor < 0 else ""
    symbol = _SYMBOLS.get(currency, currency)
    if lang == "en":
        digits = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
        return f"{sign}{symbol}{digits}" if len(symbol) == 1 else f"{sign}{symbol} {digits}"
    digits = f"{whole:,}".replace(",", "\u202f" if lang == "fr" else ".") + (f",{frac:0{exp}d}" if exp else "")
    return f"{sign}{digits}\u00a0{symbol}"


def _row(label: str, amount: str, cls: str = "") -> str:
    return f'<tr class="sum {cls}"><td>{html.escape(label)}</td><td class="amount">{html.escape(amount)}</td></tr>'


def render(lang: str, restaurant: str, visit: dict, bill: bills.Bill, order_numbers: list[int]) -> str:
    text = TEXT[lang]
    cur = bill.currency
    lines = []
    for line in bill.lines:
        options = f'<span class="options">{html.escape(", ".join(line.options))}</span>' if line.options else ""
        amount = text["voided"] if line.voided else money(lang, line.amount_minor, cur)
        cls = ' class="voided"' if line.voided else ""
        lines.append(f'<tr{cls}><td>{line.qty} × {html.escape(line.name)}{options}</td>'
                     f'<td class="amount">{html.escape(amount)}</td></tr>')
    sums = []
    if bill.tax_mode == "exclusive":
        sums.append(_row(text["subtotal"], money(lang, bill.subtotal_minor, cur)))
    for tax in bill.taxes:
        label = text["tax_incl" if bill.tax_mode == "inclusive" else "tax"].format(rate=f"{tax['rate_bp'] / 100:g}")
        sums.append(_row(label, money(lang, tax["tax_minor"], cur), "muted"))
    sums.append(_row(text["total"], money(lang, bill.total_minor, cur), "total"))
    for share in bill.shares:
        if share["status"] != "paid":
            continue
        how = text["by"].get(share["method"], METHOD_NAMES.get(share["method"], share["method"] or ""))
        sums.append(_row(f"{text['paid']} ({how})", money(lang, share["amount_minor"], cur)))
        if share["tip_minor"]:
            sums.append(_row(text["tip"], money(lang, share["tip_minor"], cur), "muted"))
    if bill.left_minor:
        sums.append(_row(text["left"], money(lang, bill.left_minor, cur)))
    status = (f'<p class="thanks">{html.escape(text["paid_all"])}</p>' if bill.settled
              else f'<p class="open">{html.escape(text["not_paid"])}</p>')
    # the box's own clock and zone: the restaurant's local time, as a till receipt shows it
    when = datetime.fromisoformat(visit["settled_at"] or visit["closed_at"] or visit["opened_at"]).astimezone()
    when = when.strftime("%d.%m.%Y %H:%M" if lang != "en" else "%d %b %Y, %H:%M")
    numbers = ", ".join(f"#{n}" for n in order_numbers)
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
            f'<title>{html.escape(text["title"])} · {html.escape(restaurant)}</title><style>{_STYLE}</style>'
            f'<script type="module" src="/static/diner/receipt.js"></script></head><body><main>'
            f'<h1>{html.escape(restaurant)}</h1>'
            f'<p class="meta">{html.escape(text["title"])} · {html.escape(visit["table_name"])} · {when}'
            f'{" · " + html.escape(text["orders"]) + " " + numbers if numbers else ""}</p>'
            f'<table>{"".join(lines)}{"".join(sums)}</table>{status}'
            f'<button id="print" type="button">{html.escape(text["print"])}</button></main></body></html>')


def _read(db, visit_key: str, tax_mode: str) -> tuple[dict, bills.Bill, list[int]] | None:
    visit = table_sessions.by_visit_key(db, visit_key)
    if visit is None:
        return None
    bill = bills.load(db, visit["id"], tax_mode, now_iso())
    numbers = [r[0] for r in db.execute("SELECT number FROM orders WHERE session_id = ? ORDER BY number", [visit["id"]])]
    return visit, bill, numbers


@routes.get(r"/receipt/{visit_key:[A-Za-z0-9_-]{8,64}}")
async def receipt(request: web.Request) -> web.Response:
    state = request.app[STATE]
    found = await state.database.read(_read, request.match_info["visit_key"], state.config.restaurant.tax_mode)
    if found is None:
        return bad_link_page(request)
    offered = request.query.get("lang")
    lang = offered if offered in UI_LANGUAGES else pick_language(request.headers.get("Accept-Language", ""),
                                                                 UI_LANGUAGES)
    page = render(lang, state.menu.restaurant.get("name", ""), *found)
    return web.Response(text=page, content_type="text/html", headers={
        "Cache-Control": "no-store", "Content-Language": lang, "Referrer-Policy": "no-referrer"})
