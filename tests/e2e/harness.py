"""Runs the real server (`python -m webhook serve`, gunicorn and all) and talks to it over TLS.

Clients verify the server's certificate against the CA from `meshwarden certs` and the name the
API server uses, meshwarden.meshwarden.svc, while connecting to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tests.polling import wait_for

SERVER_NAME = "meshwarden.meshwarden.svc"
START_DEADLINE_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.1


@dataclass(frozen=True)
class Certs:
    directory: Path
    ca_bundle: str

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def cert(self) -> Path:
        return self.directory / "tls.crt"

    @property
    def key(self) -> Path:
        return self.directory / "tls.key"


def make_certs(directory: Path) -> Certs:
    """`meshwarden certs` for the Service meshwarden in namespace meshwarden."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "webhook",
            "certs",
            "--service",
            "meshwarden",
            "--namespace",
            "meshwarden",
            "--out",
            str(directory),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return Certs(directory, done.stdout.strip())


def client_context(*ca_files: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata="".join(f.read_text() for f in ca_files))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Connection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1, verifying the certificate for the Service's DNS name."""

    def __init__(self, port: int, context: ssl.SSLContext, timeout: float = REQUEST_TIMEOUT_SECONDS):
        super().__init__("127.0.0.1", port, timeout=timeout, context=context)
        self.tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self.tls_context.wrap_socket(self.sock, server_hostname=SERVER_NAME)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.raw)

    @property
    def response(self) -> dict[str, Any]:
        """The AdmissionReview's `response`."""
        return self.json["response"]  # type: ignore[no-any-return]


def send(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> Reply:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, ca: Path, log: Path):
        self.process = process
        self.port = port
        self.ca = ca
        self.context = client_context(ca)
        self.log = log
        self._connection: Connection | None = None

    def connect(
        self, context: ssl.SSLContext | None = None, timeout: float = REQUEST_TIMEOUT_SECONDS
    ) -> Connection:
        return Connection(self.port, context or self.context, timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> Reply:
        """On one kept-alive connection, as the API server does."""
        if self._connection is None:
            self._connection = self.connect()
        try:
            return send(self._connection, method, path, body)
        except (http.client.HTTPException, OSError):
            self._connection.close()
            self._connection = None
            raise

    def review(self, review: dict[str, Any]) -> Reply:
        return self.request("POST", "/validate", orjson.dumps(review))

    def metrics(self) -> str:
        with_new_connection = self.connect()
        try:
            return send(with_new_connection, "GET", "/metrics").raw.decode()
        finally:
            with_new_connection.close()

    def loaded_workers(self) -> int:
        """Workers that have finished loading the app (each logs "worker loaded" once)."""
        return sum(entry.get("message") == "worker loaded" for entry in self.log_lines())

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_bytes().splitlines():
            if line.startswith(b"{"):
                lines.append(orjson.loads(line))
        return lines

    def decision(self, uid: str) -> dict[str, Any]:
        """The decision log line of a review; the server writes it before answering."""
        found = [
            e for e in self.log_lines() if e.get("uid") == uid and e.get("message") == "admission decision"
        ]
        assert len(found) == 1, found
        return found[0]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            try:
                probe = self.connect(timeout=5)
                try:
                    if send(probe, "GET", "/readyz").status == 200:
                        return
                finally:
                    probe.close()
            except OSError:
                pass
            try:
                self.process.wait(POLL_INTERVAL_SECONDS)
            except subprocess.TimeoutExpired:
                continue
            break
        raise AssertionError(f"server not ready (exit status {self.process.poll()}):\n{self.log.read_text()}")

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    certs: Certs,
    log: Path,
    args: Sequence[str] = (),
    cert: Path | None = None,
    key: Path | None = None,
    ca: Path | None = None,
    *,
    wait: bool = True,
    environment: dict[str, str] | None = None,
) -> Server:
    """The server, ready (unless `wait` is False: then as soon as it is launched). `environment`
    adds variables to the test's own, less those of a pod."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "webhook",
        "serve",
        "--cert",
        str(cert or certs.cert),
        "--key",
        str(key or certs.key),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--drain-seconds",
        "0",
        *args,
    ]
    # As outside a pod, wherever the tests run: the live inventory only when a test asks for it.
    unset = ("PROMETHEUS_MULTIPROC_DIR", "KUBERNETES_SERVICE_HOST")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["POD_NAMESPACE"] = "meshwarden"
    env.update(environment or {})
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = Server(process, port, ca or certs.ca, log)
    if not wait:
        return server
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


class AtomicDir:
    """A Secret or ConfigMap volume as the kubelet writes it: each file is a symlink through
    `..data`, which is swapped atomically to a new directory on every update."""

    def __init__(self, root: Path, names: Sequence[str]):
        self.root = root
        self.version = 0
        root.mkdir(parents=True, exist_ok=True)
        self.names = tuple(names)

    def path(self, name: str) -> Path:
        return self.root / name

    def publish(self, files: dict[str, bytes]) -> None:
        assert set(files) == set(self.names)
        self.version += 1
        target = self.root / f"..version-{self.version}"
        target.mkdir()
        for name, content in files.items():
            (target / name).write_bytes(content)
        staged = self.root / "..data_tmp"
        staged.symlink_to(target.name)
        os.replace(staged, self.root / "..data")
        for name in self.names:
            if not (self.root / name).is_symlink():
                (self.root / name).symlink_to(f"..data/{name}")


class Traffic:
    """Clients that keep sending a review while something changes: `connections` kept-alive
    connections plus one client that opens a new connection for every request."""

    def __init__(self, server: Server, make_review: Callable[[], dict[str, Any]], connections: int = 4):
        self.server = server
        self.make_review = make_review
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(True,)) for _ in range(connections)]
        self.threads.append(threading.Thread(target=self._run, args=(False,)))
        for thread in self.threads:
            thread.start()

    def _run(self, keep_alive: bool) -> None:
        connection = self.server.connect()
        try:
            while not self.stopping.is_set():
                sent = self.make_review()
                try:
                    reply = send(connection, "POST", "/validate", orjson.dumps(sent))
                    outcome = reply.json["response"] if reply.status == 200 else None
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    outcome, reply_text = None, repr(exc)
                else:
                    reply_text = f"HTTP {reply.status}: {reply.raw[:200]!r}"
                with self.lock:
                    if outcome is None or outcome["uid"] != sent["request"]["uid"]:
                        self.failures.append(reply_text)
                    else:
                        self.answers.append(outcome)
                if not keep_alive:
                    connection.close()
        finally:
            connection.close()

    def count(self) -> int:
        with self.lock:
            return len(self.answers)

    def wait_for_more(self, requests: int) -> None:
        target = self.count() + requests
        wait_for(lambda: self.count() >= target or bool(self.failures), f"{requests} more answered requests")

    def stop(self) -> list[str]:
        self.stopping.set()
        for thread in self.threads:
            thread.join()
        return self.failures
