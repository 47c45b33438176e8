"""Stripe events -> payment state. Used by the webhook and by reconciliation alike.

Every handler is idempotent on its own (a share is paid once, a refund completed once, an older
account.updated never overwrites a newer one), and each event id is recorded once it was handled:
duplicates, retries and out-of-order delivery change nothing after the first effect. An event for
a session or payment the hub does not know is answered and ignored, never guessed at.
"""

import logging
from typing import Any

from hub.payments.context import Payments
from hub.payments.providers import ProviderError
from hub.payments.stripe_provider import from_stripe

log = logging.getLogger(__name__)

HANDLED = ("checkout.session.completed", "checkout.session.expired", "payment_intent.succeeded", "payment_intent.payment_failed",
           "charge.refunded", "account.updated")
Event = dict[str, Any]


def _id(value: Any) -> str | None:
    """A Stripe reference, expanded (an object) or not (its id)."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


async def handle_event(payments: Payments, event: Event) -> tuple[bool, str]:
    """(first time seen, outcome). The outcome is kept with the event id."""
    service = payments.service
    if await service.event_seen(event["id"]):
        return False, "duplicate event: already handled"
    outcome = await apply_event(payments, event)
    first = await service.record_event(event["id"], event["type"], outcome)
    level = logging.WARNING if outcome.startswith("ignored") else logging.INFO
    log.log(level, "stripe event id=%s type=%s outcome=%s", event["id"], event["type"], outcome)
    return first, outcome


async def apply_event(payments: Payments, event: Event) -> str:
    kind, obj = event["type"], event["data"]["object"]
    if kind == "checkout.session.completed":
        return await session_completed(payments, obj)
    if kind == "checkout.session.expired":
        return await session_expired(payments, obj)
    if kind == "payment_intent.succeeded":
        return await intent_succeeded(payments, obj)
    if kind == "payment_intent.payment_failed":
        return await intent_failed(payments, obj)
    if kind == "charge.refunded":
        return await charge_refunded(payments, obj)
    if kind == "account.updated":
        return await payments.service.account_updated(obj["id"], bool(obj.get("charges_enabled")),
                                                      int(event.get("created") or 0))
    return f"ignored: {kind} is not handled"


def _amount_differs(attempt: dict[str, Any], amount: Any, currency: Any) -> bool:
    if str(currency or "").upper() != attempt["currency"] or not isinstance(amount, int):
        return True
    return from_stripe(amount, attempt["currency"]) != attempt["amount_minor"] + attempt["tip_minor"]


async def session_completed(payments: Payments, session: dict[str, Any]) -> str:
    if session.get("payment_status") != "paid":
        return f"ignored: session payment_status is {session.get('payment_status')}"
    metadata = session.get("metadata") or {}
    attempt = await payments.service.find_attempt(session_id=session["id"], attempt_id=metadata.get("attempt_id"))
    if attempt is None:
        return f"ignored: unknown checkout session {session['id']}"
    if _amount_differs(attempt, session.get("amount_total"), session.get("currency")):
        log.error("session %s amount %s %s differs from attempt %s", session["id"], session.get("amount_total"),
                  session.get("currency"), attempt["id"])
        return "ignored: amount differs from the share"
    outcome, payment = await payments.service.record_card_payment(
        attempt, session_id=session["id"], intent_id=_id(session.get("payment_intent")))
    return f"{outcome}: payment {payment['id']}"


async def session_expired(payments: Payments, session: dict[str, Any]) -> str:
    """Stripe closed the session (its expires_at passed, or we expired it): the diner can no longer
    pay there, so the agent frees the share's hold at once instead of when its own clock runs out."""
    metadata = session.get("metadata") or {}
    attempt = await payments.service.find_attempt(session_id=session["id"], attempt_id=metadata.get("attempt_id"))
    if attempt is None:
        return f"ignored: unknown checkout session {session['id']}"
    if attempt["status"] not in ("open", "creating"):
        return f"ignored: attempt is {attempt['status']}"
    told = await payments.service.attempt_expired(attempt["id"])
    return "expired: the agent frees the hold" if told else "expired"


async def intent_succeeded(payments: Payments, intent: dict[str, Any]) -> str:
    metadata = intent.get("metadata") or {}
    attempt = await payments.service.find_attempt(attempt_id=metadata.get("attempt_id"))
    if attempt is None:
        return f"ignored: unknown payment intent {intent['id']}"
    if _amount_differs(attempt, intent.get("amount_received") or intent.get("amount"), intent.get("currency")):
        log.error("intent %s amount differs from attempt %s", intent["id"], attempt["id"])
        return "ignored: amount differs from the share"
    outcome, payment = await payments.service.record_card_payment(
        attempt, intent_id=intent["id"], charge_id=_id(intent.get("latest_charge")))
    return f"{outcome}: payment {payment['id']}"


async def intent_failed(payments: Payments, intent: dict[str, Any]) -> str:
    """A decline. Stripe keeps the session open for another card, but the agent frees the share's
    hold on PaymentFailed: so the session is expired first, and the agent told only once no later
    payment can arrive for it (docs/payments.md, "The pay path")."""
    metadata = intent.get("metadata") or {}
    attempt = await payments.service.find_attempt(attempt_id=metadata.get("attempt_id"))
    if attempt is None:
        return f"ignored: unknown payment intent {intent['id']}"
    if attempt["status"] not in ("open", "creating"):
        return f"ignored: attempt is {attempt['status']}"
    try:
        status = await payments.provider.expire_checkout(attempt)
    except ProviderError as exc:
        return f"ignored: could not close the session ({exc})"  # the reconciler expires it with the hold
    if status != "expired":
        return f"ignored: session is {status}"
    error = intent.get("last_payment_error") or {}
    reason = error.get("decline_code") or error.get("code") or "declined"
    return await payments.service.record_failure(attempt, reason)


async def charge_refunded(payments: Payments, charge: dict[str, Any]) -> str:
    service = payments.service
    payment = await service.find_payment(intent_id=_id(charge.get("payment_intent")), charge_id=charge["id"])
    if payment is None:
        return f"ignored: unknown charge {charge['id']}"
    listing = getattr(payments.provider, "refunds_of_charge", None)
    refunds = await listing(charge["id"]) if listing else (charge.get("refunds") or {}).get("data", [])
    outcomes = []
    for refund in sorted(refunds, key=lambda r: (r.get("created") or 0, r["id"])):
        if refund.get("status") != "succeeded":
            continue
        if await service.refund_by_provider_id(refund["id"]) is not None:
            outcomes.append(f"{refund['id']}: known")
            continue
        ours = (refund.get("metadata") or {}).get("refund_id")
        mine = await service.refund(ours) if ours else None
        if mine is not None and mine["payment_id"] == payment["id"]:
            # our refund whose API answer has not been booked yet: book it now, once
            outcomes.append(f"{refund['id']}: {await service.complete_refund(mine['id'], refund['id'])}")
        else:
            amount = from_stripe(int(refund["amount"]), payment["currency"])
            outcome = await service.record_outside_refund(payment["id"], refund["id"], amount)
            outcomes.append(f"{refund['id']}: outside {outcome}")
    return "; ".join(outcomes) or "nothing to record"
