"""Catch-up after each fault: how long until everything the agent wrote before the link came
back is at the hub (its oldest undelivered outbox row is younger than the fault's end)."""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.chaos.faults import Injector
from tests.chaos.verify import read

POLL_S = 0.5


@dataclass
class CatchUp:
    kind: str
    backlog: int  # messages waiting when the fault ended
    seconds: float | None = None


@dataclass
class CatchUpMonitor:
    agent_db: Path
    injector: Injector
    catch_ups: list[CatchUp] = field(default_factory=list)

    async def run(self) -> None:
        seen = 0
        open_: list[tuple[CatchUp, str, float]] = []
        while True:
            for fault, _began, ended in self.injector.done[seen:]:
                seen += 1
                if fault.kind == "printer":
                    continue
                backlog = await asyncio.to_thread(self._waiting)
                ended_wall = datetime.now(UTC).isoformat()  # within a poll of the fault's end
                entry = CatchUp(fault.kind, backlog)
                self.catch_ups.append(entry)
                open_.append((entry, ended_wall, ended))
            if open_:
                oldest = await asyncio.to_thread(self._oldest_waiting)
                for item in list(open_):
                    entry, ended_wall, ended = item
                    if oldest is None or oldest > ended_wall:
                        entry.seconds = round(time.monotonic() - ended, 1)
                        open_.remove(item)
            await asyncio.sleep(POLL_S)

    def _waiting(self) -> int:
        return read(self.agent_db, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")[0][0]

    def _oldest_waiting(self) -> str | None:
        return read(self.agent_db, "SELECT MIN(created_at) FROM outbox WHERE delivered_at IS NULL")[0][0]

    def longest(self) -> float | None:
        times = [c.seconds for c in self.catch_ups if c.seconds is not None]
        return max(times) if times else None
