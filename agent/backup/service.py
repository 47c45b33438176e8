"""Backups while the agent runs: every `[backup] interval_minutes` and soon after each settled bill.

Each backup is taken on a thread (agent/backup/snapshot.py: its own read connection, never the
writer), sealed with the restaurant's key, written to `[backup] dir`, rotated, then uploaded to
the hub in the background with the box's TLS key. Orders never wait for any of it. A settled
bill is seen on the event bus (the bill event every payment publishes), so no part of the pay
path knows backups exist; bursts of them share one backup (SETTLED_GAP_S apart at most).

What staff and Prometheus see: the last good backup, the last upload, the last error.
"""

import asyncio
import contextlib
import logging
import os
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from agent.backup import archive, catch_up, hub_client, sealed, snapshot
from agent.backup.hub_client import Credentials, HubRefused, HubUnavailable
from agent.backup.recovery_code import BackupKey
from agent.config import AgentConfig
from agent.events import Event, EventBus
from agent.paired import Pairing
from agent.store.database import Database

log = logging.getLogger(__name__)

SETTLED_GAP_S = 30.0  # settled bills within this share one backup
BACKUP_NICE = 10  # the backup thread yields the CPU to the order path (Linux: niceness per thread)


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed: run at normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKUP_NICE)
UPLOAD_RETRY_START_S, UPLOAD_RETRY_MAX_S = 30.0, 600.0


def backup_dir(config: AgentConfig) -> Path:
    return Path(config.backup.dir) if config.backup.dir else config.data_dir / "backups"


def config_for_backup(config: AgentConfig) -> dict[str, Any]:
    """The running configuration as it is restored on a replacement box (agent/backup/restore.py)."""
    return msgspec.to_builtins(config)


class BackupMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.last_good = Gauge("tableside_agent_backup_last_good_timestamp_seconds",
                               "When the newest good local backup was taken (unix time; absent before the first).",
                               registry=registry)
        self.last_upload = Gauge("tableside_agent_backup_last_upload_timestamp_seconds",
                                 "When a backup last reached the hub (unix time; absent before the first).",
                                 registry=registry)
        self.failures = Counter("tableside_agent_backup_failures_total", "Backups or uploads that failed, by step.",
                                ["step"], registry=registry)
        self.seconds = Gauge("tableside_agent_backup_duration_seconds", "How long the last backup took.",
                             registry=registry)
        self.size = Gauge("tableside_agent_backup_size_bytes", "Size of the last backup file (sealed).",
                          registry=registry)


@dataclass
class BackupStatus:
    last_good_at: datetime | None = None
    last_good_name: str | None = None
    last_uploaded_at: datetime | None = None
    last_uploaded_name: str | None = None
    last_error: str | None = None
    uploads: bool = False  # paired with a hub: backups go there too

    def as_dict(self, alert_after: timedelta) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None
        stale = self.last_good_at is None or datetime.now(UTC) - self.last_good_at > alert_after
        return {"last_good_at": iso(self.last_good_at), "last_good_name": self.last_good_name,
                "last_uploaded_at": iso(self.last_uploaded_at), "uploads": self.uploads,
                "last_error": self.last_error, "stale": stale}


class BackupService:
    def __init__(self, config: AgentConfig, database: Database, key: BackupKey, *, pairing: Pairing | None,
                 events: EventBus | None = None, metrics: BackupMetrics | None = None,
                 wake_link: Callable[[], None] | None = None) -> None:
        self._config = config
        self._database = database
        self._database_path = database.path
        self._wake_link = wake_link
        self._key = key
        self._pairing = pairing
        self._events = events
        self._metrics = metrics
        self.directory = backup_dir(config)
        self.status = BackupStatus(uploads=pairing is not None)
        self._lock = asyncio.Lock()
        self._due = asyncio.Event()  # a settled bill asks for a backup
        self._upload_due = asyncio.Event()
        self._uploading = asyncio.Lock()  # the background loop and `upload_newest()` callers: one at a time
        self.settled_gap_s = SETTLED_GAP_S
        # one thread of its own, at a lower priority: on two cores the order path comes first
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="backup", initializer=_lower_priority)

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    @property
    def alert_after(self) -> timedelta:
        return timedelta(minutes=self._config.backup.alert_after_minutes)

    async def start(self) -> list[asyncio.Task]:
        """Read what is on disk already (a restart does not raise the banner), then run."""
        newest = await asyncio.to_thread(archive.listing, self.directory)
        if newest:
            self._good(newest[0].name, newest[0].created_at)
        tasks = [asyncio.create_task(self._every_interval(), name="backup-schedule"),
                 asyncio.create_task(self._upload_loop(), name="backup-upload")]
        if self._events is not None:
            self._events.listen(self._on_event)
        return tasks

    async def backup_now(self) -> archive.LocalBackup:
        """Take, seal, keep and rotate one backup; queue its upload. Raises what went wrong."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                made = await loop.run_in_executor(self._thread, self._make)
            except Exception as exc:
                self.status.last_error = f"backup failed: {exc}"
                if self._metrics:
                    self._metrics.failures.labels("snapshot").inc()
                log.warning("backup failed", extra={"error": str(exc)})
                raise
            self._good(made.name, made.created_at)
            if self._metrics:
                self._metrics.seconds.set(loop.time() - started)
                self._metrics.size.set(made.size)
            log.info("backup taken", extra={"backup": made.name, "bytes": made.size,
                                            "seconds": round(loop.time() - started, 3)})
            self._upload_due.set()
            return made

    def _make(self) -> archive.LocalBackup:
        return make_backup(self._config, self._database_path, self._key)

    def _good(self, name: str, created_at: datetime) -> None:
        self.status.last_good_at, self.status.last_good_name = created_at, name
        self.status.last_error = None
        if self._metrics:
            self._metrics.last_good.set(created_at.timestamp())

    async def _every_interval(self) -> None:
        interval = self._config.backup.interval_minutes * 60
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._due.wait()
            if self._due.is_set():  # a settled bill: no sooner than SETTLED_GAP_S after the last backup
                last = self.status.last_good_at
                wait = self.settled_gap_s - (datetime.now(UTC) - last).total_seconds() if last else 0
                if wait > 0:
                    await asyncio.sleep(wait)
            self._due.clear()
            with contextlib.suppress(Exception):  # said in status and the log; the next one tries again
                await self.backup_now()

    def _on_event(self, event: Event) -> None:
        if event.kind == "bill" and event.data.get("settled"):
            self._due.set()

    async def _upload_loop(self) -> None:
        if self._pairing is None:
            return  # not paired: local backups only
        delay = UPLOAD_RETRY_START_S
        while True:
            await self._upload_due.wait()
            self._upload_due.clear()
            try:
                await self.upload_newest()
                delay = UPLOAD_RETRY_START_S
            except (HubUnavailable, HubRefused, OSError) as exc:
                self.status.last_error = f"upload to the hub failed: {exc}"
                if self._metrics:
                    self._metrics.failures.labels("upload").inc()
                log.warning("backup upload failed", extra={"error": str(exc), "retry_in": round(delay)})
                with contextlib.suppress(TimeoutError):  # a newer backup is tried at once instead
                    async with asyncio.timeout(delay * random.uniform(0.8, 1.2)):
                        await self._upload_due.wait()
                self._upload_due.set()
                delay = min(delay * 2, UPLOAD_RETRY_MAX_S)

    async def upload_newest(self) -> str | None:
        """Send the newest local backup unless it was sent; its name, or None when there was nothing to send."""
        async with self._uploading:
            return await self._upload_newest()

    async def _upload_newest(self) -> str | None:
        newest = (await asyncio.to_thread(archive.listing, self.directory))[:1]
        if not newest or newest[0].name == self.status.last_uploaded_name or self._pairing is None:
            return None
        backup = newest[0]
        answer = await asyncio.to_thread(upload_file, self._pairing, backup.path)
        hub_max_seq = answer.get("hub_max_seq")
        if isinstance(hub_max_seq, int):
            again = await self._database.write(catch_up.resend_what_the_hub_lost, hub_max_seq)
            if again:
                log.warning("the hub lost messages (restored from an older backup?): sending them again",
                            extra={"messages": again, "hub_max_seq": hub_max_seq})
                if self._wake_link is not None:
                    self._wake_link()
        self.status.last_uploaded_at, self.status.last_uploaded_name = datetime.now(UTC), backup.name
        if self._metrics:
            self._metrics.last_upload.set(self.status.last_uploaded_at.timestamp())
        log.info("backup uploaded", extra={"backup": backup.name})
        return backup.name


def make_backup(config: AgentConfig, database_path: Path, key: BackupKey) -> archive.LocalBackup:
    """Blocking: snapshot, seal, write, rotate. The running agent and `tableside agent backup now` alike."""
    shot = snapshot.take(database_path, config.data_dir, config_for_backup(config))
    header = {"agent_id": config.agent.id, "created_at": shot.created_at.isoformat(), "outbox_seq": shot.outbox_seq}
    directory = backup_dir(config)
    made = archive.write(directory, sealed.seal(shot.bundle, key, header), shot.created_at)
    archive.rotate(directory, hourly=config.backup.keep_hourly, daily=config.backup.keep_daily)
    return made


def credentials_of(pairing: Pairing) -> Credentials:
    return Credentials(key_pem=pairing.keyfile.read_bytes(), cert_pem=pairing.certfile.read_bytes(),
                       hub_cafile=pairing.hub_cafile)


def upload_file(pairing: Pairing, path: Path) -> dict:
    """Blocking: one local backup to the hub, signed by the box."""
    blob = path.read_bytes()
    header = sealed.header_of(blob)
    return hub_client.upload(pairing.hub_url, credentials_of(pairing), pairing.agent_id, path.name, blob, header)


BACKUPS = web.AppKey("backups", BackupService)
