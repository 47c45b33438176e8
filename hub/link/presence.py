"""Who is there: each agent's last_seen and online flag, its clock offset, its pay-link key.

Presence also carries the agent's public key (trusted on first use) and every fresh message's
sent_at measures the agent's clock (`clock_offset_ms`).
"""

import logging
import time
from datetime import UTC, datetime

from contract.envelope import Envelope
from contract.messages import Presence
from hub.store import HubStore

log = logging.getLogger(__name__)

# last_seen is written at most this often per agent while it talks, not once per message:
# a catch-up of thousands of orders would otherwise double the hub's writes.
SEEN_EVERY_S = 5.0
# The agent's clock is measured at most this often per agent from ordinary messages (always on presence).
CLOCK_EVERY_S = 5.0


class AgentPresence:
    def __init__(self, store: HubStore) -> None:
        self._store = store
        self._last_touch: dict[str, float] = {}  # agent id -> monotonic time of the last last_seen write
        self._last_clock: dict[str, float] = {}  # agent id -> monotonic time of the last clock measurement

    async def touch(self, agent_id: str, online: bool | None, retained: bool) -> None:
        """Record the agent as seen (and its presence), skipping writes that would change nothing
        but a few seconds of last_seen."""
        now, last = time.monotonic(), self._last_touch.get(agent_id)
        if online is None and last is not None and now - last < SEEN_EVERY_S:
            return
        await self._store.touch_agent(agent_id, online, seen=not retained)
        if not retained:
            self._last_touch[agent_id] = now

    def due_seen(self, agent_ids: set[str]) -> list[str]:
        """Of these agents (talking now), those whose last_seen_at is due a write; counted as
        written (the batch intake writes them with its messages)."""
        now = time.monotonic()
        due = [a for a in agent_ids if now - self._last_touch.get(a, -SEEN_EVERY_S) >= SEEN_EVERY_S]
        for agent_id in due:
            self._last_touch[agent_id] = now
        return due

    def due_clock(self, env: Envelope) -> int | None:
        """The agent's clock offset from this message when a measurement is due (written by the
        batch intake), else None."""
        now = time.monotonic()
        if now - self._last_clock.get(env.agent_id, -CLOCK_EVERY_S) < CLOCK_EVERY_S:
            return None
        offset_ms = clock_offset_ms(env)
        if offset_ms is not None:
            self._last_clock[env.agent_id] = now
        return offset_ms

    async def arrived(self, agent_id: str, env: Envelope, data: Presence, retained: bool) -> None:
        """A presence message: online flag, last seen, clock offset and key in one transaction (a
        retained one was sent who knows when: neither seen nor a clock reading)."""
        offset_ms = None if retained else clock_offset_ms(env)
        verdict = await self._store.record_presence(agent_id, data.online, seen=not retained,
                                                    clock_offset_ms=offset_ms, public_key=data.public_key or None)
        now = time.monotonic()
        if not retained:
            self._last_touch[agent_id] = now
        if offset_ms is not None:
            self._last_clock[agent_id] = now
        _log_key(agent_id, verdict)

    async def measure_clock(self, agent_id: str, env: Envelope) -> None:
        """clock_offset_ms = hub receive time - the agent's sent_at (positive: agent clock behind)."""
        now = time.monotonic()
        last = self._last_clock.get(agent_id)
        if last is not None and now - last < CLOCK_EVERY_S:
            return
        offset_ms = clock_offset_ms(env)
        if offset_ms is None:
            return
        await self._store.set_clock_offset(agent_id, offset_ms)
        self._last_clock[agent_id] = now


def _log_key(agent_id: str, verdict: str | None) -> None:
    if verdict == "stored":
        log.info("agent key stored (first seen) agent=%s", agent_id)
    elif verdict == "refused":
        log.error("agent key REFUSED: differs from the key first seen; kept out until an operator "
                  "resets it (reset_agent_key) agent=%s", agent_id)


def clock_offset_ms(env: Envelope) -> int | None:
    """Hub receive time - the agent's sent_at, None when sent_at is unusable."""
    try:
        sent_at = datetime.fromisoformat(env.sent_at)
    except ValueError:
        return None
    if sent_at.tzinfo is None:
        return None
    return round((datetime.now(UTC) - sent_at).total_seconds() * 1000)
