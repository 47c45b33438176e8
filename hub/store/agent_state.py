"""What agents report about themselves over the link: where each bill stands (bill.changed) and
how each printer or POS is doing (device.status). Blocking functions on a Connection.

The hub keeps the latest state per (agent, bill) and per (agent, device), by the envelope's seq:
the agent writes its outbox in seq order, but a resend after a reconnect can deliver an older
message after a newer one, so a row is only ever replaced by a higher seq. The message id goes
into the inbox in the same transaction, so a resend is a duplicate however late it comes; after
its id is pruned from the inbox, the seq check alone still keeps it from overwriting anything.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, select

from contract.envelope import Envelope
from contract.messages import BillChanged, DeviceStatus
from contract.money import exponent
from hub.store.tables import agent_bills, agent_devices, inbox
from hub.store.upsert import insert_ignore, upsert_newer, upsert_newer_many

Outcome = Literal["applied", "stale", "duplicate"]
BILL_STATUSES = ("open", "settled", "closed")
MAX_STORED_INT = 2**63 - 1  # BIGINT: a larger number would fail in the database on every resend


class ReportRejected(ValueError):
    """A report that can never be applied: the link records it as rejected and acks it."""


class LatestState:
    """The latest report per key, for one kind of report: one at a time (apply) or, in the batch
    intake, checked one by one (row) and written many in one statement (write_many)."""

    def __init__(self, table: Table, keys: tuple[str, ...], make_row: Callable[[Envelope, Any], dict[str, Any]]):
        self.table, self.keys, self._make_row = table, keys, make_row

    def row(self, env: Envelope, data: Any) -> dict[str, Any]:
        """The row to keep; ReportRejected when the report is unusable."""
        return {"agent_id": env.agent_id, **self._make_row(env, data), "seq": env.seq}

    def __call__(self, conn: Connection, env: Envelope, data: Any) -> Outcome:
        """One report whose message id the batch intake has recorded already."""
        return self.apply(conn, env, data, record_id=False)

    def apply(self, conn: Connection, env: Envelope, data: Any, *, record_id: bool = True) -> Outcome:
        row = self.row(env, data)
        if record_id and not insert_ignore(conn, inbox, {"message_id": env.id, "agent_id": env.agent_id,
                                                         "type": env.type, "seq": env.seq,
                                                         "received_at": datetime.now(UTC)}):
            return "duplicate"
        # "stale" keeps the inbox row: the message is done with, a resend of it is a duplicate
        return "applied" if upsert_newer(conn, self.table, row, self.keys) else "stale"

    def write_many(self, conn: Connection, rows: list[dict[str, Any]]) -> list[Outcome]:
        """Rows (from row()) of new messages in one statement, in key order: per key the highest
        seq is offered, the rest of the batch is stale at once; the offered row is applied unless
        a newer one is stored. One outcome per row, in the rows' order."""
        best: dict[tuple[Any, ...], int] = {}
        for n, row in enumerate(rows):
            key = tuple(row[k] for k in self.keys)
            if key not in best or rows[best[key]]["seq"] < row["seq"]:
                best[key] = n
        offered = [rows[best[key]] for key in sorted(best)]
        written = upsert_newer_many(conn, self.table, offered, self.keys)
        chosen = set(best.values())
        return ["applied" if n in chosen and (*(row[k] for k in self.keys), row["seq"]) in written else "stale"
                for n, row in enumerate(rows)]


def _bill_row(env: Envelope, data: BillChanged) -> dict[str, Any]:
    _require_key("bill_id", data.bill_id)
    try:
        exponent(data.currency)
    except ValueError as exc:
        raise ReportRejected(str(exc)) from None
    _require_storable(env, total_minor=data.total_minor, paid_minor=data.paid_minor, left_minor=data.left_minor)
    return {"bill_id": data.bill_id, "table_name": data.table_name, "currency": data.currency,
            "total_minor": data.total_minor, "paid_minor": data.paid_minor, "left_minor": data.left_minor,
            "status": data.status, "changed_at": data.changed_at}


def _device_row(env: Envelope, data: DeviceStatus) -> dict[str, Any]:
    _require_key("device", data.device)
    _require_storable(env, waiting=data.waiting, held=data.held)
    return {"device": data.device, "kind": data.kind, "state": data.state, "detail": data.detail,
            "waiting": data.waiting, "held": data.held, "changed_at": data.changed_at}


BILLS = LatestState(agent_bills, ("agent_id", "bill_id"), _bill_row)
DEVICES = LatestState(agent_devices, ("agent_id", "device"), _device_row)


def apply_bill_changed(conn: Connection, env: Envelope, data: BillChanged, *, record_id: bool = True) -> Outcome:
    """Keep the bill's state unless a newer one is stored; ReportRejected when unusable."""
    return BILLS.apply(conn, env, data, record_id=record_id)


def apply_device_status(conn: Connection, env: Envelope, data: DeviceStatus, *, record_id: bool = True) -> Outcome:
    """Keep the device's state unless a newer one is stored; ReportRejected when unusable."""
    return DEVICES.apply(conn, env, data, record_id=record_id)


def _require_key(name: str, value: str) -> None:
    if not value.strip():
        raise ReportRejected(f"{name} is empty: nothing to keep the state under")


def _require_storable(env: Envelope, **numbers: int) -> None:
    for name, value in {"seq": env.seq, **numbers}.items():
        if value > MAX_STORED_INT:
            raise ReportRejected(f"{name} {value} is larger than the hub stores ({MAX_STORED_INT})")


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
