"""What the payment service's parts share: the refusal they raise, the time format of messages,
and running work in one transaction on a thread (SQLAlchemy blocks; the loop never waits)."""

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


class PaymentError(Exception):
    """A request the payment state refuses; status and code for the API's error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message



def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Transactions:
    """engine, wake and count come from the dataclass that uses this (hub/payments/service.py)."""

    engine: Engine
    wake: Callable[[str], None]
    count: Callable[[str, str], None]  # (provider, outcome) of a payment, after its commit: the metrics

    async def _tx(self, fn: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with self.engine.begin() as conn:
                return fn(conn, *args)
        return await asyncio.to_thread(run)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with self.engine.connect() as conn:
                return fn(conn, *args)
        return await asyncio.to_thread(run)

    def _woken(self, agent_id: str | None) -> None:
        if agent_id:
            self.wake(agent_id)
