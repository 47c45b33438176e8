"""The staff side of service: the live board, order and line status, table requests, bills,
payments taken at the table, voids, closing a table, refunds and the day's figures.

Every handler names the roles it allows; changes also need the session's CSRF token
(agent/staff/guard.py)."""

import json

from aiohttp import web

from agent import (
    bill_feed,
    bills,
    held_jobs,
    live,
    order_status,
    outbox,
    reports,
    settlement,
    shares,
    table_requests,
    table_sessions,
)
from agent.dispatch import queue_counts
from agent.orders import POS_DEVICE, add_job
from agent.staff.guard import staff_user
from agent.staff.http import json_object
from agent.state import STATE, AgentState
from agent.table_sessions import now_iso
from agent.web import sse
from agent.web.errors import json_error

routes = web.RouteTableDef()

ALL = ("manager", "server", "kitchen")
FLOOR = ("manager", "server")
PAYMENT_METHODS = ("cash", "terminal")


def _failed(exc: order_status.StatusError | shares.ShareRejected) -> web.Response:
    extra = {"field": exc.field} if getattr(exc, "field", None) else {}
    return json_error(exc.status, exc.code, exc.message, **extra)


@routes.get("/api/v1/staff/events")
async def events(request: web.Request) -> web.StreamResponse:
    await staff_user(request, *ALL)
    state = request.app[STATE]
    with state.events.subscribe(staff=True) as subscription:
        return await sse.stream(request, subscription, {"link": state.link.connected})


@routes.get("/api/v1/staff/orders")
async def list_orders(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    return web.json_response({"orders": await request.app[STATE].database.read(order_status.open_orders)})


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
        return _failed(exc)
    await _order_changed(state, order)
    return web.json_response({"order": order})


@routes.post("/api/v1/staff/orders/{order_id}/status")
async def order_to(request: web.Request) -> web.Response:
    return await _move(request, line=False)


def _position(request: web.Request) -> int:
    try:
        return int(request.match_info["position"])
    except ValueError:
        raise web.HTTPNotFound(reason="no such line") from None


@routes.post("/api/v1/staff/orders/{order_id}/lines/{position}/status")
async def line_to(request: web.Request) -> web.Response:
    return await _move(request, line=True)


@routes.post("/api/v1/staff/orders/{order_id}/lines/{position}/void")
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
        return _failed(exc)
    await _order_changed(state, order)
    return web.json_response({"order": order})


@routes.get("/api/v1/staff/requests")
async def list_requests(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    return web.json_response({"requests": await request.app[STATE].database.read(table_requests.open_requests)})


@routes.post("/api/v1/staff/requests/{request_id}/ack")
async def ack_request(request: web.Request) -> web.Response:
    user = await staff_user(request, *FLOOR, change=True)
    state = request.app[STATE]
    acked = await state.database.write(table_requests.acknowledge, request.match_info["request_id"], user.name)
    if acked is None:
        return json_error(404, "not_found", "no such request")
    live.publish(state, ("request", acked, acked["table"]["id"]))
    return web.json_response({"request": acked})


def _open_bills(db, tax_mode: str) -> list[dict]:
    now = now_iso()
    found = []
    for session_id, table_name, opened_at in db.execute(
            """SELECT s.id, t.name, s.opened_at FROM table_sessions s JOIN tables t ON t.id = s.table_id
               WHERE s.closed_at IS NULL ORDER BY t.name"""):
        bill = bills.load(db, session_id, tax_mode, now)
        found.append({**bill.as_dict(), "table": {"id": bill.table_id, "name": table_name}, "opened_at": opened_at,
                      "payments": _payments(db, session_id)})
    return found


def _payments(db, session_id: str) -> list[dict]:
    return [dict(r) for r in db.query(
        """SELECT id, kind, amount_minor, tip_minor, method, provider, fee_minor, paid_at, taken_by, refunded_minor
           FROM bill_shares WHERE session_id = ? AND status = 'paid' ORDER BY paid_at""", [session_id])]


@routes.get("/api/v1/staff/bills")
async def list_bills(request: web.Request) -> web.Response:
    await staff_user(request, *FLOOR)
    state = request.app[STATE]
    return web.json_response({"bills": await state.database.read(_open_bills, state.config.restaurant.tax_mode)})


async def _session(state: AgentState, request: web.Request) -> dict:
    session = await state.database.read(table_sessions.get, request.match_info["session_id"])
    if session is None:
        raise web.HTTPNotFound(reason="no such bill")
    if session["closed_at"] is not None:
        raise web.HTTPConflict(reason="this table was closed; its bill can no longer change")
    return session


@routes.post("/api/v1/staff/bills/{session_id}/payments")
async def take_payment(request: web.Request) -> web.Response:
    """Cash or the restaurant's own card terminal: body {"method", "share": {share request}}."""
    user = await staff_user(request, *FLOOR, change=True)
    state = request.app[STATE]
    session = await _session(state, request)
    body = await json_object(request)
    if body.get("method") not in PAYMENT_METHODS:
        return json_error(422, "invalid_method", "method must be \"cash\" or \"terminal\"", field="method")
    try:
        share_request = shares.decode_request(_encode(body.get("share", {"kind": "remaining"})))
        def take(db) -> dict:
            paid = shares.take_payment(db, state.config.agent.id, session["id"], share_request,
                                       method=body["method"], tax_mode=state.config.restaurant.tax_mode,
                                       taken_by=user.name)
            settlement.tell_pos(db, state.config, paid)
            bill_feed.report(db, state.config, session["id"])
            return paid

        paid = await state.database.write(take)
    except shares.ShareRejected as exc:
        return _failed(exc)
    state.link.wake()
    state.dispatcher.wake()
    await _after_payment(state, session)
    return web.json_response({"payment": paid}, status=201)


def _encode(value) -> bytes:
    return json.dumps(value).encode()


async def _after_payment(state: AgentState, session: dict) -> None:
    """Publish the bill; close the visit when it is settled and the restaurant wants that."""
    def settle(db) -> list:
        event = live.bill_event(db, session["id"], state.config.restaurant.tax_mode)
        if event and event[1]["settled"] and state.config.restaurant.close_when_paid:
            if table_sessions.close(db, session["id"], "paid"):
                bill_feed.report(db, state.config, session["id"])
                return [event, ("session", {"closed": True, "session_id": session["id"], "reason": "paid"},
                                session["table_id"])]
        return [event]

    live.publish(state, *await state.database.write(settle))


@routes.post("/api/v1/staff/bills/{session_id}/receipt")
async def receipt(request: web.Request) -> web.Response:
    """Print the customer's receipt (the whole bill, or one payment with {"share_id"})."""
    await staff_user(request, *FLOOR, change=True)
    state = request.app[STATE]
    session = await state.database.read(table_sessions.get, request.match_info["session_id"])
    if session is None:
        return json_error(404, "not_found", "no such bill")
    body = await json_object(request) if request.can_read_body else {}
    printer = await state.database.write(settlement.print_receipt, state.config, session["id"],
                                         state.menu.restaurant["name"], body.get("share_id"))
    if printer is None:
        return json_error(409, "no_printer", "no printer is set up for receipts")
    state.dispatcher.wake(printer)
    return web.json_response({"printer": printer}, status=202)


@routes.post("/api/v1/staff/bills/{session_id}/close")
async def close(request: web.Request) -> web.Response:
    user = await staff_user(request, *FLOOR, change=True)
    state = request.app[STATE]
    session = await _session(state, request)
    body = await json_object(request) if request.can_read_body else {}
    bill = await state.database.read(bills.load, session["id"], state.config.restaurant.tax_mode, now_iso())
    if bill.left_minor or bill.held_minor:
        if not body.get("force"):
            return json_error(409, "bill_open", "this bill is not settled yet; record the payment first, "
                                                "or close anyway (managers only)")
        if user.role != "manager":
            return json_error(403, "forbidden", "only a manager can close a table whose bill is not settled")
    def close_table(db) -> None:
        table_sessions.close(db, session["id"], user.name)
        bill_feed.report(db, state.config, session["id"])

    await state.database.write(close_table)
    live.publish(state, ("session", {"closed": True, "session_id": session["id"], "reason": "closed"},
                         session["table_id"]))
    return web.json_response({"closed": True})


@routes.post("/api/v1/staff/shares/{share_id}/refunds")
async def refund(request: web.Request) -> web.Response:
    user = await staff_user(request, "manager", change=True)
    state = request.app[STATE]
    body = await json_object(request)
    amount = body.get("amount_minor")
    if not isinstance(amount, int) or isinstance(amount, bool):
        return json_error(422, "invalid_amount", "amount_minor must be an integer", field="amount_minor")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 200:
        return json_error(422, "invalid_reason", "reason must be text of at most 200 characters", field="reason")
    try:
        made = await state.database.write(shares.request_refund, state.config.agent.id,
                                          request.match_info["share_id"], amount, reason, user.name)
    except shares.ShareRejected as exc:
        return _failed(exc)
    state.link.wake()
    return web.json_response({"refund": made}, status=202)


@routes.get("/api/v1/staff/link")
async def link_status(request: web.Request) -> web.Response:
    await staff_user(request, *ALL)
    state = request.app[STATE]
    waiting = await state.database.read(outbox.waiting)
    return web.json_response({"connected": state.link.connected, "waiting": waiting,
                              "last_ack_at": state.link.last_ack_at.isoformat() if state.link.last_ack_at else None})


@routes.get("/api/v1/staff/report")
async def day_report(request: web.Request) -> web.Response:
    await staff_user(request, "manager")
    state = request.app[STATE]
    day = request.query.get("date")
    try:
        report = await state.database.read(reports.day_report, day, state.config.restaurant.tax_mode)
    except ValueError as exc:
        return json_error(422, "invalid_date", str(exc), field="date")
    if request.query.get("format") == "csv":
        return web.Response(text=reports.as_csv(report), content_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="report-{report["date"]}.csv"'})
    return web.json_response({"report": report})


def _devices_snapshot(db, dispatcher) -> dict:
    counts = queue_counts(db)
    held = held_jobs.list_held(db)
    return {"devices": [{"name": name, "queue": counts.get(name, {}), **health.as_dict(),
                         "held": [j for j in held if j["device"] == name]}
                        for name, health in dispatcher.health.items()]}


@routes.get("/api/v1/staff/devices")
async def devices(request: web.Request) -> web.Response:
    """Each printer and the POS with live status, queue and held tickets, and the hub link."""
    await staff_user(request, *ALL)
    state = request.app[STATE]
    snapshot = await state.database.read(_devices_snapshot, state.dispatcher)
    waiting = await state.database.read(outbox.waiting)
    offline_since = state.link.offline_since
    snapshot["link"] = {"connected": state.link.connected, "waiting": waiting,
                        "last_ack_at": state.link.last_ack_at.isoformat() if state.link.last_ack_at else None,
                        "offline_since": offline_since.isoformat() if offline_since else None}
    snapshot["alerts"] = _alerts(snapshot)
    return web.json_response(snapshot)


def _alerts(snapshot: dict) -> list[str]:
    """What needs a person now: the red banner."""
    alerts = []
    for device in snapshot["devices"]:
        if device["held"]:
            alerts.append(f"{len(device['held'])} ticket(s) held on {device['name']}: print, reprint or drop them")
        if device.get("failures"):
            alerts.append(f"{device['name']} is failing: {device.get('last_error') or 'no answer'}")
    return alerts


@routes.post("/api/v1/staff/devices/{name}/test-print")
async def test_print(request: web.Request) -> web.Response:
    user = await staff_user(request, *ALL, change=True)
    state = request.app[STATE]
    name = request.match_info["name"]
    if name not in state.dispatcher.devices or name == POS_DEVICE:
        return json_error(404, "not_found", f"no printer named {name!r}")
    await state.database.write(add_job, name, "kitchen_ticket", {
        "table_name": "TEST PAGE", "order_number": 0, "placed_at": now_iso(),
        "lines": [{"qty": 1, "name": f"Test print for {name}", "modifiers": [], "course": "",
                   "note": f"Asked by {user.name}. If you can read this, printing works."}]})
    state.dispatcher.wake(name)
    return web.json_response({"queued": True}, status=202)


@routes.post("/api/v1/staff/jobs/{job_id}/{action}")
async def held_job(request: web.Request) -> web.Response:
    """A held ticket: "release" (print as is), "reprint" (marked REPRINT) or "drop"."""
    await staff_user(request, *ALL, change=True)
    state = request.app[STATE]
    action = request.match_info["action"]
    actions = {"release": held_jobs.release, "reprint": held_jobs.reprint, "drop": held_jobs.drop}
    if action not in actions:
        return json_error(404, "not_found", "action must be release, reprint or drop")
    try:
        await state.database.write(actions[action], request.match_info["job_id"])
    except held_jobs.JobError as exc:
        return json_error(409, "not_held", str(exc))
    state.dispatcher.wake()
    return web.json_response({"done": action})
