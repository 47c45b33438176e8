"""What agents report about themselves over the link: where each bill stands (bill.changed) and
how each printer or POS is doing (device.status). Blocking functions on a Connection.

The hub keeps the latest state per (agent, bill) and per (agent, device), by the envelope's seq:
the agent writes its outbox in seq order, but a resend after a reconnect can deliver an older
message after a newer one, so a row is only ever replaced by a higher seq. The message id goes
into the inbox in the same transaction, so a resend is a duplicate however late it comes; after
its id is pruned from the inbox, the seq check alone still keeps it from overwriting anything.
"""

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, select

from contract.envelope import Envelope
from contract.messages import BillChanged, DeviceStatus
from contract.money import exponent
from hub.store.tables import agent_bills, agent_devices, inbox
from hub.store.upsert import insert_ignore, upsert_newer

Outcome = Literal["applied", "stale", "duplicate"]
BILL_STATUSES = ("open", "settled", "closed")
MAX_STORED_INT = 2**63 - 1  # BIGINT: a larger number would fail in the database on every resend


class ReportRejected(ValueError):
    """A report that can never be applied: the link records it as rejected and acks it."""


def apply_bill_changed(conn: Connection, env: Envelope, data: BillChanged, *, record_id: bool = True) -> Outcome:
    """Keep the bill's state unless a newer one is stored; ReportRejected when unusable."""
    _require_key("bill_id", data.bill_id)
    try:
        exponent(data.currency)
    except ValueError as exc:
        raise ReportRejected(str(exc)) from None
    _require_storable(env, total_minor=data.total_minor, paid_minor=data.paid_minor, left_minor=data.left_minor)
    return _keep_latest(conn, env, agent_bills, ("agent_id", "bill_id"), {
        "bill_id": data.bill_id, "table_name": data.table_name, "currency": data.currency,
        "total_minor": data.total_minor, "paid_minor": data.paid_minor, "left_minor": data.left_minor,
        "status": data.status, "changed_at": data.changed_at}, record_id=record_id)


def apply_device_status(conn: Connection, env: Envelope, data: DeviceStatus, *, record_id: bool = True) -> Outcome:
    """Keep the device's state unless a newer one is stored; ReportRejected when unusable."""
    _require_key("device", data.device)
    _require_storable(env, waiting=data.waiting, held=data.held)
    return _keep_latest(conn, env, agent_devices, ("agent_id", "device"), {
        "device": data.device, "kind": data.kind, "state": data.state, "detail": data.detail,
        "waiting": data.waiting, "held": data.held, "changed_at": data.changed_at}, record_id=record_id)


def _require_key(name: str, value: str) -> None:
    if not value.strip():
        raise ReportRejected(f"{name} is empty: nothing to keep the state under")


def _require_storable(env: Envelope, **numbers: int) -> None:
    for name, value in {"seq": env.seq, **numbers}.items():
        if value > MAX_STORED_INT:
            raise ReportRejected(f"{name} {value} is larger than the hub stores ({MAX_STORED_INT})")


def _keep_latest(conn: Connection, env: Envelope, table: Table, keys: tuple[str, ...],
                 row: dict[str, Any], *, record_id: bool = True) -> Outcome:
    # record_id=False: the batch intake (hub/link/intake.py) recorded the message id already
    if record_id and not insert_ignore(conn, inbox, {"message_id": env.id, "agent_id": env.agent_id, "type": env.type,
                                       "seq": env.seq, "received_at": datetime.now(UTC)}):
        return "duplicate"
    # "stale" keeps the inbox row: the message is done with, a resend of it is a duplicate
    written = upsert_newer(conn, table, {"agent_id": env.agent_id, **row, "seq": env.seq}, keys)
    return "applied" if written else "stale"


# --- reads, for operators ---

def bills(conn: Connection, agent_id: str, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The agent's bills, most recently changed (highest seq) first; only `status` ones if given."""
    stmt = select(agent_bills).where(agent_bills.c.agent_id == agent_id)
    if status is not None:
        stmt = stmt.where(agent_bills.c.status == status)
    rows = conn.execute(stmt.order_by(agent_bills.c.seq.desc()).limit(limit)).mappings()
    return [{k: v for k, v in row.items() if k != "agent_id"} for row in rows]


def devices(conn: Connection, agent_id: str) -> list[dict[str, Any]]:
    """The agent's devices, by name."""
    rows = conn.execute(select(agent_devices).where(agent_devices.c.agent_id == agent_id)
                        .order_by(agent_devices.c.device)).mappings()
    return [{k: v for k, v in row.items() if k != "agent_id"} for row in rows]


def device_summaries(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every agent's devices in brief (agent id -> list by name): "kitchen printer paper_out"."""
    c = agent_devices.c
    rows = conn.execute(select(c.agent_id, c.device, c.kind, c.state, c.held, c.waiting, c.changed_at)
                        .order_by(c.agent_id, c.device)).mappings()
    summaries: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        summaries.setdefault(row["agent_id"], []).append({k: v for k, v in row.items() if k != "agent_id"})
    return summaries
