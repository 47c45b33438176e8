"""Headers every answer carries, set in one place after the handler (on_response_prepare).

- Every page: a Content-Security-Policy allowing only the agent's own scripts, styles, images and
  connections, never framed (frame-ancestors, and X-Frame-Options for old browsers), no referrer
  (the table token is in the URL).
- Everything: nosniff, so a note or a name is never taken for a script.
- API answers are private (a bill, orders, every staff read): no-store, unless the handler set its
  own caching (the public menu has an ETag).
- Static files without their own caching rule are revalidated on each use (Last-Modified), so a
  tablet never keeps yesterday's dashboard scripts after the agent is upgraded.

The hot reads (agent/web/compressed.py) build the same headers into their answers once, from
`built_in()`, and are marked so that the hook does not do it again for each of a thousand phones.
"""

from aiohttp import web

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

_DEFAULTS = {"X-Content-Type-Options": "nosniff"}  # unless the handler set its own
_PAGE_DEFAULTS = {**_DEFAULTS, "Referrer-Policy": "no-referrer"}
_PAGE_ALWAYS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"}


class HeadersBuiltIn:
    """Mixed into a response class whose headers already went through built_in(): the hook skips it."""


def built_in(content_type: str, headers: dict[str, str]) -> dict[str, str]:
    """`headers` with what add_security_headers would add to an answer of this type (the handler's
    own values win where the hook would keep them, the page rules where it would override them)."""
    if content_type == "text/html":
        return {**_PAGE_DEFAULTS, **headers, **_PAGE_ALWAYS}
    return {**_DEFAULTS, **headers}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if isinstance(response, HeadersBuiltIn):
        return
    headers = response.headers
    for name, value in _DEFAULTS.items():
        headers.setdefault(name, value)
    page = response.content_type == "text/html"
    if page:
        for name, value in _PAGE_DEFAULTS.items():
            headers.setdefault(name, value)
        headers.update(_PAGE_ALWAYS)
    if "Cache-Control" not in headers:
        path = request.path
        if path.startswith("/static/"):
            headers["Cache-Control"] = "no-cache"
        elif not page and path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
