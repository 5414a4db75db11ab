"""Fuzzes a real `meshwarden serve` on loopback with hostile AdmissionReview bodies.

Run from the repository root (`make fuzz` does, with FUZZ_BODIES and FUZZ_ARGS):

    PYTHONPATH=. .venv/bin/python bench/fuzz.py [--bodies 100000] [--seed S] [--connections 8]
        [--workers 2] [--threads 8] [--hostile-length 262144] [--memory-limit 4096] [--failures DIR]
    PYTHONPATH=. .venv/bin/python bench/fuzz.py --show SEED:INDEX > body.json

Bodies come from tests/fuzz/bodies.py: realistic reviews of every covered kind, each damaged one
way (see there); body INDEX of seed S is the same on every run, so `--show S:I` writes any body
the report names. The server gets a policy file and the seed objects as `--context`, and is
started and stopped by this script. Prints bodies sent, answers by HTTP status, each kind of
wrong answer (5xx, wrong uid or apiVersion, dropped connection, refused intact review, malformed
answer, engine error: a rule that crashed), worker restarts, latency percentiles and the seed;
writes the bodies of up to five failures of each kind to --failures. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.harness import make_certs
from tests.fuzz.bodies import FULL, Fuzzer, Limits
from tests.fuzz.live import fuzz_server, start_fuzz_server, worker_pids
from tests.fuzz.oracle import PROBLEMS, Tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument("--connections", type=int, default=8, help="parallel kept-alive client connections")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one answer")
    parser.add_argument("--hostile-length", type=int, default=FULL.hostile_length)
    parser.add_argument("--envelope-depth", type=int, default=FULL.envelope_depth)
    parser.add_argument(
        "--memory-limit",
        type=int,
        default=4096,
        metavar="MiB",
        help="address-space limit of this script and the server it starts (default: %(default)s)",
    )
    parser.add_argument("--failures", type=Path, default=Path(tempfile.gettempdir()) / "meshwarden-fuzz")
    parser.add_argument("--show", metavar="SEED:INDEX", help="write that body to stdout and exit")
    args = parser.parse_args()
    limits = Limits(
        hostile_length=args.hostile_length,
        object_depth=FULL.object_depth,
        envelope_depth=args.envelope_depth,
        list_items=FULL.list_items,
        oversize_rate=FULL.oversize_rate,
    )
    if args.show:
        seed, index = (int(part) for part in args.show.split(":"))
        sys.stdout.buffer.write(Fuzzer(seed, limits).case(index).body)
        return 0
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**9)
    # Inherited by the server: a body that makes a worker allocate without bound fails there, as
    # under a container's memory limit, instead of exhausting the machine.
    limit = args.memory_limit * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    fuzzer = Fuzzer(seed, limits)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        certs = make_certs(directory / "certs")
        server = start_fuzz_server(certs, directory, args.workers, args.threads)
        try:
            before = worker_pids(server)
            started = time.monotonic()
            tally = fuzz_server(
                server, fuzzer.case, args.bodies, args.connections, args.timeout, progress=_progress
            )
            seconds = time.monotonic() - started
            restarts = len(worker_pids(server) - before)
            alive = server.process.poll() is None
        finally:
            server.stop()
    _report(tally, seed, seconds, restarts, alive, args)
    _save_failures(tally, args.failures)
    failed = restarts > 0 or not alive or any(tally.problems[kind] for kind in PROBLEMS)
    return 1 if failed else 0


def _progress(done: int) -> None:
    print(f"  {done} bodies", file=sys.stderr, flush=True)


def _report(
    tally: Tally, seed: int, seconds: float, restarts: int, alive: bool, args: argparse.Namespace
) -> None:
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
    print(
        f"seed {seed}: {tally.bodies} bodies in {seconds:.0f} s over {args.connections} connections "
        f"to {args.workers} workers x {args.threads} threads"
    )
    print(f"answers by HTTP status: {statuses or 'none'}")
    for kind in PROBLEMS:
        print(f"{kind}: {tally.problems[kind]}")
    print(f"worker restarts: {restarts}{'' if alive else ' (the server exited)'}")
    print(
        f"latency: p50 {tally.percentile(0.5) * 1000:.1f} ms, p99 {tally.percentile(0.99) * 1000:.1f} ms, "
        f"max {tally.percentile(1.0) * 1000:.0f} ms"
    )
    for line in tally.failures():
        print(f"  {line[:600]}")


def _save_failures(tally: Tally, directory: Path) -> None:
    saved = [(kind, case) for kind, kept in tally.examples.items() for case, _ in kept]
    if not saved:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for kind, case in saved:
        (directory / f"{kind.replace(' ', '-')}-{case.seed}-{case.index}.json").write_bytes(case.body)
    print(f"bodies of {len(saved)} failures in {directory}/")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the server is stopped by then
        sys.exit(130)
