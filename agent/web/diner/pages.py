"""What the diner's browser loads from the agent: the table page at /t/{token} (or a clear page, in
their language, when the link is bad), the service worker and manifest, and the app's static files,
compressed and with cache headers."""

import html
import json

from aiohttp import web

from agent.state import STATE
from agent.visits import tables
from agent.web.compressed import HOT, respond
from agent.web.diner.notices import UI_LANGUAGES, bad_link_page, pick_language
from agent.web.static_files import STATIC, get_asset, send_asset

DINER = STATIC / "diner"
routes = web.RouteTableDef()

# Diner code revalidates on every load (cheap 304s; the service worker covers offline), so an
# upgraded agent never runs old scripts. Photos change rarely and are named per item.
_CACHE_CONTROL = {"diner": "no-cache", "photos": "public, max-age=86400"}
@routes.get(r"/static/{section:diner|photos}/{name:[A-Za-z0-9][A-Za-z0-9._-]*}")
async def static_file(request: web.Request) -> web.Response:
    section, name = request.match_info["section"], request.match_info["name"]
    return await send_asset(request, STATIC / section / name, _CACHE_CONTROL[section])


@routes.get("/t/sw.js")
async def service_worker(request: web.Request) -> web.Response:
    """Served under /t/ so that it may control the table pages (a worker's scope is its own folder)."""
    response = await send_asset(request, DINER / "sw.js", "no-cache")
    response.headers["Service-Worker-Allowed"] = "/t/"
    return response


def _table_page(template: str, lang: str, restaurant: str, table: tables.Table, menu_json: bytes) -> str:
    # the menu rides along in the page: one round trip less before the first paint on a slow phone;
    # "</" is escaped so no dish name can end the <script> it sits in
    menu = menu_json.decode().replace("</", "<\\/").replace("<!--", "<\\u0021--")
    return (template.replace("{{lang}}", lang).replace("{{restaurant}}", html.escape(restaurant))
            .replace("{{table}}", html.escape(table.name)).replace("{{token}}", html.escape(table.token))
            .replace("{{menu}}", menu))


@routes.get("/t/{table_token}")
async def table_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    table = state.tables.get(request.match_info["table_token"])
    if table is None:
        return bad_link_page(request)
    restaurant = state.menu.restaurant
    offered = [lang for lang in restaurant.get("languages", []) if lang in UI_LANGUAGES] or ["en"]
    lang = pick_language(request.headers.get("Accept-Language", ""), offered, restaurant.get("locale", "en"))
    template = await get_asset(DINER / "index.html")
    menu_json, menu_etag = state.menu.public(lang)
    # everything the page is made of names its version here, so a cached page is never stale
    key = ("page", table, lang, menu_etag, template.etag, restaurant.get("name", ""))
    ready = request.app[HOT].get(key, lambda: _table_page(
        template.body.decode(), lang, restaurant.get("name", ""), table, menu_json).encode(), "text/html", {
        "Cache-Control": "no-cache", "Vary": "Accept-Language, Accept-Encoding", "Content-Language": lang,
        "Referrer-Policy": "no-referrer"})  # the table token is in the URL: never leak it to photo hosts etc.
    return respond(request, ready)


@routes.get("/t/{table_token}/manifest.webmanifest")
async def manifest(request: web.Request) -> web.Response:
    """Per table, so an installed app opens this table's page."""
    state = request.app[STATE]
    table = state.tables.get(request.match_info["table_token"])
    if table is None:
        raise web.HTTPNotFound()
    name = state.menu.restaurant.get("name", "") or "Tableside"
    body = {"name": f"{name} · {table.name}", "short_name": name[:12], "start_url": f"/t/{table.token}",
            "scope": "/t/", "display": "standalone", "background_color": "#faf7f2", "theme_color": "#8a2c0d",
            "icons": [{"src": "/static/diner/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}]}
    return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})
