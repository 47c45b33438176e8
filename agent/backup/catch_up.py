"""When the hub comes back from an older backup of its database: send it again what it lost.

Every backup upload is answered with the highest seq the hub holds from this box. Messages the box
saw acked above that seq were lost with the hub's database: they are marked undelivered again,
and the link sends them (the hub applies each id once, so any it does have change nothing). Only
what the outbox still keeps comes back (`[link] retention_days`). A hub that knows nothing of the
box (0) is left alone: that is a box paired anew, not a hub restored.
"""

import sqlite_utils

from agent.backup.restore import MARKER_TYPE


def resend_what_the_hub_lost(db: sqlite_utils.Database, hub_max_seq: int) -> int:
    """In the writer's transaction; how many messages go again."""
    if hub_max_seq <= 0:
        return 0
    return db.execute("UPDATE outbox SET delivered_at = NULL WHERE delivered_at IS NOT NULL AND seq > ? "
                      "AND type != ?", [hub_max_seq, MARKER_TYPE]).rowcount
