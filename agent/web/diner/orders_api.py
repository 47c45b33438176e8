"""The agent's JSON API for diners (v1)."""

import re

from aiohttp import web

from agent.devices.dispatch import queue_counts
from agent.menu.pricing import OrderRejected, decode_request, price, request_hash
from agent.orders import place
from agent.state import STATE
from agent.store import outbox
from agent.visits import tables
from agent.web import answers as reply
from agent.web import live
from agent.web.compressed import HOT, respond
from agent.web.diner import visit_cookie
from agent.web.errors import json_error
from agent.web.json_body import json_bytes
from agent.web.metrics import METRICS, allowed
from agent.web.rate_limits import LIMITS
from contract.openapi import answers

routes = web.RouteTableDef()

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")  # printable ASCII, no spaces


def _rejected(exc: OrderRejected) -> web.Response:
    extra = {"field": exc.field} if exc.field else {}
    return json_error(exc.status, exc.code, exc.message, **extra)


async def table_of(request: web.Request) -> tables.Table:
    table = request.app[STATE].tables.get(request.match_info["table_token"])
    if table is None:
        raise web.HTTPNotFound(reason="this table link is not valid (it may have been replaced); scan the code on the table again")
    return table


@routes.get("/api/v1/menu")
@answers(200, reply.Menu)
@answers(304, why="the phone has this menu (ETag)")
async def get_menu(request: web.Request) -> web.StreamResponse:
    body, etag = request.app[STATE].menu.public(request.query.get("lang"))
    # the etag names this menu in this language
    ready = request.app[HOT].get(("menu", etag), lambda: body, "application/json", {"Cache-Control": "no-cache"})
    return respond(request, ready)


@routes.get("/api/v1/tables/{table_token}")
@answers(200, reply.TablePage)
async def get_table(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = await table_of(request)
    visit = await visit_cookie.visit_of(request, table)
    session = visit.session
    restaurant = state.menu.restaurant
    response = web.json_response({
        "table": {"name": table.name},
        "restaurant": {"name": restaurant["name"], "currency": restaurant["currency"],
                       "locale": restaurant.get("locale", "en")},
        # the phone's visit: after the bill is paid (settled) it goes on for the party until all is served
        "session": {"id": session.id, "opened_at": session.opened_at, "settled": session.settled_at is not None,
                    "receipt_url": visit_cookie.receipt_url(session.visit_key)} if session else None,
        # the phone's visit is over: say thank you with its receipt, not show the next party's table
        "ended": {"receipt_url": visit_cookie.receipt_url(visit.ended_key)} if visit.ended_key else None,
        "hub_online": state.link.connected})
    visit_cookie.remember(request, response, table, session.visit_key if session else None)
    return response


@routes.delete("/api/v1/tables/{table_token}/visit")
@answers(204)
async def leave_visit(request: web.Request) -> web.Response:
    """Forget this phone's visit ("Start a new order" after it ended).

    From now on the phone sees the table as a new scan does."""
    table = await table_of(request)
    response = web.Response(status=204)
    visit_cookie.forget(request, response, table)
    return response


@routes.post("/api/v1/tables/{table_token}/orders")
@answers(201, reply.PlacedOrder, why="placed, or placed before under this Idempotency-Key (Idempotent-Replayed: true)")
async def post_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    key = request.headers.get("Idempotency-Key", "")
    if not IDEMPOTENCY_KEY.match(key):
        return json_error(400, "idempotency_key_required",
                          "send an Idempotency-Key header (8-200 printable characters) so a retry cannot order twice",
                          field="Idempotency-Key")
    table = await table_of(request)
    request.app[LIMITS].check(request, table.id, table.name, state.events)
    body = await json_bytes(request)
    try:
        order_request = decode_request(body)
        priced = price(state.menu, order_request)
        with state.dispatcher.placing():  # tickets give way to the orders they are for
            placed = await state.database.write(place.place_order, state.config, table, priced, key,
                                                request_hash(order_request), visit_cookie.key_of(request))
    except OrderRejected as exc:
        return _rejected(exc)
    if not placed.replayed:
        request.app[METRICS].orders.inc()
        state.dispatcher.wake()
        state.link.wake()
        live.order_placed(state, placed.view)
    headers = {"Idempotent-Replayed": "true"} if placed.replayed else {}
    response = web.json_response({"order": placed.order}, status=201, headers=headers)
    visit_cookie.remember(request, response, table, placed.visit_key)
    return response


@routes.get("/api/v1/tables/{table_token}/orders/{order_id}")
@answers(200, reply.PlacedOrder)
async def get_order(request: web.Request) -> web.Response:
    """One order of the phone's visit: an order id alone, or a closed visit, shows nothing."""
    table = await table_of(request)
    session = (await visit_cookie.visit_of(request, table)).session

    def read(db) -> dict | None:
        row = db.execute("SELECT session_id FROM orders WHERE id = ? AND table_id = ?",
                         [request.match_info["order_id"], table.id]).fetchone()
        if session is None or row is None or row[0] != session.id:
            return None
        return place.get_order(db, request.match_info["order_id"])

    order = await request.app[STATE].database.read(read)
    if order is None:
        return json_error(404, "not_found", "no such order at this table")
    return web.json_response({"order": order})


@routes.get("/healthz")
@answers(200, reply.Alive)
async def health(request: web.Request) -> web.Response:
    """Alive, for anyone; the link, the queues and each device's errors only for the box's own
    monitoring (loopback): a diner on the Wi-Fi learns nothing about the kitchen from it."""
    if not allowed(request.remote, []):  # the box itself only, as for /metrics' loopback rule
        return web.json_response({"ok": True})
    state = request.app[STATE]
    waiting = await state.database.read(outbox.waiting)
    devices = await state.database.read(queue_counts)
    return web.json_response({
        "ok": True,
        "link": {"connected": state.link.connected, "waiting": waiting,
                 "last_ack_at": state.link.last_ack_at.isoformat() if state.link.last_ack_at else None,
                 "certificate": state.renewal.status() if state.renewal else None},
        "devices": {name: {"queue": devices.get(name, {}), **health.as_dict()}
                    for name, health in state.dispatcher.health.items()},
    })
