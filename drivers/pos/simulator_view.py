"""A small web view of the simulator POS's checks, as the demo's stand-in for a till screen: one
check per table visit, with every order added to it and what its payments came to.

It reads the simulator's file on each request, so it shows what the agent's POS driver wrote.
"""

import html
from pathlib import Path

from aiohttp import web

from drivers.pos.simulator import SimulatorPos

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta http-equiv="refresh" content="5">
<title>Simulator POS</title><style>
body{{font:1rem/1.4 system-ui,sans-serif;margin:1.5rem;color:#1a1a1a}}
table{{border-collapse:collapse;width:100%}}th,td{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}.closed{{color:#555}}
</style></head><body><h1>Simulator POS — checks</h1>
<p>{count} check(s). This page refreshes every 5 seconds.</p>
<table><thead><tr><th scope="col">Check</th><th scope="col">Orders</th><th scope="col">Table</th>
<th scope="col">Lines</th><th scope="col">Total</th><th scope="col">Paid</th><th scope="col">State</th></tr></thead>
<tbody>{rows}</tbody></table></body></html>"""


def _money(minor: int, currency: str, exponent: int = 2) -> str:
    whole, frac = divmod(minor, 10**exponent)  # integers only, as everywhere money is
    return f"{whole}.{frac:0{exponent}d} {currency}" if exponent else f"{whole} {currency}"


def _row(pos: SimulatorPos, check: dict) -> str:
    lines = "<br>".join(html.escape(f"{ln['qty']} x {ln['name']}" + (f" ({', '.join(ln['modifiers'])})"
                                                                      if ln.get("modifiers") else ""))
                        for ln in check["lines"])
    paid = sum(p["amount_minor"] + p.get("tip_minor", 0) for p in pos.payments_for(check["ref"]))
    closed = pos.is_closed(check["ref"])
    return (f'<tr class="{"closed" if closed else ""}"><td>{html.escape(check["ref"])}</td>'
            f"<td>{', '.join(f'#{n}' for n in check['orders'])}</td><td>{html.escape(check['table_name'])}</td>"
            f"<td>{lines}</td>"
            f'<td class="n">{_money(check["total_minor"], check["currency"])}</td>'
            f'<td class="n">{_money(paid, check["currency"])}</td><td>{"closed" if closed else "open"}</td></tr>')


def create_view_app(path: Path) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        pos = await SimulatorPos(path=path).load()
        rows = "".join(_row(pos, c) for c in reversed(pos.checks)) or '<tr><td colspan="7">No checks yet.</td></tr>'
        return web.Response(text=_PAGE.format(count=len(pos.checks), rows=rows), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return app
