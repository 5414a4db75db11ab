"""Delays between reconnection attempts: exponential, capped, with jitter."""

from __future__ import annotations

import random


class Backoff:
    """Doubles from `base` up to `cap`; each delay is drawn from its upper half, so that the
    replicas of a Deployment that lost the API together do not come back in lockstep."""

    def __init__(self, base: float, cap: float):
        self.base = base
        self.cap = cap
        self._attempts = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2**self._attempts)
        if ceiling < self.cap:
            self._attempts += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self._attempts = 0
