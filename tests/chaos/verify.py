"""What the suite proves once everything is quiet, read from the databases and the printed paper
themselves (not from what the services say about themselves)."""

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from agent.visits import bills as agent_bills
from agent.visits.table_sessions import now_iso
from tests.chaos.load import Placed
from tests.chaos.payers import Paid

ORDER_NUMBER = re.compile(r"Order #(\d+)")


def read(path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def quiet(agent_db: Path, hub_db: Path) -> dict[str, int]:
    """What still moves; all zero means quiescent."""
    return {
        "up_waiting": read(agent_db, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")[0][0],
        "down_waiting": read(hub_db, "SELECT COUNT(*) FROM down_messages WHERE delivered_at IS NULL")[0][0],
        "jobs_waiting": read(agent_db, "SELECT COUNT(*) FROM device_jobs WHERE status IN ('pending', 'sending')")[0][0],
    }


@dataclass
class Findings:
    figures: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def orders(f: Findings, placed: list[Placed], agent_db: Path, hub_db: Path) -> None:
    answered = [p for p in placed if p.order_id]
    ids = [p.order_id for p in answered]
    f.figures["orders_placed"] = len(placed)
    f.figures["orders_201"] = len(answered)
    f.expect(len(answered) == len(placed), f"{len(placed) - len(answered)} orders never got a 201")
    f.expect(len(set(ids)) == len(ids), "two Idempotency-Keys were answered with the same order")
    at_agent = Counter(r[0] for r in read(agent_db, "SELECT id FROM orders"))
    at_hub = Counter(r[0] for r in read(hub_db, "SELECT id FROM orders WHERE agent_id = 'chaos-agent'"))
    lost = [i for i in ids if at_hub[i] == 0]
    extra_agent = set(at_agent) - set(ids)
    f.figures["lost"] = len(lost)
    f.figures["duplicated"] = sum(n - 1 for n in at_hub.values() if n > 1) + sum(
        n - 1 for n in Counter(ids).values() if n > 1)
    f.figures["orders_at_hub"] = len(at_hub)
    f.expect(not lost, f"{len(lost)} answered orders are not at the hub, e.g. {lost[:3]}")
    f.expect(not extra_agent, f"{len(extra_agent)} orders at the agent that no diner was answered for")
    f.expect(set(at_hub) == set(at_agent), "the hub's orders differ from the agent's")
    order_messages = read(hub_db, "SELECT COUNT(*) FROM inbox WHERE agent_id = 'chaos-agent' AND type = 'order.placed'")
    f.expect(order_messages[0][0] == len(at_hub),
             f"{order_messages[0][0]} order.placed messages applied for {len(at_hub)} orders")
    rejected = read(hub_db, "SELECT type, reason FROM rejected_messages")
    f.figures["rejected_at_hub"] = len(rejected)
    f.expect(not rejected, f"the hub rejected {len(rejected)} messages, e.g. {rejected[:2]}")
    not_applied = read(agent_db, "SELECT type, reason FROM inbox WHERE status != 'applied'")
    f.expect(not not_applied, f"the agent did not apply {len(not_applied)} hub messages, e.g. {not_applied[:2]}")


def tickets(f: Findings, placed: list[Placed], ticket_dir: Path, agent_db: Path, settled: dict) -> None:
    """Once staff have dealt with held tickets (kitchen.settle_held_tickets): every order on paper
    exactly once, reprints aside."""
    numbers = {p.number for p in placed if p.number is not None}
    printed: Counter[int] = Counter()
    reprints = 0
    for path in sorted(ticket_dir.glob("ticket-*.txt")):
        text = path.read_text(errors="replace")
        if "REPRINT" in text:
            reprints += 1
            continue
        match = ORDER_NUMBER.search(text)
        if match:
            printed[int(match.group(1))] += 1
    still_held = read(agent_db, "SELECT COUNT(*) FROM device_jobs WHERE device = 'kitchen' AND status = 'held'")[0][0]
    twice = sorted(n for n, c in printed.items() if c > 1)
    missing = sorted(n for n in numbers if printed[n] == 0)
    f.figures["tickets_printed"] = sum(printed.values())
    f.figures["tickets_held"] = settled["held"]
    f.figures["held_released_by_staff"] = settled["released"]
    f.figures["held_dropped_as_printed"] = settled["dropped"]
    f.figures["held_reasons"] = settled["reasons"]
    f.figures["reprints"] = reprints
    f.expect(not twice, f"{len(twice)} tickets printed twice: orders {twice[:10]}")
    f.expect(not missing, f"{len(missing)} orders never printed: {missing[:10]}")
    f.expect(not still_held, f"{still_held} tickets still held after staff released them")
    f.expect(not (set(printed) - numbers), f"tickets for unknown orders: {sorted(set(printed) - numbers)[:10]}")


def bills(f: Findings, agent_db: Path, hub_db: Path, tax_mode: str = "inclusive") -> None:
    """The hub's latest state of every bill is the agent's own (state messages through every fault)."""
    conn = sqlite3.connect(f"file:{agent_db}?mode=ro", uri=True, timeout=30)
    try:
        db = sqlite_utils.Database(conn)
        agent = {}
        for session_id, closed_at in conn.execute(
                "SELECT id, closed_at FROM table_sessions WHERE id IN (SELECT session_id FROM orders)"):
            bill = agent_bills.load(db, session_id, tax_mode, now_iso())
            status = "closed" if closed_at else "settled" if bill.settled else "open"
            agent[session_id] = (bill.total_minor, bill.paid_minor, bill.left_minor, status)
    finally:
        conn.close()
    hub = {r[0]: tuple(r[1:]) for r in read(hub_db, "SELECT bill_id, total_minor, paid_minor, left_minor, status "
                                                    "FROM agent_bills WHERE agent_id = 'chaos-agent'")}
    differ = [(b, agent[b], hub.get(b)) for b in agent if hub.get(b) != agent[b]]
    f.figures["bills"] = len(agent)
    f.figures["bills_differing_at_hub"] = len(differ)
    f.expect(not differ, f"{len(differ)} bills stand differently at the hub, e.g. {differ[:2]}")
    f.expect(not (set(hub) - set(agent)), f"bills at the hub the agent does not have: {sorted(set(hub) - set(agent))[:3]}")


def payments(f: Findings, paid: list[Paid], agent_db: Path, hub_db: Path) -> None:
    done = [p for p in paid if p.done]
    f.figures["payments_tried"] = len(paid)
    f.figures["payments_card"] = sum(1 for p in done if p.method == "card")
    f.figures["payments_cash"] = sum(1 for p in done if p.method == "cash")
    f.figures["payments_skipped"] = dict(Counter((p.skipped or "")[:40] for p in paid if not p.done))
    hub = {}
    for share_id, pid, method, amount, tip in read(
            hub_db, "SELECT share_id, id, method, amount_minor, tip_minor FROM payments WHERE agent_id = 'chaos-agent'"):
        f.expect(share_id not in hub, f"share {share_id} has two payments at the hub")
        hub[share_id] = (pid, method, amount, tip)
    agent = {r[0]: r[1:] for r in read(agent_db, "SELECT id, status, payment_id, method, amount_minor, tip_minor "
                                                 "FROM bill_shares WHERE status = 'paid'")}
    for p in done:
        at_hub, at_agent = hub.get(p.share_id), agent.get(p.share_id)
        f.expect(at_hub is not None, f"{p.method} payment of share {p.share_id} is not at the hub")
        f.expect(at_agent is not None, f"{p.method} payment of share {p.share_id} is not paid at the agent")
        if at_hub and at_agent:
            f.expect(at_hub[0] == at_agent[1], f"share {p.share_id}: payment ids differ hub/agent")
            f.expect((at_hub[2], at_hub[3]) == (p.amount_minor, p.tip_minor) == (at_agent[3], at_agent[4]),
                     f"share {p.share_id}: amounts differ: hub {at_hub[2:]}, agent {at_agent[3:]}, asked "
                     f"{(p.amount_minor, p.tip_minor)}")
    f.expect(set(hub) == set(agent), f"paid shares differ: hub only {sorted(set(hub) - set(agent))[:3]}, "
                                     f"agent only {sorted(set(agent) - set(hub))[:3]}")
    recorded = read(agent_db, "SELECT COUNT(*) FROM inbox WHERE type = 'payment.recorded' AND status = 'applied'")[0][0]
    cards = sum(1 for v in hub.values() if v[1] == "card")
    f.expect(recorded == cards, f"{recorded} payment.recorded applied at the agent for {cards} card payments")
    # the ledger: every set of entries sums to zero, to the cent, and so does the whole book
    books = read(hub_db, "SELECT currency, SUM(amount_minor) FROM ledger_entries GROUP BY currency")
    f.figures["ledger"] = {c: s for c, s in books}
    f.expect(all(s == 0 for _, s in books), f"the ledger does not balance: {books}")
    unbalanced = read(hub_db, "SELECT entry_set_id, SUM(amount_minor) FROM ledger_entries "
                              "GROUP BY entry_set_id HAVING SUM(amount_minor) != 0")
    f.expect(not unbalanced, f"entry sets that do not sum to zero: {unbalanced[:3]}")
    sets = dict(read(hub_db, "SELECT payment_id, COUNT(DISTINCT entry_set_id) FROM ledger_entries "
                             "WHERE refund_id IS NULL GROUP BY payment_id"))
    f.expect(all(sets.get(v[0]) == 1 for v in hub.values()),
             f"payments booked other than once: {[(v[0], sets.get(v[0])) for v in hub.values() if sets.get(v[0]) != 1][:3]}")


def pos(f: Findings, placed: list[Placed], pos_file: Path, agent_db: Path) -> None:
    """Every order reached the POS once (a visit's first order opens its check, each later one is
    added to it: one check per visit, as a POS keeps a table); no POS job is left held."""
    import json

    checks: Counter[str] = Counter()  # order id -> times it reached the POS
    paid_on_pos = 0
    for line in pos_file.read_text().splitlines():
        record = json.loads(line)
        if "event" not in record or record["event"] == "add":
            checks[record["order_id"]] += 1
        elif record["event"] == "payment":
            paid_on_pos += record["amount_minor"]
    ids = {p.order_id for p in placed if p.order_id}
    f.figures["pos_orders"] = len(checks)
    missing = ids - set(checks)
    f.expect(not missing, f"{len(missing)} orders never reached the POS")
    f.expect(all(n == 1 for n in checks.values()), "an order reached the POS twice")
    held = read(agent_db, "SELECT kind, last_error FROM device_jobs WHERE device = 'pos' AND status = 'held'")
    f.expect(not held, f"{len(held)} POS jobs held, e.g. {held[:2]}")
    paid_here = read(agent_db, "SELECT COALESCE(SUM(amount_minor), 0) FROM bill_shares WHERE status = 'paid'")[0][0]
    f.expect(paid_on_pos == paid_here, f"the POS has {paid_on_pos} paid, the agent {paid_here}")
