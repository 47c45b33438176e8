"""bill.changed and device.status through HubLink.process: the latest state by seq, each message
once, on SQLite and PostgreSQL."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from contract import envelope, messages, topics
from hub.config import HubConfig
from hub.link import HubLink
from hub.store import migrate
from hub.store.engine import make_engine
from hub.store.tables import agent_bills, agent_devices, inbox, metadata, rejected_messages
from tests.hub.factories import TOKEN, encoded

AGENT = "agent-1"


@pytest.fixture
def link(store, tmp_path):
    return HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)


def bill(left_minor: int = 4200, status: str = "open", *, bill_id: str = "bill-1", **extra) -> messages.BillChanged:
    fields = {"bill_id": bill_id, "table_name": "Table 4", "currency": "EUR", "total_minor": 4200,
              "paid_minor": 4200 - left_minor, "left_minor": left_minor, "status": status,
              "changed_at": "2026-11-25T19:30:00.000Z", **extra}
    return messages.BillChanged(**fields)


def device(state: str = "online", *, name: str = "kitchen", **extra) -> messages.DeviceStatus:
    fields = {"device": name, "kind": "printer", "state": state, "detail": "", "waiting": 0, "held": 0,
              "changed_at": "2026-11-25T19:30:00.000Z", **extra}
    return messages.DeviceStatus(**fields)


async def send(link, data, *, seq: int, id: str | None = None) -> tuple[str, str] | None:
    body = encoded(AGENT, data, seq=seq, id=id)
    return await link.process(topics.up(AGENT, messages.type_of(data)), body)


def rejected(store) -> dict[str, str]:
    with store.engine.connect() as conn:
        return {r.message_id: r.reason for r in conn.execute(select(rejected_messages))}


def rows(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


async def test_bill_changed_is_stored_and_acked(link, store):
    ack = await send(link, bill(1200), seq=3, id="m-1")
    assert ack == (AGENT, "m-1")
    (stored,) = await store.agent_bills(AGENT)
    assert stored == {"bill_id": "bill-1", "table_name": "Table 4", "currency": "EUR", "total_minor": 4200,
                      "paid_minor": 3000, "left_minor": 1200, "status": "open",
                      "changed_at": "2026-11-25T19:30:00.000Z", "seq": 3}


async def test_device_status_is_stored_and_acked(link, store):
    ack = await send(link, device("paper_out", detail="Paper end", waiting=3, held=1), seq=5, id="m-1")
    assert ack == (AGENT, "m-1")
    assert await store.agent_devices(AGENT) == [
        {"device": "kitchen", "kind": "printer", "state": "paper_out", "detail": "Paper end", "waiting": 3,
         "held": 1, "changed_at": "2026-11-25T19:30:00.000Z", "seq": 5}]


async def test_a_newer_seq_replaces_the_state(link, store):
    await send(link, bill(4200), seq=1)
    await send(link, bill(0, "settled"), seq=2)
    await send(link, device("paper_out"), seq=3)
    await send(link, device("online"), seq=4)
    assert [(b["status"], b["left_minor"], b["seq"]) for b in await store.agent_bills(AGENT)] == [("settled", 0, 2)]
    assert [(d["state"], d["seq"]) for d in await store.agent_devices(AGENT)] == [("online", 4)]


async def test_a_resent_message_changes_nothing_and_is_acked_again(link, store):
    assert await send(link, device("paper_out"), seq=1, id="m-1") == (AGENT, "m-1")
    assert await send(link, bill(), seq=2, id="m-2") == (AGENT, "m-2")
    # the same ids again, even with other data: a duplicate is never applied twice
    assert await send(link, device("error"), seq=1, id="m-1") == (AGENT, "m-1")
    assert await send(link, bill(0, "closed"), seq=2, id="m-2") == (AGENT, "m-2")
    assert [d["state"] for d in await store.agent_devices(AGENT)] == ["paper_out"]
    assert [b["status"] for b in await store.agent_bills(AGENT)] == ["open"]
    assert await store.apply_device_status(envelope.decode(encoded(AGENT, device(), seq=1, id="m-1")),
                                           device()) == "duplicate"


async def test_an_older_seq_arriving_late_does_not_overwrite(link, store):
    # a resend after a reconnect: seq 7 comes after seq 8 was applied
    await send(link, bill(0, "closed"), seq=8)
    await send(link, device("online"), seq=8)
    assert await send(link, bill(4200, "open"), seq=7, id="late-bill") == (AGENT, "late-bill")  # acked all the same
    assert await send(link, device("paper_out"), seq=7, id="late-device") == (AGENT, "late-device")
    assert [(b["status"], b["seq"]) for b in await store.agent_bills(AGENT)] == [("closed", 8)]
    assert [(d["state"], d["seq"]) for d in await store.agent_devices(AGENT)] == [("online", 8)]
    with store.engine.connect() as conn:  # applied as stale: its resend is a duplicate
        assert {"late-bill", "late-device"} <= set(conn.execute(select(inbox.c.message_id)).scalars())


async def test_stale_outcome_from_the_store(store):
    def env(seq):
        return envelope.decode(encoded(AGENT, device(), seq=seq))

    assert await store.apply_device_status(env(2), device("offline")) == "applied"
    assert await store.apply_device_status(env(2), device("error")) == "stale"  # same seq, new id
    assert await store.apply_device_status(env(1), device("error")) == "stale"
    assert await store.apply_device_status(env(3), device("online")) == "applied"
    assert [d["state"] for d in await store.agent_devices(AGENT)] == ["online"]


async def test_racing_updates_keep_the_highest_seq(store):
    def env(seq):
        return envelope.decode(encoded(AGENT, device(), seq=seq))

    outcomes = await asyncio.gather(*(store.apply_device_status(env(seq), device(f"state-{seq}"))
                                      for seq in (4, 9, 1, 7, 3, 8, 2, 6, 5)))
    assert "applied" in outcomes
    assert [(d["state"], d["seq"]) for d in await store.agent_devices(AGENT)] == [("state-9", 9)]


async def test_state_is_kept_per_agent_and_key(link, store):
    await send(link, bill(bill_id="bill-1"), seq=1)
    await send(link, bill(0, "settled", bill_id="bill-2"), seq=2)
    await send(link, device(name="kitchen"), seq=3)
    await send(link, device("offline", name="bar"), seq=4)
    other = encoded("agent-2", device("paper_out", name="kitchen"), seq=1)
    await link.process(topics.up("agent-2", "device.status"), other)
    assert [b["bill_id"] for b in await store.agent_bills(AGENT)] == ["bill-2", "bill-1"]  # latest first
    assert [b["bill_id"] for b in await store.agent_bills(AGENT, "open")] == ["bill-1"]
    assert [d["device"] for d in await store.agent_devices(AGENT)] == ["bar", "kitchen"]
    summaries = await store.device_summaries()
    assert [(d["device"], d["state"]) for d in summaries["agent-2"]] == [("kitchen", "paper_out")]
    assert set(summaries[AGENT][0]) == {"device", "kind", "state", "held", "waiting", "changed_at"}


@pytest.mark.parametrize(("type_", "data", "why"), [
    ("bill.changed", b'{"bill_id": "b", "status": "paid"}', "bad bill.changed data"),
    ("bill.changed", b'{"bill_id":"b","table_name":"T","currency":"EUR","total_minor":-1,"paid_minor":0,'
                     b'"left_minor":0,"status":"open","changed_at":"x"}', "total_minor"),
    ("device.status", b'{"device":"kitchen","kind":"scanner","state":"online","detail":"","waiting":0,'
                      b'"held":0,"changed_at":"x"}', "bad device.status data"),
])
async def test_malformed_data_is_rejected_with_a_reason_and_acked(link, store, type_, data, why):
    body = (b'{"id":"m-1","type":"%s","agent_id":"agent-1","seq":1,"sent_at":"x","data":%s}'
            % (type_.encode(), data))
    assert await link.process(topics.up(AGENT, type_), body) == (AGENT, "m-1")
    assert why in rejected(store)["m-1"]
    assert rows(store, agent_bills) == rows(store, agent_devices) == rows(store, inbox) == 0


@pytest.mark.parametrize(("data", "why"), [
    (bill(currency="XYZ"), "unknown or unsupported currency 'XYZ'"),
    (bill(bill_id=" "), "bill_id is empty"),
    (bill(total_minor=2**70), "total_minor 1180591620717411303424 is larger than the hub stores"),
    (device(name=""), "device is empty"),
    (device(waiting=2**64), "waiting"),
])
async def test_unusable_report_is_rejected_with_a_reason_and_acked(link, store, data, why):
    assert await send(link, data, seq=1, id="m-1") == (AGENT, "m-1")
    assert why in rejected(store)["m-1"]
    assert rows(store, agent_bills) == rows(store, agent_devices) == rows(store, inbox) == 0


async def test_a_seq_beyond_the_database_is_rejected_not_retried_forever(link, store):
    assert await send(link, device(), seq=2**63, id="m-1") == (AGENT, "m-1")
    assert "seq 9223372036854775808 is larger than the hub stores" in rejected(store)["m-1"]


def test_migration_creates_the_agent_state_tables(database_url):
    migrate(database_url)
    engine = make_engine(database_url, pooled=False)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": _agent_state_only})
            assert compare_metadata(ctx, metadata) == []
            assert {"agent_bills", "agent_devices"} <= set(conn.dialect.get_table_names(conn))
    finally:
        engine.dispose()


def _agent_state_only(obj, name, type_, reflected, compare_to) -> bool:
    table = name if type_ == "table" else obj.table.name
    return table in {"agent_bills", "agent_devices"}
