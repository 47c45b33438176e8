"""Plain pages for a browser that has no table: a table link that is not (or no longer) valid, and
the box's own address, in the phone's language."""

import html

from aiohttp import web

from agent.state import STATE

UI_LANGUAGES = ("en", "de", "fr")  # the languages the diner app's own strings are written in
routes = web.RouteTableDef()


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

_NOTICE_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>{title}</title><style>
body{{font:1.125rem/1.55 system-ui,sans-serif;margin:0;color:#1d1b19;background:#faf7f2}}
main{{max-width:32rem;margin:0 auto;padding:3rem 1.25rem}}
.icon{{width:4rem;height:4rem;border-radius:50%;background:#f3e1d6;color:#8a2c0d;display:grid;place-items:center;
font-size:2.25rem;font-weight:700}}
h1{{font-size:1.5rem;line-height:1.25;margin:1.25rem 0 .75rem}}
p.calm{{color:#4a4540}}
a{{color:#8a2c0d}}
</style></head><body><main><div class="icon" aria-hidden="true">{icon}</div><h1>{title}</h1><p>{body}</p>
<p class="calm">{calm}</p></main></body></html>"""


def bad_link_page(request: web.Request, *, status: int = 404, head: str = "") -> web.Response:
    lang = pick_language(request.headers.get("Accept-Language", ""), UI_LANGUAGES)
    title, body, calm = (html.escape(s) for s in _BAD_LINK[lang])
    return _notice(lang, "?", title, body, calm, status, head)


def _notice(lang: str, icon: str, title: str, body: str, calm: str, status: int, head: str = "") -> web.Response:
    """title, body and calm are HTML already (escaped by the caller); head goes into <head> as it is."""
    page = _NOTICE_PAGE.replace("</head>", head + "</head>").format(lang=lang, icon=icon, title=title, body=body,
                                                                       calm=calm)
    return web.Response(text=page, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Content-Language": lang})


@routes.get("/t/back")
async def back_to_the_table(request: web.Request) -> web.Response:
    """Where pay links signed before they carried the table's page send a diner back (they last 15
    minutes, but a box may be upgraded meanwhile): the phone's own memory of its table (back.js)
    leads to its bill; a phone without one is asked to scan the code again."""
    return bad_link_page(request, status=200, head='<script type="module" src="/static/diner/back.js"></script>')


_HOME = {
    "en": ("This is {restaurant}'s ordering system",
           "It runs on the restaurant's own network. To see the menu and order, scan the QR code on your table.",
           "Staff: the dashboard is at"),
    "de": ("Das ist das Bestellsystem von {restaurant}",
           "Es läuft im eigenen Netz des Restaurants. Um die Karte zu sehen und zu bestellen, scannen Sie den "
           "QR-Code auf Ihrem Tisch.", "Personal: das Dashboard ist unter"),
    "fr": ("Voici le système de commande de {restaurant}",
           "Il fonctionne sur le réseau du restaurant. Pour voir la carte et commander, scannez le QR code de "
           "votre table.", "Personnel : le tableau de bord est à l'adresse"),
}


@routes.get("/")
@routes.get("/t")
@routes.get("/t/")
async def home_page(request: web.Request) -> web.Response:
    """What a phone or a browser sees at the box's own address: what it is, and where to go."""
    lang = pick_language(request.headers.get("Accept-Language", ""), UI_LANGUAGES)
    restaurant = request.app[STATE].menu.restaurant.get("name", "") or "Tableside"
    title, body, staff = _HOME[lang]
    calm = f'{html.escape(staff)} <a href="/staff">/staff</a>.'
    return _notice(lang, "&#9776;", html.escape(title.format(restaurant=restaurant)), html.escape(body), calm, 200)


@routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.Response:
    """Browsers ask for it unprompted (the staff dashboard on a PC): our icon, not a 404."""
    raise web.HTTPMovedPermanently("/static/diner/icon.svg")
