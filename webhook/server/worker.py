"""gunicorn's gthread worker, changed so that idle or stalled connections never hold a thread.

Stock gthread (27.x) hands every accepted connection to a pool thread at once. That thread waits
up to 5 s for a first byte before parking the connection, and then runs the TLS handshake in
blocking mode with no time limit, so a client that sends half a ClientHello holds the thread until
it disconnects. The API server's HTTP client dials spare connections and parks them, and any pod
that reaches the Service can do the same: a few dozen such connections starve the pool and real
reviews wait until the API server gives up.

Here the worker's event loop does the TLS handshake without blocking (a deadline closes handshakes
that stall), then parks the connection in gunicorn's poller until its first request bytes arrive.
Only then does a thread take it. Kept-alive connections go back to the poller between requests,
as in stock gthread. A thread's reads and writes have a deadline (see tls.py).

SIGTERM first drains: /readyz fails and every response closes its connection, while requests are
still served, so the API server moves to other replicas before this one closes its sockets.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import ssl
import time
from functools import partial
from typing import Any

from gunicorn import http
from gunicorn import sock as gunicorn_sock
from gunicorn.workers.gthread import TConn, ThreadWorker

HANDSHAKE_TIMEOUT_SECONDS = 10.0


class HandshakingThreadWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.handshaking: dict[TConn, None] = {}
        self.drain_until: float | None = None

    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                return
            raise
        try:
            tls = gunicorn_sock.ssl_context(self.cfg).wrap_socket(
                client,
                server_side=True,
                do_handshake_on_connect=False,
                suppress_ragged_eofs=self.cfg.suppress_ragged_eofs,
            )
        except OSError:  # the client already went away
            client.close()
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, tls, address, listener.getsockname())  # non-blocking from here on
        conn.timeout = time.monotonic() + HANDSHAKE_TIMEOUT_SECONDS
        self.handshaking[conn] = None
        self._continue_handshake(conn)

    def _continue_handshake(self, conn: TConn, _fileobj: object = None) -> None:
        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ, self._continue_handshake)
            return
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE, self._continue_handshake)
            return
        except OSError:  # a failed handshake (ssl.SSLError) or a reset connection
            self._close(conn)
            return
        del self.handshaking[conn]
        conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.initialized = True
        if conn.sock.pending():  # request bytes already decrypted: the socket may never turn readable
            self._unwatch(conn)
            conn.data_ready = True
            self.enqueue_req(conn)
            return
        # Wait for the first request like stock gthread waits for a deferred one, without a thread.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self._watch(conn, selectors.EVENT_READ, self.on_pending_socket_readable)

    def _watch(self, conn: TConn, events: int, callback: Any) -> None:
        data = partial(callback, conn)
        try:
            self.poller.modify(conn.sock, events, data)
        except KeyError:
            self.poller.register(conn.sock, events, data)

    def _unwatch(self, conn: TConn) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(conn.sock)

    def _close(self, conn: TConn) -> None:
        self.handshaking.pop(conn, None)
        self._unwatch(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Run by the event loop after each wait (at least once a second): also closes handshakes
        past their deadline, and ends the drain when its time is up."""
        super().murder_pending()
        now = time.monotonic()
        expired = [conn for conn in self.handshaking if conn.timeout <= now]
        for conn in expired:
            self._close(conn)
        if self.drain_until is not None and now >= self.drain_until:
            self.alive = False

    def _cap_keepalive(self, deadline: float) -> None:
        """At shutdown gthread lets kept-alive connections linger until `deadline`; connections still
        waiting for a handshake or a first request get the same, instead of the graceful timeout."""
        super()._cap_keepalive(deadline)
        for conn in (*self.pending_conns, *self.handshaking):
            conn.timeout = min(conn.timeout, deadline)

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
