"""How fast diners may change things: orders, calls to staff, shares, per table and per client.

A token bucket per key, in memory: it costs no read on the order path, and a restart forgetting
it is harmless. The defaults are far above what a busy table does (a table of twelve ordering
round after round sends a few orders a minute) and far below what a script does (one client placed
2,000 orders at 18 a second). A refusal is a 429 with Retry-After; a table refused in the last
FLOOD_SHOWN seconds is shown to staff as flooded (GET /api/v1/staff/flooded and a staff event).
"""

import math
import time
from dataclasses import dataclass, field

from aiohttp import web

from agent.config import LimitsSection
from agent.events import EventBus
from agent.web.errors import refusal

FLOOD_SHOWN = 300.0
MAX_KEYS = 10_000  # buckets kept; past this, the full ones (idle keys) are forgotten


@dataclass
class Buckets:
    per_minute: float
    burst: int
    _state: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    def take(self, key: str, now: float) -> float | None:
        """None when `key` may go on, else the seconds until it may."""
        tokens, at = self._state.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_minute / 60)
        if tokens < 1:
            self._state[key] = (tokens, now)
            return (1 - tokens) * 60 / self.per_minute
        self._state[key] = (tokens - 1, now)
        if len(self._state) > MAX_KEYS:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        full = [k for k, (t, at) in self._state.items() if t + (now - at) * self.per_minute / 60 >= self.burst]
        for key in full:
            del self._state[key]


class DinerLimits:
    def __init__(self, config: LimitsSection) -> None:
        self.tables = Buckets(config.per_table_per_minute, config.per_table_burst)
        self.clients = Buckets(config.per_client_per_minute, config.per_client_burst)
        self._flooded: dict[str, tuple[str, float, int]] = {}  # table id -> (name, last refused, refused)

    def check(self, request: web.Request, table_id: str, table_name: str, events: EventBus) -> None:
        """Count one change at the table from this client; the 429 refusal when either is over."""
        now = time.monotonic()
        wait = self.clients.take(request.remote or "unknown", now)
        if wait is None:
            wait = self.tables.take(table_id, now)
            if wait is not None:
                self._flood(table_id, table_name, now, events)
        if wait is not None:
            exc = refusal(429, "too_many_requests", "Too many orders and requests from here at once. "
                          f"Wait {math.ceil(wait)} s, or ask a member of staff.")
            exc.headers["Retry-After"] = str(math.ceil(wait))
            raise exc

    def _flood(self, table_id: str, table_name: str, now: float, events: EventBus) -> None:
        _, last, refused = self._flooded.get(table_id, (table_name, 0.0, 0))
        self._flooded[table_id] = (table_name, now, refused + 1)
        if now - last > FLOOD_SHOWN or refused == 0:  # once per flood, not once per refusal
            events.publish("table_flooded", {"table_id": table_id, "table_name": table_name}, staff_only=True)

    def flooded(self) -> list[dict]:
        """Tables refused lately, for staff: someone (or something) is sending far too much there."""
        now = time.monotonic()
        return [{"table_id": table_id, "table_name": name, "refused": refused,
                 "seconds_ago": round(now - last)}
                for table_id, (name, last, refused) in self._flooded.items() if now - last <= FLOOD_SHOWN]


LIMITS = web.AppKey("diner_limits", DinerLimits)
