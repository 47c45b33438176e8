"""HTML the diner opens: the table page at /t/{token}, or a clear page when the link is bad."""

from pathlib import Path

from aiohttp import web

from agent import tables
from agent.state import STATE

STATIC = Path(__file__).resolve().parent.parent / "static"
routes = web.RouteTableDef()

_BAD_LINK = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Table link not valid</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;margin:2rem auto;max-width:32rem;padding:0 1rem;color:#1a1a1a}</style>
</head><body><main><h1>This table link is not valid</h1>
<p>The code may have been replaced. Please scan the QR code on your table again, or ask a member of staff.</p>
</main></body></html>"""


@routes.get("/t/{table_token}")
async def table_page(request: web.Request) -> web.StreamResponse:
    table = await request.app[STATE].database.read(tables.by_token, request.match_info["table_token"])
    if table is None:
        return web.Response(text=_BAD_LINK, status=404, content_type="text/html")
    response = web.FileResponse(STATIC / "diner" / "index.html", headers={"Cache-Control": "no-cache"})
    return response


_STAFF = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Tableside staff</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;margin:2rem auto;max-width:36rem;padding:0 1rem;color:#1a1a1a}</style>
</head><body><main><h1>Staff</h1>
<p>The staff dashboard (sign-in, live order board, tables and QR codes) is not built yet.</p>
<p>Until then: kitchen tickets print as orders arrive, and the agent's state (hub link, messages
waiting, each printer's queue and last error) is at <a href="/healthz">/healthz</a>.</p>
</main></body></html>"""


@routes.get("/staff")
async def staff_page(request: web.Request) -> web.Response:
    return web.Response(text=_STAFF, content_type="text/html")
