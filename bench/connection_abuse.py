"""Connection abuse: how a normal client fares while other clients hold connections open.

Run from the repository root (the server and the reviews come from the end-to-end tests):

    PYTHONPATH=. .venv/bin/python bench/connection_abuse.py [--seconds 20] [--workers 2] [--threads 8]
        [--scenario NAME ...]

Starts `meshwarden serve` on 127.0.0.1 (2 workers x 8 threads by default, as outside a pod) and runs
each scenario for --seconds. A normal client sends one review after another, each on a new TLS
connection (the API server's case when it has no idle connection left) with a 5 s timeout, while
the abusers, started first, do their thing:

- baseline:   nobody else.
- slowloris:  60 connections that finish TLS, start a request and send one header line every 5 s.
- trickle:    20 connections that send complete headers (Content-Length: 64 KiB) and then 1 KiB of
              body every second, as if the body took a minute to arrive.
- idle:       500 connections that each get one review answered and then stay open, idle.
- tls-only:   200 connections that finish the TLS handshake and send nothing, plus 50 that send
              half a ClientHello.
- combined:   slowloris and trickle together.

An abuser whose connection the server closes opens a new one, up to 20 times its count. For each
scenario the normal client's requests, the share answered at all and within 1 s, and its p50/p99
latency (an unanswered request counts as the 5 s timeout) are printed, with how many abuser
connections the server closed.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import socket
import ssl
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tests.e2e.harness import SERVER_NAME, Server, make_certs, send, start_server
from tests.e2e.reviews import bookinfo_pod, review

CLIENT_TIMEOUT_SECONDS = 5.0
ANSWER_TARGET_SECONDS = 1.0
REOPEN_FACTOR = 20
SETTLE_SECONDS = 15.0
"""How long the abusers may take to open their connections before the normal client starts anyway."""


@dataclass
class Abusers:
    """Abusive connections run by threads until `stop` is set."""

    server: Server
    stop: threading.Event = field(default_factory=threading.Event)
    closed_by_server: int = 0
    expected: int = 0
    established: int = 0
    """Abusive connections that have done their first step (sent their first bytes, got their review)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    def tls(self) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=CLIENT_TIMEOUT_SECONDS)
        return self.server.context.wrap_socket(raw, server_hostname=SERVER_NAME)

    def run(self, count: int, behaviour: Callable[[ssl.SSLSocket], None]) -> None:
        """`count` threads, each running `behaviour` on a connection, reopening it when the server
        closes it (at most REOPEN_FACTOR times)."""

        def loop() -> None:
            for _ in range(REOPEN_FACTOR):
                if self.stop.is_set():
                    return
                try:
                    with self.tls() as connection:
                        behaviour(connection)
                except OSError:
                    pass
                if self.stop.is_set():
                    return
                with self.lock:
                    self.closed_by_server += 1

        self.expected += count
        for _ in range(count):
            thread = threading.Thread(target=loop, daemon=True)
            thread.start()
            self.threads.append(thread)

    def settled(self) -> None:
        with self.lock:
            self.established += 1

    def hold(self, connection: socket.socket) -> None:
        """Keeps an open connection until the scenario ends (or the server closes it)."""
        self.settled()
        connection.settimeout(0.5)
        while not self.stop.is_set():
            try:
                if connection.recv(1) == b"":
                    return
            except TimeoutError:
                continue

    def slowloris(self, connection: ssl.SSLSocket) -> None:
        connection.sendall(b"POST /validate HTTP/1.1\r\nHost: meshwarden\r\n")
        self.settled()
        line = 0
        while not self.stop.wait(5.0):
            line += 1
            connection.sendall(b"X-Slow-%d: yes\r\n" % line)

    def trickle(self, connection: ssl.SSLSocket) -> None:
        connection.sendall(
            b"POST /validate HTTP/1.1\r\nHost: meshwarden\r\nContent-Type: application/json\r\n"
            b"Content-Length: 65536\r\n\r\n"
        )
        self.settled()
        for _ in range(64):
            connection.sendall(b" " * 1024)
            if self.stop.wait(1.0):
                return

    def idle_after_one_review(self, connection: ssl.SSLSocket) -> None:
        body = orjson.dumps(review(bookinfo_pod()))
        connection.sendall(
            b"POST /validate HTTP/1.1\r\nHost: meshwarden\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = http.client.HTTPResponse(connection)
        answer.begin()
        answer.read()
        self.hold(connection)  # settled from here

    def half_handshakes(self, count: int) -> None:
        hello = client_hello()
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", self.server.port))
            raw.sendall(hello[: len(hello) // 2])
            self.sockets.append(raw)

    def wait_settled(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.established < self.expected and time.monotonic() < deadline:
            time.sleep(0.1)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT_SECONDS + 1)
        for raw in self.sockets:
            raw.close()


def client_hello() -> bytes:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=SERVER_NAME)
    with contextlib.suppress(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


def slowloris(abusers: Abusers) -> None:
    abusers.run(60, abusers.slowloris)


def trickle(abusers: Abusers) -> None:
    abusers.run(20, abusers.trickle)


def idle(abusers: Abusers) -> None:
    abusers.run(500, abusers.idle_after_one_review)


def tls_only(abusers: Abusers) -> None:
    abusers.run(200, abusers.hold)
    abusers.half_handshakes(50)


def combined(abusers: Abusers) -> None:
    slowloris(abusers)
    trickle(abusers)


SCENARIOS: dict[str, Callable[[Abusers], None]] = {
    "baseline": lambda abusers: None,
    "slowloris": slowloris,
    "trickle": trickle,
    "idle": idle,
    "tls-only": tls_only,
    "combined": combined,
}


def normal_client(server: Server, seconds: float) -> list[float | None]:
    """Latency of each review sent on a new connection, None when not answered correctly."""
    latencies: list[float | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent = review(bookinfo_pod())
        started = time.monotonic()
        connection = server.connect(timeout=CLIENT_TIMEOUT_SECONDS)
        try:
            reply = send(connection, "POST", "/validate", orjson.dumps(sent))
            ok = reply.status == 200 and reply.response["uid"] == sent["request"]["uid"]
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            connection.close()
        latencies.append(time.monotonic() - started if ok else None)
        time.sleep(0.02)
    return latencies


def run_scenario(server: Server, name: str, seconds: float) -> str:
    abusers = Abusers(server)
    SCENARIOS[name](abusers)
    abusers.wait_settled(SETTLE_SECONDS)
    try:
        latencies = normal_client(server, seconds)
    finally:
        abusers.finish()
    answered = [latency for latency in latencies if latency is not None]
    counted = sorted(latency if latency is not None else CLIENT_TIMEOUT_SECONDS for latency in latencies)
    within = sum(latency <= ANSWER_TARGET_SECONDS for latency in answered)
    p50 = statistics.median(counted)
    p99 = counted[min(len(counted) - 1, int(0.99 * len(counted)))]
    return (
        f"{name:10} requests {len(latencies):5}  answered {len(answered) / len(latencies):6.1%}  "
        f"within 1 s {within / len(latencies):6.1%}  p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  "
        f"abuser connections closed by the server {abusers.closed_by_server}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="normal client's time per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        certs = make_certs(Path(directory) / "certs")
        for name in args.scenario or list(SCENARIOS):
            # a server of its own per scenario, so that one scenario's leftovers cannot affect the next
            server = start_server(
                certs,
                Path(directory) / f"{name}.log",
                ["--workers", str(args.workers), "--threads", str(args.threads)],
            )
            try:
                print(run_scenario(server, name, args.seconds), flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
