"""Telling the hub where a bill stands after each change (an order, a payment, a void, a refund,
the table closed). Only the latest undelivered state of a bill waits in the outbox (outbox.append's
`replaces`).

Two ways in. `report` sums the bill in the caller's transaction (once per group commit for the
writes that change the same bill): for the rare changes whose news the hub needs now (a payment
settling the bill). `report_soon` is an order's: it only notes in the order's transaction that the
bill is owed a report (`bill_reports_due`, so a crash cannot lose it), and `run` reports every bill
owed, once, each second: a rush of orders on many tables then sums each bill once a second rather
than once per order, and a 500-line tab costs an order no more than a 5-line one."""

import asyncio
import logging
from collections.abc import Callable

import sqlite_utils

from agent.config import AgentConfig
from agent.store import outbox
from agent.store.database import Database, once_before_commit
from agent.visits import bills, table_sessions
from agent.visits.table_sessions import now_iso
from contract import messages

log = logging.getLogger(__name__)

REPORT_EVERY_S = 1.0  # how late the hub may hear of an order's bill (the order itself goes at once)
REPORTS_PER_WRITE = 8  # bills summed in one write of a round: how long an order may wait behind it


def report(db: sqlite_utils.Database, config: AgentConfig, session_id: str) -> None:
    """Within the caller's transaction, before it commits."""
    once_before_commit(db, ("bill_feed", session_id), lambda db: _report_now(db, config, session_id))


def report_soon(db: sqlite_utils.Database, session_id: str) -> None:
    """Within the caller's (an order's) transaction: the bill is owed a report, made by `run`."""
    noted = _noted(db)
    if noted is not None and session_id in noted:
        return  # already owed in this file: the writer remembers, so a rush asks SQLite once
    db.execute("INSERT OR IGNORE INTO bill_reports_due (session_id, due_since) VALUES (?, ?)",
               [session_id, now_iso()])
    if noted is not None:
        noted.add(session_id)


def report_due(db: sqlite_utils.Database, config: AgentConfig, session_ids: list[str]) -> int:
    """On the writer: report those of `session_ids` still owed one, once; how many."""
    marks = ",".join("?" * len(session_ids))
    due = [row[0] for row in db.execute(
        f"SELECT session_id FROM bill_reports_due WHERE session_id IN ({marks})", session_ids).fetchall()]
    for session_id in due:
        _report_now(db, config, session_id)  # forgets it in the writer's memory too
    return len(due)


def owed(db: sqlite_utils.Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT session_id FROM bill_reports_due ORDER BY due_since")]


async def report_round(database: Database, config: AgentConfig) -> int:
    """One round: the bills owed when it starts, a few per write, so that orders waiting for the
    writer go between them instead of behind a hundred bills' sums (a pause of tens of ms each
    second over many tables); a bill owed again meanwhile waits for the next round."""
    due = await database.read(owed)
    reported = 0
    for i in range(0, len(due), REPORTS_PER_WRITE):
        reported += await database.write(report_due, config, due[i:i + REPORTS_PER_WRITE])
    return reported


async def run(database: Database, current_config: Callable[[], AgentConfig],
              wake: Callable[[], None] = lambda: None, every: float = REPORT_EVERY_S) -> None:
    """The background task; its first round reports what a stop left owed. A failed round is
    tried again at the next (what is owed stays in the file)."""
    while True:
        try:
            if await report_round(database, current_config()):
                wake()  # the link sends them
        except Exception:
            log.exception("reporting bills to the hub failed; trying again")
        await asyncio.sleep(every)


def _noted(db: sqlite_utils.Database) -> set | None:
    memo = getattr(db, "memo", None)  # the writer's memory (database.WriterDb), forgotten on any undo
    return None if memo is None else memo.setdefault("bill_reports_due", set())


def _report_now(db: sqlite_utils.Database, config: AgentConfig, session_id: str) -> None:
    # this report covers whatever was owed: a later round must not repeat it, a later order owes anew
    db.execute("DELETE FROM bill_reports_due WHERE session_id = ?", [session_id])
    noted = _noted(db)
    if noted is not None:
        noted.discard(session_id)
    session = table_sessions.get(db, session_id)
    bill = bills.totals(db, session_id, config.restaurant.tax_mode, now_iso())
    if session is None or bill is None:
        return
    status = "closed" if session["closed_at"] else "settled" if bill.settled else "open"
    outbox.append(db, config.agent.id, messages.BillChanged(
        bill_id=session_id, table_name=session["table_name"], currency=bill.currency,
        total_minor=bill.total_minor, paid_minor=bill.paid_minor, left_minor=bill.left_minor,
        status=status, changed_at=now_iso()), replaces=f"bill:{session_id}")
