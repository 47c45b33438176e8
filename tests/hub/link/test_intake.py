"""Batches: many messages in one transaction, each applied once, one bad message sinking none of
the others (SQLite and PostgreSQL, no broker)."""

import pytest
from sqlalchemy import event, func, select

from contract import topics
from hub.config import HubConfig
from hub.link import HubLink
from hub.link.applying import Incoming
from hub.store import agent_state, ingest
from hub.store.tables import agent_devices, inbox, orders, rejected_messages
from tests.hub.factories import TOKEN, bill_changed, decoded, device_status, encoded, order_placed

AGENT = "agent-1"


@pytest.fixture
def link(store, tmp_path):
    return HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)


def incoming(data, *, agent=AGENT, seq=1, id=None) -> Incoming:
    return Incoming(topics.up(agent, data.TYPE), encoded(agent, data, seq=seq, id=id), qos=1)


def count_commits(engine) -> list[int]:
    commits = [0]

    @event.listens_for(engine, "commit")
    def counted(_conn) -> None:
        commits[0] += 1
    return commits


async def scalar(store, stmt):
    def read(conn):
        return conn.execute(stmt).scalar_one()
    return await store._run(store._in_connection, read)


async def test_a_batch_is_one_transaction_and_each_message_applies_once(link, store):
    messages = [incoming(order_placed(), seq=n) for n in range(1, 41)]
    messages += [incoming(bill_changed(f"bill-{n}"), seq=40 + n) for n in range(1, 11)]
    messages += [incoming(device_status("kitchen"), seq=51), messages[0]]  # and a resend in the same batch
    commits = count_commits(store.engine)

    acks, waiting = await link.apply_many(messages)

    assert commits[0] == 1
    assert waiting == []
    assert sorted(acks) == sorted({(AGENT, decoded_id(m)) for m in messages})
    assert await scalar(store, select(func.count()).select_from(orders)) == 40
    assert await scalar(store, select(func.count()).select_from(inbox)) == 51
    assert await scalar(store, select(func.count()).select_from(agent_devices)) == 1
    assert link.outcomes[("order.placed", "applied")] == 40

    again, _ = await link.apply_many(messages[:5])  # a resend later: acked again, changes nothing
    assert len(again) == 5 and link.outcomes[("order.placed", "duplicate")] == 5
    assert await scalar(store, select(func.count()).select_from(orders)) == 40


async def test_the_same_order_under_two_message_ids_in_one_batch_is_stored_once(link, store):
    order = order_placed()
    first, second = incoming(order, seq=1), incoming(order, seq=2)
    acks, _ = await link.apply_many([first, second])
    assert len(acks) == 2
    assert await scalar(store, select(func.count()).select_from(orders)) == 1
    assert await scalar(store, select(func.count()).select_from(inbox)) == 1  # as one at a time: nothing kept


async def test_a_message_that_can_never_apply_sinks_none_of_the_others(link, store):
    good = [incoming(order_placed(), seq=n) for n in range(1, 21)]
    bad = incoming(bill_changed(" "), seq=21)  # no bill id: ReportRejected
    acks, _ = await link.apply_many(good[:10] + [bad] + good[10:])
    assert len(acks) == 21  # the bad one is recorded and acked: resending would not help
    assert await scalar(store, select(func.count()).select_from(orders)) == 20
    assert await scalar(store, select(rejected_messages.c.message_id)) == decoded_id(bad)
    assert link.outcomes[("bill.changed", "rejected")] == 1


async def test_a_message_failing_for_now_is_not_acked_and_the_rest_apply(store):
    envs = [decoded(AGENT, device_status(f"printer-{n}"), seq=n) for n in range(1, 9)]
    items = [ingest.Item(env, device_status(f"printer-{n}")) for n, env in enumerate(envs, 1)]

    def flaky(conn, env, data):
        if data.device == "printer-3":
            raise RuntimeError("database hiccup")  # not a verdict on the message: retried, not rejected
        return agent_state.apply_device_status(conn, env, data, record_id=False)

    results = await store.apply_up_batch(items, {"device.status": flaky}, (agent_state.ReportRejected,),
                                         seen=[], clocks={})
    assert isinstance(results[2], ingest.Failed)
    assert results[:2] + results[3:] == ["applied"] * 7
    stored = await scalar(store, select(func.count()).select_from(agent_devices))
    assert stored == 7
    ids = await store._run(store._in_connection, lambda c: {r[0] for r in c.execute(select(inbox.c.message_id))})
    assert envs[2].id not in ids  # so the agent's resend applies it then


def decoded_id(message: Incoming) -> str:
    from contract import envelope
    return envelope.decode(message.payload).id

