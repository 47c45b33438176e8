"""The writer thread, transactions and migrations of the agent's SQLite store."""

import sqlite3
import threading

import pytest

from agent.store.database import Database
from agent.store.migrations import MIGRATIONS, applied_names, migrate


async def test_a_failing_write_leaves_nothing_behind(database):
    def half_then_fail(db):
        db.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await database.write(half_then_fail)
    assert await database.read(lambda db: db.execute("SELECT COUNT(*) FROM settings").fetchone()[0]) == 0
    # and the writer lives on
    await database.write(lambda db: db.execute("INSERT INTO settings (key, value) VALUES ('b', '2')"))
    assert await database.read(lambda db: db.execute("SELECT value FROM settings").fetchone()[0]) == "2"


async def test_all_writes_run_on_one_thread_off_the_loop(database):
    seen = set()

    def record(db):
        seen.add(threading.get_ident())

    for _ in range(5):
        await database.write(record)
    assert len(seen) == 1 and threading.get_ident() not in seen


async def test_pragmas_wal_and_full_sync(database):
    mode = await database.read(lambda db: db.execute("PRAGMA journal_mode").fetchone()[0])
    sync = await database.write(lambda db: db.execute("PRAGMA synchronous").fetchone()[0])
    assert mode == "wal" and sync == 2  # 2 = FULL


async def test_readers_cannot_write(database):
    with pytest.raises(sqlite3.OperationalError):
        await database.read(lambda db: db.execute("INSERT INTO settings (key, value) VALUES ('x', 'y')"))


def test_migrations_are_named_and_run_once(tmp_path):
    db = Database(tmp_path / "m.sqlite")
    db.start()
    try:
        assert migrate(db) == [name for name, _ in MIGRATIONS]
        assert migrate(db) == []
        assert db.write_sync(applied_names) == [name for name, _ in MIGRATIONS]
    finally:
        db.close()


def test_a_failing_migration_is_not_recorded(tmp_path):
    db = Database(tmp_path / "f.sqlite")
    db.start()

    def broken(conn):
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("migration bug")

    try:
        with pytest.raises(RuntimeError):
            migrate(db, [("0001_broken", broken)])
        assert db.write_sync(applied_names) == []
        assert not db.write_sync(lambda conn: conn["half"].exists())
    finally:
        db.close()
