"""The collector settled after start-up: what start-up made is frozen out of full collections."""

import gc

import pytest

from tableside import collector


@pytest.fixture
def restored_gc():
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_what_is_alive_and_collects_the_young_less_often(restored_gc, monkeypatch):
    monkeypatch.delenv("TABLESIDE_GC", raising=False)
    gc.unfreeze()
    kept = [object() for _ in range(100)]
    collector.settle()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD
    assert gc.is_tracked(kept) and not any(kept is o for o in gc.get_objects())  # out of the collector's sight


def test_settle_leaves_pythons_defaults_when_asked(restored_gc, monkeypatch):
    monkeypatch.setenv("TABLESIDE_GC", "default")
    gc.unfreeze()
    before = gc.get_threshold()
    collector.settle()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


async def test_the_service_settles_the_collector_once_started(monkeypatch):
    import asyncio
    import os
    import signal

    from tableside import cli

    calls = []
    monkeypatch.setattr(collector, "settle", lambda: calls.append("settle"))

    async def start():
        calls.append("start")
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)

    async def stop():
        calls.append("stop")

    await cli._serve_until_signal(start, stop)
    assert calls == ["start", "settle", "stop"]
