"""The policy in force: loaded at start, reloaded when its file changes (a ConfigMap volume).

A new policy that does not load is reported and ignored: the last good one stays in force, so a
typo in the ConfigMap never switches the webhook off or makes it deny everything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from webhook.engine import Engine
from webhook.policy import Policy, PolicyError, load_policy
from webhook.server.watch import WatchedFile

CHECK_INTERVAL_SECONDS = 1.0

ReloadListener = Callable[[Path, PolicyError | None], None]
"""Told about each reload attempt: the file, and the error when the new policy was refused."""


class PolicyStore:
    def __init__(
        self,
        path: Path | None,
        exempt: Sequence[str],
        on_reload: ReloadListener,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._path = path
        self._exempt = tuple(exempt)
        self._on_reload = on_reload
        self._clock = clock
        self._file = WatchedFile(path) if path else None
        self._engine = Engine(self._load())
        self._next_check = clock() + CHECK_INTERVAL_SECONDS
        self._lock = threading.Lock()

    def engine(self) -> Engine:
        """The engine for the policy in force; looks at the file at most once a second."""
        if (
            self._file is not None
            and self._clock() >= self._next_check
            and self._lock.acquire(blocking=False)
        ):
            try:
                self._next_check = self._clock() + CHECK_INTERVAL_SECONDS
                if self._file.changed():
                    self._reload(self._file.path)
            finally:
                self._lock.release()
        return self._engine

    def _load(self) -> Policy:
        policy = load_policy(self._path) if self._path else Policy()
        return policy.with_exempt(*self._exempt)

    def _reload(self, path: Path) -> None:
        try:
            self._engine = Engine(self._load())
        except PolicyError as exc:
            self._on_reload(path, exc)
            return
        self._on_reload(path, None)
