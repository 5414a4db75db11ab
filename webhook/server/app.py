"""The Flask application: /validate, /healthz, /readyz, /metrics. Built by a factory, no global state.

/validate answers every AdmissionReview with HTTP 200 (a denial is `allowed: false`, never an
HTTP error: the API server would treat an error as a failed call and apply failurePolicy) and
every other body with HTTP 400 and a JSON error. Nothing a client sends produces a 5xx.

The worker has framed the request and checked its size before the app sees it (worker.py). Here
the body's memory cost once parsed is bounded: a JSON value takes up to about 80 bytes as a Python
object, so `[{},{},…]` needs 25 times its size. A body of more than MAX_JSON_VALUES values is
refused before parsing, and bodies of more than LARGE_BODY_VALUES are parsed and checked one at a
time per worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from pathlib import Path

import orjson
from flask import Flask, Response, request
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import HTTPException

from webhook.inventory.source import InventorySource
from webhook.model import GroupKind
from webhook.policy import PolicyError
from webhook.server.admission import Decision, Verdict, admit, response_for
from webhook.server.inventory import ServedInventory
from webhook.server.logs import log_decision
from webhook.server.metrics import Metrics
from webhook.server.policy_store import PolicyStore
from webhook.server.review import BadReview, parse_review
from webhook.server.settings import ServerSettings
from webhook.server.tls import CertificateExpiry

log = logging.getLogger("meshwarden.server")

MAX_JSON_VALUES = 2_000_000
"""About 160 MB once parsed at worst. An UPDATE of a pod with 2.5 MiB of managedFields (5.8 MiB of
JSON) counts 1.5 million; a real review (two objects of at most 1.5 MiB, etcd's limit) far less."""
LARGE_BODY_VALUES = 50_000
"""At most about 4 MB once parsed; a typical review counts a few hundred."""
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
        self._one_large_body = threading.Lock()

    def validate(self) -> Response:
        started = time.perf_counter()
        try:
            body = request.get_data(cache=False)
        except (ParseException, NoMoreData) as exc:  # a chunked body h11 framed and gunicorn refuses
            return self._invalid(f"the chunked body is malformed: {exc}")
        values = json_values_bound(body)
        if values > MAX_JSON_VALUES:
            problem = (
                f"the body has more than {MAX_JSON_VALUES:,} JSON values "
                "(counted as its commas, colons and opening brackets)"
            )
            log.info("request refused", extra={"fields": {"status": 413, "error": problem}})
            return _json_error(413, problem)
        with self._one_large_body if values > LARGE_BODY_VALUES else contextlib.nullcontext():
            return self._review(body, started)

    def _review(self, body: bytes, started: float) -> Response:
        try:
            review = parse_review(orjson.loads(body))
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
        """Routing errors as JSON."""
        return _json_error(error.code or 400, error.description or error.name)

    def metrics(self) -> Response:
        text, content_type = self._metrics.exposition()
        return Response(text, content_type=content_type)


def json_values_bound(body: bytes) -> int:
    """At least the number of values and keys parsing `body` creates: one, plus one for each comma,
    colon and opening bracket (every value or key but the first follows one). Those inside strings
    count too, so this overcounts, but it takes milliseconds where a JSON tokenizer would not."""
    return 1 + sum(body.count(mark) for mark in (b",", b":", b"[", b"{"))


def _not_ready(reason: str) -> Response:
    return Response(orjson.dumps({"ready": False, "reason": reason}), status=503, mimetype="application/json")


def _json_error(status: int, problem: str) -> Response:
    return Response(orjson.dumps({"error": problem}), status=status, mimetype="application/json")
