"""SIGTERM: readiness fails first, requests are still answered (and close their connection), then exit."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import orjson

from tests.e2e.harness import Certs, send, start_server
from tests.e2e.rawhttp import open_tls, post, readable, reply
from tests.e2e.reviews import bookinfo_pod, review
from tests.polling import wait_for


def test_sigterm_fails_readiness_while_still_answering_then_exits(certs: Certs, tmp_path: Path) -> None:
    server = start_server(certs, tmp_path / "server.log", ["--drain-seconds", "3"])
    kept = server.connect()
    parked = server.connect()
    parked.connect()  # TLS done, no request: how the API server parks spare connections
    try:
        assert send(kept, "POST", "/validate", orjson.dumps(review(bookinfo_pod()))).status == 200
        server.process.send_signal(signal.SIGTERM)  # what the kubelet sends to the container's PID 1

        def not_ready() -> bool:
            probe = server.connect()
            try:
                return send(probe, "GET", "/readyz").status == 503
            finally:
                probe.close()

        wait_for(not_ready, "/readyz to fail", timeout=4)
        fresh = server.connect()
        try:
            sent = review(bookinfo_pod())
            reply = send(fresh, "POST", "/validate", orjson.dumps(sent))
        finally:
            fresh.close()
        assert reply.json["response"]["uid"] == sent["request"]["uid"]
        assert reply.headers["connection"] == "close"
        on_kept = send(kept, "POST", "/validate", orjson.dumps(review(bookinfo_pod())))
        assert (on_kept.status, on_kept.headers["connection"]) == (200, "close")
    finally:
        kept.close()
    # Parked connections close right after the drain, so the server is gone well before the
    # graceful timeout (drain + 15 s) that an open connection would otherwise make it wait out.
    assert server.process.wait(15) == 0
    parked.close()


def test_after_the_drain_idle_connections_close_cleanly_and_new_ones_are_refused(
    certs: Certs, tmp_path: Path
) -> None:
    """While a request is still arriving, so that the server cannot just exit: a kept-alive
    connection gets TLS close_notify and FIN (no reset, no bare FIN), a new connection is refused
    instead of waiting in the listen queue, and the request in progress is answered."""
    server = start_server(certs, tmp_path / "server.log", ["--drain-seconds", "1", "--read-timeout", "60"])
    kept = open_tls(server, ragged_eofs=False)
    arriving = open_tls(server)
    try:
        kept.sendall(post(orjson.dumps(review(bookinfo_pod()))))
        assert reply(kept).headers["connection"] == "keep-alive"
        arriving.sendall(b"POST /validate HTTP/1.1\r\nHost: meshwarden\r\n")
        server.process.send_signal(signal.SIGTERM)

        wait_for(lambda: readable(kept, timeout=0), "the kept-alive connection to be closed")
        assert kept.recv(1) == b""  # close_notify: a bare FIN would raise ssl.SSLEOFError here

        def refused() -> bool:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
            except ConnectionRefusedError:
                return True
            return False

        wait_for(refused, "new connections to be refused", timeout=8)
        sent = review(bookinfo_pod())
        body = orjson.dumps(sent)
        arriving.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        answer = reply(arriving)
        assert (answer.status, answer.headers["connection"]) == (200, "close")
        assert answer.response["uid"] == sent["request"]["uid"]
    finally:
        kept.close()
        arriving.close()
    assert server.process.wait(15) == 0


def test_sigint_stops_at_once_even_as_a_connection_closes(certs: Certs, tmp_path: Path) -> None:
    """The signal lands while the event loop hands the closing connection to the thread pool; the
    stock gthread worker deadlocked there until the master killed it after the graceful timeout."""
    for attempt in range(5):
        server = start_server(certs, tmp_path / f"server-{attempt}.log")
        try:
            # about a signal during a connection's hand-over, not during a worker's boot
            wait_for(lambda s=server: s.loaded_workers() == 2, "both workers to have loaded")
            connection = server.connect()
            assert send(connection, "POST", "/validate", orjson.dumps(review(bookinfo_pod()))).status == 200
            connection.close()
            os.killpg(server.process.pid, signal.SIGINT)
            assert server.process.wait(10) == 0
        finally:
            server.stop()
