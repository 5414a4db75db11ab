"""Fuzzing a running `meshwarden serve` over TLS, from several kept-alive client connections."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.e2e.harness import Certs, Server, send, start_server
from tests.fuzz.bodies import Case
from tests.fuzz.oracle import Tally, judge
from tests.fuzz.seeds import context_objects
from tests.polling import wait_for

PROGRESS_EVERY = 10_000
POLICY = """\
profile: default
exemptNamespaces: [kube-system]
namespaces:
  - match: "payments"
    profile: audit
"""


def start_fuzz_server(certs: Certs, directory: Path, workers: int = 2, threads: int = 8) -> Server:
    """The server with a policy file and the seed objects as its inventory, every worker loaded."""
    (directory / "policy.yaml").write_text(POLICY)
    (directory / "context.yaml").write_text(yaml.safe_dump_all(context_objects()))
    args = [
        *("--config", str(directory / "policy.yaml")),
        *("--context", str(directory / "context.yaml")),
        *("--workers", str(workers), "--threads", str(threads)),
    ]
    server = start_server(certs, directory / "server.log", args)
    try:
        wait_for(lambda: len(worker_pids(server)) >= workers, f"{workers} workers loaded")
    except BaseException:
        server.stop()
        raise
    return server


def worker_pids(server: Server) -> set[int]:
    """Every worker the server has started so far (each logs "worker loaded" with its pid)."""
    return {int(e["pid"]) for e in server.log_lines() if e.get("message") == "worker loaded"}


def fuzz_server(
    server: Server,
    case: Callable[[int], Case],
    bodies: int,
    connections: int,
    timeout: float,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """Sends cases 0..bodies-1, each once, spread over `connections` kept-alive connections.

    A request that gets no answer (reset, closed, or no answer within `timeout`) counts as a
    dropped connection; the client then opens a new one, as the API server does.
    """
    tally = Tally()
    next_index = iter(range(bodies))
    lock = threading.Lock()

    def run() -> None:
        connection = server.connect(timeout=timeout)
        try:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                sent = case(index)
                started = time.perf_counter()
                try:
                    reply = send(connection, "POST", "/validate", sent.body)
                except (OSError, http.client.HTTPException) as exc:
                    done = tally.add(
                        sent, None, ("dropped connection", repr(exc)), time.perf_counter() - started
                    )
                    connection.close()
                    connection = server.connect(timeout=timeout)
                else:
                    problem = judge(sent, reply.status, reply.raw)
                    done = tally.add(sent, reply.status, problem, time.perf_counter() - started)
                if progress is not None and done % PROGRESS_EVERY == 0:
                    progress(done)
        finally:
            connection.close()

    # Daemon threads: an interrupted run (Ctrl-C) stops the server and exits without them.
    threads = [threading.Thread(target=run, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally
