"""Two workers' batches share agents (a shared subscription splits each agent's messages over
them), so a batch must not wait on agents' rows it has nothing to write to. Found by
bench/hub_scale.py (2 workers, dinner mix at saturation): batches inserted every agent of the batch
with ON CONFLICT DO NOTHING, which waits for any other transaction updating that agent's row, and
took the agents' locks in different orders across statements: deadlocks and seconds-long queues."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, select, text, update

from hub.store import ingest, migrate
from hub.store.tables import agents, orders
from tests.hub.factories import bill_changed, decoded, device_status, enroll, order_placed

pytestmark = pytest.mark.service


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_does_not_wait_on_an_agent_another_batch_is_touching(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    enroll(engine, "agent-a", "agent-b")
    env = decoded("agent-a", order_placed())
    outcome: dict = {}

    def apply_elsewhere() -> None:  # the other worker's batch: agent-a's order, agent-a not due a touch
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                outcome["result"] = ingest.apply_batch(conn, [ingest.Item(env, envelope_data(env))], {})
        except Exception as exc:
            outcome["error"] = exc

    try:
        with engine.connect() as touching:  # a batch that saw agent-a and has not committed yet
            held = touching.begin()
            touching.execute(update(agents).where(agents.c.id == "agent-a").values(last_seen_at=datetime.now(UTC)))
            other = threading.Thread(target=apply_elsewhere)
            other.start()
            other.join(10)
            finished_while_held = not other.is_alive()
            held.commit()
        other.join(10)
        assert finished_while_held, "the batch waited for another transaction's agents row"
        assert outcome == {"result": [ingest.APPLIED]}
        with engine.connect() as conn:
            assert conn.execute(select(orders.c.id)).scalars().all() == [env_order_id(env)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_seen_clocks_and_new_agents_in_one_write(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    enroll(engine, "agent-a", "agent-b")
    envs = [decoded(agent, order_placed(), seq=n) for n, agent in enumerate(("agent-a", "agent-b", "agent-new"), 1)]
    with engine.begin() as conn:
        conn.execute(update(agents).where(agents.c.id == "agent-b").values(clock_offset_ms=5))
        ingest.apply_batch(conn, [ingest.Item(e, envelope_data(e)) for e in envs], {}, seen=["agent-a"],
                           clocks={"agent-a": 1200})
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(agents.c.id, agents.c.last_seen_at, agents.c.clock_offset_ms))}
    engine.dispose()
    assert rows["agent-a"].last_seen_at is not None and rows["agent-a"].clock_offset_ms == 1200
    assert rows["agent-b"].last_seen_at is None and rows["agent-b"].clock_offset_ms == 5  # untouched
    assert rows["agent-new"].last_seen_at is not None  # created, as seen now


def envelope_data(env):
    from contract import envelope

    return envelope.decode_data(env)


def env_order_id(env) -> str:
    return envelope_data(env).order_id


def test_state_effects_run_in_key_order_whatever_the_arrival(database_url):
    """Two workers' batches holding the same bills and devices in different arrival orders must lock
    them in one order (else they can deadlock each other): effects run sorted by type, agent, key, seq."""
    migrate(database_url)
    engine = create_engine(database_url)
    arrived = [decoded("agent-b", bill_changed("bill-2"), seq=4), decoded("agent-a", device_status("kitchen"), seq=3),
               decoded("agent-a", bill_changed("bill-9"), seq=2), decoded("agent-a", bill_changed("bill-1"), seq=1)]
    ran: list[tuple[str, str, int]] = []

    def effect(conn, env, data):
        ran.append((env.type, env.agent_id, env.seq))
        return "applied"
    with engine.begin() as conn:
        outcomes = ingest.apply_batch(conn, [ingest.Item(e, envelope_data(e)) for e in arrived],
                                      {"bill.changed": effect, "device.status": effect})
    engine.dispose()
    assert outcomes == ["applied"] * 4  # answered in arrival order all the same
    assert ran == [("bill.changed", "agent-a", 1), ("bill.changed", "agent-a", 2), ("bill.changed", "agent-b", 4),
                   ("device.status", "agent-a", 3)]


def test_state_reports_in_one_batch_keep_the_newest_per_key(database_url):
    """bill.changed and device.status go in as one upsert per kind: per key the highest seq wins,
    older ones in the batch are stale, and nothing overwrites a newer row already stored."""
    from hub.store import agent_state
    from hub.store.tables import agent_bills, agent_devices

    migrate(database_url)
    engine = create_engine(database_url)
    with engine.begin() as conn:  # bill-3 already stands at seq 9
        ingest.apply_batch(conn, [ingest.Item(e, envelope_data(e)) for e in
                                  [decoded("agent-a", bill_changed("bill-3", total=900), seq=9)]],
                           {"bill.changed": agent_state.BILLS})
    arrived = [decoded("agent-a", bill_changed("bill-1", total=300), seq=3),
               decoded("agent-a", bill_changed("bill-1", total=500), seq=5),
               decoded("agent-a", bill_changed("bill-1", total=400), seq=4),
               decoded("agent-a", bill_changed("bill-3", total=100), seq=6),
               decoded("agent-b", bill_changed("bill-1", total=700), seq=2),
               decoded("agent-a", device_status("kitchen", state="offline"), seq=7)]
    with engine.begin() as conn:
        outcomes = ingest.apply_batch(conn, [ingest.Item(e, envelope_data(e)) for e in arrived],
                                      {"bill.changed": agent_state.BILLS, "device.status": agent_state.DEVICES})
    with engine.connect() as conn:
        bills = {(r.agent_id, r.bill_id): (r.total_minor, r.seq) for r in conn.execute(select(agent_bills))}
        devices = {(r.agent_id, r.device): r.state for r in conn.execute(select(agent_devices))}
    engine.dispose()
    assert outcomes == ["stale", "applied", "stale", "stale", "applied", "applied"]
    assert bills == {("agent-a", "bill-1"): (500, 5), ("agent-a", "bill-3"): (900, 9), ("agent-b", "bill-1"): (700, 2)}
    assert devices == {("agent-a", "kitchen"): "offline"}
