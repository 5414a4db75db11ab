"""Clients that send slowly: they hold no thread, and the read deadline closes their connections."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.e2e.harness import Certs, Server, send, start_server
from tests.e2e.rawhttp import head, open_tls, readable, reply
from tests.e2e.reviews import bookinfo_pod, review

READ_TIMEOUT_SECONDS = 1.0
GIVE_UP_SECONDS = 15.0
"""Far beyond the read deadline: a server without one keeps the connection this long and fails."""


@pytest.fixture
def small_server(certs: Certs, tmp_path: Path) -> Iterator[Server]:
    """One worker with two threads, and a read deadline of one second."""
    running = start_server(
        certs,
        tmp_path / "server.log",
        ["--workers", "1", "--threads", "2", "--read-timeout", str(READ_TIMEOUT_SECONDS)],
    )
    yield running
    running.stop()


def _trickle_until_closed(connection: ssl.SSLSocket, piece: bytes) -> float:
    """Sends `piece` every 0.2 s, well within any per-read timeout, until the server answers or
    closes; returns the seconds that took."""
    started = time.monotonic()
    while not readable(connection, timeout=0.2):
        assert time.monotonic() - started < GIVE_UP_SECONDS, "the server never closed the connection"
        connection.sendall(piece)
    return time.monotonic() - started


def test_headers_that_never_end_get_408_at_the_read_deadline(small_server: Server) -> None:
    with open_tls(small_server) as connection:
        connection.sendall(b"POST /validate HTTP/1.1\r\nHost: meshwarden\r\n")
        _trickle_until_closed(connection, b"X-Slow: yes\r\n")
        answer = reply(connection)
        assert connection.recv(1) == b""  # and the connection is closed
    assert (answer.status, answer.headers["connection"]) == (408, "close")
    assert answer.json == {"error": "the request did not arrive within 1 s"}


def test_a_trickled_body_gets_408_at_the_read_deadline(small_server: Server) -> None:
    with open_tls(small_server) as connection:
        connection.sendall(head(64 * 1024))
        _trickle_until_closed(connection, b" " * 100)
        answer = reply(connection)
    assert answer.status == 408


def test_a_kept_alive_connection_may_idle_past_the_read_deadline(small_server: Server) -> None:
    """The deadline runs from a request's first byte: between requests the keep-alive timeout applies."""
    kept = small_server.connect()
    try:
        assert send(kept, "POST", "/validate", orjson.dumps(review(bookinfo_pod()))).status == 200
        with open_tls(small_server) as late:  # opened after `kept` went idle, and timed out
            late.sendall(b"POST /validate HTTP/1.1\r\n")
            assert reply(late).status == 408
        assert send(kept, "POST", "/validate", orjson.dumps(review(bookinfo_pod()))).status == 200
    finally:
        kept.close()


def test_a_normal_review_is_answered_while_slow_clients_hold_connections(
    certs: Certs, tmp_path: Path
) -> None:
    """Two threads, and thirty connections sending headers or a body byte by byte: stock gthread
    gives each of them a thread in turn, for as long as it keeps sending."""
    server = start_server(
        certs, tmp_path / "server.log", ["--workers", "1", "--threads", "2", "--read-timeout", "60"]
    )
    slow_headers = [open_tls(server) for _ in range(20)]
    slow_bodies = [open_tls(server) for _ in range(10)]
    for connection in slow_headers:
        connection.sendall(b"POST /validate HTTP/1.1\r\nHost: meshwarden\r\n")
    for connection in slow_bodies:
        connection.sendall(head(64 * 1024))
    stop = threading.Event()

    def keep_sending() -> None:
        while not stop.wait(0.2):
            for connection in slow_headers:
                connection.sendall(b"X-Slow: yes\r\n")
            for connection in slow_bodies:
                connection.sendall(b" ")

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        assert_a_normal_review_is_answered(server)
        assert not any(readable(c, timeout=0) for c in slow_headers + slow_bodies)  # all still open
    finally:
        stop.set()
        sender.join()
        for connection in slow_headers + slow_bodies:
            connection.close()
        server.stop()


def test_a_full_worker_closes_its_oldest_idle_connections_to_take_new_ones(
    certs: Certs, tmp_path: Path
) -> None:
    """Stock gthread stops accepting at worker_connections (1,000), and idle connections stay for
    the keep-alive timeout (120 s): a thousand idle connections would lock everyone else out."""
    server = start_server(certs, tmp_path / "server.log", ["--workers", "1"])
    idle = [open_tls(server) for _ in range(1000)]
    try:
        assert_a_normal_review_is_answered(server)
        assert readable(idle[0], timeout=GIVE_UP_SECONDS)
        assert idle[0].recv(1) == b""  # the oldest, closed cleanly
    finally:
        for connection in idle:
            connection.close()
        server.stop()


def assert_a_normal_review_is_answered(server: Server) -> None:
    """A normal client, on a new connection, gets its review answered."""
    sent = review(bookinfo_pod())
    normal = server.connect(timeout=GIVE_UP_SECONDS)
    try:
        answer = send(normal, "POST", "/validate", orjson.dumps(sent))
    finally:
        normal.close()
    assert answer.response == {"uid": sent["request"]["uid"], "allowed": True}
