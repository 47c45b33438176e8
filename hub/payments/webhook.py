"""POST /stripe/webhook: Stripe's events, signature checked by the SDK, each id applied once."""

import logging

import stripe
from aiohttp import web

from hub.payments.context import PAYMENTS
from hub.payments.events import handle_event
from hub.web.errors import ApiError

log = logging.getLogger(__name__)


async def stripe_webhook(request: web.Request) -> web.Response:
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
    first, outcome = await handle_event(payments, event.to_dict())
    return web.json_response({"received": True, "event_id": event.id, "type": event.type, "first_time": first,
                              "ignored": outcome.startswith("ignored"), "outcome": outcome})


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/stripe/webhook", stripe_webhook)
