"""The diner's pages: GET /pay/{token} hands a signed share to the provider; the return and cancel
pages show the outcome from the hub's own records and link back to the table.

The return page NEVER records a payment: only the webhook, reconciliation or the demo provider's
own button do, through PaymentService, keyed by the share.
"""

import logging
import time
from datetime import UTC, datetime

from aiohttp import web

from contract import pay_link
from contract.money import exponent
from contract.openapi import answers
from contract.pay_link import PayLinkError, ShareToPay
from hub.payments.context import PAYMENTS, Payments
from hub.payments.providers import ProviderError
from hub.payments.records import Row
from hub.web import html

log = logging.getLogger(__name__)

EXPIRY_LEEWAY_S = 30  # clocks measured over MQTT are good to a few seconds; be kind at the edge
# Stripe wants expires_at at least 30 minutes after the session is made; the extra 5 leave room to
# retry a failed create with the same parameters (service.STALE_CREATING_S)
SESSION_TTL_S = 35 * 60
REFRESH_S = 3
# a 303's header, in the description
ONWARD = {"Location": {"description": "where the diner goes next", "required": True,
                       "schema": {"type": "string"}}}


def _token_head(token: str) -> str:
    return token[:16] + "..." if len(token) > 16 else token


async def verified_share(payments: Payments, token: str) -> ShareToPay:
    """The share if the agent's registered key signed it; PayLinkError otherwise."""
    share = pay_link.peek(token)
    key_text = await payments.store.agent_key(share.agent_id)
    if not key_text:
        raise PayLinkError(f"no public key registered for agent {share.agent_id!r}")
    share = pay_link.verify(token, pay_link.load_public_key(key_text))
    exponent(share.currency)  # ValueError for a currency we cannot take
    return share


@answers(200, "text/html", "a page: paid already, or the demo card page")
@answers(303, None, "on to the checkout", headers=ONWARD)
async def pay(request: web.Request) -> web.StreamResponse:
    payments = request.app[PAYMENTS]
    lang = html.language(request)
    token = request.match_info["token"]
    try:
        share = await verified_share(payments, token)
    except (PayLinkError, ValueError) as exc:
        log.warning("pay link refused token=%s reason=%s", _token_head(token), exc)
        return html.page(lang, "invalid_title", "invalid_body", status=400)
    service = payments.service
    paid = await service.find_payment(share=(share.agent_id, share.share_id))
    if paid is not None:
        log.info("pay link for a paid share share=%s payment=%s", share.share_id, paid["id"])
        return html.page(lang, "paid_title", "paid_body", back=share.return_url,
                         extra=html.amounts(lang, paid["currency"], paid["amount_minor"], paid["tip_minor"]))
    offset_s = await payments.store.agent_clock_offset(share.agent_id) / 1000
    hold_ends = share.expires_at + offset_s
    if time.time() > hold_ends + EXPIRY_LEEWAY_S:
        log.info("expired pay link share=%s expired %.0fs ago", share.share_id, time.time() - hold_ends)
        return html.page(lang, "expired_title", "expired_body", status=410, back=share.return_url)
    restaurant = await service.restaurant_of_agent(share.agent_id)
    if restaurant is None or not (restaurant["charges_enabled"] or payments.provider.name == "demo"):
        log.warning("pay link for agent %s whose restaurant cannot take charges (%s)", share.agent_id,
                    "none" if restaurant is None else restaurant["id"])
        return html.page(lang, "unavailable_title", "unavailable_body", status=503, back=share.return_url)
    decision = await service.decide(share, restaurant, provider=payments.provider.name,
                                    hold_expires_at=datetime.fromtimestamp(hold_ends, UTC),
                                    session_expires_at=int(time.time()) + SESSION_TTL_S)
    if decision.kind == "paid":
        return html.page(lang, "paid_title", "paid_body", back=share.return_url)
    if decision.kind == "bill_done":
        log.info("pay link for a bill already settled share=%s bill=%s", share.share_id, share.bill_id)
        return html.page(lang, "bill_done_title", "bill_done_body", status=409, back=share.return_url)
    if decision.kind == "failed":
        return html.page(lang, "declined_title", "declined_body", status=409, back=share.return_url)
    attempt = decision.attempt
    if decision.kind == "create":
        try:
            checkout = await payments.provider.open_checkout(
                attempt, restaurant["stripe_account_id"],
                success_url=payments.url(f"/pay/done/{attempt['id']}{html.carried(request)}"),
                cancel_url=payments.url(f"/pay/cancelled/{attempt['id']}{html.carried(request)}"))
        except ProviderError as exc:
            log.error("checkout not opened share=%s attempt=%s: %s", share.share_id, attempt["id"], exc)
            return html.page(lang, "provider_title", "provider_body", status=502, back=share.return_url)
        await service.attempt_opened(attempt["id"], checkout.session_id, checkout.url)
        attempt = {**attempt, "session_id": checkout.session_id, "url": checkout.url, "status": "open"}
        log.info("checkout opened share=%s attempt=%s session=%s provider=%s", share.share_id, attempt["id"],
                 checkout.session_id, payments.provider.name)
    if attempt["url"]:
        raise web.HTTPSeeOther(attempt["url"])
    return _demo_page(lang, token, attempt)


def _demo_page(lang: str, token: str, attempt: Row) -> web.Response:
    total = html.money(lang, attempt["amount_minor"] + attempt["tip_minor"], attempt["currency"])
    extra = (html.amounts(lang, attempt["currency"], attempt["amount_minor"], attempt["tip_minor"],
                          attempt["table_name"]) + html.demo_form(lang, token, total))
    return html.page(lang, "demo_title", "demo_check", extra=extra)  # the DEMO line is the form's own


@answers(200, "text/html", "paid already")
@answers(303, None, "on to the outcome page", headers=ONWARD)
async def demo_submit(request: web.Request) -> web.StreamResponse:
    """The demo card page's Pay / Decline: the same service calls a Stripe webhook makes."""
    payments = request.app[PAYMENTS]
    form = await request.post()
    lang = html.language(request, form.get("lang"))
    token, action = form.get("token"), form.get("action")
    if payments.provider.name != "demo":
        return html.page(lang, "not_found_title", "not_found_body", status=404)
    if not isinstance(token, str) or action not in ("pay", "decline"):
        log.warning("demo payment form without token or action")
        return html.page(lang, "invalid_title", "invalid_body", status=400)
    try:
        share = await verified_share(payments, token)
    except (PayLinkError, ValueError) as exc:
        log.warning("demo payment refused token=%s reason=%s", _token_head(token), exc)
        return html.page(lang, "invalid_title", "invalid_body", status=400)
    attempt = await payments.service.open_attempt_of(share.agent_id, share.share_id)
    if attempt is None:
        paid = await payments.service.find_payment(share=(share.agent_id, share.share_id))
        if paid is not None:
            return html.page(lang, "paid_title", "paid_body", back=share.return_url)
        return html.page(lang, "expired_title", "expired_body", status=410, back=share.return_url)
    if action == "pay":
        # the page may have stood open for minutes: the hold and the bill are checked again now
        refusal = await payments.service.refusal(attempt, leeway_s=EXPIRY_LEEWAY_S)
        if refusal == "bill_done":
            return html.page(lang, "bill_done_title", "bill_done_body", status=409, back=share.return_url)
        if refusal == "expired":
            log.info("demo payment after the hold expired share=%s attempt=%s", share.share_id, attempt["id"])
            return html.page(lang, "expired_title", "expired_body", status=410, back=share.return_url)
        await payments.service.record_card_payment(attempt, session_id=attempt["session_id"])
    else:
        await payments.service.record_failure(attempt, "card declined (demo)")
    raise web.HTTPSeeOther(f"/pay/done/{attempt['id']}{html.carried(request, form.get('lang'))}")


@answers(200, "text/html", "the outcome, from the hub's records")
async def done(request: web.Request) -> web.Response:
    """success_url: what the hub's records say, refreshing itself while the webhook is on its way."""
    payments = request.app[PAYMENTS]
    lang = html.language(request)
    attempt = await payments.service.attempt(request.match_info["attempt_id"])
    if attempt is None:
        return html.page(lang, "not_found_title", "not_found_body", status=404)
    back = attempt["return_url"]
    paid = await payments.service.find_payment(share=(attempt["agent_id"], attempt["share_id"]))
    if paid is not None:
        return html.page(lang, "received_title", "received_body", back=back,
                         extra=html.amounts(lang, paid["currency"], paid["amount_minor"], paid["tip_minor"],
                                            paid["table_name"]))
    if attempt["status"] == "failed":
        return html.page(lang, "declined_title", "declined_body", back=back)
    if attempt["status"] == "expired":
        return html.page(lang, "expired_title", "expired_body", back=back)
    return html.page(lang, "processing_title", "processing_body", back=back, refresh_s=REFRESH_S)


@answers(200, "text/html", "the cancel page")
async def cancelled(request: web.Request) -> web.Response:
    payments = request.app[PAYMENTS]
    lang = html.language(request)
    attempt = await payments.service.attempt(request.match_info["attempt_id"])
    if attempt is None:
        return html.page(lang, "not_found_title", "not_found_body", status=404)
    return html.page(lang, "cancelled_title", "cancelled_body", back=attempt["return_url"])


@answers(200, "text/html", "back from Stripe's onboarding")
async def onboarding_returned(request: web.Request) -> web.Response:
    """Stripe's return_url / refresh_url after onboarding: nothing private here; an expired link is
    renewed by the operator (POST /api/v1/restaurants/{id}/onboarding-link)."""
    text = ("Thank you. Stripe is checking your details; card payments start as soon as it confirms."
            if request.match_info["what"] == "done" else
            "This onboarding link has expired. Ask your Tableside contact for a new one.")
    body = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width,initial-scale=1"><title>Onboarding</title></head><body><main>'
            f'<h1>Onboarding</h1><p>{text}</p></main></body></html>')
    return web.Response(text=body, content_type="text/html", headers=html.PAGE_HEADERS)


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/pay/demo", demo_submit)
    app.router.add_get("/pay/done/{attempt_id}", done)
    app.router.add_get("/pay/cancelled/{attempt_id}", cancelled)
    app.router.add_get("/pay/{token}", pay)
    app.router.add_get("/onboarding/{what:done|refresh}", onboarding_returned)
