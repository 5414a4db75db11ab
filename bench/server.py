"""The admission server against the floor: `meshwarden serve` and an allow-everything webhook
(bench/floor_app.py) on the same stack, loaded alternately in one run.

    .venv/bin/python bench/server.py [--requests 20000] [--rounds 3] [--threads 16]
        [--meshwarden-threads N]

Both run on gunicorn's gthread workers with TLS (a throwaway ECDSA P-256 CA and certificate for
127.0.0.1), 2 processes each, on loopback. `hey` sends each review body of
bench/bodies/ (an Istio-injected bookinfo Pod CREATE, ~9 KB, and a VirtualService CREATE with 8
http routes, ~6 KB) over 16 kept-alive HTTP/1.1 connections: a warm-up, then `--rounds` rounds of
`--requests` requests, floor and Meshwarden in turn, so both see the same machine. A request
without an answer in 10 s (the API server's default webhook timeout) or with a status other than
200 counts as failed. The table gives the median requests per second and 99th percentile latency
of the rounds, and Meshwarden's over the floor's.

`hey` is Debian's and Ubuntu's package `hey` (`apt-get install hey`).

16 threads for the floor: it runs on stock gthread, whose threads each hold a connection from the
moment it is accepted. Under a burst, Go's HTTP client (hey's, like the API server's) dials more
connections than it uses and leaves the spare ones idle; with fewer threads than connections a
stock gthread worker then hangs until the client gives up. Meshwarden's worker keeps idle
connections out of its threads, so it runs as shipped, with its default threads (8 without
cluster access), as `../shared/bench/load.sh` runs it; `--meshwarden-threads N` sets them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from measure import BIN, Row

from webhook.certs import create_ca, create_serving_certificate, write_material

HERE = Path(__file__).resolve().parent
BODIES = {
    "injected Pod review (9 KB)": "pod-review.json",
    "VirtualService review, 8 routes (6 KB)": "vs-review.json",
}
CONNECTIONS = 16
TIMEOUT_SECONDS = 10
WARM_UP = 1_000
WORKERS = 2
HEY_INSTALL = "hey is not installed: it is the Debian and Ubuntu package `hey` (apt-get install hey)"


@dataclass(frozen=True)
class Load:
    rps: float
    p99_ms: float
    failed: int


class Server:
    def __init__(self, name: str, command: list[str], port: int, log: Path):
        self.name, self.port, self.log = name, port, log
        with log.open("wb") as out:
            # a session of its own: the server and the workers it forks are one process group
            self.process = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/validate"

    def wait_ready(self, ca: Path, body: bytes) -> None:
        context = ssl.create_default_context(cafile=str(ca))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        tail = self.log.read_text(errors="replace").splitlines()[-20:]
        raise SystemExit(f"{self.name} did not answer on port {self.port}; its log ends:\n" + "\n".join(tail))

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            self.process.wait()


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def hey(url: str, body: Path, requests: int) -> Load:
    output = subprocess.run(
        [
            "hey",
            "-n",
            str(requests),
            "-c",
            str(CONNECTIONS),
            "-t",
            str(TIMEOUT_SECONDS),
            "-m",
            "POST",
            "-T",
            "application/json",
            "-D",
            str(body),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99% in ([\d.]+) secs", output)
    ok = re.search(r"\[200\]\s+(\d+) responses", output)
    return Load(
        float(rps.group(1)) if rps else 0.0,
        float(p99.group(1)) * 1000 if p99 else 0.0,
        requests - (int(ok.group(1)) if ok else 0),
    )


@contextmanager
def servers(threads: int, meshwarden_threads: int | None) -> Iterator[tuple[Server, Server, Path]]:
    with tempfile.TemporaryDirectory(prefix="meshwarden-bench-") as tmp, ExitStack() as stack:
        ca = create_ca("meshwarden-bench-ca")
        written = write_material(
            Path(tmp), ca, create_serving_certificate(ca, ["localhost"], ["127.0.0.1"], days=1)
        )
        floor_port, mw_port = free_ports(2)
        floor = Server(
            "floor",
            [
                str(BIN / "gunicorn"),
                "-w",
                str(WORKERS),
                "-k",
                "gthread",
                "--threads",
                str(threads),
                "--certfile",
                str(written.cert),
                "--keyfile",
                str(written.key),
                "-b",
                f"127.0.0.1:{floor_port}",
                "--chdir",
                str(HERE),
                "floor_app:app",
            ],
            floor_port,
            Path(tmp) / "floor.log",
        )
        stack.callback(floor.stop)
        meshwarden = Server(
            "meshwarden",
            [
                str(BIN / "meshwarden"),
                "serve",
                "--cert",
                str(written.cert),
                "--key",
                str(written.key),
                "--host",
                "127.0.0.1",
                "--port",
                str(mw_port),
                "--workers",
                str(WORKERS),
                *(["--threads", str(meshwarden_threads)] if meshwarden_threads else []),
            ],
            mw_port,
            Path(tmp) / "meshwarden.log",
        )
        stack.callback(meshwarden.stop)
        first_body = (HERE / "bodies" / next(iter(BODIES.values()))).read_bytes()
        floor.wait_ready(written.ca_cert, first_body)
        meshwarden.wait_ready(written.ca_cert, first_body)
        yield floor, meshwarden, written.ca_cert


def rows(requests: int, rounds: int, threads: int, meshwarden_threads: int | None = None) -> list[Row]:
    if shutil.which("hey") is None:
        print(HEY_INSTALL, file=sys.stderr)
        return [Row("server", "both reviews", f"not measured: {HEY_INSTALL}")]
    requests = -(-requests // CONNECTIONS) * CONNECTIONS  # hey sends requests / connections on each
    out = []
    with servers(threads, meshwarden_threads) as (floor, meshwarden, _):
        for case, name in BODIES.items():
            body = HERE / "bodies" / name
            for server in (floor, meshwarden):
                hey(server.url, body, WARM_UP)
            loads: dict[str, list[Load]] = {"floor": [], "meshwarden": []}
            for _ in range(rounds):
                for server in (floor, meshwarden):
                    loads[server.name].append(hey(server.url, body, requests))
            out.append(_row(case, loads["floor"], loads["meshwarden"]))
    return out


def _row(case: str, floor: list[Load], ours: list[Load]) -> Row:
    def summary(loads: list[Load]) -> tuple[float, float, int]:
        return (
            statistics.median(x.rps for x in loads),
            statistics.median(x.p99_ms for x in loads),
            sum(x.failed for x in loads),
        )

    f_rps, f_p99, f_failed = summary(floor)
    m_rps, m_p99, m_failed = summary(ours)
    return Row(
        "server",
        case,
        f"{m_rps:,.0f} rps, p99 {m_p99:.1f} ms, {m_failed} failed",
        f"floor: {f_rps:,.0f} rps, p99 {f_p99:.1f} ms, {f_failed} failed",
        f"throughput {m_rps / f_rps:.2f}, p99 {m_p99 / f_p99:.2f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=20_000, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16, help="per floor process")
    parser.add_argument(
        "--meshwarden-threads", type=int, help="per Meshwarden process (default: Meshwarden's own)"
    )
    args = parser.parse_args()
    from run import print_table

    print_table(rows(args.requests, args.rounds, args.threads, args.meshwarden_threads))


if __name__ == "__main__":
    main()
