"""What the hub does with the payment messages agents send over the link (wired in hub/link/applying.py).

    payment.taken     -> apply_payment_taken(store, env, data)
    refund.requested  -> apply_refund_requested(app_or_payments, env, data)

Both are idempotent: the same message (or the same payment / refund id) again changes nothing.
Both raise PaymentMessageRejected for a message that can never be applied: record it as rejected
and ack it, as for any other bad message.
"""

import logging
from datetime import UTC, datetime

from aiohttp import web

from contract.envelope import Envelope
from contract.messages import PaymentTaken, RefundRecorded, RefundRequested
from hub.link.applying import PrerequisiteMissing
from hub.payments.context import PAYMENTS, Payments
from hub.payments.refunding import refund_payment
from hub.payments.service import PaymentError, PaymentMessageRejected, PaymentService
from hub.store import HubStore

log = logging.getLogger(__name__)


async def apply_payment_taken(store: HubStore, env: Envelope, data: PaymentTaken) -> bool:
    """Cash or the restaurant's own terminal: payment row, ledger (fee owed if the plan says so) and
    the message id, in one transaction. True when applied, False for a duplicate."""
    return await PaymentService(store.engine).apply_payment_taken(env, data)


async def apply_refund_requested(app_or_payments: web.Application | Payments, env: Envelope,
                                 data: RefundRequested) -> str:
    """Staff asked for a refund: refund it through the provider (idempotent by refund_id); the agent
    hears the result as RefundRecorded (succeeded or failed, e.g. more than is left). The outcome
    ("succeeded", "pending", "failed"), PaymentMessageRejected for a payment that is not this agent's,
    PrerequisiteMissing for a payment the hub has not heard of yet."""
    payments = app_or_payments[PAYMENTS] if isinstance(app_or_payments, web.Application) else app_or_payments
    payment = await payments.service.payment(data.payment_id)
    if payment is None:
        # a payment.taken sent before it may still be in flight (on another hub worker, say): never
        # refused for arriving first; the intake tries it again
        raise PrerequisiteMissing(f"no payment {data.payment_id!r} yet")
    if payment["agent_id"] != env.agent_id:
        raise PaymentMessageRejected(f"no payment {data.payment_id!r} of agent {env.agent_id!r}")
    try:
        refund = await refund_payment(payments, data.payment_id, data.amount_minor, reason=data.reason,
                                      requested_by=f"staff:{env.agent_id}", refund_id=data.refund_id)
    except PaymentError as exc:
        if exc.status != 502:  # refused before anything moved (e.g. more than is left): tell staff
            await payments.store.enqueue_down(env.agent_id, RefundRecorded(
                refund_id=data.refund_id, payment_id=payment["id"], share_id=payment["share_id"],
                currency=payment["currency"], amount_minor=data.amount_minor,
                refunded_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                status="failed", reason=exc.message[:200]))
            payments.service.wake(env.agent_id)
        log.warning("refund.requested agent=%s refund=%s failed: %s", env.agent_id, data.refund_id, exc.message)
        return "failed"  # (a provider failure was recorded as failed and told to the agent already)
    log.info("refund.requested agent=%s refund=%s payment=%s status=%s", env.agent_id, data.refund_id,
             data.payment_id, refund["status"])
    return refund["status"]
