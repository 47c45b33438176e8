"""Shares of a bill: what one diner pays (the rest, an equal part, chosen items, part of an item, an
amount) plus a tip, held while they pay so two diners cannot pay the same thing.

Every share is made on the database's single writer thread, so the check "does it fit in what is
left" and the hold that follows are one step: however many diners pay at once, a bill is never
overpaid. A payment that arrives for a hold that expired meanwhile is still applied (the money
was taken); the bill then shows what was paid too much, for staff to refund. A payment for a share
the diner released (went back, paid another way) never counts towards the bill: the share becomes
"overpaid", money staff see on their bill list until they refund it.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
import sqlite_utils

from agent.menu.pricing import explain
from agent.store import outbox
from agent.visits import bills, table_sessions
from agent.visits.table_sessions import now_iso
from contract import messages
from contract.ids import uuid7
from contract.money import MAX_MINOR, format_minor

Tip = Annotated[int, msgspec.Meta(ge=0, le=MAX_MINOR)]
Parts = Annotated[int, msgspec.Meta(ge=2, le=50)]


class Remaining(msgspec.Struct, tag="remaining", tag_field="kind", forbid_unknown_fields=True):
    tip_minor: Tip = 0


class Equal(msgspec.Struct, tag="equal", tag_field="kind", forbid_unknown_fields=True):
    parts: Parts
    tip_minor: Tip = 0


class ItemPick(msgspec.Struct, forbid_unknown_fields=True):
    line_id: Annotated[str, msgspec.Meta(max_length=100)]
    parts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 1  # pay 1/parts of the line ("half the wine")


class Items(msgspec.Struct, tag="items", tag_field="kind", forbid_unknown_fields=True):
    items: Annotated[list[ItemPick], msgspec.Meta(min_length=1, max_length=200)]
    tip_minor: Tip = 0


class Amount(msgspec.Struct, tag="amount", tag_field="kind", forbid_unknown_fields=True):
    amount_minor: Annotated[int, msgspec.Meta(ge=1, le=MAX_MINOR)]
    tip_minor: Tip = 0


ShareRequest = Remaining | Equal | Items | Amount
_decoder = msgspec.json.Decoder(ShareRequest)


class ShareRejected(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def decode_request(body: bytes) -> ShareRequest:
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:  # (a subclass of DecodeError: catch it first)
        message, field = explain(exc)
        raise ShareRejected(422, "invalid_share", f"invalid share: {message}", field) from None
    except msgspec.DecodeError as exc:
        raise ShareRejected(400, "malformed_json", f"the body is not valid JSON: {exc}") from None


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Taken:
    amount_minor: int
    lines: list[tuple[str, int, int]]  # (order_id, position, amount)


def _take(bill: bills.Bill, request: ShareRequest) -> Taken:
    """What the request covers on this bill right now; ShareRejected if it does not fit."""
    left = bill.left_minor
    if bill.total_minor == 0:
        raise ShareRejected(409, "nothing_to_pay", "there is nothing on this table's bill yet")
    if left == 0:
        reason = "the rest of the bill is being paid by someone right now" if bill.held_minor else \
            "this bill is already paid"
        raise ShareRejected(409, "nothing_left", reason)
    if isinstance(request, Remaining):
        return Taken(left, [])
    if isinstance(request, Equal):
        return Taken(min(left, bills.ceil_div(bill.total_minor, request.parts)), [])
    if isinstance(request, Amount):
        if request.amount_minor > left:
            raise ShareRejected(409, "exceeds_left", f"that is more than is left to pay ({format_minor(left, bill.currency)})",
                                "amount_minor")
        return Taken(request.amount_minor, [])
    lines, seen = [], set()
    for i, pick in enumerate(request.items):
        line = bill.line(pick.line_id)
        where = f"items[{i}].line_id"
        if line is None or line.voided:
            raise ShareRejected(422, "unknown_line", f"no line {pick.line_id!r} on this bill", where)
        if pick.line_id in seen:
            raise ShareRejected(422, "duplicate_line", f"line {pick.line_id!r} is chosen twice", where)
        seen.add(pick.line_id)
        amount = min(line.left_minor, bills.ceil_div(line.amount_minor, pick.parts))
        if amount == 0:
            raise ShareRejected(409, "line_taken", f"{line.name} is already paid or being paid", where)
        lines.append((line.order_id, line.position, amount))
    total = sum(amount for _, _, amount in lines)
    if total > left:
        raise ShareRejected(409, "exceeds_left", f"those items come to more than is left to pay ({format_minor(left, bill.currency)})")
    return Taken(total, lines)


def _check_tip(tip: int, amount: int) -> None:
    if tip > amount:
        raise ShareRejected(422, "tip_too_large", "a tip can be at most the amount it is given on", "tip_minor")


def create(db: sqlite_utils.Database, session_id: str, request: ShareRequest, *, tax_mode: str,
           hold_seconds: float, idempotency_key: str | None = None, body_hash: str | None = None) -> dict:
    """Hold a share for a diner about to pay; writer thread. Returns the share row. The key is the
    visit's own (stored as "{session id}:{key}"): another table sending it makes its own share."""
    if idempotency_key:
        idempotency_key = f"{session_id}:{idempotency_key}"
        row = db.execute("SELECT id, request_hash FROM bill_shares WHERE idempotency_key = ?",
                         [idempotency_key]).fetchone()
        if row:
            if row[1] != body_hash:
                raise ShareRejected(422, "idempotency_key_reused", "this Idempotency-Key was used for another share")
            return get(db, row[0])
    now = datetime.now(UTC)
    bill = _bill(db, session_id, tax_mode, now)
    taken = _take(bill, request)
    _check_tip(request.tip_minor, taken.amount_minor)
    share_id = uuid7()
    db.execute("""INSERT INTO bill_shares (id, session_id, kind, parts, currency, amount_minor, tip_minor, status,
                                           created_at, expires_at, idempotency_key, request_hash)
                  VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?, ?)""",
               [share_id, session_id, type(request).__struct_config__.tag, getattr(request, "parts", None),
                bill.currency, taken.amount_minor, request.tip_minor, _iso(now),
                _iso(now + timedelta(seconds=hold_seconds)), idempotency_key, body_hash])
    db["bill_share_lines"].insert_all({"share_id": share_id, "order_id": o, "position": p, "amount_minor": a}
                                      for o, p, a in taken.lines)
    return get(db, share_id)


def take_payment(db: sqlite_utils.Database, agent_id: str, session_id: str, request: ShareRequest, *,
                 method: str, tax_mode: str, taken_by: str) -> dict:
    """Staff took cash or a card on the restaurant's own terminal: a share paid at once, told to the hub."""
    share = create(db, session_id, request, tax_mode=tax_mode, hold_seconds=0.001)
    payment_id, now = uuid7(), now_iso()
    db.execute("""UPDATE bill_shares SET status = 'paid', method = ?, payment_id = ?, provider = 'agent',
                                         paid_at = ?, taken_by = ? WHERE id = ?""",
               [method, payment_id, now, taken_by, share["id"]])
    session = table_sessions.get(db, session_id)
    outbox.append(db, agent_id, messages.PaymentTaken(
        payment_id=payment_id, share_id=share["id"], bill_id=session_id, table_name=session["table_name"],
        method=method, currency=share["currency"], amount_minor=share["amount_minor"],
        tip_minor=share["tip_minor"], taken_at=now))
    return get(db, share["id"])


def release(db: sqlite_utils.Database, session_id: str, share_id: str) -> bool:
    """The diner went back without paying: free what the share held."""
    cursor = db.execute("UPDATE bill_shares SET status = 'released' WHERE id = ? AND session_id = ? AND status = 'held'",
                        [share_id, session_id])
    return cursor.rowcount == 1


PAID_STATUSES = ("paid", "overpaid")  # money taken for the share: "overpaid" when the bill did not want it


def apply_payment(db: sqlite_utils.Database, data: messages.PaymentRecorded, *,
                  tax_mode: str) -> tuple[dict | None, bool]:
    """A card payment from the hub; idempotent: (share, whether it is newly paid). (None, False) when
    the share is unknown here. It is kept as "overpaid", never counted, when the bill did not want
    it: the share was released, or its hold ran out and others have paid the whole bill since."""
    share = get(db, data.share_id)
    if share is None:
        return None, False
    newly_paid = share["status"] not in PAID_STATUSES
    if newly_paid:
        status = "overpaid" if share["status"] == "released" or _paid_by_others(db, share, tax_mode) else "paid"
        db.execute("""UPDATE bill_shares SET status = ?, method = ?, payment_id = ?, provider = ?, fee_minor = ?,
                                             paid_at = ?, amount_minor = ?, tip_minor = ? WHERE id = ?""",
                   [status, data.method, data.payment_id, data.provider, data.fee_minor, data.paid_at,
                    data.amount_minor, data.tip_minor, data.share_id])
    return get(db, data.share_id), newly_paid


def _paid_by_others(db: sqlite_utils.Database, share: dict, tax_mode: str) -> bool:
    now = datetime.now(UTC)
    if share["status"] != "held" or share["expires_at"] > _iso(now):
        return False
    bill = bills.load(db, share["session_id"], tax_mode, _iso(now))  # the expired hold no longer counts
    return bill is not None and bill.total_minor > 0 and bill.left_minor == 0 and bill.held_minor == 0


def apply_failure(db: sqlite_utils.Database, share_id: str) -> dict | None:
    db.execute("UPDATE bill_shares SET status = 'released' WHERE id = ? AND status = 'held'", [share_id])
    return get(db, share_id)


def apply_refund(db: sqlite_utils.Database, data: messages.RefundRecorded) -> dict | None:
    share = get(db, data.share_id)
    if share is None:
        return None
    existing = db.execute("SELECT status FROM refunds WHERE id = ?", [data.refund_id]).fetchone()
    if existing and existing[0] != "requested":
        return share  # already applied
    if existing:
        db.execute("UPDATE refunds SET status = ?, done_at = ? WHERE id = ?", [data.status, now_iso(), data.refund_id])
    else:
        db.execute("""INSERT INTO refunds (id, share_id, amount_minor, status, reason, created_at, done_at)
                      VALUES (?, ?, ?, ?, ?, ?, ?)""",
                   [data.refund_id, data.share_id, data.amount_minor, data.status, data.reason, now_iso(), now_iso()])
    if data.status == "succeeded":
        db.execute("UPDATE bill_shares SET refunded_minor = refunded_minor + ? WHERE id = ?",
                   [data.amount_minor, data.share_id])
    return get(db, data.share_id)


def request_refund(db: sqlite_utils.Database, agent_id: str, share_id: str, amount_minor: int, reason: str,
                   by: str) -> dict:
    """Staff ask the hub to refund (part of) a card payment; the hub answers with RefundRecorded."""
    share = get(db, share_id)
    if share is None or share["status"] not in PAID_STATUSES:
        raise ShareRejected(404, "not_found", "no paid share with that id")
    if share["method"] != "card":
        raise ShareRejected(409, "not_a_card_payment", "only card payments are refunded through the platform; "
                                                       "give cash back at the till")
    pending = db.execute("SELECT COALESCE(SUM(amount_minor), 0) FROM refunds WHERE share_id = ? AND status = 'requested'",
                         [share_id]).fetchone()[0]
    refundable = share["amount_minor"] + share["tip_minor"] - share["refunded_minor"] - pending
    if not 0 < amount_minor <= refundable:
        raise ShareRejected(409, "exceeds_refundable", f"at most {format_minor(refundable, share['currency'])} can be refunded",
                            "amount_minor")
    refund_id = uuid7()
    db.execute("""INSERT INTO refunds (id, share_id, amount_minor, status, reason, requested_by, created_at)
                  VALUES (?, ?, ?, 'requested', ?, ?, ?)""", [refund_id, share_id, amount_minor, reason, by, now_iso()])
    outbox.append(db, agent_id, messages.RefundRequested(refund_id=refund_id, payment_id=share["payment_id"],
                                                         amount_minor=amount_minor, reason=reason))
    return {"id": refund_id, "share_id": share_id, "amount_minor": amount_minor, "status": "requested"}


def get(db: sqlite_utils.Database, share_id: str) -> dict | None:
    share = next(db.query("SELECT * FROM bill_shares WHERE id = ?", [share_id]), None)
    if share is None:
        return None
    share["total_minor"] = share["amount_minor"] + share["tip_minor"]
    return share


def _bill(db: sqlite_utils.Database, session_id: str, tax_mode: str, now: datetime) -> bills.Bill:
    bill = bills.load(db, session_id, tax_mode, _iso(now))
    if bill is None:
        raise ShareRejected(404, "no_bill", "this table has no open bill")
    return bill


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
