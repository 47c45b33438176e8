"""SQLite with every write on one writer thread and reads on a small pool of reader threads.

Why one writer: SQLite allows one writer at a time anyway; serialising writes on our own thread
means no `database is locked` retries, transactions that never interleave, and an event loop
that never waits on disk. Readers use WAL snapshots and never block the writer.
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


def connect(path: Path, *, readonly: bool = False) -> sqlite_utils.Database:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves; sqlite-utils nests with savepoints.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: an order acknowledged with 201 survives a power cut.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    if readonly:
        conn.execute("PRAGMA query_only=ON")
    return sqlite_utils.Database(conn)


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

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_db = connect(self.path)
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
            item = self._queue.get()
            if item is _STOP:
                db.close()
                return
            fn, args, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                db.execute("BEGIN IMMEDIATE")
                result = fn(db, *args)
                db.execute("COMMIT")
            except BaseException as exc:  # the caller gets every error; the thread lives on
                with contextlib.suppress(sqlite3.Error):
                    if db.conn.in_transaction:
                        db.execute("ROLLBACK")
                future.set_exception(exc)
            else:
                future.set_result(result)

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
