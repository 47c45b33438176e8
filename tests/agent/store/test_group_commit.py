"""Group commit: writes that wait together share one transaction, each in its own savepoint."""

import asyncio
import sqlite3
import threading

from agent.store.database import GROUP_LIMIT, Database, connect, once_before_commit


def _insert(key: str):
    def write(db):
        db.execute("INSERT INTO settings (key, value) VALUES (?, 'v')", [key])
        return key
    return write


async def _with_writer_held(database: Database, writes: list) -> list:
    """Queue `writes` while the writer is busy, so they are waiting together when it is free."""
    release = threading.Event()
    entered = threading.Event()

    def hold(db):
        entered.set()
        release.wait(10)

    held = asyncio.ensure_future(database.write(hold))
    await asyncio.to_thread(entered.wait, 10)
    futures = [asyncio.ensure_future(database.write(w)) for w in writes]
    await asyncio.sleep(0)  # every write is on the queue (write() queues before its first await)
    release.set()
    await held
    return await asyncio.gather(*futures, return_exceptions=True)


async def test_writes_waiting_together_share_one_commit(database):
    before = database.commits
    results = await _with_writer_held(database, [_insert(f"k{i}") for i in range(10)])
    assert results == [f"k{i}" for i in range(10)]
    # the held write committed alone (a group of whatever was queued then); the ten waited together
    assert database.commits - before == 2
    keys = await database.read(lambda db: [r[0] for r in db.execute("SELECT key FROM settings ORDER BY key")])
    assert len(keys) == 10


async def test_a_group_never_grows_past_its_limit(database):
    before = database.commits
    await _with_writer_held(database, [_insert(f"k{i}") for i in range(GROUP_LIMIT + 1)])
    assert database.commits - before == 3  # the held one, a full group, and the one left over


async def test_a_failing_write_is_undone_alone_and_the_rest_commit(database):
    def half_then_fail(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('bad', 'v')")
        raise RuntimeError("boom")

    results = await _with_writer_held(database, [_insert("a"), half_then_fail, _insert("b")])
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], RuntimeError)
    keys = await database.read(lambda db: [r[0] for r in db.execute("SELECT key FROM settings ORDER BY key")])
    assert keys == ["a", "b"]


async def test_a_caller_hears_only_once_its_write_is_on_disk(database, tmp_path):
    async def write_then_look(key):
        await database.write(_insert(key))
        # a separate connection sees it: the transaction has committed, not just run
        with sqlite3.connect(tmp_path / "a.sqlite") as other:
            return other.execute("SELECT COUNT(*) FROM settings WHERE key = ?", [key]).fetchone()[0]

    assert await asyncio.gather(*(write_then_look(f"k{i}") for i in range(20))) == [1] * 20


async def test_when_the_commit_fails_every_write_of_the_group_fails(database):
    def end_the_transaction(db):
        db.execute("ROLLBACK")  # the group's transaction is gone: the next RELEASE fails

    results = await _with_writer_held(database, [_insert("a"), end_the_transaction, _insert("b")])
    assert all(isinstance(r, sqlite3.Error) for r in results)
    assert await database.read(lambda db: db.execute("SELECT COUNT(*) FROM settings").fetchone()[0]) == 0
    assert await database.write(_insert("after")) == "after"  # the writer lives on


def _asking(key: str, shared_key: str, calls: list):
    """A write that inserts `key` and asks for work shared by `shared_key`: the work records what it sees."""
    def write(db):
        db.execute("INSERT INTO settings (key, value) VALUES (?, 'v')", [key])
        once_before_commit(db, shared_key, lambda db: calls.append(
            (shared_key, sorted(r[0] for r in db.execute("SELECT key FROM settings")))))
        return key
    return write


async def test_work_the_writes_of_a_group_share_runs_once_after_the_last_of_them(database):
    calls: list = []
    results = await _with_writer_held(database, [_asking("a", "bill-1", calls), _asking("b", "bill-1", calls),
                                                 _asking("c", "bill-2", calls)])
    assert results == ["a", "b", "c"]
    # once per key, in the order first asked, each seeing every write of the group
    assert calls == [("bill-1", ["a", "b", "c"]), ("bill-2", ["a", "b", "c"])]
    calls.clear()
    await database.write(_asking("d", "bill-1", calls))  # the next group asks afresh
    assert calls == [("bill-1", ["a", "b", "c", "d"])]


async def test_shared_work_that_fails_fails_its_whole_group(database):
    def fails(db):
        raise RuntimeError("report broke")

    def write(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('a', 'v')")
        once_before_commit(db, "k", fails)

    results = await _with_writer_held(database, [write, _insert("b")])
    assert all(isinstance(r, RuntimeError) for r in results)  # nothing half-written: neither is on disk
    assert await database.read(lambda db: db.execute("SELECT COUNT(*) FROM settings").fetchone()[0]) == 0
    assert await database.write(_insert("after")) == "after"  # and nothing of it is left for the next group


def test_outside_the_writer_the_shared_work_runs_at_once(tmp_path):
    db = connect(tmp_path / "plain.sqlite")
    calls = []
    once_before_commit(db, "k", lambda db: calls.append("ran"))
    assert calls == ["ran"]
