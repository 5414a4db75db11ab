"""Runs the admission app under gunicorn, configured in-process rather than by a gunicorn.conf.py."""

from __future__ import annotations

import math
import threading
from typing import Any

from gunicorn.app.base import BaseApplication
from prometheus_client import multiprocess

from webhook.server.app import AdmissionApp, create_app
from webhook.server.inventory import ServedInventory, log_inventory_choice, open_inventory
from webhook.server.logs import JsonLogger
from webhook.server.metrics_dir import SHARED_MEMORY
from webhook.server.settings import ServerSettings
from webhook.server.tls import ReloadingContext
from webhook.server.worker import BufferingThreadWorker

KEEPALIVE_SECONDS = 120
"""Longer than the API server's idle-connection timeout (Go's 90 s): the client closes idle
connections, so the server never closes one just as a review is sent on it. Parked connections
cost no thread (see worker.py)."""
WORKER_TIMEOUT_SECONDS = 30
"""Above the webhook's timeoutSeconds (at most 30 s): a worker is only killed when truly stuck."""
SHUTDOWN_GRACE_SECONDS = 15
"""After the drain: time for requests in flight and kept-alive connections to finish."""


class AdmissionServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: ServerSettings, tls: ReloadingContext):
        self.settings = settings
        self.tls = tls
        self.draining = threading.Event()  # set by the worker on SIGTERM, read by /readyz
        self.inventory: ServedInventory | None = None  # the worker's, once load() ran
        super().__init__(prog="meshwarden serve")

    def load_config(self) -> None:
        for name, value in gunicorn_settings(self.settings, self.tls).items():
            self.cfg.set(name, value)

    def load(self) -> AdmissionApp:
        """Runs in each worker after the fork (there is no preload_app), so the live inventory's
        threads start in the process that serves."""
        self.inventory = open_inventory(self.settings)
        app = create_app(self.settings, self.inventory, draining=self.draining)
        import yaml  # noqa: F401  # some rules write a fix's text with it: imported here, not in a request

        return app


def gunicorn_settings(settings: ServerSettings, tls: ReloadingContext) -> dict[str, Any]:
    options: dict[str, Any] = {
        "bind": [settings.bind],
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": BufferingThreadWorker,
        "keepalive": KEEPALIVE_SECONDS,
        "timeout": WORKER_TIMEOUT_SECONDS,
        "graceful_timeout": math.ceil(settings.drain_seconds) + SHUTDOWN_GRACE_SECONDS,
        "certfile": str(settings.cert),
        "keyfile": str(settings.key),
        "ssl_context": tls,
        "logger_class": JsonLogger,
        "on_starting": _log_inventory_choice,
        "worker_exit": _stop_inventory,
        "child_exit": _forget_worker_gauges,
        "control_socket_disable": True,
        "proc_name": "meshwarden",
    }
    if SHARED_MEMORY.is_dir():
        options["worker_tmp_dir"] = str(SHARED_MEMORY)  # heartbeat files; the root fs may be read-only
    return options


def _log_inventory_choice(server: Any) -> None:
    log_inventory_choice(server.app.settings)  # in the master, once gunicorn's logging is set up


def _stop_inventory(server: Any, worker: Any) -> None:
    """In the exiting worker; gunicorn also calls it in the master, where no inventory was opened."""
    if worker.app.inventory is not None:
        worker.app.inventory.stop()


def _forget_worker_gauges(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(settings: ServerSettings, tls: ReloadingContext) -> None:
    """Runs until gunicorn exits the process (SIGTERM: drain, then stop; SIGINT: stop at once)."""
    AdmissionServer(settings, tls).run()
