"""The hub's state gauges read from a real database (SQLite and PostgreSQL): agents online, agents
gone while a bill is open, the downlink waiting in all and for the top agents only, the CRL's dates,
and the database pool's connections in use."""

from datetime import UTC, datetime, timedelta

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from prometheus_client import generate_latest

from contract.messages import Ack
from hub.enrollment.records import add_agent
from hub.metrics import HubMetrics
from hub.store.fleet import TOP_AGENTS
from hub.store.tables import agents
from tests.hub.factories import bill_changed, decoded

AGENTS = TOP_AGENTS + 5  # more agents waiting than the gauge may name


async def test_state_gauges_count_the_fleet_and_name_only_the_top_agents(store, tmp_path):
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for n in range(AGENTS):
            add_agent(conn, f"agent-{n:02d}", name=f"Restaurant {n}", now=now)
        # three online; agent-03, -04 gone 10 and 20 minutes ago, -05 too but no bill is open, -06 for 13 hours
        conn.execute(agents.update().where(agents.c.id.in_(["agent-00", "agent-01", "agent-02"])).values(online=True))
        for agent_id, minutes in (("agent-03", 10), ("agent-04", 20), ("agent-05", 30), ("agent-06", 13 * 60)):
            conn.execute(agents.update().where(agents.c.id == agent_id)
                         .values(online=False, last_seen_at=now - timedelta(minutes=minutes)))
        add_agent(conn, "agent-revoked", name="Gone", now=now)
        conn.execute(agents.update().where(agents.c.id == "agent-revoked").values(online=True, revoked_at=now))
    for agent_id in ("agent-03", "agent-04", "agent-01", "agent-06"):
        await store.apply_bill_changed(decoded(agent_id, bill_changed()), bill_changed())
    settled = msgspec.structs.replace(bill_changed("bill-9"), status="settled")
    await store.apply_bill_changed(decoded("agent-05", settled), settled)
    # agent-n waits n + 1 down messages
    for n in range(AGENTS):
        for _ in range(n + 1):
            await store.enqueue_down(f"agent-{n:02d}", Ack(ids=[]))

    metrics = HubMetrics()
    await metrics.state.refresh(store.engine, tmp_path / "no-crl-yet.pem")
    sample = metrics.registry.get_sample_value
    assert sample("tableside_hub_agents_online") == 3  # the revoked one is not counted
    assert sample("tableside_hub_agents_offline_with_open_bills") == 2
    gone = {agent: sample("tableside_hub_agent_offline_with_open_bills_seconds", {"agent": agent})
            for agent in ("agent-03", "agent-04", "agent-05")}
    assert 20 * 60 <= gone["agent-04"] < 21 * 60 and 10 * 60 <= gone["agent-03"] < 11 * 60
    assert gone["agent-05"] is None  # its bill is settled: closing time, not an outage
    # gone 13 hours with a bill open: a box taken away, not diners waiting
    assert sample("tableside_hub_agent_offline_with_open_bills_seconds", {"agent": "agent-06"}) is None
    assert sample("tableside_hub_downlink_waiting_messages") == sum(range(1, AGENTS + 1))
    text = generate_latest(metrics.registry).decode()
    top = [line for line in text.splitlines() if line.startswith("tableside_hub_downlink_waiting_top_messages{")]
    assert len(top) == TOP_AGENTS
    assert sample("tableside_hub_downlink_waiting_top_messages", {"agent": f"agent-{AGENTS - 1:02d}"}) == AGENTS
    assert sample("tableside_hub_downlink_waiting_top_messages", {"agent": "agent-00"}) is None  # not in the top
    assert "tableside_hub_crl_next_update_timestamp_seconds" not in text  # no CRL, no made-up date
    assert sample("tableside_hub_state_read_timestamp_seconds") > now.timestamp() - 1

    # delivered messages stop waiting at the next read
    for n in range(AGENTS):
        pending = await store.down_pending(f"agent-{n:02d}", 0, 100)
        await store.mark_down_delivered(f"agent-{n:02d}", [m.id for m in pending])
    await metrics.state.refresh(store.engine, None)
    assert sample("tableside_hub_downlink_waiting_messages") == 0
    assert "tableside_hub_downlink_waiting_top_messages{" not in generate_latest(metrics.registry).decode()


def _crl(path, *, signed: datetime, runs_out: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    crl = (x509.CertificateRevocationListBuilder().issuer_name(name).last_update(signed).next_update(runs_out)
           .sign(key, hashes.SHA256()))
    path.write_bytes(crl.public_bytes(Encoding.PEM))


async def test_the_crl_dates_are_read_from_the_brokers_file(store, tmp_path):
    signed = datetime(2026, 1, 1, tzinfo=UTC)
    _crl(tmp_path / "crl.pem", signed=signed, runs_out=signed + timedelta(days=7))
    metrics = HubMetrics()
    await metrics.state.refresh(store.engine, tmp_path / "crl.pem")
    assert metrics.registry.get_sample_value("tableside_hub_crl_last_update_timestamp_seconds") == signed.timestamp()
    assert metrics.registry.get_sample_value("tableside_hub_crl_next_update_timestamp_seconds") == \
        (signed + timedelta(days=7)).timestamp()


async def test_the_pool_gauge_counts_connections_checked_out(store):
    metrics = HubMetrics()
    metrics.watch_pool(store.engine)
    sample = metrics.registry.get_sample_value
    assert sample("tableside_hub_db_connections_in_use") == 0
    assert sample("tableside_hub_db_connections_max") >= 10  # the store fixture's pool of 10
    with store.engine.connect(), store.engine.connect():
        assert sample("tableside_hub_db_connections_in_use") == 2
    assert sample("tableside_hub_db_connections_in_use") == 0
