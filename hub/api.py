"""HTTP routes: health and the operator's read API."""

import msgspec
from aiohttp import web

from hub.appkeys import LINK, STORE
from hub.auth import operator_only
from hub.errors import ApiError


def _dumps(value: object) -> str:
    # msgspec writes datetimes as RFC 3339, which the stdlib json cannot.
    return msgspec.json.encode(value).decode()


def json(value: object, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


async def healthz(request: web.Request) -> web.Response:
    link = request.app.get(LINK)
    return json({"ok": True, "link": {"connected": bool(link and link.connected)}})


@operator_only
async def get_order(request: web.Request) -> web.Response:
    order_id = request.match_info["order_id"]
    order = await request.app[STORE].get_order(order_id)
    if order is None:
        raise ApiError(404, "not_found", f"no order {order_id!r}")
    return json(order)


@operator_only
async def list_agents(request: web.Request) -> web.Response:
    return json({"agents": await request.app[STORE].list_agents()})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/v1/orders/{order_id}", get_order)
    app.router.add_get("/api/v1/agents", list_agents)
