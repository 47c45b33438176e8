"""SQLite with every write on one writer thread and reads on a small pool of reader threads.

Why one writer: SQLite allows one writer at a time anyway; serialising writes on our own thread
means no `database is locked` retries, transactions that never interleave, and an event loop
that never waits on disk. Writes that arrive together share one commit (one fsync), each in its
own savepoint; work they share (a bill's report to the hub after several orders on one table) is
done once for the group, just before its COMMIT (`once_before_commit`). Readers use WAL snapshots
and never block the writer.
"""

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

log = logging.getLogger(__name__)
T = TypeVar("T")

_STOP = object()
GROUP_LIMIT = 64  # writes that may share one commit: bounds how long the first one waits for the rest


class WriterDb(sqlite_utils.Database):
    """The writer thread's connection, with the work the writes of its current group share."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        self.before_commit: dict[Any, Callable[[sqlite_utils.Database], None]] = {}
        # what the writer knows of the file without asking it again (the outbox's last seq): only this
        # connection writes, so it stays true until a write is undone or another connection commits,
        # and then it is forgotten (_commit_group)
        self.memo: dict[str, Any] = {}
        self.data_version: int | None = None


def once_before_commit(db: sqlite_utils.Database, key: Any, fn: Callable[[sqlite_utils.Database], None]) -> None:
    """Run fn(db) once in this transaction, however many of its writes ask by the same key, after
    the last of them and before the COMMIT: work whose result only the last asker's view needs (a
    state report that each write would otherwise redo, replacing the one before). fn must read what
    it needs from the database, since the asker's own write may have been undone meanwhile. On a
    connection that is not the writer's (a tool, a test), fn runs now."""
    pending = getattr(db, "before_commit", None)
    if pending is None:
        fn(db)
    else:
        pending.setdefault(key, fn)


def connect(path: Path, *, readonly: bool = False, cls: type[sqlite_utils.Database] = sqlite_utils.Database
            ) -> sqlite_utils.Database:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; sqlite-utils nests with savepoints.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: an order acknowledged with 201 survives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    if readonly:
        conn.execute("PRAGMA query_only=ON")
    return cls(conn)


class Database:
    """Owns the writer thread and the reader pool of one SQLite file."""

    def __init__(self, path: Path, readers: int = 2) -> None:
        self.path = path
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name=f"sqlite-writer:{path.name}", daemon=True)
        self._local = threading.local()
        self._reader_dbs: list[sqlite_utils.Database] = []
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="sqlite-reader")
        self._started = False
        self.commits = 0  # transactions committed by the writer (each may hold many writes)
        self.writes = 0  # writes committed

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_db = connect(self.path, cls=WriterDb)
        self._writer.start()
        self._started = True

    def close(self) -> None:
        if not self._started:
            return
        self._queue.put(_STOP)
        self._writer.join()
        self._readers.shutdown(wait=True)
        for db in self._reader_dbs:
            db.close()
        self._started = False

    # -- writes -------------------------------------------------------------------------------

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(db, *args) in one transaction on the writer thread; its result or its error."""
        future: Future = Future()
        self._queue.put((fn, args, future))
        return await asyncio.wrap_future(future)

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """The same from a thread that is not the event loop (start-up, tools)."""
        future: Future = Future()
        self._queue.put((fn, args, future))
        return future.result()

    def _write_loop(self) -> None:
        db = self._writer_db
        while True:
            group = [self._queue.get()]
            while group[-1] is not _STOP and len(group) < GROUP_LIMIT:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = group[-1] is _STOP
            writes = [item for item in group if item is not _STOP and item[2].set_running_or_notify_cancel()]
            if writes:
                self._commit_group(db, writes)
            if stop:
                db.close()
                return

    def _commit_group(self, db: WriterDb, writes: list) -> None:
        """Group commit: the writes waiting together share one transaction and one fsync. Each runs
        in a savepoint of its own, so one that fails is undone alone and the others still commit;
        every caller hears only after the COMMIT that made its write durable."""
        done: list[tuple[Future, Any]] = []
        failed: list[tuple[Future, BaseException]] = []
        conn = db.conn  # our own BEGIN/SAVEPOINT/COMMIT straight to sqlite3, past sqlite-utils' layer
        try:
            conn.execute("BEGIN IMMEDIATE")
            # another connection (a restore tool) committed since our last transaction: forget the memo
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != db.data_version:
                db.memo.clear()
                db.data_version = version
            for fn, args, future in writes:
                conn.execute("SAVEPOINT one_write")
                try:
                    result = fn(db, *args)
                except BaseException as exc:
                    db.memo.clear()  # what the undone write remembered is not in the file
                    conn.execute("ROLLBACK TO one_write")  # raises if the transaction itself is gone
                    conn.execute("RELEASE one_write")
                    failed.append((future, exc))
                else:
                    conn.execute("RELEASE one_write")
                    done.append((future, result))
            while db.before_commit:  # in the order asked; one may ask for more (a report that reports)
                db.before_commit.pop(next(iter(db.before_commit)))(db)
            conn.execute("COMMIT")
            self.commits += 1
            self.writes += len(done)
        except BaseException as exc:  # nothing of the group is on disk: every caller gets the error
            db.before_commit.clear()
            db.memo.clear()
            with contextlib.suppress(sqlite3.Error):
                if db.conn.in_transaction:
                    db.execute("ROLLBACK")
            answered = {id(f) for f, _ in failed}
            for _, _, future in writes:
                if id(future) not in answered:
                    future.set_exception(exc)
        else:
            for future, result in done:
                future.set_result(result)
        for future, exc in failed:
            future.set_exception(exc)

    # -- reads --------------------------------------------------------------------------------

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(db, *args) on a reader thread with a read-only connection."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, fn, args)

    def _read(self, fn: Callable[..., T], args: tuple) -> T:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path, readonly=True)
            self._reader_dbs.append(db)
        db.execute("BEGIN")  # one consistent snapshot for everything fn reads
        try:
            return fn(db, *args)
        finally:
            db.execute("COMMIT")
