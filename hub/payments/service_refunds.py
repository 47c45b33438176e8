"""Refunds: reserved against what is left of a payment, completed (ledger set, fee back in
proportion, RefundRecorded to the agent) or failed, each in ONE transaction; refunds made in
Stripe's own dashboard recorded like ours."""

import logging

from sqlalchemy import Connection

from contract import messages
from contract.ids import uuid7
from hub.payments import ledger, records
from hub.payments.fees import refund_fee
from hub.payments.records import Row
from hub.payments.service_base import PaymentError, Transactions
from hub.payments.service_base import iso as _iso
from hub.store.downlink import enqueue_down

log = logging.getLogger(__name__)


class RefundsMixin(Transactions):
    async def reserve_refund(self, payment_id: str, amount_minor: int, *, reason: str, requested_by: str,
                             refund_id: str | None = None) -> Row:
        """A pending refund counted against what is left; the existing one for a known refund_id.
        PaymentError: 404 no payment, 409 not a card payment or more than is left."""
        def reserve(conn: Connection) -> Row:
            if refund_id is not None:
                known = records.refund(conn, refund_id)
                if known is not None:
                    if known["payment_id"] != payment_id or known["amount_minor"] != amount_minor:
                        raise PaymentError(409, "refund_id_reused", f"refund {refund_id} was asked with other values")
                    return known
            payment = records.payment(conn, payment_id)
            if payment is None:
                raise PaymentError(404, "not_found", f"no payment {payment_id!r}")
            if payment["provider"] == "external":
                raise PaymentError(409, "not_a_card_payment", "this payment did not go through the platform "
                                                              "(cash or the restaurant's own terminal)")
            if not records.reserve_refund(conn, payment_id, amount_minor):
                left = records.payment(conn, payment_id)
                remaining = left["amount_minor"] + left["tip_minor"] - left["refund_reserved_minor"]
                raise PaymentError(409, "exceeds_refundable",
                                   f"amount_minor {amount_minor} is more than is left to refund ({remaining})")
            row = {"id": refund_id or uuid7(), "payment_id": payment_id, "amount_minor": amount_minor,
                   "status": "pending", "reason": reason[:500], "requested_by": requested_by,
                   "created_at": records.now()}
            records.insert_refund(conn, row)
            return records.refund(conn, row["id"])
        return await self._tx(reserve)

    async def complete_refund(self, refund_id: str, provider_refund_id: str | None) -> str:
        """The provider refunded it: ledger set (fee back in proportion) and RefundRecorded to the agent."""
        outcome, agent_id, provider = await self._tx(self._complete_refund, refund_id, provider_refund_id)
        if outcome == "succeeded":
            log.info("refund succeeded refund=%s provider_refund=%s", refund_id, provider_refund_id)
            self.count(provider, "refunded")
            self._woken(agent_id)
        return outcome

    def _complete_refund(self, conn: Connection, refund_id: str,
                         provider_refund_id: str | None) -> tuple[str, str, str]:
        """(outcome, the agent to wake, the payment's provider)."""
        refund = records.refund(conn, refund_id)
        if refund is None:
            raise PaymentError(404, "not_found", f"no refund {refund_id!r}")
        moment = records.now()
        # The conditional update goes first: it locks the row, so a racing completion finds it done.
        if not records.set_refund(conn, refund_id, when_status="pending", status="succeeded",
                                  provider_refund_id=provider_refund_id, done_at=moment):
            return "duplicate", "", ""
        payment = records.payment(conn, refund["payment_id"])
        after = records.add_refunded(conn, payment["id"], refund["amount_minor"])
        charge = payment["amount_minor"] + payment["tip_minor"]
        fee_back = refund_fee(payment["fee_minor"], charge, after - refund["amount_minor"], refund["amount_minor"])
        records.set_refund(conn, refund_id, fee_refunded_minor=fee_back)
        entries = ledger.refund_entries(payment["restaurant_id"], payment["currency"], refund["amount_minor"], fee_back)
        records.append_entries(conn, entries, restaurant_id=payment["restaurant_id"], payment_id=payment["id"],
                               refund_id=refund_id)
        enqueue_down(conn, payment["agent_id"], messages.RefundRecorded(
            refund_id=refund_id, payment_id=payment["id"], share_id=payment["share_id"],
            currency=payment["currency"], amount_minor=refund["amount_minor"], refunded_at=_iso(moment),
            reason=refund["reason"]))
        return "succeeded", payment["agent_id"], payment["provider"]

    async def fail_refund(self, refund_id: str, failure: str) -> str:
        """The provider refused: free the reserved amount; staff who asked hear it failed."""
        def fail(conn: Connection) -> tuple[str, str, str]:
            """(outcome, the agent to wake, the payment's provider)."""
            refund = records.refund(conn, refund_id)
            if refund is None or not records.set_refund(conn, refund_id, when_status="pending", status="failed",
                                                        failure=failure[:500], done_at=records.now()):
                return "ignored", "", ""
            records.release_refund(conn, refund["payment_id"], refund["amount_minor"])
            payment = records.payment(conn, refund["payment_id"])
            if refund["requested_by"].startswith("staff"):
                enqueue_down(conn, payment["agent_id"], messages.RefundRecorded(
                    refund_id=refund_id, payment_id=payment["id"], share_id=payment["share_id"],
                    currency=payment["currency"], amount_minor=refund["amount_minor"],
                    refunded_at=_iso(records.now()), status="failed", reason=failure[:200]))
                return "failed", payment["agent_id"], payment["provider"]
            return "failed", "", payment["provider"]
        outcome, agent_id, provider = await self._tx(fail)
        log.warning("refund failed refund=%s failure=%s", refund_id, failure)
        if outcome == "failed":
            self.count(provider, "refund_failed")
        self._woken(agent_id)
        return outcome

    async def record_outside_refund(self, payment_id: str, provider_refund_id: str, amount_minor: int) -> str:
        """A refund made in Stripe itself (dashboard): recorded like ours so the ledger matches Stripe."""
        def known(conn: Connection) -> bool:
            return records.refund_by_provider_id(conn, provider_refund_id) is not None
        if await self._read(known):
            return "duplicate"
        try:
            refund = await self.reserve_refund(payment_id, amount_minor, reason="refunded in Stripe",
                                               requested_by="stripe")
        except PaymentError as exc:
            log.error("refund %s made in Stripe cannot be recorded: %s", provider_refund_id, exc.message)
            return f"ignored: {exc.message}"
        return await self.complete_refund(refund["id"], provider_refund_id)

    async def refund(self, refund_id: str) -> Row | None:
        return await self._read(records.refund, refund_id)

    async def refund_by_provider_id(self, provider_refund_id: str) -> Row | None:
        return await self._read(records.refund_by_provider_id, provider_refund_id)
