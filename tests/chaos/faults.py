"""Faults at random moments from one seeded RNG: the printed seed replays the same plan
(TABLESIDE_CHAOS_SEED=...). The plan is drawn up front, so it does not depend on timing."""

import asyncio
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("chaos")

# the big faults take turns (one at a time, as the suite's figures are clearer that way);
# printer faults come on top of them
BIG = {"agent_kill": 3, "broker_restart": 2, "hub_kill": 2, "uplink_cut": 2}
PRINTER = ["offline", "paper_out", "slow", "offline", "paper_out", "slow"]


# make test replays a seed whose run is written down in docs/link.md, so CI answers for the code,
# not for the dice; TABLESIDE_CHAOS_SEED=random explores, and any number replays that run.
# This one found finding 5 (a ticket lost in a printer fault) and keeps it found.
DEFAULT_SEED = 978759255


def chaos_seed() -> int:
    text = os.environ.get("TABLESIDE_CHAOS_SEED", "")
    if text == "random":
        return random.SystemRandom().randrange(2**32)
    return int(text) if text else DEFAULT_SEED


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the load starts
    kind: str
    lasts: float  # how long the thing stays down
    how: str = ""  # uplink: drop | blackhole; printer: the emulator's fault


def plan(rng: random.Random, duration: float) -> list[Fault]:
    """Big faults in their own slots across the run; printer faults anywhere."""
    kinds = [k for k, n in BIG.items() for _ in range(n)]
    rng.shuffle(kinds)
    slot = (duration - 20) / len(kinds)
    faults = []
    for i, kind in enumerate(kinds):
        if kind == "uplink_cut":
            lasts, how = rng.uniform(30, 60), rng.choice(["drop", "blackhole"])
        else:
            lasts, how = rng.uniform(1, 6), ""
        room = max(0.0, slot - lasts - 2)
        faults.append(Fault(10 + i * slot + rng.uniform(0, room), kind, round(lasts, 1), how))
    for how in PRINTER:
        faults.append(Fault(rng.uniform(5, duration - 15), "printer", round(rng.uniform(3, 12), 1), how))
    return sorted(faults, key=lambda f: f.at)


@dataclass
class Injector:
    """Runs a plan against the real processes; records when each fault began and ended."""

    actions: dict[str, Callable[[Fault], Awaitable[None]]]  # kind -> bring it down and back
    done: list[tuple[Fault, float, float]] = field(default_factory=list)  # (fault, began, ended) monotonic

    async def run(self, faults: list[Fault], start: float) -> None:
        big = [f for f in faults if f.kind != "printer"]
        small = [f for f in faults if f.kind == "printer"]
        await asyncio.gather(self._play(big, start), self._play(small, start))

    async def _play(self, faults: list[Fault], start: float) -> None:
        for fault in faults:
            await asyncio.sleep(max(0.0, start + fault.at - time.monotonic()))
            began = time.monotonic()
            log.warning("fault %s %s for %.1fs at +%.1fs", fault.kind, fault.how, fault.lasts, began - start)
            await self.actions[fault.kind](fault)
            self.done.append((fault, began, time.monotonic()))

    def counts(self) -> dict[str, int]:
        return dict(Counter(f.kind if f.kind != "printer" else f"printer_{f.how}" for f, _, _ in self.done))
