"""HTTP routes: health and the operator's read API."""

import asyncio

import msgspec
from aiohttp import web
from sqlalchemy import func, select

from contract.openapi import answers
from hub.appkeys import LINK, STORE
from hub.store.tables import inbox
from hub.web import html
from hub.web.answers import Agents, Health, Order
from hub.web.auth import operator_only
from hub.web.errors import ApiError


def _dumps(value: object) -> str:
    # msgspec writes datetimes as RFC 3339, which the stdlib json cannot.
    return msgspec.json.encode(value).decode()


def json(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


_HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Tableside hub</title>
<style>body{{font:1rem/1.5 system-ui,sans-serif;margin:2rem auto;max-width:40rem;padding:0 1rem;color:#1a1a1a}}
code{{background:#f2f2f2;padding:0 .25rem}}</style></head><body><main>
<h1>Tableside hub</h1><p>Link to the agents: <strong>{link}</strong>.</p>
<p>Operators use the API with their bearer token: <code>GET /api/v1/agents</code>,
<code>GET /api/v1/orders/{{order_id}}</code>. Health: <a href="/healthz">/healthz</a>.</p>
</main></body></html>"""


@answers(200, "text/html")
async def home(request: web.Request) -> web.Response:
    """A human page for whoever opens the hub's URL; nothing private on it."""
    link = request.app.get(LINK)
    state = "connected" if link and link.connected else "not connected"
    return web.Response(text=_HOME.format(link=state), content_type="text/html", headers=html.PAGE_HEADERS)


@answers(200, Health)
async def healthz(request: web.Request) -> web.Response:
    link = request.app.get(LINK)
    return json({"ok": True, "link": {"connected": bool(link and link.connected)}})


@operator_only
@answers(200, Order)
async def get_order(request: web.Request) -> web.Response:
    order_id = request.match_info["order_id"]
    order = await request.app[STORE].get_order(order_id)
    if order is None:
        raise ApiError(404, "not_found", f"no order {order_id!r}")
    return json(order)


@operator_only
@answers(200, Agents)
async def list_agents(request: web.Request) -> web.Response:
    """Every agent with its presence and what waits on the link: `down_waiting` is exact (the
    hub's own outbox); the agent's outbox is on the agent, so up is what the hub last applied
    (`up_last_seq`) and the agent's staff page shows how many wait there. `devices`: each printer
    and POS as the agent last reported it, so a printer out of paper shows across restaurants."""
    store = request.app[STORE]
    agents = await store.list_agents()
    down = await store.down_waiting_per_agent()
    up = await asyncio.to_thread(_up_last_seq, store.engine)
    devices = await store.device_summaries()
    for agent in agents:
        agent["presence"] = {"online": agent["online"], "last_seen_at": agent["last_seen_at"],
                             "down_waiting": down.get(agent["id"], 0), "up_last_seq": up.get(agent["id"], 0)}
        agent["devices"] = devices.get(agent["id"], [])
    return json({"agents": agents})


def _up_last_seq(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(inbox.c.agent_id, func.max(inbox.c.seq)).group_by(inbox.c.agent_id))
        return {agent_id: seq or 0 for agent_id, seq in rows}


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/orders/{order_id}", get_order)
    app.router.add_get("/api/v1/agents", list_agents)
