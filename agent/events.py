"""Live events inside the agent: what changed, fanned out to the diner and staff streams (SSE).

Publishing never blocks and never fails: each subscriber has a bounded queue, and one that falls
too far behind is told to resync (it reloads its state) instead of holding everyone up. Events are
hints: the stores hold the truth, so a stream that drops only costs a reload.
"""

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

QUEUE_SIZE = 256
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: str  # "order", "bill", "request", "menu", "session", "device", "link", ...
    data: dict[str, Any] = field(default_factory=dict)
    table_id: str | None = None  # None: about the whole restaurant (menu, devices)
    staff_only: bool = False
    id: int = 0


RESYNC = Event("resync")
CLOSING = Event("closing")  # the agent is stopping: streams end so clients reconnect elsewhere/later


class Subscription:
    def __init__(self, table_id: str | None, staff: bool) -> None:
        self.table_id = table_id
        self.staff = staff
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)

    def wants(self, event: Event) -> bool:
        if self.staff:
            return True
        return not event.staff_only and event.table_id in (None, self.table_id)

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.queue = asyncio.Queue(QUEUE_SIZE)  # too far behind: drop the backlog, ask for a reload
            self.queue.put_nowait(RESYNC)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._listeners: list[Callable[[Event], None]] = []
        self._ids = itertools.count(1)

    def listen(self, callback: Callable[[Event], None]) -> None:
        """A part of the agent that reacts to events (backups after a settled bill): called on each
        publish, on the event loop, and must not block. Not a stream: `subscribers` does not count it."""
        self._listeners.append(callback)

    def close(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.offer(CLOSING)

    def publish(self, kind: str, data: dict[str, Any] | None = None, *, table_id: str | None = None,
                staff_only: bool = False) -> None:
        event = Event(kind, data or {}, table_id, staff_only, next(self._ids))
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # publishing never fails: one listener's bug is logged, the rest go on
                log.exception("event listener failed", extra={"kind": kind})
        for subscriber in list(self._subscribers):
            if subscriber.wants(event):
                subscriber.offer(event)

    @contextlib.contextmanager
    def subscribe(self, *, table_id: str | None = None, staff: bool = False):
        """A staff subscription sees everything; a diner's sees its table and restaurant-wide news."""
        subscription = Subscription(table_id, staff)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    def watched(self, table_id: str | None) -> bool:
        """Whether any open stream would receive an event about this table (staff see every table)."""
        return any(s.staff or s.table_id == table_id for s in self._subscribers)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
