"""Structured logs: one JSON object per line, for gunicorn's own messages and each admission decision.

Decision logs name the object and the rule codes, never the object's contents (it may hold secrets
in env values or annotations).
"""

from __future__ import annotations

import datetime
import functools
import logging
import math
import sys
import threading
import time
from typing import Any

import orjson
from gunicorn.glogging import Logger as GunicornLogger

from webhook.findings import Action
from webhook.model import as_dict
from webhook.server.admission import Decision, Verdict
from webhook.server.review import AdmissionRequest

DECISIONS = "meshwarden.admission"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class JsonLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger (logger_class), writing JSON; also sets up Meshwarden's own loggers."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        log_json_to_stderr()


def log_json_to_stderr() -> None:
    """Meshwarden's own loggers, the server's ("meshwarden.*") and those named after their module
    ("webhook.cluster.*"), write JSON lines to stderr from level INFO."""
    for name in ("meshwarden", "webhook"):
        ours = logging.getLogger(name)
        ours.handlers.clear()
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False


class DecisionLog:
    """One line per admission decision on stderr, as JsonFormatter formats a record of the logger
    "meshwarden.admission". Written directly: a pass through logging (a LogRecord, the logger
    hierarchy, the handler's lock, the formatter) costs several times the line itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def write(self, request: AdmissionRequest, verdict: Verdict, seconds: float) -> None:
        entry: dict[str, Any] = {
            "time": _timestamp(time.time()),
            "level": "info",
            "logger": DECISIONS,
            "message": "admission decision",
            "uid": request.uid,
            "kind": request.kind,
            "namespace": request.namespace,
            "name": request.name or as_dict(as_dict(request.object).get("metadata")).get("generateName", ""),
            "operation": request.operation,
            "subResource": request.sub_resource,
            "dryRun": request.dry_run,
            "decision": verdict.decision,
            "codes": sorted({r.finding.code for r in verdict.reported}),
            "messageIds": sorted({r.finding.message_id for r in verdict.reported}),
            "denied": [r.finding.code for r in verdict.reported if r.action is Action.DENY],
            "suppressed": [f.code for f in verdict.suppressed],
            "duration_ms": round(seconds * 1000, 3),
        }
        if verdict.decision is Decision.SKIP:
            entry["reason"] = verdict.message
        line = orjson.dumps(entry, default=str, option=orjson.OPT_APPEND_NEWLINE).decode()
        with self._lock:
            sys.stderr.write(line)
            sys.stderr.flush()


def _timestamp(seconds: float) -> str:
    """datetime's isoformat(timespec="milliseconds") in UTC (rounded as datetime rounds), with the
    date and time formatted once a second."""
    fraction, whole = math.modf(seconds)
    carry, micros = divmod(round(fraction * 1_000_000), 1_000_000)
    return f"{_second(int(whole) + carry)}.{micros // 1000:03d}+00:00"


@functools.lru_cache(maxsize=2)
def _second(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")[:-6]
