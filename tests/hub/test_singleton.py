"""Singleton jobs: one worker at a time runs them, another takes over when it dies (PostgreSQL)."""

import asyncio
import uuid

import pytest
from sqlalchemy import text

from hub.store.engine import make_engine
from hub.store.singleton import lock_key, run_as_singleton
from tests.services import postgres_schema, postgres_url
from tests.waiting import eventually

pytestmark = pytest.mark.service
CHECK_S = 0.2  # workers look for the lock this often here (15 s in service)


@pytest.fixture
def postgres_only():
    return postgres_url()  # the lock is PostgreSQL's; on SQLite there is one worker


async def test_one_worker_at_a_time_and_another_takes_over_when_it_dies(postgres_only):
    engines = [make_engine(postgres_only, pool_size=2) for _ in range(3)]  # three "workers"
    running: list[int] = []
    overlaps: list[list[int]] = []

    def job(worker: int):
        async def run() -> None:
            running.append(worker)
            if len(running) > 1:
                overlaps.append(list(running))
            try:
                await asyncio.Event().wait()
            finally:
                running.remove(worker)
        return run

    name = f"test.job.{uuid.uuid4()}"  # its own lock: other tests' and other runs' locks are not ours to break
    with engines[0].connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    key = lock_key(schema, name) & 0xFFFFFFFFFFFFFFFF  # pg_locks shows a bigint key as two unsigned halves
    tasks = [asyncio.create_task(run_as_singleton(e, name, job(i), check_every=CHECK_S))
             for i, e in enumerate(engines)]
    try:
        await eventually(lambda: len(running) == 1, what="one worker running the job")
        first = running[0]
        # the first worker dies (SIGKILL): its process stops and its database session goes with it
        tasks[first].cancel()
        with engines[(first + 1) % 3].connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                              "AND objsubid = 1 AND classid = :high AND objid = :low AND pid <> pg_backend_pid()"),
                         {"high": key >> 32, "low": key & 0xFFFFFFFF})
            conn.commit()
        await eventually(lambda: running and running[0] != first, within=10, what="another worker taking over")
        second = running[0]
        tasks[second].cancel()  # a clean stop hands over too
        await eventually(lambda: running and running[0] not in (first, second), within=10,
                         what="the last worker taking over")
        assert overlaps == [] and len(running) == 1
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for engine in engines:
            engine.dispose()


async def test_on_sqlite_the_job_just_runs(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/x.sqlite")
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    await asyncio.wait_for(run_as_singleton(engine, "test.job", job), 5)
    assert ran.is_set()
    engine.dispose()


async def test_hubs_in_two_schemas_of_one_database_each_run_their_jobs(postgres_only):
    """Advisory locks are the database's: a hub in another schema (staging beside production, a
    test's hub) must not hold this hub's job. Before the schema was in the key, the fuzz run's hub
    held the reconciliation lock of every later test's hub."""
    running: set[str] = set()

    def job(schema_url: str):
        async def run() -> None:
            running.add(schema_url)
            await asyncio.Event().wait()
        return run

    name = f"test.job.{uuid.uuid4()}"
    with postgres_schema() as one, postgres_schema() as two:
        engines = [make_engine(url, pool_size=2) for url in (one, two)]
        tasks = [asyncio.create_task(run_as_singleton(e, name, job(url), check_every=CHECK_S))
                 for e, url in zip(engines, (one, two), strict=True)]
        try:
            await eventually(lambda: running == {one, two}, within=10, what="each schema's hub running the job")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for engine in engines:
                engine.dispose()
