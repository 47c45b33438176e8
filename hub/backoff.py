"""Exponential back-off with jitter, so many hubs (or agents) do not reconnect in lock-step."""

import random


class Backoff:
    def __init__(self, initial: float = 0.5, maximum: float = 30.0, *, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self._rng = rng or random.Random()
        self._attempt = 0

    def next(self) -> float:
        """The delay before the next attempt: doubling up to `maximum`, then 50-100% of it."""
        ceiling = min(self.maximum, self.initial * 2 ** self._attempt)
        self._attempt = min(self._attempt + 1, 32)  # no float overflow however long it fails
        return ceiling * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self._attempt = 0
