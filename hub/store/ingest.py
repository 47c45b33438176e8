"""A batch of up-messages in one transaction: their ids into the inbox, then the new ones' effects.

The intake (hub/link/intake.py) gathers messages while earlier batches commit, so under load many
messages share one commit. Ids are recorded first in one multi-row INSERT ... ON CONFLICT DO
NOTHING RETURNING; only the messages it returns (new ids) take effect, so a resend is a
duplicate whichever worker applies it. Orders, the hot type, go in as multi-row INSERTs too;
state reports (bill.changed, device.status) as one upsert per kind and cash payments as one
insert (effects with `row` and `write_many`); other types run their effect one by one, in key
order too. Rows are written in key order so two workers' batches
lock them in the same order and never deadlock each other.

An effect that raises sinks the transaction; ItemFailed says which message did it, so the intake
can retry the rest without it and that one alone.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, Engine, delete, func, select

from contract.envelope import Envelope
from contract.messages import OrderPlaced
from hub.store.tables import agents, inbox, order_lines, orders
from hub.store.upsert import dialect_insert, insert_many, insert_many_ignore, insert_unnest

# The effect of one new message inside the batch's transaction (its id is in the inbox already);
# returns an outcome word ("applied", "duplicate", "stale", ...), raises to refuse it.
Effect = Callable[[Connection, Envelope, Any], object]
DUPLICATE = "duplicate"
APPLIED = "applied"


@dataclass(frozen=True)
class Item:
    env: Envelope
    data: Any  # the decoded message (contract.messages)


class ItemFailed(Exception):
    """Applying items[index] raised `cause`; the transaction is lost."""

    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__(f"item {index} failed: {cause!r}")
        self.index = index
        self.cause = cause


class RowFailed(ItemFailed):
    """Raised by an effect's write_many: index is into the rows it was given, not the batch's items."""


def apply_batch(conn: Connection, items: Sequence[Item], effects: dict[str, Effect], *,
                seen: Sequence[str] = (), clocks: dict[str, int] | None = None) -> list[object]:
    """Apply `items` (distinct message ids) in the caller's transaction; one outcome per item.
    `seen`: agents whose last_seen_at becomes now (created if new); `clocks`: agent -> clock offset."""
    now = datetime.now(UTC)
    _touch(conn, set(seen), clocks or {}, {item.env.agent_id for item in items}, now)
    fresh = insert_many_ignore(conn, inbox, sorted(
        ({"message_id": item.env.id, "agent_id": item.env.agent_id, "type": item.env.type,
          "seq": item.env.seq, "received_at": now} for item in items), key=lambda row: row["message_id"]))
    outcomes: list[object] = [DUPLICATE] * len(items)
    new_orders = [i for i, item in enumerate(items) if item.env.id in fresh and isinstance(item.data, OrderPlaced)]
    for i, outcome in zip(new_orders, _insert_orders(conn, [items[i] for i in new_orders], now), strict=True):
        outcomes[i] = outcome
    # In key order, not arrival order: two workers' batches then lock the same state rows in the
    # same order and never deadlock each other (as for agents, the inbox and orders above).
    many: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # type -> (index, row) written in one statement
    for i, item in sorted(enumerate(items), key=lambda pair: _lock_order(pair[1])):
        if item.env.id not in fresh or isinstance(item.data, OrderPlaced):
            continue
        effect = effects[item.env.type]
        try:
            if hasattr(effect, "write_many"):  # state reports (agent_state.LatestState), cash payments
                many.setdefault(item.env.type, []).append((i, effect.row(item.env, item.data)))
            else:
                outcomes[i] = effect(conn, item.env, item.data)
        except Exception as exc:
            raise ItemFailed(i, exc) from exc
    for type_, rows in sorted(many.items()):
        try:
            written = effects[type_].write_many(conn, [row for _, row in rows])
        except RowFailed as failed:
            raise ItemFailed(rows[failed.index][0], failed.cause) from failed.cause
        for (i, _), outcome in zip(rows, written, strict=True):
            outcomes[i] = outcome
    return outcomes


def _lock_order(item: Item) -> tuple[str, str, str, int]:
    """The rows an effect writes, as a sort key: its type, agent, and what it keeps state under
    (a bill, a device, a payment), then seq."""
    data = item.data
    key = next((value for name in ("bill_id", "device", "payment_id", "refund_id")
                if isinstance(value := getattr(data, name, None), str)), "")
    return item.env.type, item.env.agent_id, key, item.env.seq


def _touch(conn: Connection, seen: set[str], clocks: dict[str, int], talking: set[str], now: datetime) -> None:
    """last_seen_at for `seen`, clock offsets for `clocks`, and every agent of the batch created if
    new (a write per message would double them), in ONE statement over the agents in key order.

    Why one statement: two workers' batches share agents (a shared subscription splits each
    agent's messages), and separate statements (last seen, then the others, then clocks) took the
    same rows' locks in different orders across batches: deadlocks, and batches queueing behind
    each other for seconds (bench/hub_scale.py, 2 workers, dinner mix at saturation). Agents that
    exist and are neither seen nor measured are not written at all: an INSERT ... DO NOTHING
    still waits for another transaction's update of the row."""
    others = talking - seen - set(clocks)
    existing = _existing_agents(conn, sorted(others)) if others else set()
    due = sorted(seen | set(clocks) | (others - existing))
    if not due:
        return
    rows = [{"id": a, "name": a, "created_at": now, "online": False,
             "last_seen_at": now if a in seen or a in others else None,
             "clock_offset_ms": clocks.get(a)} for a in due]
    if conn.dialect.name == "postgresql":  # one short statement, nothing compiled per batch
        insert_unnest(conn, agents, rows, conflict=(
            " ON CONFLICT (id) DO UPDATE SET"
            " last_seen_at = coalesce(EXCLUDED.last_seen_at, agents.last_seen_at),"
            " clock_offset_ms = coalesce(EXCLUDED.clock_offset_ms, agents.clock_offset_ms)"))
        return
    stmt = dialect_insert(conn, agents)
    stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={
        "last_seen_at": func.coalesce(stmt.excluded.last_seen_at, agents.c.last_seen_at),
        "clock_offset_ms": func.coalesce(stmt.excluded.clock_offset_ms, agents.c.clock_offset_ms)})
    conn.execute(stmt, rows)


def _existing_agents(conn: Connection, ids: list[str]) -> set[str]:
    if conn.dialect.name == "postgresql":
        with conn.connection.dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT id FROM agents WHERE id = ANY(%b::varchar[])", (ids,))
            return {row[0] for row in cursor.fetchall()}
    return set(conn.execute(select(agents.c.id).where(agents.c.id.in_(ids))).scalars())


def _insert_orders(conn: Connection, items: list[Item], now: datetime) -> list[str]:
    """Orders new by id are stored with their lines; an order id already stored (or twice in the
    batch) under another message id keeps nothing, not even its inbox row."""
    first: dict[str, Item] = {}
    for item in items:
        first.setdefault(item.data.order_id, item)
    stored = insert_many_ignore(conn, orders, [
        {"id": d.order_id, "agent_id": item.env.agent_id, "number": d.number, "table_id": d.table_id,
         "table_name": d.table_name, "currency": d.currency, "total_minor": d.total_minor,
         "placed_at": d.placed_at, "received_at": now, "body": bytes(item.env.data).decode()}
        for item, d in sorted(((i, i.data) for i in first.values()), key=lambda pair: pair[1].order_id)])
    applied = {id(item) for order_id, item in first.items() if order_id in stored}
    lines = [
        {"order_id": item.data.order_id, "position": position, "item_id": line.item_id, "name": line.name,
         "qty": line.qty, "unit_price_minor": line.unit_price_minor, "line_total_minor": line.line_total_minor,
         "modifiers": msgspec.json.encode(line.modifiers).decode(), "note": line.note}
        for item in items if id(item) in applied for position, line in enumerate(item.data.lines)]
    insert_many(conn, order_lines, lines)
    dropped = [item.env.id for item in items if id(item) not in applied]
    if dropped:
        conn.execute(delete(inbox).where(inbox.c.message_id.in_(dropped)))
    return [APPLIED if id(item) in applied else DUPLICATE for item in items]


@dataclass(frozen=True)
class Rejected:
    """Can never apply (the effect raised one of the caller's `rejects`): record it and ack it."""

    reason: str


@dataclass(frozen=True)
class Failed:
    """Did not apply this time (the database, a bug): not acked, so the agent sends it again."""

    error: BaseException


def apply_isolating(engine: Engine, items: Sequence[Item], effects: dict[str, Effect],
                    rejects: tuple[type[BaseException], ...], *, seen: Sequence[str] = (),
                    clocks: dict[str, int] | None = None) -> list[object]:
    """apply_batch in as few transactions as it takes: one when all goes well. When one message
    sinks the transaction, the rest are retried without it and it alone; alone, it is Rejected if
    its error says it can never apply, else Failed. An error no message owns (the connection, a
    deadlock) retries each message alone. Outcomes per item: an effect's word, Rejected or Failed."""
    results: list[object] = [None] * len(items)
    groups = [list(range(len(items)))]
    while groups:
        group = groups.pop()
        try:
            with engine.begin() as conn:
                outcomes = apply_batch(conn, [items[i] for i in group], effects, seen=seen, clocks=clocks)
        except ItemFailed as failed:
            bad = group[failed.index]
            if len(group) == 1:
                results[bad] = (Rejected(str(failed.cause)) if isinstance(failed.cause, rejects)
                                else Failed(failed.cause))
            else:
                groups.append([bad])
                groups.append([i for i in group if i != bad])  # the rest first
            continue
        except Exception as exc:
            if len(group) == 1:
                results[group[0]] = Failed(exc)
            else:
                groups.extend([i] for i in group)
            continue
        for i, outcome in zip(group, outcomes, strict=True):
            results[i] = outcome
    return results
