import asyncio
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select

from hub.store import migrate
from hub.store.migrate import alembic_config
from hub.store.tables import inbox, metadata
from tests.hub.factories import decoded, order_placed

TABLES = {"agents", "inbox", "orders", "order_lines", "rejected_messages"}


def inbox_ids(store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(inbox.c.message_id)).scalars())


async def test_same_message_twice_is_applied_once(store):
    data = order_placed()
    env = decoded("agent-1", data, seq=3)
    assert await store.apply_order_placed(env, data) is True
    assert await store.apply_order_placed(env, data) is False
    assert await store.count_orders() == 1
    assert inbox_ids(store) == [env.id]


async def test_same_order_under_new_message_id_is_a_duplicate(store):
    data = order_placed()
    first, second = decoded("agent-1", data, seq=1), decoded("agent-1", data, seq=2)
    assert await store.apply_order_placed(first, data) is True
    assert await store.apply_order_placed(second, data) is False
    assert await store.count_orders() == 1
    assert inbox_ids(store) == [first.id]  # nothing of the duplicate was kept


async def test_concurrent_applies_of_one_message_store_one_order(store):
    data = order_placed()
    env = decoded("agent-1", data)
    results = await asyncio.gather(*(store.apply_order_placed(env, data) for _ in range(10)))
    assert sorted(results) == [False] * 9 + [True]
    assert await store.count_orders() == 1
    assert len((await store.get_order(data.order_id))["lines"]) == 2


async def test_concurrent_applies_of_one_order_under_many_ids_store_one_order(store):
    data = order_placed()
    envs = [decoded("agent-1", data, seq=i) for i in range(10)]
    results = await asyncio.gather(*(store.apply_order_placed(env, data) for env in envs))
    assert results.count(True) == 1
    assert await store.count_orders() == 1
    assert len(inbox_ids(store)) == 1


async def test_get_order_returns_lines_in_order(store):
    data = order_placed(number=42, lines=3)
    await store.apply_order_placed(decoded("agent-1", data), data)
    order = await store.get_order(data.order_id)
    assert order["id"] == data.order_id and order["agent_id"] == "agent-1" and order["number"] == 42
    assert (order["currency"], order["total_minor"]) == ("EUR", data.total_minor)
    assert order["placed_at"] == data.placed_at
    assert order["received_at"].tzinfo is not None
    assert abs((datetime.now(UTC) - order["received_at"]).total_seconds()) < 60
    assert [line["position"] for line in order["lines"]] == [0, 1, 2]
    first = order["lines"][0]
    assert (first["item_id"], first["qty"], first["note"]) == ("item-0", 1, "no onions")
    assert first["line_total_minor"] == data.lines[0].line_total_minor
    assert first["modifiers"] == [{"id": "extra-cheese", "name": "Extra cheese", "price_minor": 50}]
    assert await store.get_order("no-such-order") is None


async def test_touch_agent_and_counts(store):
    assert await store.get_agent("agent-new") is None
    await store.touch_agent("agent-new", online=None, seen=False)
    agent = await store.get_agent("agent-new")
    assert agent["online"] is False and agent["last_seen_at"] is None and agent["name"] == "agent-new"

    await store.touch_agent("agent-new", True)
    seen = (await store.get_agent("agent-new"))["last_seen_at"]
    assert seen is not None and (await store.get_agent("agent-new"))["online"] is True
    await asyncio.sleep(0.01)
    await store.touch_agent("agent-new")  # online unknown: keep it
    agent = await store.get_agent("agent-new")
    assert agent["online"] is True and agent["last_seen_at"] > seen
    await store.touch_agent("agent-new", False, seen=False)  # a replayed last will
    agent = await store.get_agent("agent-new")
    assert agent["online"] is False and agent["last_seen_at"] > seen

    await store.touch_agent("agent-2", True)
    for _ in range(2):
        data = order_placed()
        await store.apply_order_placed(decoded("agent-2", data), data)
    assert await store.count_orders("agent-2") == 2
    assert await store.count_orders("agent-new") == 0
    listed = await store.list_agents()
    mine = [(a["id"], a["order_count"], a["online"]) for a in listed if a["id"] in ("agent-new", "agent-2")]
    assert mine == [("agent-2", 2, True), ("agent-new", 0, False)]


async def test_record_rejected_once(store):
    assert await store.record_rejected("m-1", "agent-1", "order.placed", "bad data", b"\xff{junk") is True
    assert await store.record_rejected("m-1", "agent-1", "order.placed", "bad data", b"{junk") is False


def test_migrations_are_idempotent_and_match_tables(database_url):
    migrate(database_url)
    migrate(database_url)
    from hub.store.engine import make_engine

    engine = make_engine(database_url, pooled=False)
    try:
        with engine.connect() as conn:
            assert TABLES <= set(inspect(conn).get_table_names())
            ctx = MigrationContext.configure(conn)
            script = ScriptDirectory.from_config(alembic_config())
            assert len(script.get_heads()) == 1, "migrations must form one line"
            assert ctx.get_current_revision() == script.get_current_head()
            assert compare_metadata(ctx, metadata) == []
            assert conn.execute(select(func.count()).select_from(inbox)).scalar_one() == 0
    finally:
        engine.dispose()
