"""The end of a paid visit: once every order of it is served and `[restaurant] visit_grace_minutes`
have passed since the later of the payment and the last dish served, the visit closes and the
party's phones say thank you (docs/bills.md, "The end of a visit"). Staff closing the table ends it
at once (agent/web/staff/bills_api.py)."""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlite_utils

from agent.config import AgentConfig
from agent.events import EventBus
from agent.store.database import Database
from agent.visits import bill_feed, bills, table_sessions
from agent.visits.table_sessions import now_iso

log = logging.getLogger(__name__)

CLOSED_BY = "visit over"  # table_sessions.closed_by when the grace period, not a person, ended it
LONGEST_WAIT_S = 30.0  # how often the task looks at most: an end a few seconds late harms no one


def ended_event(session_id: str, table_id: str, reason: str) -> tuple[str, dict, str]:
    return "session", {"closed": True, "session_id": session_id, "reason": reason}, table_id


def settle_if_paid(db: sqlite_utils.Database, config: AgentConfig, session_id: str, table_id: str,
                   bill_settled: bool) -> list[tuple[str, dict, str]]:
    """After a payment: a settled bill frees the table for the next party (with close_when_paid)
    but the visit goes on for this one; the event tells its phones to show the receipt."""
    if not (bill_settled and config.restaurant.close_when_paid and table_sessions.settle(db, session_id)):
        return []
    return [("session", {"settled": True, "session_id": session_id}, table_id)]


def due(db: sqlite_utils.Database, grace_s: float, now: datetime, tax_mode: str) -> list[tuple[str, str]]:
    """(visit, table) of each paid visit that is over: nothing left to serve or to pay, and quiet
    for the grace period."""
    cutoff = (now - timedelta(seconds=grace_s)).isoformat(timespec="milliseconds")
    found = []
    for session_id, table_id, settled_at, last_change, unserved in db.execute(
            """SELECT s.id, s.table_id, s.settled_at, MAX(o.updated_at),
                      COALESCE(SUM(o.status != 'served'), 0)
               FROM table_sessions s LEFT JOIN orders o ON o.session_id = s.id
               WHERE s.closed_at IS NULL AND s.settled_at IS NOT NULL GROUP BY s.id"""):
        if unserved or max(settled_at, last_change or "") > cutoff:
            continue
        totals = bills.totals(db, session_id, tax_mode, now_iso())
        if totals is not None and (totals.left_minor or totals.held_minor):  # ordered more after paying
            continue
        found.append((session_id, table_id))
    return found


def end_due(db: sqlite_utils.Database, config: AgentConfig, now: datetime) -> list[tuple[str, dict, str]]:
    """Close every visit that is over, telling the hub; the events to publish after the commit."""
    events = []
    for session_id, table_id in due(db, config.restaurant.visit_grace_minutes * 60, now, config.restaurant.tax_mode):
        if table_sessions.close(db, session_id, CLOSED_BY):
            bill_feed.report(db, config, session_id)
            events.append(ended_event(session_id, table_id, "over"))
    return events


async def end_visits_when_over(database: Database, events: EventBus, current_config: Callable[[], AgentConfig],
                               wake: Callable[[], None] = lambda: None) -> None:
    """The background task: looks every few seconds (a fraction of the grace period), writes only
    through the database's writer thread, and never lets one failed round stop the next."""
    while True:
        config = current_config()
        try:
            ended = await database.write(end_due, config, datetime.now(UTC))
        except Exception:
            log.exception("ending finished visits failed; trying again")
            ended = []
        for kind, data, table_id in ended:
            events.publish(kind, data, table_id=table_id)
        if ended:
            log.info("visits over", extra={"visits": len(ended)})
            wake()  # the hub hears of the closed bills
        await asyncio.sleep(min(LONGEST_WAIT_S, max(0.2, config.restaurant.visit_grace_minutes * 60 / 10)))
