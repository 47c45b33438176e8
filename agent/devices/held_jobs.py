"""What staff do with tickets the agent held back (too old, cut off mid-print, or interrupted by
a crash): print them as they are, reprint them marked REPRINT, or drop them.

The functions run inside a writer transaction. Today the `tableside jobs` command calls them;
the staff dashboard will call the same ones.
"""

import json
from datetime import UTC, datetime

import sqlite_utils

from agent.devices.jobs import add_job


class JobError(LookupError):
    """The job does not exist or is not held."""


def list_held(db: sqlite_utils.Database) -> list[dict]:
    return [{"id": r["id"], "device": r["device"], "order_id": r["order_id"], "created_at": r["created_at"],
             "reason": r["last_error"], "table": json.loads(r["payload"]).get("table_name"),
             "number": json.loads(r["payload"]).get("order_number")}
            for r in db.query("SELECT * FROM device_jobs WHERE status = 'held' ORDER BY created_at")]


def _held(db: sqlite_utils.Database, job_id: str) -> dict:
    row = db.execute("SELECT id, device, kind, order_id, payload, status FROM device_jobs WHERE id = ?",
                     [job_id]).fetchone()
    if row is None:
        raise JobError(f"no job {job_id!r}")
    if row[5] != "held":
        raise JobError(f"job {job_id} is {row[5]}, not held")
    return {"id": row[0], "device": row[1], "kind": row[2], "order_id": row[3], "payload": json.loads(row[4])}


def release(db: sqlite_utils.Database, job_id: str) -> None:
    """Staff checked: it did not print. Print it now, as it is."""
    _held(db, job_id)
    db.execute("UPDATE device_jobs SET status = 'pending', created_at = ?, last_error = NULL WHERE id = ?",
               [datetime.now(UTC).isoformat(), job_id])


def reprint(db: sqlite_utils.Database, job_id: str) -> str:
    """Print it again, saying REPRINT on the paper; the held job is closed. The new job's id."""
    job = _held(db, job_id)
    db.execute("UPDATE device_jobs SET status = 'done', done_at = ?, last_error = 'replaced by a reprint' "
               "WHERE id = ?", [datetime.now(UTC).isoformat(), job_id])
    return add_job(db, job["device"], job["kind"], {**job["payload"], "reprint": True}, job["order_id"])


def drop(db: sqlite_utils.Database, job_id: str) -> None:
    """Staff checked: it printed (or is no longer wanted)."""
    _held(db, job_id)
    db.execute("UPDATE device_jobs SET status = 'dropped', done_at = ? WHERE id = ?",
               [datetime.now(UTC).isoformat(), job_id])
