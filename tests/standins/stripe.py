"""A stand-in for Stripe's API (Connect + Checkout), for hub tests that cannot reach the internet.

    standin = StripeStandIn(webhook_secret="whsec_test")
    server = await aiohttp_server(standin.app())
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": str(server.make_url(""))})
    session = await asyncio.to_thread(client.v1.checkout.sessions.create, {...})
    events = standin.pay(session.id)          # the diner paid: session complete, PaymentIntent, Charge

Threads: the SDK's default HTTP client is synchronous, so tests call it through asyncio.to_thread
while the stand-in runs on the test's own loop (pytest-aiohttp's aiohttp_server). The test
controls (pay, fail, enable_charges) are plain methods called on that loop; webhook deliveries
they cause run as tasks on it, and `await standin.settle()` waits for them.

Every request is decoded from Stripe's bracket form encoding (stripe_form), shaped to the spec's
types and checked by the strict OpenAPI validator against spec3.json; a request the spec refuses
gets 400 in Stripe's error shape (the SDK raises InvalidRequestError) and is recorded with its
problems. Answers are built from Stripe's example objects (stripe_objects). Idempotency keys work
as Stripe's do; objects made with a Stripe-Account header belong to that connected account and
only that account sees them. One webhook endpoint (`webhook_url`) receives every event, platform
and Connect alike, signed with `webhook_secret` in Stripe's scheme.

Besides the API, two pages stand in for Stripe-hosted ones, for browser tests: the Checkout page
`{base}/checkout/{session}` (a Pay button calls `pay` and redirects to success_url) and Connect
onboarding `{base}/connect/onboard/{account}` (calls `enable_charges`, redirects to return_url).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.standins.stripe_api import StripeApi, StripeError
from tests.standins.stripe_objects import API_VERSION, make_event, make_payment_intent, new_id


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Any
    operation_id: str = ""
    status: int = 0
    problems: list[str] = field(default_factory=list)
    stripe_account: str | None = None
    idempotency_key: str | None = None
    replayed: bool = False


@dataclass
class Delivery:
    event_id: str
    event_type: str
    status: int | None  # None: the endpoint could not be reached
    error: str | None = None


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header value: t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class StripeStandIn(StripeApi):
    def __init__(self, *, webhook_secret: str = "whsec_test_standin", api_key: str | None = None,
                 clock: Callable[[], int] | None = None, api_version: str = API_VERSION) -> None:
        super().__init__(clock=clock or (lambda: int(time.time())), api_key=api_key)
        self.webhook_secret = webhook_secret
        self.api_version = api_version
        self.webhook_url: str | None = None
        self.auto_deliver = True  # False: events are only kept; send them with `await deliver(event)`
        self.deliveries: list[Delivery] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    sign = staticmethod(sign)

    # -- test controls ----------------------------------------------------------------------------

    def pay(self, session_id: str, *, deliver: bool | None = None) -> list[dict[str, Any]]:
        """The customer paid the Checkout Session: returns the events it caused."""
        session = self._control_lookup(self.sessions, session_id, "checkout.session")
        if session["status"] != "open":
            raise ValueError(f"checkout session {session_id} is {session['status']}, it cannot be paid")
        owner = self.owners[session_id]
        intent = self._intent_for(session)
        now = self.clock()
        charge = self._charge_for(intent, now)
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge["id"],
                      last_payment_error=None)
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return self._emit_all([("checkout.session.completed", session), ("payment_intent.succeeded", intent)],
                              owner, deliver)

    def fail(self, session_id: str, *, deliver: bool | None = None) -> list[dict[str, Any]]:
        """A card was declined on the Checkout page: the session stays open."""
        session = self._control_lookup(self.sessions, session_id, "checkout.session")
        if session["status"] != "open":
            raise ValueError(f"checkout session {session_id} is {session['status']}, nobody can try paying it")
        intent = self._intent_for(session)
        intent.update(status="requires_payment_method", last_payment_error={
            "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
            "message": "Your card was declined."})
        return self._emit_all([("payment_intent.payment_failed", intent)], self.owners[session_id], deliver)

    def enable_charges(self, account_id: str, *, deliver: bool | None = None) -> list[dict[str, Any]]:
        """The connected account finished onboarding."""
        account = self._control_lookup(self.accounts, account_id, "account")
        previous = {"charges_enabled": account["charges_enabled"], "payouts_enabled": account["payouts_enabled"],
                    "details_submitted": account["details_submitted"]}
        account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
        account["capabilities"] = {name: "active" for name in account["capabilities"]}
        for due in ("currently_due", "eventually_due", "past_due"):
            if isinstance(account.get("requirements"), dict):
                account["requirements"][due] = []
        if isinstance(account.get("requirements"), dict):
            account["requirements"]["disabled_reason"] = None
        return self._emit_all([("account.updated", account)], account_id, deliver, previous)

    def calls(self, path_or_operation: str) -> list[Recorded]:
        return [r for r in self.requests if path_or_operation in (r.operation_id, r.path)]

    def _control_lookup(self, store: dict[str, dict[str, Any]], object_id: str, kind: str) -> dict[str, Any]:
        if object_id not in store:
            raise KeyError(f"no {kind} {object_id!r} in the Stripe stand-in")
        return store[object_id]

    def _intent_for(self, session: dict[str, Any]) -> dict[str, Any]:
        """The session's PaymentIntent, made at the first payment attempt as Stripe does."""
        intent_id = self.session_intents.get(session["id"])
        if intent_id is None:
            intent = make_payment_intent(session, self.intent_data.get(session["id"], {}), self.clock())
            self._store(self.intents, intent, self.owners[session["id"]])
            self.session_intents[session["id"]] = intent_id = intent["id"]
        return self.intents[intent_id]

    # -- events and webhooks ----------------------------------------------------------------------

    def _emit_all(self, changes: list[tuple[str, dict[str, Any]]], owner: str | None, deliver: bool | None,
                  previous: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        now = self.clock()
        events = [make_event(kind, obj, now, account=owner, previous=previous, api_version=self.api_version)
                  for kind, obj in changes]
        for event in events:
            self._store(self.events, event, owner)
        if self.webhook_url and (self.auto_deliver if deliver is None else deliver):
            self._schedule(events)
        return copy.deepcopy(events)

    def _emit(self, kind: str, obj: dict[str, Any], owner: str | None) -> None:
        self._emit_all([(kind, obj)], owner, None)

    def _schedule(self, events: list[dict[str, Any]]) -> None:
        async def send_in_order() -> None:
            for event in events:
                await self.deliver(event)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None:
            future: asyncio.Future[Any] = running.create_task(send_in_order())
        elif self._loop is not None:  # a control called from another thread: deliver on the server's loop
            future = asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send_in_order(), self._loop), loop=self._loop)
        else:
            raise RuntimeError("no event loop to deliver webhooks on: start the stand-in's app first")
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def deliver(self, event: dict[str, Any]) -> Delivery:
        """POST one event to webhook_url, signed; may be called again to send it twice."""
        if not self.webhook_url:
            raise RuntimeError("set webhook_url before delivering events")
        payload = json.dumps(event, indent=2).encode()  # Stripe sends pretty-printed JSON
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Stripe-Signature": sign(payload, self.webhook_secret),
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
        try:
            async with aiohttp.ClientSession() as http, http.post(self.webhook_url, data=payload,
                                                                   headers=headers) as answer:
                await answer.read()
                delivery = Delivery(event["id"], event["type"], answer.status)
        except aiohttp.ClientError as e:
            delivery = Delivery(event["id"], event["type"], None, f"{type(e).__name__}: {e}")
        self.deliveries.append(delivery)
        return delivery

    async def settle(self) -> None:
        """Wait until every scheduled webhook delivery has been attempted."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # -- the app ----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.on_startup.append(self._remember_loop)
        app.router.add_get("/checkout/{session}", self._checkout_page)
        app.router.add_post("/checkout/{session}/pay", self._checkout_pay)
        app.router.add_get("/connect/onboard/{account}", self._onboard)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def _remember_loop(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()

    async def _checkout_page(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["session"])
        if session is None:
            raise web.HTTPNotFound(text="no such checkout session")
        html = (f"<!doctype html><title>Stripe Checkout (test stand-in)</title>"
                f"<h1>Pay {session['amount_total'] / 100:.2f} {session['currency'].upper()}</h1>"
                f"<p id=status>{session['status']}</p>"
                f"<form method=post action='/checkout/{session['id']}/pay'><button id=pay>Pay</button></form>"
                f"<a id=cancel href='{session['cancel_url'] or '/'}'>Cancel</a>")
        return web.Response(text=html, content_type="text/html")

    async def _checkout_pay(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session"]
        session = self.sessions.get(session_id)
        if session is None or session["status"] != "open":
            raise web.HTTPConflict(text="this checkout session cannot be paid")
        self.pay(session_id)
        raise web.HTTPSeeOther((session["success_url"] or "/").replace("{CHECKOUT_SESSION_ID}", session_id))

    async def _onboard(self, request: web.Request) -> web.Response:
        account_id = request.match_info["account"]
        if account_id not in self.accounts:
            raise web.HTTPNotFound(text="no such account")
        self.enable_charges(account_id)
        raise web.HTTPSeeOther(self.link_return_urls.get(account_id) or "/")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = (await request.read()).decode("utf-8", errors="replace")
        record = Recorded(request.method, request.path, dict(request.query), dict(request.headers), None,
                          stripe_account=request.headers.get("Stripe-Account"),
                          idempotency_key=request.headers.get("Idempotency-Key"))
        self.requests.append(record)
        headers = {"Request-Id": new_id("req_", 14), "Stripe-Version": request.headers.get("Stripe-Version",
                                                                                           self.api_version)}
        try:
            if self.down:
                raise StripeError(500, "An unknown error occurred (the Stripe stand-in is switched off).",
                                  kind="api_error")
            status, body, replayed = self.answer(request.method, request.path, request.query_string, raw,
                                                 request.headers, str(request.url.origin()), record)
        except StripeError as e:
            status, body, replayed = e.status, e.body(), False
        record.status, record.replayed = status, replayed
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        if record.idempotency_key:
            headers["Idempotency-Key"] = record.idempotency_key
        return web.json_response(body, status=status, headers=headers)
