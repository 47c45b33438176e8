"""The device job queue: one row per ticket, receipt or POS message, written in the same
transaction as whatever asked for it (an order, a payment, a reprint); the dispatcher delivers it."""

import json
from datetime import UTC, datetime

import sqlite_utils

from contract.ids import uuid7

POS_DEVICE = "pos"


def add_job(db: sqlite_utils.Database, device: str, kind: str, payload: dict, order_id: str | None = None) -> str:
    """Queue a job for a device (a ticket, a receipt, something for the POS); its id."""
    job_id = uuid7()
    db.execute("INSERT INTO device_jobs (id, device, kind, order_id, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)",
               [job_id, device, kind, order_id, json.dumps(payload), datetime.now(UTC).isoformat()])
    return job_id
