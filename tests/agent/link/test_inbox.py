"""The agent's inbox: each hub message applied once, atomically with its record; pruning."""

from datetime import UTC, datetime, timedelta

import pytest

from agent.link import inbox
from agent.store import outbox
from agent.store.database import Database
from agent.store.migrations import migrate
from contract import envelope, messages

AGENT = "test-agent"


@pytest.fixture
def database(tmp_path):
    db = Database(tmp_path / "agent.sqlite")
    db.start()
    migrate(db)
    db.write_sync(lambda d: d.execute("CREATE TABLE effects (share_id TEXT NOT NULL)"))
    yield db
    db.close()


def failed(share_id: str = "share-1") -> envelope.Envelope:
    return envelope.decode(envelope.encode(AGENT, 1, messages.PaymentFailed(share_id=share_id, reason="declined")))


def record_effect(db, env, data):
    db.execute("INSERT INTO effects (share_id) VALUES (?)", [data.share_id])
    return [("bill", {"share_id": data.share_id}, "table-1")]


def effect_then_fail(db, env, data):
    db.execute("INSERT INTO effects (share_id) VALUES (?)", [data.share_id])
    raise ValueError(f"unknown share {data.share_id}")


async def effects(database) -> list[str]:
    return await database.read(lambda db: [r[0] for r in db.execute("SELECT share_id FROM effects")])


async def test_message_is_applied_once_with_its_events(database):
    env = failed()
    handlers = {"payment.failed": record_effect}
    first = await database.write(inbox.receive, env, handlers)
    assert (first.status, first.events) == ("applied", [("bill", {"share_id": "share-1"}, "table-1")])
    again = await database.write(inbox.receive, env, handlers)
    assert (again.status, again.events) == ("duplicate", [])
    assert await effects(database) == ["share-1"]
    assert await database.read(inbox.status_of, env.id) == "applied"


async def test_a_failing_handler_leaves_nothing_but_the_rejected_record(database):
    env = failed("share-9")
    outcome = await database.write(inbox.receive, env, {"payment.failed": effect_then_fail})
    assert outcome.status == "rejected" and "unknown share share-9" in outcome.reason
    assert await effects(database) == []  # its half-done write is gone
    [kept] = await database.read(inbox.not_applied)
    assert (kept["id"], kept["status"], kept["type"]) == (env.id, "rejected", "payment.failed")
    assert "share-9" in kept["payload"]
    # sent again (its ack was lost): still not applied, still acked
    assert (await database.write(inbox.receive, env, {"payment.failed": record_effect})).status == "duplicate"
    assert await effects(database) == []


async def test_bad_data_is_rejected(database):
    body = (b'{"id":"m-1","type":"payment.failed","agent_id":"test-agent","seq":1,'
            b'"sent_at":"2026-01-01T00:00:00Z","data":{"share_id":5}}')
    outcome = await database.write(inbox.receive, envelope.decode(body), {"payment.failed": record_effect})
    assert outcome.status == "rejected" and "bad payment.failed data" in outcome.reason
    assert await effects(database) == []


async def test_without_a_handler_the_message_is_recorded_unhandled(database):
    env = failed()
    assert (await database.write(inbox.receive, env, {})).status == "unhandled"
    assert (await database.write(inbox.receive, env, {})).status == "duplicate"
    assert [m["status"] for m in await database.read(inbox.not_applied)] == ["unhandled"]


async def test_a_database_error_in_a_handler_fails_the_write_so_it_is_not_acked(database):
    def broken(db, env, data):
        db.execute("INSERT INTO no_such_table VALUES (1)")

    env = failed()
    with pytest.raises(Exception, match="no_such_table"):
        await database.write(inbox.receive, env, {"payment.failed": broken})
    assert await database.read(inbox.status_of, env.id) is None  # the hub's resend gets another go


def _age(db, table: str, column: str, row_id: str, days: float) -> None:
    moment = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [moment, row_id])


async def test_pruning_removes_only_old_delivered_or_applied_rows(database):
    def fill(db):
        ids = [outbox.append(db, AGENT, messages.Ack(ids=[str(i)])) for i in range(3)]
        outbox.mark_delivered(db, ids[:2])
        _age(db, "outbox", "delivered_at", ids[0], 8)  # old and delivered: goes
        _age(db, "outbox", "created_at", ids[2], 30)  # old but never delivered: stays
        return ids

    sent = database.write_sync(fill)
    applied, rejected, fresh = failed("a"), failed("b"), failed("c")
    await database.write(inbox.receive, applied, {"payment.failed": record_effect})
    await database.write(inbox.receive, rejected, {"payment.failed": effect_then_fail})
    await database.write(inbox.receive, fresh, {"payment.failed": record_effect})

    def age_inbox(db):
        _age(db, "inbox", "received_at", applied.id, 8)
        _age(db, "inbox", "received_at", rejected.id, 8)

    await database.write(age_inbox)
    assert await database.write(outbox.prune, timedelta(days=7)) == 1
    assert await database.write(inbox.prune, timedelta(days=7)) == 1
    left_out = await database.read(lambda db: {r[0] for r in db.execute("SELECT id FROM outbox")})
    left_in = await database.read(lambda db: {r[0] for r in db.execute("SELECT id FROM inbox")})
    assert left_out == {sent[1], sent[2]}
    assert left_in == {rejected.id, fresh.id}  # rejected ones stay for people to look at


def test_stamped_sets_sent_at_to_now_and_keeps_the_rest():
    old = envelope.encode(AGENT, 4, messages.Ack(ids=["x"]), sent_at="2020-01-01T00:00:00.000Z")
    env, new = envelope.decode(old), envelope.decode(outbox.stamped(old))
    assert (new.id, new.type, new.seq, bytes(new.data)) == (env.id, env.type, env.seq, bytes(env.data))
    sent = datetime.fromisoformat(new.sent_at)
    assert abs((datetime.now(UTC) - sent).total_seconds()) < 5
