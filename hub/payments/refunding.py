"""Refunds, full or partial: reserve against what is left, ask the provider, then book it.

The reservation is committed before Stripe is called, so two refunds racing for the same money
cannot both go out; a provider failure frees it again. The platform gives back its fee in
proportion (hub.fees.refund_fee); Stripe is asked to do the same (refund_application_fee) and to
pull the money back from the restaurant's account (reverse_transfer, destination charges).
"""

import logging

from hub.payments.context import Payments
from hub.payments.providers import ProviderError
from hub.payments.records import Row
from hub.payments.service import PaymentError

log = logging.getLogger(__name__)


async def refund_payment(payments: Payments, payment_id: str, amount_minor: int, *, reason: str,
                         requested_by: str, refund_id: str | None = None) -> Row:
    """The refund as it stands afterwards. PaymentError 404/409 before anything moved; 502 when the
    provider refused (the refund is then recorded as failed and its amount free again)."""
    service = payments.service
    refund = await service.reserve_refund(payment_id, amount_minor, reason=reason, requested_by=requested_by,
                                          refund_id=refund_id)
    if refund["status"] != "pending":
        return refund  # the same refund id again: already done
    payment = await service.payment(payment_id)
    try:
        provider_refund_id = await payments.provider.refund(payment, refund)
    except ProviderError as exc:
        await service.fail_refund(refund["id"], str(exc))
        raise PaymentError(502, "provider_error", f"the refund was not made: {exc}") from None
    await service.complete_refund(refund["id"], provider_refund_id)
    return await service.refund(refund["id"])
