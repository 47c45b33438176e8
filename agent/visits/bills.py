"""The bill of a table session: its lines with tax, what is paid, what is held, what is left.

Amounts are integer minor units. Tax is worked out per line and rounded half up there:
- "inclusive" (EU, UK, AU): the price includes tax; the tax shown is rate/(1+rate) of it.
- "exclusive" (US): tax is added on top of the price at the line's rate.
A line's `amount_minor` is what a diner pays for it, tax included either way.

"Held" counts shares whose diner is paying right now (not yet expired); "left" is what nobody has
paid or is paying. Refunds are shown apart and do not reopen a bill. "Overpaid" is money taken that
the bill did not need: paid beyond its total, and whole payments for shares that had been released.
"""

import hashlib
import json
from dataclasses import dataclass, field

import sqlite_utils

from agent.visits.table_sessions import now_iso


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator/denominator rounded half up, for numerator >= 0 and denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def line_tax(price_minor: int, rate_bp: int, mode: str) -> tuple[int, int]:
    """(tax, amount to pay) for a line priced `price_minor` at `rate_bp` basis points."""
    if mode == "exclusive":
        tax = round_half_up(price_minor * rate_bp, 10000)
        return tax, price_minor + tax
    return round_half_up(price_minor * rate_bp, 10000 + rate_bp), price_minor


@dataclass
class BillLine:
    id: str  # "{order_id}:{position}"
    order_id: str
    position: int
    name: str
    qty: int
    price_minor: int  # as priced on the menu (tax included or not, per the mode)
    tax_rate_bp: int
    tax_minor: int
    amount_minor: int
    paid_minor: int = 0
    held_minor: int = 0
    voided: bool = False
    options: tuple[str, ...] = ()  # the modifiers chosen, by name ("Medium rare", "Béarnaise")

    @property
    def left_minor(self) -> int:
        return 0 if self.voided else max(0, self.amount_minor - self.paid_minor - self.held_minor)

    def as_dict(self) -> dict:
        # built by hand: dataclasses.asdict deep-copies every field, the cost of a long tab's bill
        return {"id": self.id, "name": self.name, "qty": self.qty, "price_minor": self.price_minor,
                "tax_rate_bp": self.tax_rate_bp, "tax_minor": self.tax_minor, "amount_minor": self.amount_minor,
                "paid_minor": self.paid_minor, "held_minor": self.held_minor, "voided": self.voided,
                "left_minor": self.left_minor, "options": list(self.options)}


@dataclass
class Bill:
    session_id: str
    table_id: str
    currency: str
    tax_mode: str
    lines: list[BillLine] = field(default_factory=list)
    shares: list[dict] = field(default_factory=list)
    version: str = ""  # version(): the same as a bill event's when nothing changed between them

    def _active(self) -> list[BillLine]:
        return [line for line in self.lines if not line.voided]

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self._active())

    @property
    def subtotal_minor(self) -> int:
        return sum(line.price_minor for line in self._active())

    @property
    def taxes(self) -> list[dict]:
        by_rate: dict[int, int] = {}
        for line in self._active():
            if line.tax_rate_bp:
                by_rate[line.tax_rate_bp] = by_rate.get(line.tax_rate_bp, 0) + line.tax_minor
        return [{"rate_bp": rate, "tax_minor": tax} for rate, tax in sorted(by_rate.items())]

    def _sum(self, status: str, key: str = "amount_minor") -> int:
        return sum(s[key] for s in self.shares if s["status"] == status)

    @property
    def paid_minor(self) -> int:
        return self._sum("paid")

    @property
    def held_minor(self) -> int:
        return self._sum("held")

    @property
    def tips_minor(self) -> int:
        return self._sum("paid", "tip_minor")

    @property
    def left_minor(self) -> int:
        return max(0, self.total_minor - self.paid_minor - self.held_minor)

    @property
    def overpaid_minor(self) -> int:
        released_but_paid = sum(s["amount_minor"] + s["tip_minor"] for s in self.shares if s["status"] == "overpaid")
        return max(0, self.paid_minor - self.total_minor) + released_but_paid

    @property
    def settled(self) -> bool:
        return self.total_minor > 0 and self.left_minor == 0 and self.held_minor == 0

    def line(self, line_id: str) -> BillLine | None:
        return next((line for line in self.lines if line.id == line_id), None)

    def as_dict(self) -> dict:
        total, paid, held = self.total_minor, self.paid_minor, self.held_minor  # each a pass: once
        left = max(0, total - paid - held)
        return {
            "id": self.session_id, "version": self.version, "currency": self.currency, "tax_mode": self.tax_mode,
            "lines": [line.as_dict() for line in self.lines],
            "subtotal_minor": self.subtotal_minor, "taxes": self.taxes, "total_minor": total,
            "paid_minor": paid, "held_minor": held, "left_minor": left,
            "tips_minor": self.tips_minor,
            "overpaid_minor": self.overpaid_minor,
            "refunded_minor": sum(s["refunded_minor"] for s in self.shares),
            "settled": total > 0 and left == 0 and held == 0,
            "shares": [{k: s[k] for k in ("id", "kind", "amount_minor", "tip_minor", "status", "method",
                                         "paid_at", "expires_at", "refunded_minor", "payment_id")}
                       for s in self.shares if s["status"] in ("held", "paid", "overpaid")],
        }


def load(db: sqlite_utils.Database, session_id: str, tax_mode: str, now: str) -> Bill | None:
    """The bill as of `now` (ISO time: holds expiring before it no longer count)."""
    row = db.execute("SELECT table_id FROM table_sessions WHERE id = ?", [session_id]).fetchone()
    if row is None:
        return None
    currency = db.execute("SELECT currency FROM orders WHERE session_id = ? LIMIT 1", [session_id]).fetchone()
    bill = Bill(session_id, row[0], currency[0] if currency else restaurant_currency(db), tax_mode)
    # plain tuples, not sqlite-utils' row dicts: a long tab has hundreds of lines
    for order_id, position, name, qty, price, rate, voided_at, modifiers in db.execute(
            """SELECT l.order_id, l.position, l.name, l.qty, l.line_total_minor, l.tax_rate_bp, l.voided_at, l.modifiers
               FROM order_lines l JOIN orders o ON o.id = l.order_id
               WHERE o.session_id = ? ORDER BY o.number, l.position""", [session_id]):
        tax, amount = line_tax(price, rate, tax_mode)
        options = tuple(m["name"] for m in json.loads(modifiers)) if modifiers != "[]" else ()
        bill.lines.append(BillLine(f"{order_id}:{position}", order_id, position, name, qty, price, rate, tax, amount,
                                   voided=voided_at is not None, options=options))
    for s in db.query("SELECT * FROM bill_shares WHERE session_id = ? ORDER BY created_at", [session_id]):
        share = dict(s)
        if share["status"] == "held" and share["expires_at"] <= now:
            share["status"] = "expired"
        bill.shares.append(share)
    counted = {s["id"]: s["status"] for s in bill.shares if s["status"] in ("held", "paid")}
    by_id = {line.id: line for line in bill.lines}
    for r in db.query("""SELECT share_id, order_id, position, amount_minor FROM bill_share_lines
                         WHERE share_id IN (SELECT id FROM bill_shares WHERE session_id = ?)""", [session_id]):
        status = counted.get(r["share_id"])
        line = by_id.get(f"{r['order_id']}:{r['position']}")
        if line is None or status is None:
            continue
        if status == "paid":
            line.paid_minor += r["amount_minor"]
        else:
            line.held_minor += r["amount_minor"]
    bill.version = version(db, session_id, now)
    return bill


def version(db: sqlite_utils.Database, session_id: str, now: str) -> str:
    """Names what the bill shows as of `now`, from counts SQLite keeps in its indexes, so a phone can
    tell whether the bill it shows is still the bill without fetching its lines. It changes with
    every order (lines), void, share held, paid, released or expired (the shares that count, per
    status, and the newest of them: ids are time-ordered) and refund; a line's price never changes."""
    lines, voided = db.execute("""SELECT COUNT(*), COUNT(l.voided_at) FROM order_lines l JOIN orders o ON o.id = l.order_id
                                  WHERE o.session_id = ?""", [session_id]).fetchone()
    shares = db.execute(_SHARES_SEEN_SQL, [session_id, now]).fetchall()
    return _version_of(lines, voided, shares)


# the shares that count, per status (a hold that ran out does not): what version() names, and
# (the last column) their amounts, for bill_event
_SHARES_SEEN_SQL = """SELECT status, COUNT(*), MAX(id), SUM(refunded_minor), SUM(amount_minor) FROM bill_shares
                      WHERE session_id = ? AND NOT (status = 'held' AND expires_at <= ?)
                      GROUP BY status ORDER BY status"""


def _version_of(lines: int, voided: int, shares: list[tuple]) -> str:
    seen = json.dumps([lines, voided, [list(s[:4]) for s in shares]])
    return hashlib.blake2b(seen.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Totals:
    currency: str
    total_minor: int
    paid_minor: int
    held_minor: int

    @property
    def left_minor(self) -> int:
        return max(0, self.total_minor - self.paid_minor - self.held_minor)

    @property
    def settled(self) -> bool:
        return self.total_minor > 0 and self.left_minor == 0 and self.held_minor == 0


# A line's amount in SQL, the same integers as line_tax(): round_half_up(n, d) is (2n + d) / 2d.
_AMOUNT_SQL = {
    "exclusive": "l.line_total_minor + (2 * l.line_total_minor * l.tax_rate_bp + 10000) / 20000",
    "inclusive": "l.line_total_minor",
}


def totals(db: sqlite_utils.Database, session_id: str, tax_mode: str, now: str) -> Totals | None:
    """What load() would total, summed by SQLite: a bill's figures without building its lines, so a
    long tab's report to the hub costs no more Python per order than a short one's."""
    row = db.execute("SELECT 1 FROM table_sessions WHERE id = ?", [session_id]).fetchone()
    if row is None:
        return None
    currency = db.execute("SELECT currency FROM orders WHERE session_id = ? LIMIT 1", [session_id]).fetchone()
    total = db.execute(f"""SELECT COALESCE(SUM({_AMOUNT_SQL[tax_mode]}), 0) FROM order_lines l
                           JOIN orders o ON o.id = l.order_id
                           WHERE o.session_id = ? AND l.voided_at IS NULL""", [session_id]).fetchone()[0]
    paid, held = db.execute("""SELECT COALESCE(SUM(CASE WHEN status = 'paid' THEN amount_minor END), 0),
                                      COALESCE(SUM(CASE WHEN status = 'held' AND expires_at > ? THEN amount_minor END), 0)
                               FROM bill_shares WHERE session_id = ?""", [now, session_id]).fetchone()
    return Totals(currency[0] if currency else restaurant_currency(db), total, paid, held)


def bill_event(db: sqlite_utils.Database, session_id: str, tax_mode: str) -> tuple[str, dict, str] | None:
    """What open pages hear when a bill changes: its totals and version, not its lines, so a long
    tab's event costs what a short one's does (summed by SQLite, built and sent small). A phone that
    shows the bill fetches it (GET .../bill) when the version is not the one it shows.

    The same figures as totals() and version(), in three statements rather than their seven: every
    order on a table that someone is watching asks for one."""
    now = now_iso()
    row = db.execute("SELECT table_id, (SELECT currency FROM orders WHERE session_id = ? LIMIT 1) "
                     "FROM table_sessions WHERE id = ?", [session_id, session_id]).fetchone()
    if row is None:
        return None
    total, lines, voided = db.execute(f"""SELECT COALESCE(SUM(CASE WHEN l.voided_at IS NULL THEN {_AMOUNT_SQL[tax_mode]} END), 0),
                                                 COUNT(*), COUNT(l.voided_at)
                                          FROM order_lines l JOIN orders o ON o.id = l.order_id
                                          WHERE o.session_id = ?""", [session_id]).fetchone()
    shares = db.execute(_SHARES_SEEN_SQL, [session_id, now]).fetchall()
    amounts = {s[0]: s[4] or 0 for s in shares}
    bill = Totals(row[1] or restaurant_currency(db), total, amounts.get("paid", 0), amounts.get("held", 0))
    return ("bill", {"id": session_id, "version": _version_of(lines, voided, shares), "currency": bill.currency,
                     "total_minor": bill.total_minor, "paid_minor": bill.paid_minor, "held_minor": bill.held_minor,
                     "left_minor": bill.left_minor, "settled": bill.settled}, row[0])


def restaurant_currency(db: sqlite_utils.Database) -> str:
    """The menu's currency (a bill with no orders yet, the day report)."""
    row = db.execute("SELECT value FROM settings WHERE key = 'restaurant'").fetchone()
    return json.loads(row[0]).get("currency", "EUR") if row else "EUR"
