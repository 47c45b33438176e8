"""PaymentService: every change to payment state, each in ONE transaction, idempotent.

A card payment writes the payment row, its balanced ledger set and the PaymentRecorded message to
the agent together (hub/store/downlink.enqueue_down shares the transaction), keyed by the share:
however many times a webhook, a retry or the reconciler reports it, the share is paid once.
After a commit that queued a message, `wake(agent_id)` tells the link to send it now.

SQLAlchemy is blocking, so each public method runs its work in a thread (never on the loop).
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select

from contract import messages
from contract.envelope import Envelope
from contract.ids import uuid7
from contract.money import exponent
from contract.pay_link import ShareToPay
from hub.enrollment import records as enrolled
from hub.payments import ledger, records
from hub.payments.fees import FeePlan, platform_fee
from hub.payments.records import Row
from hub.payments.service_base import PaymentError
from hub.payments.service_base import iso as _iso
from hub.payments.service_refunds import RefundsMixin
from hub.store.downlink import enqueue_down
from hub.store.payment_tables import payments
from hub.store.tables import inbox
from hub.store.upsert import insert_ignore

log = logging.getLogger(__name__)
STALE_CREATING_S = 240  # an attempt still "creating" after this is abandoned (see decide)


class PaymentMessageRejected(ValueError):
    """A link message the hub cannot apply (e.g. from an agent bound to no restaurant); record it as
    rejected and ack it: resending will not help."""


@dataclass(frozen=True)
class Decision:
    """What the pay page does with a share: "paid" (already), "bill_done" (the agent reported the
    bill settled or closed), "failed" (declined), "open" (reuse the attempt's session) or "create"
    (open a session for this new attempt)."""

    kind: str
    attempt: Row | None = None
    payment: Row | None = None


@dataclass
class PaymentService(RefundsMixin):
    engine: Engine
    wake: Callable[[str], None] = field(default=lambda agent_id: None)
    count: Callable[[str, str], None] = field(default=lambda provider, outcome: None)

    # --- restaurants ---

    async def create_restaurant(self, *, name: str, country: str, currency: str, plan: FeePlan,
                                fee_on_external: bool, agent_ids: list[str], charges_enabled: bool,
                                restaurant_id: str | None = None) -> Row:
        """A new restaurant bound to agent_ids; PaymentError 409 when an agent belongs to another one.
        With restaurant_id given and already there, the existing row (idempotent create for the demo)."""
        def create(conn: Connection) -> Row:
            rid = restaurant_id or uuid7()
            taken = records.bound_elsewhere(conn, agent_ids, rid)
            if taken:
                raise PaymentError(409, "agent_taken", f"agent {taken[0]!r} already belongs to another restaurant")
            if restaurant_id is None or records.restaurant(conn, rid) is None:
                conn.execute(records.restaurants.insert().values(
                    id=rid, name=name, country=country, currency=currency, fee_on_external=fee_on_external,
                    charges_enabled=charges_enabled, created_at=records.now(), **records.plan_columns(plan)))
            now = records.now()
            for agent_id in agent_ids:  # the operator vouches for these ids (the manual path of enrollment)
                enrolled.add_agent(conn, agent_id, name=name, now=now, restaurant_id=rid)
            return records.restaurant(conn, rid)
        return await self._tx(create)

    async def set_stripe_account(self, restaurant_id: str, account_id: str) -> None:
        def set_account(conn: Connection) -> None:
            conn.execute(records.restaurants.update().where(records.restaurants.c.id == restaurant_id)
                         .values(stripe_account_id=account_id))
        await self._tx(set_account)

    async def account_updated(self, account_id: str, charges_enabled: bool, created: int) -> str:
        """Apply an account.updated; an event older than the last one applied changes nothing."""
        def apply(conn: Connection) -> str:
            table = records.restaurants
            found = records.restaurant_by_account(conn, account_id)
            if found is None:
                return "ignored: no restaurant has this account"
            changed = conn.execute(table.update().where(
                table.c.id == found["id"],
                (table.c.account_synced_at.is_(None)) | (table.c.account_synced_at <= created))
                .values(charges_enabled=charges_enabled, account_synced_at=created)
                .returning(table.c.id)).first()
            return f"charges_enabled={charges_enabled}" if changed else "ignored: older than the state applied"
        return await self._tx(apply)

    async def restaurant(self, restaurant_id: str) -> Row | None:
        def read(conn: Connection) -> Row | None:
            row = records.restaurant(conn, restaurant_id)
            if row is not None:
                row["agent_ids"] = records.agents_of(conn, restaurant_id)
            return row
        return await self._read(read)

    async def restaurants(self) -> list[Row]:
        def read(conn: Connection) -> list[Row]:
            rows = records.all_restaurants(conn)
            for row in rows:
                row["agent_ids"] = records.agents_of(conn, row["id"])
            return rows
        return await self._read(read)

    async def restaurant_of_agent(self, agent_id: str) -> Row | None:
        return await self._read(records.restaurant_of_agent, agent_id)

    # --- checkout attempts ---

    async def decide(self, share: ShareToPay, restaurant: Row, *, provider: str, hold_expires_at: datetime,
                     session_expires_at: int) -> Decision:
        """Paid already? Declined? An open attempt to reuse? Else a new attempt, reserved here so two
        requests for one link agree on it (the loser of the insert reads the winner's row)."""
        now_unix = int(records.now().timestamp())

        def decide(conn: Connection) -> Decision:
            paid = records.payment_by_share(conn, share.agent_id, share.share_id)
            if paid is not None:
                return Decision("paid", payment=paid)
            if records.bill_done(conn, share.agent_id, share.bill_id):
                return Decision("bill_done")
            latest = records.latest_attempt(conn, share.agent_id, share.share_id)
            if latest is not None and latest["status"] == "failed":
                return Decision("failed", attempt=latest)
            if latest is not None and latest["status"] == "creating":
                if latest["session_expires_at"] >= session_expires_at - STALE_CREATING_S:
                    return Decision("create", attempt=latest)  # same params, same idempotency key: safe to repeat
                # left half-made (a crash, Stripe down) long enough that Stripe would now refuse its
                # expires_at: give up on it (a session it may have made was never shown to anyone)
                records.set_attempt(conn, latest["id"], when_status=["creating"], status="expired")
            if latest is not None and latest["status"] == "open" and latest["session_expires_at"] <= now_unix:
                records.set_attempt(conn, latest["id"], when_status=["open"], status="expired")  # Stripe closed it
            elif latest is not None and latest["status"] in ("open", "complete"):
                return Decision("open", attempt=latest)
            number = 1 if latest is None else latest["attempt"] + 1
            fee = platform_fee(records.fee_plan(restaurant), share.amount_minor, share.tip_minor)
            row = {"id": uuid7(), "share_id": share.share_id, "attempt": number, "restaurant_id": restaurant["id"],
                   "agent_id": share.agent_id, "bill_id": share.bill_id, "table_name": share.table_name,
                   "description": share.description, "currency": share.currency,
                   "amount_minor": share.amount_minor, "tip_minor": share.tip_minor, "fee_minor": fee,
                   "provider": provider, "status": "creating", "return_url": share.return_url,
                   "hold_expires_at": hold_expires_at, "session_expires_at": session_expires_at,
                   "created_at": records.now()}
            if records.insert_attempt(conn, row):
                return Decision("create", attempt=records.attempt(conn, row["id"]))
            return Decision("create", attempt=records.attempt_by_share(conn, share.agent_id, share.share_id, number))
        return await self._tx(decide)

    async def attempt_opened(self, attempt_id: str, session_id: str, url: str | None) -> None:
        await self._tx(lambda conn: records.set_attempt(conn, attempt_id, when_status=["creating"], status="open",
                                                        session_id=session_id, url=url))

    async def attempt_expired(self, attempt_id: str, reason: str = "checkout session expired") -> bool:
        """The Checkout Session is closed (expired by Stripe or by us): no payment can come from it.
        The agent hears it once, as PaymentFailed, and frees the share's hold; not when a newer
        attempt for the share is under way, nor when the share is paid."""
        def expire(conn: Connection) -> Row | None:
            """The attempt when the agent is told, else None."""
            if not records.set_attempt(conn, attempt_id, when_status=["open", "creating"], status="expired"):
                return None
            attempt = records.attempt(conn, attempt_id)
            latest = records.latest_attempt(conn, attempt["agent_id"], attempt["share_id"])
            if records.payment_by_share(conn, attempt["agent_id"], attempt["share_id"]) is not None or latest["id"] != attempt_id:
                return None
            enqueue_down(conn, attempt["agent_id"], messages.PaymentFailed(share_id=attempt["share_id"],
                                                                           reason=reason[:200]))
            return attempt
        told = await self._tx(expire)
        if told is not None:
            log.info("checkout expired share=%s attempt=%s: the agent frees the hold", told["share_id"], attempt_id)
            self.count(told["provider"], "expired")
            self._woken(told["agent_id"])
        return told is not None

    async def attempt(self, attempt_id: str) -> Row | None:
        return await self._read(records.attempt, attempt_id)

    async def find_attempt(self, *, session_id: str | None = None, attempt_id: str | None = None) -> Row | None:
        """By our own record of the session, else by the attempt id the session's metadata names."""
        def find(conn: Connection) -> Row | None:
            found = records.attempt_by_session(conn, session_id) if session_id else None
            return found or (records.attempt(conn, attempt_id) if attempt_id else None)
        return await self._read(find)

    async def open_attempt_of(self, agent_id: str, share_id: str) -> Row | None:
        """The share's latest attempt if it is still open (the demo card page pays only that one)."""
        def find(conn: Connection) -> Row | None:
            latest = records.latest_attempt(conn, agent_id, share_id)
            return latest if latest is not None and latest["status"] in ("open", "creating") else None
        return await self._read(find)

    async def refusal(self, attempt: Row, *, leeway_s: float) -> str | None:
        """Checked again at the moment of paying: "bill_done" or "expired" (its hold is over) closes
        the attempt and says why it may take no money; None when it still may."""
        def check(conn: Connection) -> str | None:
            if records.bill_done(conn, attempt["agent_id"], attempt["bill_id"]):
                reason = "bill_done"
            elif records.now() > attempt["hold_expires_at"] + timedelta(seconds=leeway_s):
                reason = "expired"
            else:
                return None
            records.set_attempt(conn, attempt["id"], when_status=["open", "creating"], status="expired")
            return reason
        return await self._tx(check)

    async def attempts_past_hold(self, provider: str, moment: datetime) -> list[Row]:
        return await self._read(records.open_attempts_past_hold, provider, moment)

    # --- payments ---

    async def record_card_payment(self, attempt: Row, *, session_id: str | None = None,
                                  intent_id: str | None = None, charge_id: str | None = None) -> tuple[str, Row]:
        """The share of `attempt` is paid: ("recorded" | "duplicate" | "second_payment", payment)."""
        outcome, payment = await self._tx(self._record_card_payment, attempt, session_id, intent_id, charge_id)
        if outcome == "recorded":
            log.info("payment recorded payment=%s share=%s restaurant=%s provider=%s amount=%d tip=%d fee=%d %s",
                     payment["id"], payment["share_id"], payment["restaurant_id"], payment["provider"],
                     payment["amount_minor"], payment["tip_minor"], payment["fee_minor"], payment["currency"])
            self.count(payment["provider"], "taken")
            self._woken(payment["agent_id"])
        elif outcome == "second_payment":
            self.count(payment["provider"], "second_payment")
            log.error("a second payment for share %s (intent %s, recorded payment %s): refund it in Stripe",
                      attempt["share_id"], intent_id, payment["id"])
        return outcome, payment

    def _record_card_payment(self, conn: Connection, attempt: Row, session_id: str | None, intent_id: str | None,
                             charge_id: str | None) -> tuple[str, Row]:
        existing = records.payment_by_share(conn, attempt["agent_id"], attempt["share_id"])
        if existing is None:
            moment = records.now()
            row = {"id": uuid7(), "share_id": attempt["share_id"], "restaurant_id": attempt["restaurant_id"],
                   "agent_id": attempt["agent_id"], "bill_id": attempt["bill_id"],
                   "table_name": attempt["table_name"], "currency": attempt["currency"],
                   "amount_minor": attempt["amount_minor"], "tip_minor": attempt["tip_minor"],
                   "fee_minor": attempt["fee_minor"], "provider": attempt["provider"], "method": "card",
                   "status": "succeeded", "attempt_id": attempt["id"],
                   "checkout_session_id": session_id or attempt["session_id"], "payment_intent_id": intent_id,
                   "charge_id": charge_id, "created_at": moment, "paid_at": moment}
            if records.insert_payment(conn, row):
                entries = ledger.charge_entries(row["restaurant_id"], row["currency"], row["amount_minor"],
                                                row["tip_minor"], row["fee_minor"])
                records.append_entries(conn, entries, restaurant_id=row["restaurant_id"], payment_id=row["id"])
                records.set_attempt(conn, attempt["id"], status="complete")
                enqueue_down(conn, row["agent_id"], messages.PaymentRecorded(
                    payment_id=row["id"], share_id=row["share_id"], bill_id=row["bill_id"],
                    currency=row["currency"], amount_minor=row["amount_minor"], tip_minor=row["tip_minor"],
                    fee_minor=row["fee_minor"], provider=row["provider"], paid_at=_iso(moment)))
                return "recorded", records.payment(conn, row["id"])
            existing = records.payment_by_share(conn, attempt["agent_id"], attempt["share_id"])
            if existing is None:  # the intent id is another share's: Stripe sent us something odd
                raise PaymentError(409, "intent_taken", f"payment intent {intent_id} is already recorded")
        if intent_id and existing["payment_intent_id"] not in (None, intent_id):
            return "second_payment", existing
        fill = {name: value for name, value in (("payment_intent_id", intent_id), ("charge_id", charge_id),
                                                 ("checkout_session_id", session_id))
                if value and existing[name] is None}
        if fill:
            conn.execute(payments.update().where(payments.c.id == existing["id"]).values(**fill))
        return "duplicate", records.payment(conn, existing["id"])

    async def record_failure(self, attempt: Row, reason: str) -> str:
        """The diner's card was declined and the attempt is over: tell the agent to free the hold."""
        def fail(conn: Connection) -> str:
            if records.payment_by_share(conn, attempt["agent_id"], attempt["share_id"]) is not None:
                return "ignored: the share is paid"
            if not records.set_attempt(conn, attempt["id"], when_status=["open", "creating"], status="failed"):
                return "ignored: attempt not open"
            enqueue_down(conn, attempt["agent_id"], messages.PaymentFailed(share_id=attempt["share_id"],
                                                                           reason=reason[:200]))
            return "failed"
        outcome = await self._tx(fail)
        if outcome == "failed":
            log.info("payment failed share=%s attempt=%s reason=%s", attempt["share_id"], attempt["id"], reason)
            self.count(attempt["provider"], "failed")
            self._woken(attempt["agent_id"])
        return outcome

    async def payment(self, payment_id: str) -> Row | None:
        def read(conn: Connection) -> Row | None:
            row = records.payment(conn, payment_id)
            if row is not None:
                row["refunds"] = records.refunds_of(conn, payment_id)
            return row
        return await self._read(read)

    async def find_payment(self, *, share: tuple[str, str] | None = None, intent_id: str | None = None,
                           charge_id: str | None = None) -> Row | None:
        """By share ((agent id, share id)), payment intent or charge."""
        def find(conn: Connection) -> Row | None:
            return ((share and records.payment_by_share(conn, *share))
                    or (intent_id and records.payment_by_intent(conn, intent_id))
                    or (charge_id and records.payment_by_charge(conn, charge_id)) or None)
        return await self._read(find)

    async def list_payments(self, *, restaurant_id: str | None, start: datetime | None, end: datetime | None,
                            limit: int = 500) -> list[Row]:
        def read(conn: Connection) -> list[Row]:
            stmt = select(payments)
            if restaurant_id:
                stmt = stmt.where(payments.c.restaurant_id == restaurant_id)
            if start is not None and end is not None:
                stmt = stmt.where(payments.c.paid_at >= start, payments.c.paid_at < end)
            return [dict(r) for r in conn.execute(stmt.order_by(payments.c.paid_at, payments.c.id).limit(limit))
                    .mappings()]
        return await self._read(read)

    # --- payments outside the platform (link: agent -> hub) ---

    async def apply_payment_taken(self, env: Envelope, data: messages.PaymentTaken) -> bool:
        """Record cash / own-terminal payment with the fee owed if the plan says so, and the link message
        id, in one transaction. False for a duplicate (same message id or payment id);
        PaymentMessageRejected when it cannot be applied."""
        applied = await self._tx(self._apply_payment_taken, env, data)
        log.info("payment.taken %s agent=%s payment=%s share=%s method=%s", "applied" if applied else "duplicate",
                 env.agent_id, data.payment_id, data.share_id, data.method)
        return applied

    @staticmethod
    def _apply_payment_taken(conn: Connection, env: Envelope, data: messages.PaymentTaken) -> bool:
        # the batch intake applies these many at once (hub/payments/taken_batch.py), recording the same
        restaurant = records.restaurant_of_agent(conn, env.agent_id)
        if restaurant is None:
            raise PaymentMessageRejected(f"agent {env.agent_id!r} belongs to no restaurant: no fee plan to apply")
        try:
            exponent(data.currency)
        except ValueError as exc:
            raise PaymentMessageRejected(str(exc)) from None
        if not insert_ignore(conn, inbox, {
                "message_id": env.id, "agent_id": env.agent_id, "type": env.type, "seq": env.seq,
                "received_at": records.now()}):
            return False
        fee = platform_fee(records.fee_plan(restaurant), data.amount_minor, data.tip_minor) \
            if restaurant["fee_on_external"] else 0
        moment = records.now()
        row = {"id": data.payment_id, "share_id": data.share_id, "restaurant_id": restaurant["id"],
               "agent_id": env.agent_id, "bill_id": data.bill_id, "table_name": data.table_name,
               "currency": data.currency, "amount_minor": data.amount_minor, "tip_minor": data.tip_minor,
               "fee_minor": fee, "provider": "external", "method": data.method, "status": "succeeded",
               "created_at": moment, "paid_at": moment}
        if not records.insert_payment(conn, row):
            # the payment id again under a new message id, or a share already paid another way
            other = records.payment_by_share(conn, env.agent_id, data.share_id)
            if other is not None and other["id"] != data.payment_id:
                log.warning("payment.taken for share %s already paid by payment %s; kept the first",
                            data.share_id, other["id"])
            return False
        if data.amount_minor + data.tip_minor > 0:
            entries = ledger.external_payment_entries(restaurant["id"], data.currency, data.amount_minor,
                                                      data.tip_minor, fee, data.method)
            records.append_entries(conn, entries, restaurant_id=restaurant["id"], payment_id=row["id"])
        return True

    # --- Stripe events ---

    async def event_seen(self, event_id: str) -> bool:
        return await self._read(records.event_seen, event_id)

    async def record_event(self, event_id: str, type_: str, outcome: str) -> bool:
        return await self._tx(records.record_event, event_id, type_, outcome)

    # --- the ledger ---

    async def entries_between(self, start: datetime, end: datetime, restaurant_id: str | None = None) -> list[Row]:
        return await self._read(records.entries_between, start, end, restaurant_id)

    async def all_entries(self) -> list[Row]:
        def read(conn: Connection) -> list[Row]:
            return [dict(r) for r in conn.execute(select(records.ledger_entries)
                                                  .order_by(records.ledger_entries.c.id)).mappings()]
        return await self._read(read)


def entry_sets(rows: Iterable[Row]) -> dict[str, list[ledger.Entry]]:
    """Ledger rows grouped back into their balanced sets."""
    sets: dict[str, list[ledger.Entry]] = {}
    for row in rows:
        sets.setdefault(row["entry_set_id"], []).append(
            ledger.Entry(row["account"], row["amount_minor"], row["currency"], row["kind"]))
    return sets
