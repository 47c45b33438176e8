"""HubStore: the hub's database behind async methods.

SQLAlchemy's engine is blocking, so every call runs on the store's own small thread pool
(sized like the connection pool), never on the event loop.
"""

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from sqlalchemy import Engine, delete, func, insert, select, update

from contract.envelope import Envelope
from contract.messages import BillChanged, DeviceStatus, OrderPlaced
from hub.store import agent_state, downlink, ingest
from hub.store.engine import make_engine
from hub.store.tables import agents, inbox, order_lines, orders, rejected_messages
from hub.store.upsert import insert_ignore, upsert

T = TypeVar("T")
MAX_REJECTED_PAYLOAD = 64 * 1024  # enough to see what went wrong; an abuser cannot fill the disk


def _now() -> datetime:
    return datetime.now(UTC)


class HubStore:
    def __init__(self, engine: Engine, *, workers: int = 5) -> None:
        self._engine = engine
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hub-store")

    @classmethod
    def open(cls, database_url: str, *, workers: int = 5) -> "HubStore":
        """A store on a new engine; the database must already be migrated."""
        return cls(make_engine(database_url, pool_size=workers), workers=workers)

    @property
    def engine(self) -> Engine:
        return self._engine

    async def close(self) -> None:
        def close() -> None:
            self._executor.shutdown(wait=True)
            self._engine.dispose()

        await asyncio.to_thread(close)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))

    # --- writes ---

    async def apply_order_placed(self, env: Envelope, data: OrderPlaced) -> bool:
        """Record the message and store the order, all or nothing; False for a duplicate
        (message id already applied, or order id already stored)."""
        return await self._run(self._apply_order_placed, env, data)

    def _apply_order_placed(self, env: Envelope, data: OrderPlaced) -> bool:
        now = _now()
        with self._engine.connect() as conn, conn.begin() as tx:
            applied = insert_ignore(conn, inbox, {
                "message_id": env.id, "agent_id": env.agent_id, "type": env.type,
                "seq": env.seq, "received_at": now,
            }) and insert_ignore(conn, orders, {
                "id": data.order_id, "agent_id": env.agent_id, "number": data.number,
                "table_id": data.table_id, "table_name": data.table_name,
                "currency": data.currency, "total_minor": data.total_minor,
                "placed_at": data.placed_at, "received_at": now, "body": bytes(env.data).decode(),
            })
            if not applied:
                # The same order under a new message id: keep nothing, not even the inbox row.
                tx.rollback()
                return False
            if data.lines:
                conn.execute(insert(order_lines), [
                    {
                        "order_id": data.order_id, "position": position, "item_id": line.item_id,
                        "name": line.name, "qty": line.qty, "unit_price_minor": line.unit_price_minor,
                        "line_total_minor": line.line_total_minor,
                        "modifiers": msgspec.json.encode(line.modifiers).decode(), "note": line.note,
                    }
                    for position, line in enumerate(data.lines)
                ])
        return True

    async def record_rejected(self, message_id: str, agent_id: str, type_: str, reason: str,
                              payload: bytes | str) -> bool:
        """Keep a message the hub will not apply; False when it was already recorded."""
        if isinstance(payload, bytes):
            payload = payload[:MAX_REJECTED_PAYLOAD].decode("utf-8", errors="replace")
        row = {"message_id": message_id, "agent_id": agent_id, "type": type_,
               "reason": reason, "payload": payload[:MAX_REJECTED_PAYLOAD], "received_at": _now()}
        return await self._run(self._insert_ignore, rejected_messages, row)

    def _insert_ignore(self, table: Any, row: dict[str, Any]) -> bool:
        with self._engine.begin() as conn:
            return insert_ignore(conn, table, row)

    async def touch_agent(self, agent_id: str, online: bool | None = None, *, seen: bool = True) -> None:
        """Create the agent if new; set last_seen_at to now (when `seen`) and `online` if given.

        seen=False is for retained messages: the broker replayed them, the agent did not speak.
        """
        await self._run(self._touch_agent, agent_id, online, seen)

    def _touch_agent(self, agent_id: str, online: bool | None, seen: bool) -> None:
        now = _now()
        update: dict[str, Any] = {}
        if seen:
            update["last_seen_at"] = now
        if online is not None:
            update["online"] = online
        row = {"id": agent_id, "name": agent_id, "created_at": now,
               "last_seen_at": now if seen else None, "online": bool(online)}
        with self._engine.begin() as conn:
            _touch_agent_in(conn, row, update)

    async def record_presence(self, agent_id: str, online: bool, *, seen: bool, clock_offset_ms: int | None,
                              public_key: str | None) -> str | None:
        """A presence message in one transaction: online (and last_seen_at when `seen`), the clock
        offset when measured, the key (trusted on first use: remember_agent_key's verdict, None
        without a key)."""
        return await self._run(self._record_presence, agent_id, online, seen, clock_offset_ms, public_key)

    def _record_presence(self, agent_id: str, online: bool, seen: bool, clock_offset_ms: int | None,
                         public_key: str | None) -> str | None:
        now = _now()
        update: dict[str, Any] = {"online": online, **({"last_seen_at": now} if seen else {}),
                                  **({"clock_offset_ms": clock_offset_ms} if clock_offset_ms is not None else {})}
        row = {"id": agent_id, "name": agent_id, "created_at": now, "last_seen_at": now if seen else None,
               "online": online, "clock_offset_ms": clock_offset_ms}
        with self._engine.begin() as conn:
            _touch_agent_in(conn, row, update)
            return _remember_agent_key_in(conn, agent_id, public_key) if public_key else None

    # --- reads ---

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        """The order with its lines (position order), or None."""
        return await self._run(self._get_order, order_id)

    def _get_order(self, order_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(orders).where(orders.c.id == order_id)).mappings().first()
            if row is None:
                return None
            lines = conn.execute(
                select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.position)
            ).mappings().all()
        order = {k: v for k, v in row.items() if k != "body"}
        order["lines"] = [
            {**{k: v for k, v in line.items() if k != "order_id"},
             "modifiers": msgspec.json.decode(line["modifiers"])}
            for line in lines
        ]
        return order

    async def get_agent(self, agent_id: str) -> dict[str, Any] | None:
        return await self._run(self._get_agent, agent_id)

    def _get_agent(self, agent_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(agents).where(agents.c.id == agent_id)).mappings().first()
        return dict(row) if row else None

    async def list_agents(self) -> list[dict[str, Any]]:
        """Every agent with its order count, by id."""
        return await self._run(self._list_agents)

    def _list_agents(self) -> list[dict[str, Any]]:
        counts = (select(orders.c.agent_id, func.count().label("n")).group_by(orders.c.agent_id)
                  .subquery())
        stmt = (select(agents, func.coalesce(counts.c.n, 0).label("order_count"))
                .outerjoin(counts, counts.c.agent_id == agents.c.id).order_by(agents.c.id))
        with self._engine.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    async def count_orders(self, agent_id: str | None = None) -> int:
        return await self._run(self._count_orders, agent_id)

    def _count_orders(self, agent_id: str | None) -> int:
        stmt = select(func.count()).select_from(orders)
        if agent_id is not None:
            stmt = stmt.where(orders.c.agent_id == agent_id)
        with self._engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    # link, hub -> agent

    async def enqueue_down(self, agent_id: str, message: msgspec.Struct) -> str:
        """Queue one message for the agent in a transaction of its own; its id. Code that writes
        something else with it calls downlink.enqueue_down inside its own transaction instead."""
        return await self._run(self._in_transaction, downlink.enqueue_down, agent_id, message)

    async def enqueue_down_message(self, agent_id: str, message: msgspec.Struct) -> downlink.DownMessage:
        """enqueue_down, answering with the queued message (id and seq)."""
        return await self._run(self._in_transaction, downlink.enqueue_down_message, agent_id, message)

    async def down_pending(self, agent_id: str, after_seq: int, limit: int) -> list[downlink.DownMessage]:
        return await self._run(self._in_connection, downlink.pending, agent_id, after_seq, limit)

    async def mark_down_delivered(self, agent_id: str, ids: list[str]) -> int:
        return await self._run(self._in_transaction, downlink.mark_delivered, agent_id, ids)

    async def down_waiting(self, agent_id: str) -> int:
        """Messages the agent has not acked yet."""
        return await self._run(self._in_connection, downlink.waiting, agent_id)

    async def down_waiting_per_agent(self) -> dict[str, int]:
        return await self._run(self._in_connection, downlink.waiting_per_agent)

    async def down_targets(self) -> list[str]:
        """Online agents with messages waiting."""
        return await self._run(self._in_connection, downlink.online_with_pending)

    async def prune_down(self, older_than: timedelta) -> int:
        return await self._run(self._in_transaction, downlink.prune, older_than)

    async def prune_inbox(self, older_than: timedelta) -> int:
        """Forget applied up-message ids received more than `older_than` ago; how many."""
        def prune(conn) -> int:
            return conn.execute(delete(inbox).where(inbox.c.received_at < _now() - older_than)).rowcount
        return await self._run(self._in_transaction, prune)

    # what agents report about themselves (hub/store/agent_state.py)

    async def apply_bill_changed(self, env: Envelope, data: BillChanged) -> agent_state.Outcome:
        """Keep the bill's latest state: "applied", "stale" (a newer one is stored) or "duplicate";
        agent_state.ReportRejected for a report that can never be applied."""
        return await self._run(self._in_transaction, agent_state.apply_bill_changed, env, data)

    async def apply_device_status(self, env: Envelope, data: DeviceStatus) -> agent_state.Outcome:
        """As apply_bill_changed, for a printer or the POS."""
        return await self._run(self._in_transaction, agent_state.apply_device_status, env, data)

    async def agent_bills(self, agent_id: str, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        return await self._run(self._in_connection, agent_state.bills, agent_id, status, limit)

    async def agent_devices(self, agent_id: str) -> list[dict[str, Any]]:
        return await self._run(self._in_connection, agent_state.devices, agent_id)

    async def device_summaries(self) -> dict[str, list[dict[str, Any]]]:
        return await self._run(self._in_connection, agent_state.device_summaries)

    def _in_transaction(self, fn: Callable[..., T], *args: Any) -> T:
        with self._engine.begin() as conn:
            return fn(conn, *args)

    def _in_connection(self, fn: Callable[..., T], *args: Any) -> T:
        with self._engine.connect() as conn:
            return fn(conn, *args)

    async def remember_agent_key(self, agent_id: str, public_key: str) -> str:
        """Trust on first use: "stored" (first key seen), "same", or "refused" (a different key:
        kept in refused_key for an operator to see, never used)."""
        return await self._run(self._remember_agent_key, agent_id, public_key)

    def _remember_agent_key(self, agent_id: str, public_key: str) -> str:
        now = _now()
        with self._engine.begin() as conn:
            insert_ignore(conn, agents, {"id": agent_id, "name": agent_id, "created_at": now, "online": False})
            return _remember_agent_key_in(conn, agent_id, public_key)

    async def reset_agent_key(self, agent_id: str) -> bool:
        """Forget the agent's key (operator action, e.g. after a reinstall): the next presence
        sets it again. False for an unknown agent."""
        return await self._run(self._reset_agent_key, agent_id)

    def _reset_agent_key(self, agent_id: str) -> bool:
        with self._engine.begin() as conn:
            return conn.execute(
                update(agents).where(agents.c.id == agent_id).values(public_key=None, refused_key=None)
                .returning(agents.c.id)).first() is not None

    async def agent_key(self, agent_id: str) -> str | None:
        """The agent's trusted public key (base64url), None when none is known yet."""
        return await self._run(self._agent_column, agent_id, agents.c.public_key)

    async def set_clock_offset(self, agent_id: str, offset_ms: int) -> None:
        await self._run(self._set_clock_offset, agent_id, offset_ms)

    def _set_clock_offset(self, agent_id: str, offset_ms: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id).values(clock_offset_ms=offset_ms))

    async def agent_clock_offset(self, agent_id: str) -> int:
        """Hub time - agent time in ms (positive: the agent's clock is behind); 0 when not measured.
        Correct an agent timestamp by adding it."""
        return await self._run(self._agent_column, agent_id, agents.c.clock_offset_ms) or 0

    def _agent_column(self, agent_id: str, column: Any) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(select(column).where(agents.c.id == agent_id)).scalar_one_or_none()

    # --- link intake: many up-messages per transaction (hub/store/ingest.py) ---

    async def apply_up_batch(self, items: list[ingest.Item], effects: dict[str, ingest.Effect],
                             rejects: tuple[type[BaseException], ...], *, seen: list[str],
                             clocks: dict[str, int]) -> list[object]:
        """ingest.apply_isolating on the store's threads: one outcome per item."""
        return await self._run(functools.partial(ingest.apply_isolating, self._engine, items, effects, rejects,
                                                 seen=seen, clocks=clocks))


def _touch_agent_in(conn: Any, row: dict[str, Any], update: dict[str, Any]) -> None:
    """The agent's row created if new, else `update` set on it."""
    if update:
        upsert(conn, agents, row, ["id"], update)
    else:
        insert_ignore(conn, agents, row)


def _remember_agent_key_in(conn: Any, agent_id: str, public_key: str) -> str:
    """Trust on first use on an existing agent row: "stored", "same" or "refused"."""
    stored = conn.execute(
        update(agents).where(agents.c.id == agent_id, agents.c.public_key.is_(None))
        .values(public_key=public_key, refused_key=None).returning(agents.c.id)).first()
    if stored is not None:
        return "stored"
    known = conn.execute(select(agents.c.public_key).where(agents.c.id == agent_id)).scalar_one()
    if known == public_key:
        return "same"
    conn.execute(update(agents).where(agents.c.id == agent_id).values(refused_key=public_key))
    return "refused"
