"""The hub's outbox to agents and the agents' keys and clocks, on SQLite and PostgreSQL."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, update

from contract import envelope, messages
from hub.store import downlink, migrate
from hub.store.engine import make_engine
from hub.store.migrate import alembic_config
from hub.store.tables import down_messages, metadata


def failed(share_id: str = "share-1") -> messages.PaymentFailed:
    return messages.PaymentFailed(share_id=share_id, reason="card declined")


def seqs(store, agent_id: str) -> list[int]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(down_messages.c.seq).where(down_messages.c.agent_id == agent_id)
                                 .order_by(down_messages.c.seq)).scalars())


def test_migration_creates_what_tables_py_declares(database_url):
    migrate(database_url)
    migrate(database_url)
    engine = make_engine(database_url, pooled=False)
    try:
        with engine.connect() as conn:
            # only our tables: later migrations add others, declared in other modules
            ctx = MigrationContext.configure(conn, opts={"include_object": _ours})
            assert "0002_link_down" in _applied(ctx)
            assert compare_metadata(ctx, metadata) == []
    finally:
        engine.dispose()


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = name if type_ == "table" else obj.table.name
    return table in {"agents", "down_messages", "down_counters"}


def _applied(ctx) -> set[str]:
    # later migrations (0003_payments, ...) sit on top of ours: ours is the current one or below it
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.iterate_revisions(ctx.get_current_revision(), "base")}


async def test_enqueue_commits_with_the_callers_transaction(store):
    with store.engine.connect() as conn:
        with conn.begin() as tx:
            downlink.enqueue_down(conn, "agent-1", failed("lost"))
            tx.rollback()  # e.g. the ledger write failed: the message must go too
        with conn.begin():
            message_id = downlink.enqueue_down(conn, "agent-1", failed("kept"))
    pending = await store.down_pending("agent-1", 0, 10)
    assert [m.id for m in pending] == [message_id]
    assert pending[0].seq == 1  # the rolled-back seq was taken back: no gap
    env = envelope.decode(pending[0].payload)
    assert (env.id, env.type, env.agent_id, env.seq) == (message_id, "payment.failed", "agent-1", 1)
    assert envelope.decode_data(env) == failed("kept")


async def test_seq_is_per_agent_unique_and_gap_free_under_concurrency(store):
    ids = await asyncio.gather(*(store.enqueue_down("agent-1", failed(f"s-{i}")) for i in range(25)),
                               *(store.enqueue_down("agent-2", failed(f"t-{i}")) for i in range(5)))
    assert len(set(ids)) == 30
    assert seqs(store, "agent-1") == list(range(1, 26))
    assert seqs(store, "agent-2") == list(range(1, 6))


async def test_pending_after_seq_with_limit_and_delivery_by_the_right_agent(store):
    ids = [await store.enqueue_down("agent-1", failed(f"s-{i}")) for i in range(5)]
    other = await store.enqueue_down("agent-2", failed())
    assert [m.seq for m in await store.down_pending("agent-1", 0, 3)] == [1, 2, 3]
    assert [m.seq for m in await store.down_pending("agent-1", 3, 10)] == [4, 5]
    assert await store.mark_down_delivered("agent-1", [ids[0], ids[2], other]) == 2  # not agent-2's
    assert await store.mark_down_delivered("agent-1", [ids[0]]) == 0  # already delivered
    assert [m.id for m in await store.down_pending("agent-1", 0, 10)] == [ids[1], ids[3], ids[4]]
    assert await store.down_waiting("agent-1") == 3
    assert await store.down_waiting("agent-2") == 1
    assert await store.down_waiting("agent-3") == 0
    assert await store.down_waiting_per_agent() == {"agent-1": 3, "agent-2": 1}


async def test_targets_are_online_agents_with_messages_waiting(store):
    await store.touch_agent("agent-1", True)
    await store.touch_agent("agent-2", False)
    await store.touch_agent("agent-3", True)
    await store.enqueue_down("agent-1", failed())
    await store.enqueue_down("agent-2", failed())
    assert await store.down_targets() == ["agent-1"]


async def test_prune_removes_only_old_delivered_messages(store):
    old_done, new_done, old_waiting = [await store.enqueue_down("agent-1", failed(f"s-{i}")) for i in range(3)]
    await store.mark_down_delivered("agent-1", [old_done, new_done])
    long_ago = datetime.now(UTC) - timedelta(days=8)
    with store.engine.begin() as conn:
        conn.execute(update(down_messages).where(down_messages.c.id == old_done).values(delivered_at=long_ago))
        conn.execute(update(down_messages).where(down_messages.c.id == old_waiting).values(created_at=long_ago))
    assert await store.prune_down(timedelta(days=7)) == 1
    with store.engine.connect() as conn:
        left = set(conn.execute(select(down_messages.c.id)).scalars())
    assert left == {new_done, old_waiting}


async def test_prune_forgets_only_old_applied_up_ids(store):
    from hub.store.tables import inbox

    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(inbox.insert(), [
            {"message_id": "old", "agent_id": "agent-1", "type": "order.placed", "seq": 1,
             "received_at": now - timedelta(days=15)},
            {"message_id": "new", "agent_id": "agent-1", "type": "order.placed", "seq": 2, "received_at": now}])
    assert await store.prune_inbox(timedelta(days=14)) == 1
    with store.engine.connect() as conn:
        assert list(conn.execute(select(inbox.c.message_id)).scalars()) == ["new"]


async def test_agent_key_is_trusted_on_first_use(store):
    assert await store.agent_key("agent-1") is None
    assert await store.remember_agent_key("agent-1", "key-A") == "stored"
    assert await store.remember_agent_key("agent-1", "key-A") == "same"
    assert await store.remember_agent_key("agent-1", "key-B") == "refused"
    assert await store.agent_key("agent-1") == "key-A"
    assert (await store.get_agent("agent-1"))["refused_key"] == "key-B"
    assert await store.reset_agent_key("agent-1") is True
    assert await store.agent_key("agent-1") is None
    assert await store.remember_agent_key("agent-1", "key-B") == "stored"
    assert await store.agent_key("agent-1") == "key-B"
    assert await store.reset_agent_key("nobody") is False


@pytest.mark.parametrize("offset", [0, 300_000, -42])
async def test_clock_offset_is_stored(store, offset):
    await store.touch_agent("agent-1", True)
    assert await store.agent_clock_offset("agent-1") == 0  # not measured yet
    await store.set_clock_offset("agent-1", offset)
    assert await store.agent_clock_offset("agent-1") == offset
    assert await store.agent_clock_offset("nobody") == 0
