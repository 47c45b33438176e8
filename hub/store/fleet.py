"""What the platform's agents look like as a whole, for the hub's metrics: a few aggregate
queries (blocking, on a Connection), run by a periodic task, never per scrape or per message.

Each is bounded by what is *waiting* (undelivered down messages, through their delivered_at
index) or is one count over the agents table, and the per-agent lists are capped at `top`, so a
platform of 2,000 agents costs the same few rows as one of ten.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, exists, func, select

from hub.store.tables import agent_bills, agents, down_messages

TOP_AGENTS = 10  # agents named one by one in a metric: never one series per agent of the platform
# An agent gone longer than a service day with a bill still open is a box taken away or a bill
# never closed, not diners waiting: left out, so it cannot hide today's outages from the top few.
GONE_WITHIN = timedelta(hours=12)


@dataclass(frozen=True)
class FleetSnapshot:
    agents_online: int = 0
    agents_offline_with_open_bills: int = 0
    # agent id -> seconds since last seen, the longest first, at most `top`
    offline_with_open_bills: dict[str, float] = field(default_factory=dict)
    downlink_waiting: int = 0
    downlink_waiting_top: dict[str, int] = field(default_factory=dict)  # agent id -> messages, most first


def snapshot(conn: Connection, *, top: int = TOP_AGENTS) -> FleetSnapshot:
    now = datetime.now(UTC)
    enrolled = agents.c.revoked_at.is_(None)  # or not yet enrolled: the link gate decides who talks
    online = conn.execute(select(func.count()).select_from(agents)
                          .where(enrolled, agents.c.online.is_(True))).scalar_one()
    # offline while diners sit at an open bill: a restaurant that closed for the night has none
    open_bill = exists().where(agent_bills.c.agent_id == agents.c.id, agent_bills.c.status == "open")
    gone = (select(agents.c.id, agents.c.last_seen_at)
            .where(enrolled, agents.c.online.is_(False), agents.c.last_seen_at >= now - GONE_WITHIN, open_bill))
    gone_count = conn.execute(select(func.count()).select_from(gone.subquery())).scalar_one()
    longest = conn.execute(gone.order_by(agents.c.last_seen_at, agents.c.id).limit(top)).all()
    undelivered = down_messages.c.delivered_at.is_(None)
    waiting = conn.execute(select(func.count()).select_from(down_messages).where(undelivered)).scalar_one()
    count = func.count().label("n")
    most = conn.execute(select(down_messages.c.agent_id, count).where(undelivered)
                        .group_by(down_messages.c.agent_id).order_by(count.desc(), down_messages.c.agent_id)
                        .limit(top)).all()
    return FleetSnapshot(
        agents_online=online, agents_offline_with_open_bills=gone_count,
        offline_with_open_bills={agent_id: (now - seen).total_seconds() for agent_id, seen in longest},
        downlink_waiting=waiting, downlink_waiting_top={agent_id: n for agent_id, n in most})
