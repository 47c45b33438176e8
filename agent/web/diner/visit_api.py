"""The diner's view of their visit: orders and their status, requests to staff, the bill, shares
and pay links, and a live stream of all of it. Everything is scoped to the phone's visit
(visit_cookie.py): the party's after their bill is paid, the table's current one for a new scan,
so a new party never sees the previous one's orders or bill, nor the other way round."""

from datetime import datetime

from aiohttp import web

from agent.orders import order_status
from agent.state import STATE, AgentState
from agent.visits import bills, shares, table_requests, table_sessions
from agent.visits.table_sessions import now_iso
from agent.visits.tables import Table
from agent.web import answers as reply
from agent.web import live, sse
from agent.web.diner import visit_cookie
from agent.web.diner.orders_api import IDEMPOTENCY_KEY, table_of
from agent.web.errors import json_error
from agent.web.json_body import json_bytes, json_object
from agent.web.rate_limits import LIMITS
from contract import pay_link
from contract.openapi import answers

routes = web.RouteTableDef()


def _rejected(exc: shares.ShareRejected) -> web.Response:
    extra = {"field": exc.field} if exc.field else {}
    return json_error(exc.status, exc.code, exc.message, **extra)


@routes.get("/api/v1/tables/{table_token}/orders")
@answers(200, reply.Orders)
async def get_orders(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = await table_of(request)
    session = (await visit_cookie.visit_of(request, table)).session
    found = await state.database.read(order_status.session_orders, session.id) if session else []
    response = web.json_response({"orders": found})
    visit_cookie.remember(request, response, table, session.visit_key if session else None)
    return response


def _visit_of_event(kind: str, data: dict) -> str | None:
    """The visit an event is about (None: the restaurant's, such as the menu)."""
    return data.get("id") if kind == "bill" else data.get("session_id")


@routes.get("/api/v1/tables/{table_token}/events")
@answers(200, "text/event-stream")
async def events(request: web.Request) -> web.StreamResponse:
    """The phone's visit, live: its events only.

    A phone at a table with no visit yet follows the next one to start (the table's current visit
    when its first event comes), never a paid visit still going on for its party."""
    state = request.app[STATE]
    table = await table_of(request)
    with state.events.subscribe(table_id=table.id) as subscription:
        visit = await visit_cookie.visit_of(request, table)
        following = visit.session.id if visit.session else None
        ended = visit.ended_key is not None

        async def admit(kind: str, data: dict) -> bool:
            nonlocal following
            about = _visit_of_event(kind, data)
            if about is None or about == following:
                return True
            if following is None and not ended and await state.database.read(table_sessions.is_current, table.id, about):
                following = about
                return True
            return False

        return await sse.stream(request, subscription, {"session_id": following}, admit)


@routes.post("/api/v1/tables/{table_token}/requests")
@answers(201, reply.OneRequest)
async def post_request(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = await table_of(request)
    request.app[LIMITS].check(request, table.id, table.name, state.events)
    kind = (await json_object(request)).get("kind")
    if kind not in table_requests.KINDS:
        return json_error(422, "invalid_kind", "kind must be \"waiter\" or \"bill\"", field="kind")
    created = await state.database.write(table_requests.create, table.id, kind, visit_cookie.key_of(request))
    live.publish(state, ("request", created, table.id))
    return web.json_response({"request": created}, status=201)


def _bill_body(state: AgentState, bill: bills.Bill | None) -> dict:
    currency = state.menu.restaurant["currency"]
    empty = {"id": None, "version": "", "currency": currency, "tax_mode": state.config.restaurant.tax_mode, "lines": [],
             "subtotal_minor": 0, "taxes": [], "total_minor": 0, "paid_minor": 0, "held_minor": 0, "left_minor": 0,
             "tips_minor": 0, "overpaid_minor": 0, "refunded_minor": 0, "settled": False, "shares": []}
    return {"bill": bill.as_dict() if bill else empty, "pay": {"hub_online": state.link.connected}}


@routes.get("/api/v1/tables/{table_token}/bill")
@answers(200, reply.Bill)
async def get_bill(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = await table_of(request)
    session = (await visit_cookie.visit_of(request, table)).session
    bill = await state.database.read(bills.load, session.id, state.config.restaurant.tax_mode,
                                     now_iso()) if session else None
    response = web.json_response(_bill_body(state, bill))
    visit_cookie.remember(request, response, table, session.visit_key if session else None)
    return response


@routes.post("/api/v1/tables/{table_token}/bill/shares")
@answers(201, reply.ShareLink)
async def post_share(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = await table_of(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return json_error(400, "bad_idempotency_key", "Idempotency-Key must be 8-200 printable characters",
                          field="Idempotency-Key")
    request.app[LIMITS].check(request, table.id, table.name, state.events)
    body = await json_bytes(request)
    session = (await visit_cookie.visit_of(request, table)).session
    if session is None:
        return json_error(409, "nothing_to_pay", "there is nothing on this table's bill yet")
    try:
        share_request = shares.decode_request(body)
        share = await state.database.write(lambda db: shares.create(
            db, session.id, share_request, tax_mode=state.config.restaurant.tax_mode,
            hold_seconds=state.config.payments.hold_minutes * 60, idempotency_key=key,
            body_hash=shares.request_hash(body)))
    except shares.ShareRejected as exc:
        return _rejected(exc)
    await live.publish_bill(state, session.id)
    return web.json_response({"share": _share_body(share), "pay_url": pay_url(state, table, share)}, status=201)


@routes.delete("/api/v1/tables/{table_token}/bill/shares/{share_id}")
@answers(204)
async def delete_share(request: web.Request) -> web.Response:
    state = request.app[STATE]
    table = await table_of(request)
    session = (await visit_cookie.visit_of(request, table)).session
    released = session is not None and await state.database.write(
        shares.release, session.id, request.match_info["share_id"])
    if not released:
        return json_error(404, "not_found", "no share of this bill is waiting for payment under that id")
    await live.publish_bill(state, session.id)
    return web.Response(status=204)


def _share_body(share: dict) -> dict:
    return {k: share[k] for k in ("id", "kind", "amount_minor", "tip_minor", "total_minor", "currency",
                                  "expires_at", "status")}


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def pay_url(state: AgentState, table: Table, share: dict) -> str:
    """The hub's pay page for this share, signed by this agent so the hub can trust it on its own."""
    if state.signing_key is None:
        raise web.HTTPServiceUnavailable(reason="this agent has no signing key; payments are not set up")
    restaurant = state.menu.restaurant["name"]
    token = pay_link.sign(pay_link.ShareToPay(
        v=pay_link.VERSION, agent_id=state.config.agent.id, share_id=share["id"], bill_id=share["session_id"],
        table_name=table.name, currency=share["currency"], amount_minor=share["amount_minor"],
        tip_minor=share["tip_minor"], description=f"{restaurant} · {table.name}",
        issued_at=_unix(share["created_at"]), expires_at=_unix(share["expires_at"]),
        # straight back to the bill: no hop through the phone's memory, and it works from the service
        # worker's copy when the phone is on mobile data (docs/bills.md, "Back to your table")
        return_url=f"{state.config.public_url}/t/{table.token}#bill"), state.signing_key)
    return f"{state.config.hub.url.rstrip('/')}/pay/{token}"
