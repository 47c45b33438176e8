"""The printable table cards page: per table, the menu QR code, the table's name and a QR code
that joins the restaurant Wi-Fi, one card per sheet in A6, A5 or US Letter."""

import html
from dataclasses import dataclass

from agent.staff import qr
from agent.visits.tables import Table


@dataclass(frozen=True)
class CardSize:
    key: str
    label: str
    page: str  # the CSS @page size
    width: str
    height: str
    scale: float  # type and codes grow with the card


SIZES = {s.key: s for s in (CardSize("a6", "A6", "A6", "105mm", "148mm", 1.0),
                            CardSize("a5", "A5", "A5", "148mm", "210mm", 1.4),
                            CardSize("letter", "Letter", "letter", "8.5in", "11in", 2.0))}
DEFAULT_SIZE = "a6"

_STYLE = """
:root{{--w:{width};--h:{height};--k:{scale}}}
@page{{size:{page};margin:0}}
*{{box-sizing:border-box}}
body{{margin:0;font:16px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;background:#e9ebee}}
.toolbar{{position:sticky;top:0;display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;padding:.75rem 1rem;
  background:#1f4e8c;color:#fff}}
.toolbar a,.toolbar button{{min-height:2.75rem;padding:.4rem .9rem;border-radius:.5rem;border:1px solid #fff;
  background:transparent;color:#fff;font:inherit;text-decoration:none;display:inline-flex;align-items:center;cursor:pointer}}
.toolbar a[aria-current]{{background:#fff;color:#1f4e8c;font-weight:700}}
.toolbar .print{{background:#fff;color:#1f4e8c;font-weight:700}}
.note{{margin:1rem;padding:.75rem 1rem;background:#fff4d6;border-radius:.5rem;max-width:48rem}}
.cards{{display:flex;flex-wrap:wrap;gap:1rem;padding:1rem;justify-content:center}}
.card{{width:var(--w);height:var(--h);background:#fff;display:flex;flex-direction:column;align-items:center;
  justify-content:space-between;text-align:center;padding:calc(8mm * var(--k)) calc(7mm * var(--k));
  box-shadow:0 1px 4px rgba(0,0,0,.25);break-after:page;page-break-after:always;overflow:hidden}}
.restaurant{{font-size:calc(11pt * var(--k));letter-spacing:.08em;text-transform:uppercase;color:#444}}
.table{{font-size:calc(24pt * var(--k));font-weight:800;line-height:1.1;margin:.15em 0}}
.menu-qr svg{{width:calc(62mm * var(--k));height:calc(62mm * var(--k));display:block}}
.cta{{font-size:calc(12pt * var(--k));font-weight:600}}
.url{{font-size:calc(6.5pt * var(--k));color:#555;word-break:break-all}}
.wifi{{display:flex;gap:calc(3mm * var(--k));align-items:center;text-align:left;border-top:1px solid #ccc;
  padding-top:calc(3mm * var(--k));width:100%}}
.wifi svg{{width:calc(24mm * var(--k));height:calc(24mm * var(--k));flex:none}}
.wifi p{{margin:0;font-size:calc(8pt * var(--k))}}
@media print{{body{{background:#fff}}.toolbar,.note{{display:none}}.cards{{display:block;padding:0}}
  .card{{box-shadow:none;margin:0}}}}
"""


_CURRENT = ' aria-current="page"'


def _toolbar(size: CardSize, query: str) -> str:
    links = "".join(f'<a href="?size={s.key}{query}"{_CURRENT if s.key == size.key else ""}>{s.label}</a>'
                    for s in SIZES.values())
    return (f'<nav class="toolbar" aria-label="Card size"><a href="/staff#tables">&larr; Tables</a>'
            f'<span>Card size:</span>{links}<button class="print" type="button" id="print">Print</button></nav>')


def _card(restaurant: str, table: Table, url: str, menu_svg: str, wifi: tuple[str, str], wifi_svg: str) -> str:
    e = html.escape
    wifi_block = ""
    if wifi_svg:
        ssid, password = wifi
        secret = f"<br>Password: <strong>{e(password)}</strong>" if password else ""
        wifi_block = (f'<div class="wifi">{wifi_svg}<p>Scan to join our Wi-Fi<br>Network: <strong>{e(ssid)}</strong>'
                      f"{secret}</p></div>")
    return (f'<section class="card" aria-label="{e(table.name)}"><div class="restaurant">{e(restaurant)}</div>'
            f'<div class="table">{e(table.name)}</div><div class="menu-qr">{menu_svg}</div>'
            f'<div class="cta">Scan to see the menu, order and pay</div><div class="url">{e(url)}</div>'
            f"{wifi_block}</section>")


def cards_page(restaurant: str, tables: list[Table], public_url: str, size: CardSize, wifi: tuple[str, str],
               query: str = "") -> str:
    """The whole page (runs in a thread: it makes two QR codes per table)."""
    ssid, password = wifi
    wifi_svg = qr.svg(qr.wifi_payload(ssid, password)) if ssid else ""
    note = "" if ssid else ('<p class="note">No Wi-Fi code on these cards: set <code>wifi_ssid</code> and '
                            "<code>wifi_password</code> in the <code>[restaurant]</code> section of the agent's "
                            "configuration to add one.</p>")
    if not tables:
        note += '<p class="note">There are no tables yet: add them on the Tables screen.</p>'
    cards = "".join(_card(restaurant, t, qr.table_url(public_url, t.token), qr.svg(qr.table_url(public_url, t.token)),
                          wifi, wifi_svg) for t in tables)
    style = _STYLE.format(width=size.width, height=size.height, page=size.page, scale=size.scale)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
            f"<title>Table cards ({size.label})</title><style>{style}</style>"
            f'<script type="module" src="/staff/assets/cards.js"></script></head><body>'
            f'{_toolbar(size, query)}{note}<main class="cards">{cards}</main></body></html>')
