"""Which visit a phone belongs to: the party's phones hold the visit's key in a cookie, so they keep
their orders, tracker and receipt after the bill is paid, while a new scan of the table (no
cookie) starts the next party's visit (docs/bills.md, "The end of a visit").

The cookie is HttpOnly and scoped to the table's API path (the page's scripts never see it; another
table's API never gets it); it is set whenever the API shows a phone its visit."""

from aiohttp import web

from agent.state import STATE
from agent.visits import table_sessions
from agent.visits.tables import Table

COOKIE = "tableside_visit"
MAX_AGE_S = 12 * 3600  # longer than any meal; a visit ended long ago counts for nothing anyway
ENDED_SHOWN_S = 3 * 3600  # a phone whose visit ended within this long is thanked, not shown the next party


def api_path(table: Table) -> str:
    return f"/api/v1/tables/{table.token}"


def key_of(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE)


async def visit_of(request: web.Request, table: Table) -> table_sessions.PhoneVisit:
    return await request.app[STATE].database.read(table_sessions.phone_visit, table.id, key_of(request), ENDED_SHOWN_S)


def remember(request: web.Request, response: web.StreamResponse, table: Table, visit_key: str | None) -> None:
    """Give the phone the key of the visit it was just shown (once: only when it lacks it)."""
    if visit_key and request.cookies.get(COOKIE) != visit_key:
        response.set_cookie(COOKIE, visit_key, path=api_path(table), max_age=MAX_AGE_S, httponly=True,
                            samesite="Strict", secure=request.secure)


def forget(request: web.Request, response: web.StreamResponse, table: Table) -> None:
    response.del_cookie(COOKIE, path=api_path(table))


def receipt_url(visit_key: str) -> str:
    return f"/receipt/{visit_key}"
