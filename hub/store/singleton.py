"""Jobs that must run in one hub worker at a time (reconciliation, pruning), under a PostgreSQL
advisory lock.

Each worker runs `run_as_singleton` for every such job; the one that gets the session-level lock
runs the job, the others try again every `check_every` seconds. The lock belongs to a database
session, so it goes when its worker does: a killed process's connection closes and PostgreSQL
frees the lock at once; a worker cut off from the database notices when its ping fails and
stops the job. Another worker then takes over within `check_every` (15 s: well within a minute).
On SQLite there is one worker (SQLite has one writer anyway), so the job simply runs.
"""

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

CHECK_EVERY_S = 15.0


def lock_key(schema: str, name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from the job's name and the hub's schema:
    advisory locks are the whole database's, and two hubs in two schemas of one database (staging
    beside production, or tests) each run their own jobs."""
    return int.from_bytes(hashlib.sha256(f"{schema}:{name}".encode()).digest()[:8], "big", signed=True)


async def run_as_singleton(engine: Engine, name: str, job: Callable[[], Awaitable[None]], *,
                           check_every: float = CHECK_EVERY_S) -> None:
    """Run job() (a coroutine that runs until cancelled) while this worker holds the lock `name`;
    until cancelled."""
    if engine.dialect.name != "postgresql":
        await job()
        return
    while True:
        conn, key = await _try_lock(engine, name)
        if conn is None:
            await asyncio.sleep(check_every)
            continue
        log.info("singleton job started here job=%s", name)
        task = asyncio.create_task(job(), name=f"singleton-{name}")
        try:
            while not task.done():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(check_every):
                        await asyncio.shield(task)
                if not task.done() and not await asyncio.to_thread(_still_held, conn):
                    log.warning("singleton job lost its lock (database connection gone) job=%s", name)
                    break
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.to_thread(_release, conn, key)
        if task.done() and not task.cancelled() and task.exception() is None:
            return  # the job ended by itself


async def _try_lock(engine: Engine, name: str) -> tuple[Connection | None, int]:
    def attempt() -> tuple[Connection | None, int]:
        try:
            conn = engine.connect()
        except Exception:
            log.exception("singleton lock: no database connection")
            return None, 0
        try:
            key = lock_key(conn.execute(text("SELECT current_schema()")).scalar_one(), name)
            got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one()
            conn.commit()  # the lock is the session's, not the transaction's; leave no transaction open
        except Exception:
            conn.close()
            log.exception("singleton lock attempt failed")
            return None, 0
        if not got:
            conn.close()
            return None, 0
        return conn, key
    return await asyncio.to_thread(attempt)


def _still_held(conn: Connection) -> bool:
    try:
        conn.execute(text("SELECT 1")).scalar_one()
        conn.commit()
        return True
    except Exception:
        return False


def _release(conn: Connection, key: int) -> None:
    with contextlib.suppress(Exception):
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        conn.commit()
    with contextlib.suppress(Exception):
        conn.invalidate()  # never back to the pool: a session that held a lock is not reused
    with contextlib.suppress(Exception):
        conn.close()
