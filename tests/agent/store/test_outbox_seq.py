"""The outbox's seq, kept in the writer's memory rather than asked of SQLite per message, is the
same seq MAX(seq) + 1 would give: after an undone write, a failed group, another connection's
commit and a restart."""

import sqlite3

import pytest

from agent.store import outbox
from agent.store.database import Database, once_before_commit
from agent.store.migrations import migrate
from contract import messages


def _append(db) -> int:
    outbox.append(db, "agent-1", messages.DeviceStatus(device="kitchen", kind="printer", state="online", detail="",
                                                       waiting=0, held=0, changed_at="2026-01-01T00:00:00Z"))
    return db.execute("SELECT MAX(seq) FROM outbox").fetchone()[0]


def _append_then_fail(db) -> None:
    _append(db)
    raise RuntimeError("undone")


async def test_seq_follows_on_after_an_undone_write_and_a_failed_group(database):
    assert await database.write(_append) == 1
    with pytest.raises(RuntimeError):
        await database.write(_append_then_fail)  # took seq 2, then was undone
    assert await database.write(_append) == 2

    def append_in_a_failing_group(db):
        _append(db)  # seq 3, then the whole transaction goes
        once_before_commit(db, "boom", lambda db: (_ for _ in ()).throw(RuntimeError("group")))

    with pytest.raises(RuntimeError):
        await database.write(append_in_a_failing_group)
    assert await database.write(_append) == 3


async def test_seq_follows_another_connections_commit(database):
    assert await database.write(_append) == 1
    other = sqlite3.connect(database.path, isolation_level=None)  # as a restore's carry_seq does
    other.execute("INSERT INTO outbox (id, seq, type, payload, created_at) VALUES ('x', 40, 't', x'', 'now')")
    other.close()
    assert await database.write(_append) == 41


async def test_seq_follows_on_after_a_restart(tmp_path):
    database = Database(tmp_path / "a.sqlite")
    database.start()
    migrate(database)
    for _ in range(3):
        await database.write(_append)
    database.close()
    again = Database(tmp_path / "a.sqlite")
    again.start()
    try:
        assert await again.write(_append) == 4
    finally:
        again.close()
