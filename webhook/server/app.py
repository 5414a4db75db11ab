"""The WSGI application: /validate, /healthz, /readyz, /metrics. Built by a factory, no global state.

Reviews (POST /validate) are answered by a plain WSGI callable in front of Flask: Flask's request
context and werkzeug's request and response objects cost more per review than all of Meshwarden's
work around the engine (README, "What a review costs besides the rules"). Everything else, other
methods on /validate included, goes through Flask.

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
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson
from flask import Flask, Response
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from webhook.inventory.source import InventorySource
from webhook.model import GroupKind
from webhook.policy import PolicyError
from webhook.server.admission import Decision, Verdict, admit, response_for
from webhook.server.inventory import ServedInventory
from webhook.server.logs import DecisionLog
from webhook.server.metrics import Metrics
from webhook.server.policy_store import PolicyStore
from webhook.server.review import BadReview, parse_review
from webhook.server.settings import ServerSettings
from webhook.server.tls import CertificateExpiry

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("meshwarden.server")

MAX_JSON_VALUES = 2_000_000
"""About 160 MB once parsed at worst. An UPDATE of a pod with 2.5 MiB of managedFields (5.8 MiB of
JSON) counts 1.5 million; a real review (two objects of at most 1.5 MiB, etcd's limit) far less."""
LARGE_BODY_VALUES = 50_000
"""At most about 4 MB once parsed; a typical review counts a few hundred."""
JSON = "application/json"
STATUS_LINES = {code: f"{code} {phrase.upper()}" for code, phrase in HTTP_STATUS_CODES.items()}
"""As werkzeug writes them."""
INTERNAL_ERROR_WARNING = (
    "Meshwarden failed while checking this object, so it was admitted unchecked; "
    "the server log has the details"
)


def create_app(
    settings: ServerSettings, inventory: ServedInventory, *, draining: threading.Event | None = None
) -> AdmissionApp:
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
    flask = Flask("meshwarden")
    # POST never reaches Flask (AdmissionApp answers it); the rule gives other methods Flask's answers.
    flask.add_url_rule("/validate", endpoint="validate", methods=["POST"])
    flask.add_url_rule("/healthz", view_func=handler.healthz, methods=["GET"])
    flask.add_url_rule("/readyz", view_func=handler.readyz, methods=["GET"])
    flask.add_url_rule("/metrics", view_func=handler.metrics, methods=["GET"])
    flask.register_error_handler(HTTPException, handler.http_error)
    log.info("worker loaded", extra={"fields": {"pid": os.getpid(), "policy": str(settings.policy or "")}})
    return AdmissionApp(handler, flask)


class AdmissionApp:
    """The WSGI callable gunicorn serves: reviews directly, the rest through Flask."""

    def __init__(self, handler: _Handler, flask: Flask):
        self._handler = handler
        self._flask = flask

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/validate":
            status, body = self._handler.validate(get_input_stream(environ))
            start_response(STATUS_LINES[status], [("Content-Type", JSON), ("Content-Length", str(len(body)))])
            return (body,)
        return self._flask(environ, start_response)


class _Handler:
    def __init__(
        self, policies: PolicyStore, source: InventorySource, metrics: Metrics, draining: threading.Event
    ):
        self._policies = policies
        self._source = source
        self._metrics = metrics
        self._decisions = DecisionLog()
        self._draining = draining
        self._one_large_body = threading.Lock()

    def validate(self, stream: IO[bytes]) -> tuple[int, bytes]:
        """The status and JSON body answering one POST /validate."""
        try:
            return self._validate(stream)
        except Exception:  # a bug of ours: logged, and answered as Flask answers an unhandled error
            log.exception("Exception on /validate [POST]")
            return 500, _error(InternalServerError.description or "")

    def _validate(self, stream: IO[bytes]) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            body = stream.read()
        except (ParseException, NoMoreData) as exc:  # a chunked body h11 framed and gunicorn refuses
            return self._invalid(f"the chunked body is malformed: {exc}")
        values = json_values_bound(body)
        if values > MAX_JSON_VALUES:
            problem = (
                f"the body has more than {MAX_JSON_VALUES:,} JSON values "
                "(counted as its commas, colons and opening brackets)"
            )
            log.info("request refused", extra={"fields": {"status": 413, "error": problem}})
            return 413, _error(problem)
        with self._one_large_body if values > LARGE_BODY_VALUES else contextlib.nullcontext():
            return self._review(body, started)

    def _review(self, body: bytes, started: float) -> tuple[int, bytes]:
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
        answer = orjson.dumps(response_for(review, verdict))
        total = time.perf_counter() - started
        checked = engine.covers(GroupKind(review.group, review.kind))
        self._metrics.record(review.kind, review.operation, verdict, evaluation, total, checked)
        self._decisions.write(review, verdict, total)
        return 200, answer

    def _invalid(self, problem: str) -> tuple[int, bytes]:
        self._metrics.invalid_requests.inc()
        return 400, _error(problem)

    def healthz(self) -> Response:
        return Response(b'{"alive":true}', mimetype=JSON)

    def readyz(self) -> Response:
        if self._draining.is_set():
            return _not_ready("shutting down")
        if not self._source.ready():
            return _not_ready("the inventory's first sync is not done")
        return Response(b'{"ready":true}', mimetype=JSON)

    def http_error(self, error: HTTPException) -> Response:
        """Routing errors as JSON."""
        return Response(_error(error.description or error.name), status=error.code or 400, mimetype=JSON)

    def metrics(self) -> Response:
        text, content_type = self._metrics.exposition()
        return Response(text, content_type=content_type)


def json_values_bound(body: bytes) -> int:
    """At least the number of values and keys parsing `body` creates: one, plus one for each comma,
    colon and opening bracket (every value or key but the first follows one). Those inside strings
    count too, so this overcounts, but it takes milliseconds where a JSON tokenizer would not.
    A body of fewer bytes than LARGE_BODY_VALUES (every review but the largest) is not counted: it
    cannot hold more values than bytes."""
    if len(body) < LARGE_BODY_VALUES:
        return len(body) + 1
    return 1 + sum(body.count(mark) for mark in (b",", b":", b"[", b"{"))


def _not_ready(reason: str) -> Response:
    return Response(orjson.dumps({"ready": False, "reason": reason}), status=503, mimetype=JSON)


def _error(problem: str) -> bytes:
    return orjson.dumps({"error": problem})
