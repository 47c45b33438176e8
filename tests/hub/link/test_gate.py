"""The link gate: the hub applies messages only from agents it enrolled, and checks what it stores."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from contract import envelope, messages, topics
from hub.config import HubConfig
from hub.enrollment.records import revoke_agent
from hub.link import HubLink, roster
from hub.link.applying import Incoming
from hub.store.tables import agents, inbox, refused_senders, rejected_messages
from tests.hub.factories import TOKEN, encoded, enroll, order_placed

STRANGER = "agent-made-up"


@pytest.fixture
def link(store, tmp_path):
    return HubLink(HubConfig(data_dir=tmp_path, operator_token=TOKEN), store)


def count(store, table, *where) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def refused(store) -> dict[str, tuple[str, int]]:
    with store.engine.connect() as conn:
        return {r.agent_id: (r.verdict, r.messages) for r in conn.execute(select(refused_senders))}


async def test_a_stranger_creates_nothing_and_gets_no_ack(link, store):
    order = order_placed()
    for type_, data in (("order.placed", order), ("presence", messages.Presence(online=True))):
        assert await link.process(topics.up(STRANGER, type_), encoded(STRANGER, data)) is None
    assert await store.count_orders() == 0
    assert await store.get_agent(STRANGER) is None
    assert count(store, inbox) == 0 and count(store, rejected_messages) == 0
    assert refused(store) == {STRANGER: ("unknown", 1)}  # the first refusal is written, the next counted
    assert link.outcomes[("order.placed", "refused")] == 1 and link.outcomes[("presence", "refused")] == 1


async def test_in_a_batch_only_the_enrolled_are_applied_and_acked(link, store):
    mine, theirs = order_placed(), order_placed()
    batch = [
        Incoming(topics.up("agent-1", "order.placed"), encoded("agent-1", mine), mid=1, qos=1),
        Incoming(topics.up(STRANGER, "order.placed"), encoded(STRANGER, theirs), mid=2, qos=1),
        Incoming(topics.up(STRANGER, "bill.changed"), b"not even json", mid=3, qos=1),
    ]
    acks, waiting = await link.apply_many(batch)
    assert [agent for agent, _ in acks] == ["agent-1"] and waiting == []
    assert await store.get_order(mine.order_id) is not None
    assert await store.get_order(theirs.order_id) is None
    assert count(store, agents, agents.c.id == STRANGER) == 0


async def test_made_up_ids_are_recorded_within_a_bound(link, store, monkeypatch):
    monkeypatch.setattr(roster, "MAX_REFUSED_SENDERS", 5)
    for n in range(200):
        agent_id = f"made-up-{n}"
        await link.process(topics.up(agent_id, "presence"), encoded(agent_id, messages.Presence(online=True)))
    assert count(store, agents, agents.c.id.like("made-up-%")) == 0
    assert len(refused(store)) == 5
    assert link.roster.refused == 200


async def test_a_revoked_agent_is_refused_from_the_next_message(link, store):
    first, second = order_placed(), order_placed()
    assert await link.process(topics.up("agent-2", "order.placed"), encoded("agent-2", first)) is not None
    with store.engine.begin() as conn:
        revoke_agent(conn, "agent-2", "box stolen", datetime.now(UTC))
    link.roster.forget("agent-2")  # what this worker's revoke does; other workers wait out the cache
    assert await link.process(topics.up("agent-2", "order.placed"), encoded("agent-2", second, seq=2)) is None
    assert await store.get_order(second.order_id) is None
    assert refused(store)["agent-2"] == ("revoked", 1)


async def test_other_workers_see_a_revoke_once_their_cache_ages(link, store, monkeypatch):
    assert await link.roster.verdict("agent-3") == "enrolled"
    with store.engine.begin() as conn:
        revoke_agent(conn, "agent-3", "replaced", datetime.now(UTC))
    monkeypatch.setattr(roster, "VERDICT_TTL_S", 0.0)  # "enrolled" is kept longer than the others
    assert await link.roster.verdict("agent-3") == "enrolled"  # cached for ENROLLED_TTL_S
    monkeypatch.setattr(roster, "ENROLLED_TTL_S", 0.0)
    assert await link.roster.verdict("agent-3") == "revoked"


async def test_an_agent_enrolled_on_another_worker_is_heard_once_unknown_ages(link, store, monkeypatch):
    assert await link.roster.verdict("agent-new") == "unknown"
    enroll(store.engine, "agent-new")  # through another worker: this one is not told
    assert await link.roster.verdict("agent-new") == "unknown"  # cached for VERDICT_TTL_S
    monkeypatch.setattr(roster, "VERDICT_TTL_S", 0.0)
    assert await link.roster.verdict("agent-new") == "enrolled"


async def test_a_batch_asks_for_its_senders_verdicts_in_one_query(link, store):
    senders = [f"agent-many-{n}" for n in range(40)]
    enroll(store.engine, *senders[:30])  # ten strangers among them
    batch = [Incoming(topics.up(a, "order.placed"), encoded(a, order_placed()), mid=n, qos=1)
             for n, a in enumerate(senders + senders[:5])]
    reads = []

    def count_reads(_conn, _cursor, statement, *_args) -> None:
        if "enrolled_at" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    event.listen(store.engine, "before_cursor_execute", count_reads)
    try:
        acks, _ = await link.apply_many(batch)
        assert len(reads) == 1
        assert {agent for agent, _ in acks} == set(senders[:30])
        assert link.outcomes[("order.placed", "refused")] == 10
        await link.apply_many(batch[:3])  # cached now
        assert len(reads) == 1
    finally:
        event.remove(store.engine, "before_cursor_execute", count_reads)


async def test_an_order_whose_lines_do_not_add_up_is_rejected(link, store):
    data = order_placed()
    data.total_minor = 0  # lines worth money, a total of nothing
    body = encoded("agent-1", data)
    assert await link.process(topics.up("agent-1", "order.placed"), body) == ("agent-1", envelope.decode(body).id)
    assert await store.get_order(data.order_id) is None
    with store.engine.connect() as conn:
        [reason] = conn.execute(select(rejected_messages.c.reason)).scalars()
    assert "is not the sum of its lines" in reason


async def test_an_order_with_a_negative_price_is_rejected(link, store):
    data = order_placed(lines=1)
    data.lines[0].unit_price_minor = -500
    data.lines[0].line_total_minor = -450
    data.total_minor = -450
    body = encoded("agent-1", data)
    assert await link.process(topics.up("agent-1", "order.placed"), body) == ("agent-1", envelope.decode(body).id)
    assert await store.get_order(data.order_id) is None
    assert count(store, rejected_messages) == 1
