"""Bills at the table: the open bills (and closed ones holding an overpayment to refund), payments
taken by staff (cash, the restaurant's own terminal), printing a receipt, closing a table, and
refunds."""

import json

from aiohttp import web

from agent.state import STATE, AgentState
from agent.visits import bill_feed, bills, settlement, shares, table_sessions, visit_ends
from agent.visits.table_sessions import now_iso
from agent.web import live
from agent.web.errors import domain_error, json_error
from agent.web.json_body import json_object
from agent.web.staff import answers as reply
from agent.web.staff.guard import FLOOR, staff_user
from contract.openapi import answers

routes = web.RouteTableDef()
PAYMENT_METHODS = ("cash", "terminal")


def _open_bills(db, tax_mode: str) -> list[dict]:
    now = now_iso()
    found = []
    for session_id, table_name, opened_at in db.execute(
            """SELECT s.id, t.name, s.opened_at FROM table_sessions s JOIN tables t ON t.id = s.table_id
               WHERE s.closed_at IS NULL OR s.id IN (
                   SELECT session_id FROM bill_shares
                   WHERE status = 'overpaid' AND refunded_minor < amount_minor + tip_minor)
               ORDER BY t.name"""):
        bill = bills.load(db, session_id, tax_mode, now)
        found.append({**bill.as_dict(), "table": {"id": bill.table_id, "name": table_name}, "opened_at": opened_at,
                      "payments": _payments(db, session_id)})
    return found


PAYMENT = ("id", "kind", "status", "amount_minor", "tip_minor", "method", "provider", "fee_minor", "paid_at",
           "taken_by", "refunded_minor")  # what staff see of a payment (not its keys and hashes)


def _payments(db, session_id: str) -> list[dict]:
    return [dict(r) for r in db.query(
        f"""SELECT {', '.join(PAYMENT)} FROM bill_shares WHERE session_id = ? AND status IN ('paid', 'overpaid')
            ORDER BY paid_at""", [session_id])]


@routes.get("/api/v1/staff/bills")
@answers(200, reply.Bills)
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
@answers(201, reply.Taken)
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
        return domain_error(exc)
    state.link.wake()
    state.dispatcher.wake()
    await _after_payment(state, session)
    return web.json_response({"payment": {k: paid[k] for k in PAYMENT}}, status=201)


def _encode(value) -> bytes:
    return json.dumps(value).encode()


async def _after_payment(state: AgentState, session: dict) -> None:
    """Publish the bill; a settled one frees the table (the party's visit goes on, visit_ends.py)."""
    def settle(db) -> list:
        event = bills.bill_event(db, session["id"], state.config.restaurant.tax_mode)
        if event is None:
            return []
        ended = visit_ends.settle_if_paid(db, state.config, session["id"], session["table_id"], event[1]["settled"])
        if ended:
            bill_feed.report(db, state.config, session["id"])
        return [event, *ended]

    live.publish(state, *await state.database.write(settle))


@routes.post("/api/v1/staff/bills/{session_id}/receipt")
@answers(202, reply.Printing)
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
@answers(200, reply.Closed)
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
    live.publish(state, visit_ends.ended_event(session["id"], session["table_id"], "closed"))
    return web.json_response({"closed": True})


@routes.post("/api/v1/staff/shares/{share_id}/release")
@answers(200, reply.Released)
async def release_share(request: web.Request) -> web.Response:
    """One tap when a diner left the pay page without paying: what the share held can be paid by
    the table again. Should that diner still pay, the money shows as paid too much, to refund."""
    user = await staff_user(request, *FLOOR, change=True)
    state = request.app[STATE]

    def release(db) -> str | None:
        share = shares.get(db, request.match_info["share_id"])
        if share is None or not shares.release(db, share["session_id"], share["id"]):
            return None
        bill_feed.report(db, state.config, share["session_id"])
        return share["session_id"]

    session_id = await state.database.write(release)
    if session_id is None:
        return json_error(404, "not_found", "no share is waiting for payment under that id (paid, released or expired)")
    await live.publish_bill(state, session_id)
    return web.json_response({"released": request.match_info["share_id"], "by": user.name})


@routes.post("/api/v1/staff/shares/{share_id}/refunds")
@answers(202, reply.RefundAsked)
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
        return domain_error(exc)
    state.link.wake()
    return web.json_response({"refund": made}, status=202)
