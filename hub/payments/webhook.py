"""POST /stripe/webhook: Stripe's events, signature checked by the SDK, each id applied once."""

import logging

import stripe
from aiohttp import web

from contract.openapi import answers
from hub.metrics import METRICS
from hub.payments.answers import WebhookReceived
from hub.payments.context import PAYMENTS
from hub.payments.events import handle_event
from hub.web.errors import ApiError

log = logging.getLogger(__name__)


@answers(200, WebhookReceived, "handled, or seen before")
async def stripe_webhook(request: web.Request) -> web.Response:
    """Counted (tableside_hub_stripe_webhooks_total, and the lag from the event's `created`)."""
    metrics = request.app.get(METRICS)
    try:
        response, type_, result, created = await _handle(request)
    except ApiError as exc:
        if metrics is not None:
            metrics.count_webhook(None, "unconfigured" if exc.status == 503 else exc.code)
        raise
    except Exception:
        if metrics is not None:
            metrics.count_webhook(request.get(_EVENT_TYPE, "other"), "failed")
        raise
    if metrics is not None:
        metrics.count_webhook(type_, result, created)
    return response


_EVENT_TYPE = web.RequestKey("stripe_event_type", str)  # the verified event's type, for a failure's count


def _result(first: bool, outcome: str) -> str:
    if not first:
        return "duplicate"
    return "ignored" if outcome.startswith("ignored") else "applied"


async def _handle(request: web.Request) -> tuple[web.Response, str, str, float | None]:
    """The answer, the event's type, the result word and the event's created time."""
    payments = request.app[PAYMENTS]
    secret = payments.config.stripe_webhook_secret
    if not secret:
        log.warning("stripe webhook refused: no webhook secret configured")
        raise ApiError(503, "unavailable", "Stripe webhooks are not configured on this hub "
                                           "(TABLESIDE_STRIPE_WEBHOOK_SECRET)")
    header = request.headers.get("Stripe-Signature")
    if not header:
        log.warning("stripe webhook without Stripe-Signature from %s", request.remote)
        raise ApiError(400, "missing_signature", "the Stripe-Signature header is missing")
    payload = await request.read()
    try:
        event = stripe.Webhook.construct_event(payload, header, secret)
    except stripe.SignatureVerificationError:
        log.warning("stripe webhook with a bad signature from %s (size %d)", request.remote, len(payload))
        raise ApiError(400, "bad_signature", "the Stripe-Signature does not match this payload and secret, "
                                             "or is too old") from None
    except ValueError:
        log.warning("stripe webhook with a payload that is not an event from %s", request.remote)
        raise ApiError(400, "invalid_payload", "the payload is not a Stripe event") from None
    request[_EVENT_TYPE] = event.type
    body = event.to_dict()
    first, outcome = await handle_event(payments, body)
    response = web.json_response({"received": True, "event_id": event.id, "type": event.type, "first_time": first,
                                  "ignored": outcome.startswith("ignored"), "outcome": outcome})
    return response, event.type, _result(first, outcome), body.get("created")


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/stripe/webhook", stripe_webhook)
