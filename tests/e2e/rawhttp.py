"""HTTP over TLS byte by byte, for what http.client will not send: partial, slow or pipelined requests."""

from __future__ import annotations

import http.client
import io
import select
import socket
import ssl
from typing import BinaryIO

from tests.e2e.harness import SERVER_NAME, Reply, Server, client_context

REPLY_TIMEOUT_SECONDS = 10.0


def open_tls(server: Server, *, ragged_eofs: bool = True) -> ssl.SSLSocket:
    """A TLS 1.2 connection to the server: with TLS 1.3 the server's session tickets arrive after
    the handshake and make the socket readable, which `readable` would take for an answer.
    With `ragged_eofs` False, a close without TLS close_notify raises ssl.SSLEOFError instead of
    reading as the end of the stream."""
    context = client_context(server.ca)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=REPLY_TIMEOUT_SECONDS)
    return context.wrap_socket(raw, server_hostname=SERVER_NAME, suppress_ragged_eofs=ragged_eofs)


def head(length: int | None = None, *, chunked: bool = False, extra: str = "") -> bytes:
    """The request line and headers of a POST /validate."""
    lines = ["POST /validate HTTP/1.1", "Host: meshwarden.meshwarden.svc", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def post(body: bytes) -> bytes:
    return head(len(body)) + body


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _KeptOpen(io.BufferedReader):
    def close(self) -> None:
        """http.client closes its file after each answer; the next answer is in its buffer."""


class Replies:
    """Reads the answers that arrive on one connection, in order (pipelined ones too)."""

    def __init__(self, sock: socket.socket):
        self._file = _KeptOpen(socket.SocketIO(sock, "rb"))

    def makefile(self, mode: str) -> BinaryIO:  # http.client.HTTPResponse reads through this
        return self._file

    def next(self) -> Reply:
        answer = http.client.HTTPResponse(self)  # type: ignore[arg-type]
        answer.begin()
        return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read())


def reply(sock: socket.socket) -> Reply:
    return Replies(sock).next()


def readable(sock: ssl.SSLSocket, timeout: float) -> bool:
    """Whether the server has sent something (or closed the connection) within `timeout` seconds."""
    return bool(sock.pending()) or bool(select.select([sock], [], [], timeout)[0])
