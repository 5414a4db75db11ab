"""In-process cost of one review through the server's WSGI application, beside the floor (an
allow-everything Flask app answering the same body), and what the decision log line and the
metrics update cost per review.

No TLS, no gunicorn, no client: the WSGI callable is called with an environ as gunicorn builds it
(the body already read, `wsgi.input_terminated` set). Metrics are in multiprocess mode, as served;
the server's log lines go to /dev/null. Each figure is the best of ROUNDS rounds of the mean over N
calls, in microseconds of this process's CPU time (steadier than wall time on a shared machine);
the app's and the floor's rounds alternate.

Usage: PYTHONPATH=. .venv/bin/python bench/request_path.py [REVIEW.json ...] [--requests N]
       (default: the allowed and the denied Pod review and the VirtualService review in examples/)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import floor_app
import orjson
from werkzeug.test import EnvironBuilder

from webhook.server.metrics_dir import metrics_directory

ROUNDS = 15
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEFAULT_REVIEWS = ("review-pod-allow.json", "review-pod-deny.json", "review-virtualservice-deny.json")

Wsgi = Callable[..., Iterable[bytes]]


def environs(body: bytes, count: int) -> list[dict[str, Any]]:
    base = EnvironBuilder(path="/validate", method="POST", data=body, content_type="application/json")
    environ = base.get_environ()
    environ["wsgi.input_terminated"] = True  # as gunicorn sets it
    made = []
    for _ in range(count):
        one = dict(environ)
        one["wsgi.input"] = io.BytesIO(body)
        made.append(one)
    return made


def per_request(apps: list[Wsgi], body: bytes, count: int) -> list[float]:
    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        if not status.startswith("200"):
            raise SystemExit(f"the app answered {status}")

    best = [float("inf")] * len(apps)
    for _ in range(ROUNDS):
        for index, app in enumerate(apps):
            prepared = environs(body, count)
            started = time.process_time()
            for environ in prepared:
                for _chunk in app(environ, start_response):
                    pass
            best[index] = min(best[index], (time.process_time() - started) / count)
    return [seconds * 1e6 for seconds in best]


def per_call(call: Callable[[], object], count: int) -> float:
    return min(timeit.repeat(call, timer=time.process_time, number=count, repeat=ROUNDS)) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("reviews", nargs="*", type=Path, default=[EXAMPLES / n for n in DEFAULT_REVIEWS])
    parser.add_argument("--requests", type=int, default=1000, metavar="N")
    args = parser.parse_args()

    with metrics_directory(), tempfile.TemporaryDirectory() as scratch:
        # Imported once the multiprocess directory is set, as the server does.
        from webhook.certs import create_ca, create_serving_certificate, write_material
        from webhook.inventory.source import StaticSource
        from webhook.server.admission import admit
        from webhook.server.app import create_app
        from webhook.server.inventory import ServedInventory
        from webhook.server.logs import DecisionLog, log_json_to_stderr
        from webhook.server.metrics import Metrics
        from webhook.server.policy_store import PolicyStore
        from webhook.server.review import parse_review
        from webhook.server.settings import ServerSettings

        ca = create_ca("bench-ca")
        serving = create_serving_certificate(ca, ("localhost",), (), days=1)
        material = write_material(Path(scratch), ca, serving)
        settings = ServerSettings(cert=material.cert, key=material.key)
        app = create_app(settings, ServedInventory(StaticSource()))
        floor = floor_app.app
        engine = PolicyStore(None, (), lambda path, error: None).engine()
        decisions, metrics = DecisionLog(), Metrics(lambda: None)

        print(f"in-process µs per review (best of {ROUNDS} rounds of {args.requests}); log to /dev/null")
        print(f"{'review':34} {'decision':8} {'app':>7} {'floor':>7} {'log line':>9} {'metrics':>8}")
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            log_json_to_stderr()
            for path in args.reviews:
                body = path.read_bytes()
                review = parse_review(orjson.loads(body))
                verdict = admit(review, engine, StaticSource())
                app_us, floor_us = per_request([app, floor], body, args.requests)
                log_us = per_call(partial(decisions.write, review, verdict, 0.001), args.requests)
                record = partial(metrics.record, review.kind, review.operation, verdict, 0.0001, 0.001, True)
                metrics_us = per_call(record, args.requests)
                print(
                    f"{path.name:34} {verdict.decision:8} {app_us:7.1f} {floor_us:7.1f} "
                    f"{log_us:9.1f} {metrics_us:8.1f}",
                    file=sys.stdout,
                )


if __name__ == "__main__":
    main()
