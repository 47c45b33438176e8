"""Idempotency keys belong to their table (issue 15, finding 6): another table sending the same key
gets its own order or share, never the first table's."""

from agent.state import STATE
from tests.agent.helpers import count, place, table_tokens


async def test_an_order_key_from_another_table_places_that_tables_own_order(agent_client):
    tokens = await table_tokens(agent_client)
    one, two = tokens["Table 1"], tokens["Table 2"]
    first = await place(agent_client, one, [{"item_id": "onion-soup"}], key="shared-key-123")
    second = await place(agent_client, two, [{"item_id": "onion-soup"}], key="shared-key-123")
    assert first.status == second.status == 201
    assert "Idempotent-Replayed" not in second.headers
    assert (await first.json())["order"]["id"] != (await second.json())["order"]["id"]
    orders = (await (await agent_client.get(f"/api/v1/tables/{two}/orders")).json())["orders"]
    assert len(orders) == 1
    # a retry at the first table is still a replay
    again = await place(agent_client, one, [{"item_id": "onion-soup"}], key="shared-key-123")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(agent_client, "SELECT COUNT(*) FROM orders") == 2


async def test_a_share_key_from_another_table_makes_that_tables_own_share(agent_client):
    tokens = await table_tokens(agent_client)
    made = {}
    for name in ("Table 1", "Table 2"):
        assert (await place(agent_client, tokens[name], [{"item_id": "onion-soup"}])).status == 201
        resp = await agent_client.post(f"/api/v1/tables/{tokens[name]}/bill/shares", json={"kind": "remaining"},
                                       headers={"Idempotency-Key": "share-key-123"})
        assert resp.status == 201, await resp.text()
        made[name] = (await resp.json())["share"]
    assert made["Table 1"]["id"] != made["Table 2"]["id"]
    sessions = await agent_client.app[STATE].database.read(lambda db: db.execute(
        "SELECT COUNT(DISTINCT session_id) FROM bill_shares").fetchone()[0])
    assert sessions == 2


def test_the_migration_scopes_stored_keys(tmp_path):
    from agent.store.database import Database
    from agent.store.migrations import MIGRATIONS, migrate

    database = Database(tmp_path / "a.sqlite")
    database.start()
    try:
        before = [m for m in MIGRATIONS if m[0] < "0010"]
        migrate(database, before)

        def old_rows(db):
            db.execute("INSERT INTO tables (id, name, token, created_at) VALUES ('t1', 'T', 'tok', 'x')")
            db.execute("""INSERT INTO orders (id, number, table_id, idempotency_key, request_hash, status, currency,
                                              total_minor, created_at, updated_at)
                          VALUES ('o1', 1, 't1', 'k-12345678', 'h', 'received', 'EUR', 0, 'x', 'x')""")
        database.write_sync(old_rows)
        migrate(database)
        assert database.write_sync(lambda db: db.execute("SELECT idempotency_key FROM orders").fetchone()[0]) \
            == "t1:k-12345678"
    finally:
        database.close()
