"""Changes only from the agent's own pages.

A page on any other site can make a diner's phone or a staff tablet send a POST to the agent (a
form, or fetch with a text/plain body needs no preflight), with the tablet's session cookie when
SameSite does not apply. So a change whose Origin is another host, or that the browser marks
Sec-Fetch-Site: cross-site, is refused with 403; and JSON bodies must be sent as application/json
(agent/web/json_body.py), which a cross-site page cannot do without a preflight nobody answers.
"""

from aiohttp import web

from agent.web.errors import refusal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXEMPT = frozenset({"/pos/webhook"})  # server to server, and signed (agent/web/pos_webhook.py)


def _cross_site(request: web.Request) -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    # host and port only: behind a TLS proxy the scheme the browser used is not the one we see
    return origin is not None and origin.partition("://")[2] != request.host


@web.middleware
async def same_origin(request: web.Request, handler):
    if request.method not in SAFE_METHODS and request.path not in EXEMPT and _cross_site(request):
        raise refusal(403, "cross_site", "changes are accepted only from this agent's own pages")
    return await handler(request)
