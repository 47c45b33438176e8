"""The staff dashboard's pages: the shell at /staff (sign-in and screens, driven by JS through the
staff API), its static files, and the printable table cards."""

import asyncio
import html
from urllib.parse import quote

from aiohttp import web

from agent.staff import cards
from agent.state import STATE
from agent.visits import tables
from agent.web.staff.guard import staff_user
from agent.web.static_files import STATIC, send_asset

STAFF = STATIC / "staff"
routes = web.RouteTableDef()

# The shell holds no data (everything comes through the API after sign-in), so it is the same
# page signed in or not. Framing is refused (agent/web/security_headers.py sets the CSP on every
# page): a staff screen inside someone else's page is a trap.
_PAGE_HEADERS = {"Referrer-Policy": "no-referrer"}


@routes.get("/staff")
async def staff_shell(request: web.Request) -> web.Response:
    response = await send_asset(request, STAFF / "index.html", "no-cache")
    response.headers.update(_PAGE_HEADERS)
    return response


@routes.get(r"/staff/assets/{name:[A-Za-z0-9][A-Za-z0-9._-]*}")
async def staff_asset(request: web.Request) -> web.Response:
    return await send_asset(request, STAFF / request.match_info["name"], "no-cache")


def _signed_out_page(status: int, message: str) -> web.Response:
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tableside staff</title></head>'
            f'<body style="font:1.1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem">'
            f'<h1>Table cards</h1><p>{html.escape(message)}</p><p><a href="/staff">Go to the staff sign-in</a></p>'
            f"</body></html>")
    return web.Response(text=body, status=status, content_type="text/html", headers=_PAGE_HEADERS)


@routes.get("/staff/tables/cards")
async def table_cards(request: web.Request) -> web.Response:
    """?size=a6|a5|letter, and optionally ?table=<id> (repeat) for some tables only."""
    try:
        await staff_user(request, "manager", "server")
    except web.HTTPException as exc:
        return _signed_out_page(exc.status, getattr(exc, "error_message", "Please sign in."))
    state = request.app[STATE]
    size = cards.SIZES.get(request.query.get("size", ""), cards.SIZES[cards.DEFAULT_SIZE])
    wanted = request.query.getall("table", [])
    chosen = [t for t in await state.database.read(tables.all_tables) if not wanted or t.id in wanted]
    query = "".join(f"&table={quote(t)}" for t in wanted)
    restaurant = state.config.restaurant
    wifi = (getattr(restaurant, "wifi_ssid", ""), getattr(restaurant, "wifi_password", ""))
    page = await asyncio.to_thread(cards.cards_page, state.menu.restaurant.get("name", ""), chosen,
                                   state.config.public_url, size, wifi, query)
    return web.Response(text=page, content_type="text/html", headers={**_PAGE_HEADERS, "Cache-Control": "no-store"})
