"""What the diner's browser loads from the agent: the table page at /t/{token} (or a clear page, in
their language, when the link is bad), the service worker and manifest, and the app's static files,
compressed and with cache headers."""

import asyncio
import html
import json

from aiohttp import web

from agent.state import STATE
from agent.visits import tables
from agent.web.static_files import STATIC, load_asset, send_asset

DINER = STATIC / "diner"
UI_LANGUAGES = ("en", "de", "fr")  # the languages the diner app's own strings are written in
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


def pick_language(accept_language: str, offered: list[str] | tuple[str, ...], default: str = "en") -> str:
    """The first language of Accept-Language (by q, then order) that is offered, by primary subtag."""
    ranked = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.split("-")[0].lower()))
    for _, _, lang in sorted(ranked):
        if lang in offered:
            return lang
    return default if default in offered else offered[0]


_BAD_LINK = {
    "en": ("This table link is not valid",
           "The code may have been replaced, or the link copied from an old visit. Please scan the QR code "
           "on your table again, or ask a member of staff.", "Nothing has been ordered or charged."),
    "de": ("Dieser Tisch-Link ist nicht gültig",
           "Der Code wurde vielleicht ersetzt, oder der Link stammt von einem früheren Besuch. Bitte scannen Sie "
           "den QR-Code auf Ihrem Tisch erneut oder fragen Sie das Personal.", "Es wurde nichts bestellt oder belastet."),
    "fr": ("Ce lien de table n'est pas valide",
           "Le code a peut-être été remplacé, ou le lien vient d'une visite précédente. Scannez à nouveau le "
           "QR code de votre table, ou demandez à un membre du personnel.", "Rien n'a été commandé ni débité."),
}

_BAD_LINK_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>{title}</title><style>
body{{font:1.125rem/1.55 system-ui,sans-serif;margin:0;color:#1d1b19;background:#faf7f2}}
main{{max-width:32rem;margin:0 auto;padding:3rem 1.25rem}}
.icon{{width:4rem;height:4rem;border-radius:50%;background:#f3e1d6;color:#8a2c0d;display:grid;place-items:center;
font-size:2.25rem;font-weight:700}}
h1{{font-size:1.5rem;line-height:1.25;margin:1.25rem 0 .75rem}}
p.calm{{color:#4a4540}}
</style></head><body><main><div class="icon" aria-hidden="true">?</div><h1>{title}</h1><p>{body}</p>
<p class="calm">{calm}</p></main></body></html>"""


def bad_link_page(request: web.Request, *, status: int = 404, head: str = "") -> web.Response:
    lang = pick_language(request.headers.get("Accept-Language", ""), UI_LANGUAGES)
    title, body, calm = (html.escape(s) for s in _BAD_LINK[lang])
    page = _BAD_LINK_PAGE.replace("</head>", head + "</head>").format(lang=lang, title=title, body=body, calm=calm)
    return web.Response(text=page, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Language": lang})


@routes.get("/t/back")
async def back_to_the_table(request: web.Request) -> web.Response:
    """Where the pay page sends a diner back: pay links carry no table token, so the phone's own
    memory of its table (back.js) leads home; a phone without one is asked to scan the code again."""
    return bad_link_page(request, status=200, head='<script type="module" src="/static/diner/back.js"></script>')


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
    table = await state.database.read(tables.by_token, request.match_info["table_token"])
    if table is None:
        return bad_link_page(request)
    restaurant = state.menu.restaurant
    offered = [lang for lang in restaurant.get("languages", []) if lang in UI_LANGUAGES] or ["en"]
    lang = pick_language(request.headers.get("Accept-Language", ""), offered, restaurant.get("locale", "en"))
    asset = await asyncio.to_thread(load_asset, DINER / "index.html")
    page = _table_page(asset.body.decode(), lang, restaurant.get("name", ""), table, state.menu.public(lang)[0]).encode()
    response = web.Response(body=page, content_type="text/html", charset="utf-8", headers={
        "Cache-Control": "no-cache", "Vary": "Accept-Language, Accept-Encoding", "Content-Language": lang,
        "Referrer-Policy": "no-referrer"})  # the table token is in the URL: never leak it to photo hosts etc.
    response.enable_compression()
    return response


@routes.get("/t/{table_token}/manifest.webmanifest")
async def manifest(request: web.Request) -> web.Response:
    """Per table, so an installed app opens this table's page."""
    state = request.app[STATE]
    table = await state.database.read(tables.by_token, request.match_info["table_token"])
    if table is None:
        raise web.HTTPNotFound()
    name = state.menu.restaurant.get("name", "") or "Tableside"
    body = {"name": f"{name} · {table.name}", "short_name": name[:12], "start_url": f"/t/{table.token}",
            "scope": "/t/", "display": "standalone", "background_color": "#faf7f2", "theme_color": "#8a2c0d",
            "icons": [{"src": "/static/diner/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"}]}
    return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})
