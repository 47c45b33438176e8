"""After a box is restored from a backup: what the hub sent the dead box since goes again, and what
the hub knows of the gap is answered.

- Down messages (payments, refunds, menus) made since the backup are marked undelivered, so the
  restored box gets them again; its inbox applies each id once, so those the backup already had
  change nothing.
- The orders the hub received from the agent since the backup: the box lists those its backup
  lacks (the kitchen has them, the restored database does not).
- The highest seq the hub has seen from the agent: the box's outbox continues above it.
- When the hub last heard from the dead box: what it took after that and never sent is lost.

`highest_seq` also answers every backup upload: a box whose delivered messages go higher knows the
hub was restored from an older backup of its own, and sends them again (agent/backup/catch_up.py).
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from hub.store.tables import agent_bills, agent_devices, agents, down_messages, inbox, orders

MARGIN = timedelta(minutes=10)  # the box's clock against the hub's, and a message in flight at backup time


def highest_seq(conn: Connection, agent_id: str) -> int:
    """The highest seq the hub holds from the agent: its applied messages and the state they set."""
    return int(max(conn.execute(select(func.max(table.c.seq)).where(table.c.agent_id == agent_id)).scalar() or 0
                   for table in (inbox, agent_bills, agent_devices)))


def after_restore(conn: Connection, agent_id: str, backup_at: datetime) -> dict[str, Any]:
    since = backup_at - MARGIN
    requeued = conn.execute(update(down_messages).where(
        down_messages.c.agent_id == agent_id, down_messages.c.created_at >= since,
        down_messages.c.delivered_at.is_not(None)).values(delivered_at=None)).rowcount
    max_seq = highest_seq(conn, agent_id)
    received = conn.execute(
        select(orders.c.id, orders.c.number, orders.c.table_name, orders.c.currency, orders.c.total_minor,
               orders.c.placed_at, orders.c.received_at)
        .where(orders.c.agent_id == agent_id, orders.c.received_at >= since)
        .order_by(orders.c.placed_at)).mappings().all()
    last_seen = conn.execute(select(agents.c.last_seen_at).where(agents.c.id == agent_id)).scalar()
    return {"requeued": requeued, "max_seq": int(max_seq),
            "orders": [{**dict(r), "received_at": r["received_at"].isoformat()} for r in received],
            "last_seen_at": last_seen.isoformat() if last_seen else None}
