"""The live board: the staff event stream, open orders, moving an order or a line through the kitchen,
voiding a line, and the calls diners make to staff."""


from aiohttp import web

from agent.orders import order_status
from agent.state import STATE, AgentState
from agent.visits import bill_feed, table_requests
from agent.web import answers as visit
from agent.web import live, sse
from agent.web.errors import domain_error, json_error
from agent.web.json_body import json_object
from agent.web.rate_limits import LIMITS
from agent.web.staff import answers as reply
from agent.web.staff.guard import ALL, FLOOR, staff_user
from contract.openapi import answers

routes = web.RouteTableDef()


routes = web.RouteTableDef()


@routes.get("/api/v1/staff/events")
@answers(200, "text/event-stream")
async def events(request: web.Request) -> web.StreamResponse:
    await staff_user(request, *ALL)
    state = request.app[STATE]
    with state.events.subscribe(staff=True) as subscription:
        return await sse.stream(request, subscription, {"link": state.link.connected})


@routes.get("/api/v1/staff/orders")
@answers(200, reply.Board)
async def list_orders(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    state = request.app[STATE]
    # the stations a kitchen screen can follow: every one a printer serves or a dish is made at
    stations = {s for p in state.config.printers for s in p.stations}
    stations |= {s for item in state.menu.items.values() for s in item.stations}
    return web.json_response({"orders": await state.database.read(order_status.open_orders),
                              "stations": sorted(stations)})


async def _order_changed(state: AgentState, order: dict) -> None:
    live.publish(state, live.order_event(order))
    if order["session_id"]:
        await live.publish_bill(state, order["session_id"])


async def _move(request: web.Request, line: bool) -> web.Response:
    """An order, or one of its lines, to a new status; the diner and the board hear of it."""
    await staff_user(request, *ALL, change=True)
    state = request.app[STATE]
    try:
        status = order_status.check_status((await json_object(request)).get("status"))
        where = (request.match_info["order_id"], _position(request)) if line else (request.match_info["order_id"],)
        change = order_status.set_line_status if line else order_status.set_order_status
        order = await state.database.write(change, *where, status)
    except order_status.StatusError as exc:
        return domain_error(exc)
    await _order_changed(state, order)
    return web.json_response({"order": order})


@routes.post("/api/v1/staff/orders/{order_id}/status")
@answers(200, visit.OneOrder)
async def order_to(request: web.Request) -> web.Response:
    return await _move(request, line=False)


def _position(request: web.Request) -> int:
    try:
        return int(request.match_info["position"])
    except ValueError:
        raise web.HTTPNotFound(reason="no such line") from None


@routes.post("/api/v1/staff/orders/{order_id}/lines/{position}/status")
@answers(200, visit.OneOrder)
async def line_to(request: web.Request) -> web.Response:
    return await _move(request, line=True)


@routes.post("/api/v1/staff/orders/{order_id}/lines/{position}/void")
@answers(200, visit.OneOrder)
async def void(request: web.Request) -> web.Response:
    user = await staff_user(request, "manager", change=True)
    state = request.app[STATE]
    try:
        def void_line(db) -> dict:
            order = order_status.void_line(db, request.match_info["order_id"], _position(request), user.name)
            bill_feed.report(db, state.config, order["session_id"])
            return order

        order = await state.database.write(void_line)
    except order_status.StatusError as exc:
        return domain_error(exc)
    await _order_changed(state, order)
    return web.json_response({"order": order})


@routes.get("/api/v1/staff/flooded")
@answers(200, reply.FloodedTables)
async def flooded(request: web.Request) -> web.Response:
    """Tables whose diners' changes were refused lately for coming too fast (agent/web/rate_limits.py)."""
    await staff_user(request, *ALL)
    return web.json_response({"tables": request.app[LIMITS].flooded()})


@routes.get("/api/v1/staff/requests")
@answers(200, visit.Requests)
async def list_requests(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    return web.json_response({"requests": await request.app[STATE].database.read(table_requests.open_requests)})


@routes.post("/api/v1/staff/requests/{request_id}/ack")
@answers(200, visit.OneRequest)
async def ack_request(request: web.Request) -> web.Response:
    user = await staff_user(request, *FLOOR, change=True)
    state = request.app[STATE]
    acked = await state.database.write(table_requests.acknowledge, request.match_info["request_id"], user.name)
    if acked is None:
        return json_error(404, "not_found", "no such request")
    live.publish(state, ("request", acked, acked["table"]["id"]))
    return web.json_response({"request": acked})
