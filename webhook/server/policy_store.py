"""The policy in force: loaded at start, reloaded when its file changes (a ConfigMap volume).

A new policy that does not load is reported and ignored: the last good one stays in force, so a
typo in the ConfigMap never switches the webhook off or makes it deny everything. Whatever fails
while loading it, the watch goes on, and the next good policy written is applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from webhook.engine import Engine
from webhook.policy import Policy, PolicyError, load_policy
from webhook.rules import CATALOGUE
from webhook.server.watch import WatchedFile

CHECK_INTERVAL_SECONDS = 1.0

log = logging.getLogger("meshwarden.policy")

ReloadListener = Callable[[Path, PolicyError | None], None]
"""Told about each reload attempt: the file, and the error when the new policy was refused."""


class PolicyStore:
    """Each worker checks the file once a second on its own thread, so that a worker which
    happens to get no requests for a while still switches to the new policy with the others."""

    def __init__(self, path: Path | None, exempt: Sequence[str], on_reload: ReloadListener):
        self._path = path
        self._exempt = tuple(exempt)
        self._on_reload = on_reload
        self._engine = Engine(self._load())
        if path is not None:
            watched = WatchedFile(path)
            threading.Thread(target=self._watch, args=(watched,), name="policy-watch", daemon=True).start()

    def engine(self) -> Engine:
        """The engine for the policy in force."""
        return self._engine

    def _watch(self, watched: WatchedFile) -> None:
        while True:
            time.sleep(CHECK_INTERVAL_SECONDS)  # a timer, not synchronisation: volumes give no events
            if watched.changed():
                self._reload(watched.path)

    def _load(self) -> Policy:
        policy = load_policy(self._path, CATALOGUE) if self._path else Policy()
        return policy.with_exempt(*self._exempt)

    def _reload(self, path: Path) -> None:
        try:
            self._engine = Engine(self._load())
        except Exception as exc:  # the watch must outlive any failure to load
            self._on_reload(path, _as_policy_error(path, exc))
            return
        self._on_reload(path, None)


def _as_policy_error(path: Path, exc: Exception) -> PolicyError:
    """Load failures are PolicyErrors by design; anything else is a bug, logged with its traceback."""
    if isinstance(exc, PolicyError):
        return exc
    log.error(
        "unexpected error while loading the policy", exc_info=exc, extra={"fields": {"policy": str(path)}}
    )
    return PolicyError(f"{path}: unexpected {type(exc).__name__} while loading the policy: {exc}")
