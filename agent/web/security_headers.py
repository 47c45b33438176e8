"""Headers every answer carries, set in one place after the handler (on_response_prepare).

- Every page: a Content-Security-Policy allowing only the agent's own scripts, styles, images and
  connections, never framed (frame-ancestors, and X-Frame-Options for old browsers), no referrer
  (the table token is in the URL).
- Everything: nosniff, so a note or a name is never taken for a script.
- API answers are private (a bill, orders, every staff read): no-store, unless the handler set its
  own caching (the public menu has an ETag).
"""

from aiohttp import web

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        headers["Content-Security-Policy"] = CSP
        headers["X-Frame-Options"] = "DENY"
        headers.setdefault("Referrer-Policy", "no-referrer")
    elif request.path.startswith("/api/") and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
