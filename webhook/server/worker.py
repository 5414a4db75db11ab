"""gunicorn's gthread worker, changed so that no client can hold a request thread by being slow.

Stock gthread (27.x) hands a connection to a pool thread once it turns readable, and the thread
reads the request from the socket. Each read has a time limit, the request as a whole none: a
client that sends a header line every few seconds, or trickles its body, holds the thread for as
long as it likes, and a few dozen such clients leave real reviews waiting until the API server
gives up. Here the worker's event loop does all the reading, without blocking:

- The TLS handshake, which must finish within the read deadline.
- Idle connections (kept alive, or opened and not used yet) wait in the poller at no cost; when
  the worker is full, the oldest idle ones are closed to make room.
- A request's bytes are read as they arrive and framed (framing.py). Headers and body must all
  arrive within the read deadline of the request's first byte, or the client gets 408; a body
  over the limit gets 413 as soon as its declared or decoded size says so.
- Only a complete request goes to a pool thread, which parses it from memory with gunicorn's parser
  and runs the app: threads never wait for a client's bytes. Bytes that follow a request stay
  buffered as the start of the next one (pipelining).
- Bytes held for requests, across the worker's connections, have a budget: while it is spent,
  connections holding more than a small request are not read; TCP makes their clients wait.

Every close is gentle: TLS close_notify, FIN, then what the client still sends is read and
dropped until it closes too, because closing with unread bytes makes the kernel send a reset that
can destroy the answer before the client reads it (RFC 9112, section 9.6).

SIGTERM drains: /readyz fails and every response closes its connection while requests are still
served, so the API server moves to other replicas. Then the worker takes the connections the
kernel has already queued, closes its listening sockets (new connections are refused once every
process has), closes idle connections after a short linger, and finishes what is in progress.
"""

from __future__ import annotations

import contextlib
import errno
import http
import logging
import os
import selectors
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterator
from enum import Enum, auto
from functools import partial
from typing import Any

import orjson
from gunicorn import http as gunicorn_http
from gunicorn import sock as gunicorn_sock
from gunicorn.workers.gthread import TConn, ThreadWorker

from webhook.server.framing import Refusal, RequestFrame
from webhook.server.settings import KiB

READ_SIZE = 64 * KiB
SMALL_REQUEST_BYTES = 64 * KiB
"""Always read, even while the worker's budget for buffered bytes is spent: reviews are this small."""
LINGER_SECONDS = 2.0
"""How long a closing connection waits for the client to close its side."""
DISCARD_LIMIT_BYTES = 64 * 1024 * KiB
"""What a closing connection reads and drops at most, e.g. the rest of a refused body."""
STOP_LINGER_SECONDS = 2.0
"""After the drain, how long idle connections stay open for a request already on its way."""
SCAN_INTERVAL_SECONDS = 0.1

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

log = logging.getLogger("meshwarden.server")


class Phase(Enum):
    HANDSHAKE = auto()
    IDLE = auto()
    """Waiting for a request's first byte, in the poller."""
    READING = auto()
    SERVING = auto()
    """A pool thread has the request and the socket."""
    CLOSING = auto()


class Client(TConn):  # type: ignore[misc]
    def __init__(self, cfg: Any, sock: ssl.SSLSocket, address: Any, server: Any, max_body: int):
        super().__init__(cfg, sock, address, server)  # sets the socket non-blocking
        self.initialized = True  # gthread's handle() must not set the connection up again
        self.phase = Phase.HANDSHAKE
        self.deadline = 0.0
        self.frame = RequestFrame(max_body)
        self.held = 0
        """Bytes the worker holds for this connection: its request (also while a thread serves it)
        and what followed it."""
        self.served_bytes = 0
        """Of `held`, those of the request a thread is serving."""
        self.request: deque[bytes] = deque()
        self.leftover = b""
        self.discarded = 0


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        settings = self.app.settings
        self.read_timeout: float = settings.read_timeout
        self.max_body: int = settings.max_body_bytes
        self.buffer_budget: int = settings.buffer_budget_bytes
        self.clients: set[Client] = set()
        self.closing = 0
        self.buffered = 0
        self.paused: deque[Client] = deque()
        self.drain_until: float | None = None
        self.next_scan = 0.0

    # The event loop

    def run(self) -> None:
        wakeup = self.method_queue
        self.poller.register(wakeup.fileno(), selectors.EVENT_READ, wakeup.run_callbacks)
        while self.alive:
            self.notify()
            self._make_room()
            self.set_accept_enabled(len(self.clients) - self.closing < self.worker_connections)
            self.wait_for_and_dispatch_events(timeout=1.0)
            if not self.is_parent_alive():
                break
            self._expire()
            self._resume()
        self._stop()

    def _stop(self) -> None:
        """After the drain: take what the kernel has queued, stop listening, finish what is open."""
        for listener in self.sockets:
            while len(self.clients) < self.worker_connections and self.accept(listener):
                pass
        self.set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()
        linger = time.monotonic() + STOP_LINGER_SECONDS
        for client in self.clients:
            if client.phase is Phase.IDLE:
                client.deadline = min(client.deadline, linger)
        give_up = time.monotonic() + self.cfg.graceful_timeout
        while self.clients and time.monotonic() < give_up:
            self.notify()
            self.wait_for_and_dispatch_events(timeout=SCAN_INTERVAL_SECONDS)
            self._expire()
            self._resume()
        for client in list(self.clients):
            self._close(client)
        self.tpool.shutdown(wait=False)
        self.poller.close()
        self.method_queue.close()

    def _expire(self) -> None:
        """Acts on deadlines (at most every SCAN_INTERVAL_SECONDS), and ends the drain."""
        now = time.monotonic()
        if self.drain_until is not None and now >= self.drain_until:
            self.alive = False
        if now < self.next_scan:
            return
        self.next_scan = now + SCAN_INTERVAL_SECONDS
        for client in [c for c in self.clients if c.deadline <= now and c.phase is not Phase.SERVING]:
            if client.phase is Phase.READING:
                late = f"the request did not arrive within {self.read_timeout:g} s"
                self._refuse(client, Refusal(408, late))
            elif client.phase is Phase.IDLE:
                self._close_gently(client)
            else:
                self._close(client)

    def _make_room(self) -> None:
        """When the worker is full, closes the oldest idle connections rather than stop accepting."""
        excess = len(self.clients) - self.closing - self.worker_connections + 1
        if excess <= 0:
            return
        idle = [client for client in self.clients if client.phase is Phase.IDLE]
        for client in sorted(idle, key=lambda c: c.deadline)[:excess]:
            self._close_gently(client)

    # Accepting and the TLS handshake

    def accept(self, listener: socket.socket) -> bool:
        """Takes one connection from `listener`; False when there was none."""
        try:
            sock, address = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return False
            raise
        try:
            tls = gunicorn_sock.ssl_context(self.cfg).wrap_socket(
                sock,
                server_side=True,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
            )
        except OSError:  # the client already went away
            sock.close()
            return True
        client = Client(self.cfg, tls, address, listener.getsockname(), self.max_body)
        client.deadline = time.monotonic() + self.read_timeout
        self.clients.add(client)
        self._continue_handshake(client)
        return True

    def _continue_handshake(self, client: Client, _fileobj: object = None) -> None:
        try:
            client.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(client, selectors.EVENT_READ, self._continue_handshake)
            return
        except ssl.SSLWantWriteError:
            self._watch(client, selectors.EVENT_WRITE, self._continue_handshake)
            return
        except OSError:  # a failed handshake (ssl.SSLError) or a reset connection
            self._close(client)
            return
        self._wait_for_request(client)

    # Reading requests

    def _wait_for_request(self, client: Client) -> None:
        client.phase = Phase.IDLE
        client.deadline = time.monotonic() + self.cfg.keepalive
        if not self.alive:
            client.deadline = min(client.deadline, time.monotonic() + STOP_LINGER_SECONDS)
        self._watch(client, selectors.EVENT_READ, self._read)
        if client.leftover:  # pipelined: the next request has started already
            leftover, client.leftover = client.leftover, b""
            self._start_request(client)
            if not self._frame(client, leftover):
                return
        if client.sock.pending():  # decrypted bytes the socket will not signal again
            self._read(client)

    def _start_request(self, client: Client) -> None:
        client.phase = Phase.READING
        client.deadline = time.monotonic() + self.read_timeout

    def _read(self, client: Client, _fileobj: object = None) -> None:
        while True:
            try:
                data = client.sock.recv(READ_SIZE)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except OSError:
                self._close(client)
                return
            if not data:  # the client closed its side; whatever it sent is no request
                self._close(client)
                return
            if client.phase is Phase.IDLE:
                self._start_request(client)
            client.held += len(data)
            self.buffered += len(data)
            if not self._frame(client, data):
                return

    def _frame(self, client: Client, data: bytes) -> bool:
        """Feeds `data` to the client's request; True to go on reading."""
        try:
            client.frame.feed(data)
        except Refusal as refusal:
            self._refuse(client, refusal)
            return False
        if client.frame.complete:
            self._dispatch(client)
            return False
        if client.frame.wants_continue() and not self._send(client, CONTINUE):
            self._close(client)
            return False
        if self.buffered > self.buffer_budget and client.frame.size > SMALL_REQUEST_BYTES:
            self._unwatch(client)
            self.paused.append(client)
            return False
        return True

    def _resume(self) -> None:
        while self.paused and self.buffered <= self.buffer_budget:
            client = self.paused.popleft()
            if client.phase is Phase.READING:  # not refused or closed meanwhile
                self._watch(client, selectors.EVENT_READ, self._read)
                self._read(client)

    # Serving in a pool thread

    def _dispatch(self, client: Client) -> None:
        client.request, client.leftover = client.frame.split()
        client.served_bytes = client.held - len(client.leftover)
        client.frame = RequestFrame(self.max_body)
        client.phase = Phase.SERVING
        self._unwatch(client)
        client.parser = gunicorn_http.get_parser(self.cfg, _consume(client.request), client.client)
        self.enqueue_req(client)

    def handle_request(self, req: Any, conn: Client) -> bool:
        """In a pool thread. The event loop has answered any "Expect: 100-continue" already (or the
        body came without waiting for it): gunicorn must not send "100 Continue" again."""
        req._expected_100_continue = False
        return bool(super().handle_request(req, conn))

    def finish_request(self, conn: Client, fs: Any) -> None:
        """Back in the event loop once a thread is done with a request."""
        client = conn
        self._release(client, client.served_bytes)
        client.served_bytes = 0
        keep_alive = not fs.cancelled() and fs.exception() is None and fs.result() is True
        # gunicorn's parser must have found the same end of the request as the framing did.
        consumed = not client.request and not client.parser.unreader.buf.getvalue()
        if keep_alive and consumed:
            client.sock.setblocking(False)
            self._wait_for_request(client)
        else:
            self._close_gently(client)

    # Answering from the event loop, closing

    def _refuse(self, client: Client, refusal: Refusal) -> None:
        (log.debug if refusal.status == 408 else log.info)(
            "request refused",
            extra={"fields": {"status": refusal.status, "error": refusal.problem, "client": _peer(client)}},
        )
        self._release(client, client.held)
        client.frame = RequestFrame(self.max_body)
        self._send(client, _error_response(refusal))
        self._close_gently(client)

    def _send(self, client: Client, data: bytes) -> bool:
        """One non-blocking write of a short answer; False when the client cannot take it now."""
        try:
            return bool(client.sock.send(data) == len(data))
        except OSError:  # ssl.SSLWantWriteError included: the client is not reading
            return False

    def _close_gently(self, client: Client) -> None:
        """close_notify and FIN, then read and drop until the client closes too (or LINGER_SECONDS)."""
        client.sock.setblocking(False)
        with contextlib.suppress(OSError, ValueError):
            client.sock.unwrap()  # sends close_notify; the client's own is not awaited
        try:
            client.sock.shutdown(socket.SHUT_WR)  # from here on the socket reads raw bytes
        except OSError:
            self._close(client)
            return
        self._release(client, client.held)
        if client.phase is not Phase.CLOSING:
            self.closing += 1
        client.phase = Phase.CLOSING
        client.deadline = time.monotonic() + LINGER_SECONDS
        self._watch(client, selectors.EVENT_READ, self._discard)

    def _discard(self, client: Client, _fileobj: object = None) -> None:
        try:
            data = client.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        client.discarded += len(data)
        if not data or client.discarded > DISCARD_LIMIT_BYTES:
            self._close(client)

    def _close(self, client: Client) -> None:
        if client not in self.clients:
            return
        self.clients.remove(client)
        if client.phase is Phase.CLOSING:
            self.closing -= 1
        self._unwatch(client)
        self._release(client, client.held)
        client.close()

    def _release(self, client: Client, count: int) -> None:
        client.held -= count
        self.buffered -= count

    def _watch(self, client: Client, events: int, callback: Callable[..., None]) -> None:
        data = partial(callback, client)
        try:
            self.poller.modify(client.sock, events, data)
        except KeyError:
            self.poller.register(client.sock, events, data)

    def _unwatch(self, client: Client) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(client.sock)

    # Signals

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: drain (readiness fails, connections close after each response), then stop.

        Signal handlers run between two bytecodes of the event loop, which may hold a lock at that
        moment: this one only sets values (Event.set takes a lock nobody else ever holds).
        """
        if self.drain_until is None:
            self.drain_until = time.monotonic() + self.app.settings.drain_seconds
            self.app.draining.set()
            self.max_keepalived = 0  # gthread answers "Connection: close" once this many are kept

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGINT, SIGQUIT: stop at once. Stock gthread also shuts its thread pool down from the
        signal handler, which deadlocks when the signal lands while the event loop is submitting a
        connection to the pool (holding the pool's lock); even raising SystemExit from the handler
        can leave that lock held and hang the interpreter's exit. So this leaves without unwinding.
        """
        self.alive = False
        self.cfg.worker_int(self)
        os._exit(0)


def _consume(pieces: deque[bytes]) -> Iterator[bytes]:
    """The request's bytes for gunicorn's parser, each dropped once read."""
    while pieces:
        yield pieces.popleft()


def _error_response(refusal: Refusal) -> bytes:
    body = orjson.dumps({"error": refusal.problem})
    head = (
        f"HTTP/1.1 {refusal.status} {http.HTTPStatus(refusal.status).phrase}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _peer(client: Client) -> str:
    address = client.client
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
