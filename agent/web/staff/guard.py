"""The check every staff handler starts with:

    user = await staff_user(request, "manager", "server", change=True)

- no session, or an expired one: 401 {"error": {"code": "sign_in_required", ...}}
- change=True and no X-CSRF-Token header equal to the session's token: 403 "csrf_failed"
- a role not among `roles` (none given: any role): 403 "forbidden", naming the roles needed

Refusals are `errors.refusal(...)`: aiohttp HTTPExceptions carrying the JSON error body.
"""

import secrets
from dataclasses import dataclass

from aiohttp import web

from agent.staff import clock, sessions
from agent.state import STATE
from agent.web.errors import refusal

COOKIE = "tableside_staff"
ALL = ("manager", "server", "kitchen")
FLOOR = ("manager", "server")  # front of house: bills, payments, requests
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class StaffUser:
    id: str
    name: str
    role: str


async def current_session(request: web.Request) -> sessions.SessionInfo:
    """The signed-in session (its use recorded), or the 401 refusal."""
    session_id = request.cookies.get(COOKIE, "")
    state = request.app[STATE]
    info = await state.database.read(sessions.find_session, session_id) if session_id else None
    if info is None:
        raise refusal(401, "sign_in_required", "Please sign in.")
    now = clock.now()
    if info.expired(now):  # kept (and useless) so every screen hears why; the next sign-in tidies it away
        raise refusal(401, "sign_in_required", "Your session has expired after 12 hours without use. "
                      "Please sign in again.", reason="expired")
    if now - info.last_seen_at >= sessions.TOUCH_EVERY:
        await state.database.write(sessions.touch_session, session_id, now)
    return info


def check_csrf(request: web.Request, info: sessions.SessionInfo) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not secrets.compare_digest(sent.encode(), info.csrf_token.encode()):
        raise refusal(403, "csrf_failed", "This change was refused: the page's security token is missing or "
                      "out of date. Reload the page and try again.")


async def staff_user(request: web.Request, *roles: str, change: bool = False) -> StaffUser:
    info = await current_session(request)
    if change:
        check_csrf(request, info)
    if roles and info.role not in roles:
        needed = " or ".join(roles)
        raise refusal(403, "forbidden", f"This needs the {needed} role; you are signed in as {info.role}.",
                      roles=list(roles))
    return StaffUser(info.account_id, info.name, info.role)
