"""Structured logs: one JSON object per line, for gunicorn's own messages and each admission decision.

Decision logs name the object and the rule codes, never the object's contents (it may hold secrets
in env values or annotations).
"""

from __future__ import annotations

import datetime
import logging
import sys
from typing import Any

import orjson
from gunicorn.glogging import Logger as GunicornLogger

from webhook.findings import Action
from webhook.model import as_dict
from webhook.server.admission import Decision, Verdict
from webhook.server.review import AdmissionRequest

DECISIONS = logging.getLogger("meshwarden.admission")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class JsonLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger (logger_class), writing JSON; also sets up Meshwarden's own loggers: the
    server's ("meshwarden.*") and those named after their module ("webhook.cluster.*")."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        for name in ("meshwarden", "webhook"):
            ours = logging.getLogger(name)
            ours.handlers.clear()
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonFormatter())
            ours.addHandler(handler)
            ours.setLevel(logging.INFO)
            ours.propagate = False


def log_decision(request: AdmissionRequest, verdict: Verdict, seconds: float) -> None:
    fields: dict[str, Any] = {
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
        fields["reason"] = verdict.message
    DECISIONS.info("admission decision", extra={"fields": fields})
