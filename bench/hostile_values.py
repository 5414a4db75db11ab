"""Reviews carrying 256 KiB values built against backtracking parsers, through the real server.

Run from the repository root:

    PYTHONPATH=. .venv/bin/python bench/hostile_values.py [--rounds 20]

Starts `meshwarden serve` (gunicorn, TLS, loopback) as the end-to-end tests do, then sends each
value of tests/rules/test_hostile_values.py (pod annotations and VirtualService durations) `rounds`
times on one kept-alive connection, and an ordinary pod review for comparison. Prints, per value,
the request size and the median and slowest round trip in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from tests.e2e.harness import make_certs, start_server
from tests.e2e.reviews import bookinfo_pod, review
from tests.rules.test_hostile_values import ANNOTATIONS, DURATIONS, pod, virtual_service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    cases: dict[str, dict[str, Any]] = {"ordinary pod": bookinfo_pod()}
    cases |= {f"annotation: {name}": pod(*value) for name, value in ANNOTATIONS.items()}
    cases |= {f"timeout: {name}": virtual_service(value) for name, value in DURATIONS.items()}
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(make_certs(Path(scratch) / "certs"), Path(scratch) / "server.log")
        try:
            print(f"{'case':<40} {'KiB':>6} {'p50 ms':>8} {'max ms':>8}  status")
            for name, obj in cases.items():
                body = orjson.dumps(review(obj))
                timings, statuses = [], set()
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    reply = server.request("POST", "/validate", body)
                    timings.append((time.perf_counter() - started) * 1000)
                    statuses.add(reply.status)
                print(
                    f"{name:<40} {len(body) / 1024:>6.0f} {statistics.median(timings):>8.1f} "
                    f"{max(timings):>8.1f}  {','.join(map(str, sorted(statuses)))}"
                )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
