"""argon2 on a thread pool of its own, with a limit per client and in all.

Hashing is slow on purpose (tens of milliseconds of CPU each). In the event loop's default pool a
flood of sign-ins queued ahead of everything else that waits there, the diner page's file reads
among them, and the table page took seconds. Here a stranger can fill only this small pool, and
only so far: beyond PER_CLIENT verifications from one client, or MAX_WAITING in all, a sign-in is
refused at once (HasherBusy) instead of waiting.
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from agent.staff.secrets import hash_secret, verify_secret

WORKERS = 2
PER_CLIENT = 2
MAX_WAITING = 16  # about half a second of hashing on two workers


class HasherBusy(Exception):
    """Too many sign-ins at once, from this client or in all: try again in a moment."""


class SecretHasher:
    def __init__(self, workers: int = WORKERS, per_client: int = PER_CLIENT, max_waiting: int = MAX_WAITING) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="argon2")
        self._per_client, self._max_waiting = per_client, max_waiting
        self._by_client: Counter[str] = Counter()

    @contextlib.contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Room for one verification for `client`, taken before anything is counted or read;
        HasherBusy when there is none."""
        if self._by_client[client] >= self._per_client or self._by_client.total() >= self._max_waiting:
            raise HasherBusy
        self._by_client[client] += 1
        try:
            yield
        finally:
            self._by_client[client] -= 1
            if not self._by_client[client]:
                del self._by_client[client]

    async def verify(self, secret_hash: str | None, secret: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool, verify_secret, secret_hash, secret)

    async def hash(self, secret: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, hash_secret, secret)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
