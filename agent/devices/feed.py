"""Telling the hub how each printer and the POS is, so operators see "kitchen printer out of
paper, 3 tickets held" across restaurants. A device's status is sent when what matters changes
(its state, its held tickets, whether anything waits), not on every poll; the outbox keeps only
the latest undelivered one per device.
"""

import asyncio
import logging
from collections.abc import Callable

import sqlite_utils

from agent.devices.device import PrinterDevice
from agent.devices.dispatch import CANNOT_PRINT, DeviceHealth, Dispatcher, queue_counts
from agent.store import outbox
from agent.store.database import Database
from contract import messages
from contract.envelope import now_iso

log = logging.getLogger(__name__)

EVERY_S = 5.0


def state_of(health: DeviceHealth) -> tuple[str, str]:
    """What the device said about itself when that is bad news, else whether jobs get through."""
    if health.status in CANNOT_PRINT:
        return health.status, health.status_detail
    if health.failures:
        return "failing", health.last_error or ""
    return health.status or "ok", health.status_detail


class DeviceFeed:
    def __init__(self, database: Database, dispatcher: Dispatcher, agent_id: str, wake_link: Callable[[], None]) -> None:
        self.database = database
        self.dispatcher = dispatcher
        self.agent_id = agent_id
        self.wake_link = wake_link
        self._sent: dict[str, tuple] = {}  # device -> what its last report said; empty at start: all go once

    async def run(self) -> None:
        while True:
            try:
                await self.report_changes()
            except Exception:  # a failed report must not end the feed; the next round tries again
                log.exception("device status report failed")
            await asyncio.sleep(EVERY_S)

    async def report_changes(self) -> int:
        """Append a status for each device whose state changed; how many."""
        counts = await self.database.read(queue_counts)
        reports, keys = [], {}
        for name, device in self.dispatcher.devices.items():
            state, detail = state_of(self.dispatcher.health[name])
            jobs = counts.get(name, {})
            waiting, held = jobs.get("pending", 0) + jobs.get("sending", 0), jobs.get("held", 0)
            key = (state, held, waiting > 0)
            if self._sent.get(name) == key:
                continue
            keys[name] = key
            reports.append(messages.DeviceStatus(
                device=name, kind="printer" if isinstance(device, PrinterDevice) else "pos", state=state,
                detail=detail[:500], waiting=waiting, held=held, changed_at=now_iso()))
        if reports:
            await self.database.write(_append, self.agent_id, reports)
            self._sent.update(keys)
            self.wake_link()
        return len(reports)


def _append(db: sqlite_utils.Database, agent_id: str, reports: list[messages.DeviceStatus]) -> None:
    for report in reports:
        outbox.append(db, agent_id, report, replaces=f"device:{report.device}")
