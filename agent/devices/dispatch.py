"""Device dispatch: one persistent queue and one worker per device, so a printer that is down
never holds up another. A job is retried with growing back-off until it gets through.

A job is marked `sending` before delivery starts. If the agent dies mid-delivery, the job is
found `sending` at the next start: a retry-safe device (POS) gets it again; a printer's is held
for staff, because printing it again could give the kitchen the order twice.

Under a rush a worker takes the jobs waiting for its device together (up to BATCH): one write
marks them all `sending`, they are delivered one by one in order, and one more write marks those
delivered `done` at its end (or where one failed). A job costs its delivery, not two commit round
trips nor two writes of its own, so the kitchen keeps up with the orders. The price: a crash in a rush holds the batch's tickets for staff, delivered or not (they are
`sending` until its end), not only the one being printed; none is printed twice. When it is quiet a batch is one job, as before.
"""

import asyncio
import contextlib
import itertools
import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlite_utils

from agent.config import DispatchSection
from agent.devices.device import Device, PrinterDevice
from agent.store.database import Database
from drivers.escpos.status import NOT_PRINTING, PrinterStatus
from drivers.pos.base import PosError, PosUnavailable
from drivers.printer import PrinterError, PrinterMaybePrinted

log = logging.getLogger(__name__)

BACKOFF_START = 0.5
BACKOFF_MAX = 30.0
IDLE_POLL = 5.0  # a safety net: new jobs wake the worker at once
CANNOT_PRINT = frozenset(state.value for state in NOT_PRINTING)  # device states in which a job would not print
# A job the device answered and refused this many times is held for staff, so one job the POS will
# never take (a payment on a check someone closed by hand) cannot hold up every order behind it.
# A device that does not answer (PosUnavailable) keeps its queue waiting in order instead.
HOLD_REFUSED_AFTER = 5
# While orders are being placed (a rush), a worker pauses this long before each job, so device
# work (rendering, sockets, the POS) leaves the box to the orders: the diner's 201 waits less, and a
# device still gets a job every few tens of ms (a real printer takes longer than that to print
# one). Measured in bench/README.md, "Orders, fourth pass".
RUSH_PAUSE = 0.02
BATCH = 32  # jobs of one device marked sending together: bounds what a crash mid-rush holds for staff


@dataclass
class DeviceHealth:
    """What staff see about a device: failing since when, how often, and why."""

    failures: int = 0
    failing_since: str | None = None
    last_error: str | None = None
    status: str | None = None  # what the device itself last said (printers: online, paper_out, ...)
    status_detail: str = ""
    status_asked: float = field(default=float("-inf"), repr=False)  # when the question behind `status` was put

    def said(self, status: PrinterStatus, asked_at: float) -> None:
        """What the device answered a question put at asked_at (time.monotonic()), unless a later
        question was answered first: a status poll begun before a job must not undo the job's answer."""
        if asked_at >= self.status_asked:
            self.status, self.status_detail, self.status_asked = status.state.value, status.detail, asked_at

    def delivered(self, status: PrinterStatus | None, asked_at: float) -> None:
        """A job got through: what the device said as it took it, and in any case it can print."""
        self.recovered()
        if status is not None:
            self.said(status, asked_at)
        elif self.status in CANNOT_PRINT and asked_at >= self.status_asked:
            self.status, self.status_detail, self.status_asked = None, "", asked_at

    def failed(self, error: str) -> None:
        self.failures += 1
        self.failing_since = self.failing_since or _now()
        self.last_error = error

    def recovered(self) -> None:
        self.failures, self.failing_since, self.last_error = 0, None, None

    def as_dict(self) -> dict:
        return {"state": "failing" if self.failures else "ok", "failures": self.failures,
                "failing_since": self.failing_since, "last_error": self.last_error,
                "status": self.status, "status_detail": self.status_detail}


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    payload: dict
    created_at: datetime

    def older_than(self, seconds: float) -> bool:
        return datetime.now(UTC) - self.created_at > timedelta(seconds=seconds)


async def _give_way() -> None:
    await asyncio.sleep(RUSH_PAUSE)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def next_jobs(db: sqlite_utils.Database, device: str, limit: int = 1) -> list[Job]:
    """The device's oldest pending jobs, in the order they are to be delivered."""
    rows = db.execute("""SELECT id, kind, payload, created_at FROM device_jobs
                         WHERE device = ? AND status = 'pending' ORDER BY created_at, id LIMIT ?""",
                      [device, limit]).fetchall()
    return [Job(row[0], row[1], json.loads(row[2]), datetime.fromisoformat(row[3])) for row in rows]


def together(jobs: list[Job]) -> list[Job]:
    """The jobs from the head that may be sent as one batch: a POS payment goes alone, once the
    orders before it are marked done, since it needs the check references their results hold."""
    if jobs[0].kind == "pos_payment":
        return jobs[:1]
    return list(itertools.takewhile(lambda job: job.kind != "pos_payment", jobs))


def hold_stale(db: sqlite_utils.Database, device: str, max_age: float) -> int:
    """Hold a device's jobs older than max_age seconds: a printer that was off overnight must not
    print the whole backlog in the morning. Staff confirm (print) or drop them."""
    cutoff = (datetime.now(UTC) - timedelta(seconds=max_age)).isoformat()
    return db.execute(f"""UPDATE device_jobs SET status = 'held',
                         last_error = 'older than {max_age:.0f} s when the device could take it; confirm to print'
                         WHERE device = ? AND status = 'pending' AND created_at < ?""", [device, cutoff]).rowcount


def mark_sending(db: sqlite_utils.Database, job_ids: list[str]) -> None:
    db.conn.executemany("UPDATE device_jobs SET status = 'sending', attempts = attempts + 1 WHERE id = ?",
                        [(job_id,) for job_id in job_ids])


def mark_unsent(db: sqlite_utils.Database, job_ids: list[str]) -> None:
    """Jobs of a batch its worker never tried (one before them failed): back in the queue, their
    attempt not counted."""
    db.conn.executemany("""UPDATE device_jobs SET status = 'pending', attempts = attempts - 1
                           WHERE id = ? AND status = 'sending'""", [(job_id,) for job_id in job_ids])


def mark_done(db: sqlite_utils.Database, delivered: list[tuple[str, str | None]]) -> None:
    """Jobs delivered, each with the device's reference for it (a POS check) or None."""
    now = _now()
    db.conn.executemany("UPDATE device_jobs SET status = 'done', done_at = ?, last_error = NULL, result = ? WHERE id = ?",
                        [(now, result, job_id) for job_id, result in delivered])


def with_check_refs(db: sqlite_utils.Database, payload: dict) -> dict:
    """A POS payment needs the POS's own check references, known only once its orders reached it.
    The POS queue is in order, so those orders' jobs are done before the payment's turn."""
    refs = {}
    for part in payload["allocations"]:
        row = db.execute("SELECT result FROM device_jobs WHERE kind = 'pos_order' AND order_id = ? AND status = 'done'",
                         [part["order_id"]]).fetchone()
        refs[part["order_id"]] = row[0] if row else None
    return {**payload, "check_refs": refs}


def attempts_of(db: sqlite_utils.Database, job_id: str) -> int:
    row = db.execute("SELECT attempts FROM device_jobs WHERE id = ?", [job_id]).fetchone()
    return row[0] if row else 0


def mark_failed(db: sqlite_utils.Database, job_id: str, error: str, hold: bool = False) -> None:
    """Back in the queue, or held for staff when sending again could print it twice."""
    db.execute("UPDATE device_jobs SET status = ?, last_error = ? WHERE id = ?",
               ["held" if hold else "pending", error[:500], job_id])


def redirect(db: sqlite_utils.Database, device: str, fallback: str) -> int:
    """Hand a printer's waiting tickets to its fallback, marked with whose they are."""
    return db.execute("""UPDATE device_jobs SET device = ?, payload = json_set(payload, '$.redirected_from', ?)
                         WHERE device = ? AND status = 'pending'""", [fallback, device, device]).rowcount


def recover_interrupted(db: sqlite_utils.Database, retry_safe_devices: list[str]) -> int:
    """At start-up: jobs left `sending` by a crash go back to the queue or are held for staff."""
    marks = ",".join("?" * len(retry_safe_devices)) or "''"
    db.execute(f"UPDATE device_jobs SET status = 'pending' WHERE status = 'sending' AND device IN ({marks})",
               retry_safe_devices)
    cur = db.execute("""UPDATE device_jobs SET status = 'held',
                        last_error = 'the agent stopped while sending this; check the printer, then confirm or reprint'
                        WHERE status = 'sending'""")
    return cur.rowcount


def queue_counts(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for device, status, n in db.execute("SELECT device, status, COUNT(*) FROM device_jobs GROUP BY device, status"):
        counts.setdefault(device, {})[status] = n
    return counts


class Dispatcher:
    def __init__(self, database: Database, devices: dict[str, Device], settings: DispatchSection | None = None) -> None:
        self.database = database
        self.devices = devices
        self.settings = settings or DispatchSection()
        self._wake = {name: asyncio.Event() for name in devices}
        self.health = {name: DeviceHealth() for name in devices}
        self._placing = 0  # orders being placed now (placing)

    @contextlib.contextmanager
    def placing(self):
        """Around an order's placing: while any is, workers give way between jobs (RUSH_PAUSE)."""
        self._placing += 1
        try:
            yield
        finally:
            self._placing -= 1

    def wake(self, device: str | None = None) -> None:
        """New jobs were written: let the worker(s) look now instead of at the next poll."""
        for name, event in self._wake.items():
            if device is None or device == name:
                event.set()

    async def run(self) -> None:
        await self.database.write(recover_interrupted, [n for n, d in self.devices.items() if d.retry_safe])
        async with asyncio.TaskGroup() as group:
            for name, device in self.devices.items():
                group.create_task(self._worker(name), name=f"device:{name}")
                if isinstance(device, PrinterDevice):
                    group.create_task(self._poll_status(name), name=f"status:{name}")

    async def _poll_status(self, name: str) -> None:
        """Ask the printer how it is, now and then, so staff see paper out before a ticket fails."""
        while True:
            asked = time.monotonic()
            self.health[name].said(await self.devices[name].status(), asked)
            await asyncio.sleep(self.settings.status_interval)

    async def _maybe_redirect(self, name: str) -> None:
        device, health = self.devices[name], self.health[name]
        fallback = getattr(device, "fallback", None)
        if not fallback or fallback not in self.devices or health.failures < self.settings.fallback_after:
            return
        if self.health[fallback].failures:
            return  # the fallback is out too: keep the tickets where they are
        moved = await self.database.write(redirect, name, fallback)
        if moved:
            log.warning("tickets sent to the fallback printer", extra={"device": name, "fallback": fallback,
                                                                        "jobs": moved})
            self.wake(fallback)

    async def _worker(self, name: str) -> None:
        device, wake = self.devices[name], self._wake[name]
        backoff = BACKOFF_START
        while True:
            wake.clear()
            jobs = await self.database.read(next_jobs, name, BATCH)
            if not jobs:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
                # comes as the wait ends, and the worker would outlive the agent's shutdown
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(IDLE_POLL):
                        await wake.wait()
                continue
            # the queue is oldest first, so only a stale head means there is a backlog to hold
            if not device.retry_safe and jobs[0].older_than(self.settings.hold_after):
                held = await self.database.write(hold_stale, name, self.settings.hold_after)
                log.warning("stale jobs held for staff", extra={"device": name, "jobs": held})
                continue
            batch = together(jobs)
            await self.database.write(mark_sending, [job.id for job in batch])
            done: list[tuple[str, str | None]] = []  # delivered jobs and their results, marked in one write
            try:
                for i, job in enumerate(batch):
                    if self._placing:  # orders first
                        await _give_way()
                    delivered, result = await self._deliver(name, job)
                    if not delivered:
                        if batch[i + 1:]:
                            await self.database.write(mark_unsent, [later.id for later in batch[i + 1:]])
                        break
                    done.append((job.id, result))
            finally:
                if done:
                    await self.database.write(mark_done, done)
            if delivered:
                backoff = BACKOFF_START
                continue
            await self._maybe_redirect(name)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _deliver(self, name: str, job: Job) -> tuple[bool, str | None]:
        """Send one job (already marked sending); (delivered, the device's reference for it). A job
        that failed is marked so here: back in the queue, or held for staff."""
        device = self.devices[name]
        payload = job.payload
        if job.kind == "pos_payment":
            payload = await self.database.read(with_check_refs, payload)
        asked = time.monotonic()
        try:
            async with asyncio.timeout(self.settings.deliver_timeout):
                result = await device.deliver(job.kind, payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a driver may raise anything; it must not stop the queue
            hung = isinstance(exc, TimeoutError)
            error = (f"the driver did not finish within {self.settings.deliver_timeout:g} s" if hung
                     else f"{exc.__class__.__name__}: {exc}")
            self.health[name].failed(error)
            if isinstance(exc, PrinterError) and exc.status is not None:
                self.health[name].said(exc.status, asked)
            log.warning("device delivery failed", extra={"device": name, "job": job.id, "error": error})
            # after a hang or a cut-off, a printer may have printed: a person decides
            maybe_done = isinstance(exc, PrinterMaybePrinted) or (hung and not device.retry_safe)
            refused = isinstance(exc, PosError) and not isinstance(exc, PosUnavailable)
            if refused and await self.database.read(attempts_of, job.id) >= HOLD_REFUSED_AFTER:
                error = f"refused {HOLD_REFUSED_AFTER} times, held for staff: {error}"
                log.error("device job held after repeated refusals", extra={"device": name, "job": job.id})
                maybe_done = True
            await self.database.write(mark_failed, job.id, error, maybe_done)
            return False, None
        self.health[name].delivered(result if isinstance(result, PrinterStatus) else None, asked)
        return True, result if isinstance(result, str) else None
