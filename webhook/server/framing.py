"""Where one HTTP/1.1 request ends in the bytes of a connection, found as they arrive (with h11).

The worker's event loop feeds a connection's bytes here without blocking, and hands the request to
a thread only once it is complete; gunicorn's parser then reads it from memory. Framing needs only
the request line, the headers and the body's length (Content-Length, or chunked decoding as chunks
arrive), so a body over the limit is refused as soon as its declared or decoded size says so.

The API server sends each review's request line and headers in one piece, with a Content-Length
and nothing unusual. When the first bytes of a request hold such a head (`simple_content_length`),
its end is simply the head's end plus that length: h11's event machinery, about 60 µs a request,
is skipped. Anything else, including a head that arrives in pieces, goes through h11.

The request's raw bytes are kept as received and passed on unchanged: gunicorn parses them again
and refuses what it finds malformed. When the two disagree on where the request ends, the
connection is closed rather than reused (see worker.py), so no request can hide inside another.
"""

from __future__ import annotations

import re
from collections import deque

import h11

from webhook.server.settings import KiB, MiB

MAX_HEADER_BYTES = 16 * KiB
"""Request line and headers; also the longest chunk-size line or trailer section."""
MAX_CHUNKS = 16 * KiB
"""A chunked body of up to 16 MiB in chunks of at least 1 KiB. Each chunk costs the event loop
about 10 µs, so a body in one-byte chunks would otherwise take it over ten seconds."""
MAX_FRAMING_BYTES = 1 * MiB
"""Bytes a request may hold besides its body: headers, chunk-size lines (with any extensions)."""


_REQUEST_LINE = re.compile(rb"(?:POST|GET|HEAD|PUT|PATCH|DELETE|OPTIONS) [\x21-\x7e]+ HTTP/1\.1")
_HEADER_LINE = re.compile(rb"([-!#$%&'*+.^_`|~0-9A-Za-z]+):([\t\x20-\x7e]*)")
"""A header of visible ASCII: a token, a colon, a value (what RFC 9110 allows, less obs-text)."""
_DIGITS = re.compile(rb"[0-9]{1,19}")
_NOT_SIMPLE = frozenset({b"transfer-encoding", b"expect", b"upgrade"})
"""Headers whose framing h11 handles: chunked bodies, "100 Continue", protocol switches."""
END_OF_HEAD = b"\r\n\r\n"


def simple_content_length(head: bytes) -> int | None:
    """The body's length when `head` (request line and headers, without the blank line) is a plain
    HTTP/1.1 request that h11 would frame the same way: printable ASCII, one Host, at most one
    Content-Length (none means no body), no Transfer-Encoding, Expect or Upgrade. None otherwise.
    Linear in the head's size: each line is matched by patterns that can split it one way only."""
    request_line, *lines = head.split(b"\r\n")
    if not _REQUEST_LINE.fullmatch(request_line):
        return None
    hosts, lengths = 0, []
    for line in lines:
        header = _HEADER_LINE.fullmatch(line)
        if header is None:
            return None
        name = header[1].lower()
        if name in _NOT_SIMPLE:
            return None
        if name == b"host":
            hosts += 1
        elif name == b"content-length":
            lengths.append(header[2].strip(b" \t"))
    if hosts != 1 or len(lengths) > 1 or (lengths and not _DIGITS.fullmatch(lengths[0])):
        return None
    return int(lengths[0]) if lengths else 0


class Refusal(Exception):
    """The request cannot be served: answer `status` with `problem`, then close the connection."""

    def __init__(self, status: int, problem: str):
        super().__init__(problem)
        self.status = status
        self.problem = problem


class RequestFrame:
    """The bytes of one request as they arrive, until it is complete or refused."""

    def __init__(self, max_body_bytes: int):
        self._max_body = max_body_bytes
        self._h11: h11.Connection | None = None
        self._received: deque[bytes] = deque()
        self.size = 0
        """Raw bytes held: the request so far, and after it whatever followed it."""
        self._body = 0
        self._chunks = 0
        self._continue_sent = False
        self._end: int | None = None
        """Where the request ends, when its head was simple: h11 is not used."""
        self.complete = False

    def feed(self, data: bytes) -> None:
        """Takes bytes read from the connection; sets `complete` once the request is whole.

        Raises Refusal for a malformed request, headers over MAX_HEADER_BYTES, or a body over the
        limit (declared, or decoded so far).
        """
        first = self.size == 0
        self._received.append(data)
        self.size += len(data)
        if self.size > self._max_body + MAX_FRAMING_BYTES:
            raise self._too_large()
        if first and self._simple(data):
            return
        if self._end is not None:
            self.complete = self.size >= self._end
            return
        if self._h11 is None:
            self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self._h11.receive_data(data)
        try:
            while not self.complete:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    return
                self._take(event)
        except h11.RemoteProtocolError as exc:
            raise _refusal(exc) from None

    def _simple(self, data: bytes) -> bool:
        """Frames the request without h11 when `data` starts with a whole, simple head."""
        head_end = data.find(END_OF_HEAD, 0, MAX_HEADER_BYTES)
        length = simple_content_length(data[:head_end]) if head_end > 0 else None
        if length is None:
            return False
        if length > self._max_body:
            raise self._too_large()
        self._end = head_end + len(END_OF_HEAD) + length
        self.complete = self.size >= self._end
        return True

    def _take(self, event: object) -> None:
        if isinstance(event, h11.Request):
            # h11 checks the size of headers still incomplete; these arrived whole
            if self.size - self._unread() > MAX_HEADER_BYTES:
                raise _headers_too_large()
            declared = _content_length(event)
            if declared is not None and declared > self._max_body:
                raise self._too_large()
        elif isinstance(event, h11.Data):
            self._body += len(event.data)
            if self._body > self._max_body:
                raise self._too_large()
            self._chunks += event.chunk_start
            if self._chunks > MAX_CHUNKS:
                raise Refusal(400, f"the chunked body has more than {MAX_CHUNKS} chunks")
        elif isinstance(event, h11.EndOfMessage):
            self.complete = True

    def _too_large(self) -> Refusal:
        return Refusal(413, f"the body is larger than the {self._max_body / MiB:g} MiB limit")

    def wants_continue(self) -> bool:
        """True once, when the client waits for "100 Continue" before sending an acceptable body."""
        if self._continue_sent or self._h11 is None or not self._h11.they_are_waiting_for_100_continue:
            return False
        self._continue_sent = True
        return True

    def split(self) -> tuple[deque[bytes], bytes]:
        """A complete request's bytes as received, and the bytes after it (the next request's)."""
        assert self.complete
        request, rest = self._received, deque[bytes]()
        excess = self._unread()
        while excess:
            last = request.pop()
            if len(last) > excess:
                request.append(last[: len(last) - excess])
                rest.appendleft(last[len(last) - excess :])
                break
            excess -= len(last)
            rest.appendleft(last)
        return request, b"".join(rest)

    def _unread(self) -> int:
        """Bytes received beyond the request as framed so far."""
        if self._end is not None:
            return max(0, self.size - self._end)
        assert self._h11 is not None
        return len(self._h11.trailing_data[0])


def _content_length(request: h11.Request) -> int | None:
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)  # h11 has checked that it is digits, at most 20 of them
    return None


def _refusal(error: h11.RemoteProtocolError) -> Refusal:
    if error.error_status_hint == 431:
        return _headers_too_large()
    return Refusal(error.error_status_hint, f"malformed HTTP request: {error}")


def _headers_too_large() -> Refusal:
    return Refusal(431, f"the request line and headers are larger than {MAX_HEADER_BYTES // KiB} KiB")
