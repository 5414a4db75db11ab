"""The Flask application: /validate, /healthz, /readyz, /metrics. Built by a factory, no global state.

/validate answers every AdmissionReview with HTTP 200 (a denial is `allowed: false`, never an
HTTP error: the API server would treat an error as a failed call and apply failurePolicy) and
every other body with HTTP 400 and a JSON error. Nothing a client sends produces a 5xx.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from webhook.inventory.source import InventorySource
from webhook.model import GroupKind
from webhook.policy import PolicyError
from webhook.server.admission import Decision, Verdict, admit, response_for
from webhook.server.inventory import ServedInventory
from webhook.server.logs import log_decision
from webhook.server.metrics import Metrics
from webhook.server.policy_store import PolicyStore
from webhook.server.review import BadReview, parse_review
from webhook.server.settings import MiB, ServerSettings
from webhook.server.tls import CertificateExpiry

log = logging.getLogger("meshwarden.server")

DISCARD_LIMIT = 64 * MiB
DISCARD_CHUNK = 1 * MiB
INTERNAL_ERROR_WARNING = (
    "Meshwarden failed while checking this object, so it was admitted unchecked; "
    "the server log has the details"
)


def create_app(
    settings: ServerSettings, inventory: ServedInventory, *, draining: threading.Event | None = None
) -> Flask:
    """`draining` is set when the server is shutting down: /readyz then fails while requests go on.
    /readyz also fails until the inventory is ready (the live inventory's first sync)."""
    expiry = CertificateExpiry(settings.cert)
    metrics = Metrics(expiry.seconds_left, inventory.collectors)

    def on_reload(path: Path, error: PolicyError | None) -> None:
        metrics.record_reload(error is None)
        if error is None:
            log.info("policy reloaded", extra={"fields": {"policy": str(path)}})
        else:
            log.error(
                "policy not reloaded; the last good policy stays in force",
                extra={"fields": {"policy": str(path), "error": str(error)}},
            )

    exempt = (settings.own_namespace,) if settings.own_namespace else ()
    handler = _Handler(
        PolicyStore(settings.policy, exempt, on_reload),
        inventory.source,
        metrics,
        draining or threading.Event(),
    )
    app = Flask("meshwarden")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.add_url_rule("/validate", view_func=handler.validate, methods=["POST"])
    app.add_url_rule("/healthz", view_func=handler.healthz, methods=["GET"])
    app.add_url_rule("/readyz", view_func=handler.readyz, methods=["GET"])
    app.add_url_rule("/metrics", view_func=handler.metrics, methods=["GET"])
    app.register_error_handler(HTTPException, handler.http_error)
    log.info("worker loaded", extra={"fields": {"pid": os.getpid(), "policy": str(settings.policy or "")}})
    return app


class _Handler:
    def __init__(
        self, policies: PolicyStore, source: InventorySource, metrics: Metrics, draining: threading.Event
    ):
        self._policies = policies
        self._source = source
        self._metrics = metrics
        self._draining = draining

    def validate(self) -> Response:
        started = time.perf_counter()
        try:
            review = parse_review(orjson.loads(request.get_data(cache=False)))
        except orjson.JSONDecodeError as exc:
            return self._invalid(f"the body is not valid JSON: {exc}")
        except BadReview as exc:
            return self._invalid(str(exc))
        engine = self._policies.engine()
        evaluation_started = time.perf_counter()
        try:
            verdict = admit(review, engine, self._source)
        except Exception:  # a bug of ours must not block the cluster: admit, warn, and log it
            log.exception(
                "admission check failed", extra={"fields": {"uid": review.uid, "kind": review.kind}}
            )
            verdict = Verdict(Decision.ERROR, notes=(INTERNAL_ERROR_WARNING,))
        evaluation = time.perf_counter() - evaluation_started
        body = orjson.dumps(response_for(review, verdict))
        total = time.perf_counter() - started
        checked = engine.covers(GroupKind(review.group, review.kind))
        self._metrics.record(review.kind, review.operation, verdict, evaluation, checked)
        self._metrics.request_seconds.observe(total)
        log_decision(review, verdict, total)
        return Response(body, mimetype="application/json")

    def _invalid(self, problem: str) -> Response:
        self._metrics.invalid_requests.inc()
        return _json_error(400, problem)

    def healthz(self) -> Response:
        return Response(b'{"alive":true}', mimetype="application/json")

    def readyz(self) -> Response:
        if self._draining.is_set():
            return _not_ready("shutting down")
        if not self._source.ready():
            return _not_ready("the inventory's first sync is not done")
        return Response(b'{"ready":true}', mimetype="application/json")

    def http_error(self, error: HTTPException) -> Response:
        """Routing and size errors as JSON; an oversized review is a 400 like any other bad body."""
        if isinstance(error, RequestEntityTooLarge):
            _discard_body()
            limit = (request.max_content_length or 0) / MiB
            return self._invalid(f"the body is larger than the {limit:g} MiB limit")
        return _json_error(error.code or 400, error.description or error.name)

    def metrics(self) -> Response:
        text, content_type = self._metrics.exposition()
        return Response(text, content_type=content_type)


def _discard_body() -> None:
    """Reads what is left of a refused body, so that the client, still sending, gets the answer.

    Closing a connection with unread data makes the kernel send a reset, which can destroy the
    answer before the client reads it. Beyond DISCARD_LIMIT the connection is closed anyway.
    """
    stream = request.environ["wsgi.input"]
    left = DISCARD_LIMIT
    while left > 0 and (chunk := stream.read(min(left, DISCARD_CHUNK))):
        left -= len(chunk)


def _not_ready(reason: str) -> Response:
    return Response(orjson.dumps({"ready": False, "reason": reason}), status=503, mimetype="application/json")


def _json_error(status: int, problem: str) -> Response:
    return Response(orjson.dumps({"error": problem}), status=status, mimetype="application/json")
