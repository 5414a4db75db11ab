"""Framing requests as their bytes arrive, in whatever pieces the network delivers them."""

from __future__ import annotations

import random

import pytest

from webhook.server.framing import MAX_CHUNKS, MAX_HEADER_BYTES, Refusal, RequestFrame, simple_content_length
from webhook.server.settings import MiB

LIMIT = MiB


def head(*headers: str) -> bytes:
    return (
        "POST /validate HTTP/1.1\r\nHost: meshwarden\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    ).encode()


def post(body: bytes) -> bytes:
    return head(f"Content-Length: {len(body)}") + body


def chunked(*chunks: bytes) -> bytes:
    return (
        head("Transfer-Encoding: chunked")
        + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
        + b"0\r\n\r\n"
    )


def feed(data: bytes, piece: int = 4096) -> RequestFrame:
    """Feeds `data` a few bytes at a time, stopping once the request is complete."""
    frame = RequestFrame(LIMIT)
    for start in range(0, len(data), piece):
        frame.feed(data[start : start + piece])
        if frame.complete:
            break
    return frame


def refusal(data: bytes, piece: int = 4096) -> Refusal:
    with pytest.raises(Refusal) as refused:
        feed(data, piece)
    return refused.value


@pytest.mark.parametrize("piece", [1, 7, 10_000])
def test_a_request_is_complete_when_its_body_is_and_keeps_its_bytes_as_sent(piece: int) -> None:
    request = post(b'{"kind": "AdmissionReview"}')
    frame = feed(request, piece)
    assert frame.complete
    parts, rest = frame.split()
    assert (b"".join(parts), rest) == (request, b"")


def test_a_request_is_not_complete_before_its_last_body_byte() -> None:
    request = post(b"x" * 100)
    frame = feed(request[:-1])
    assert not frame.complete


def test_the_bytes_after_a_request_are_the_next_request() -> None:
    first, second = post(b"1" * 10), post(b"2" * 10)
    frame = RequestFrame(LIMIT)
    frame.feed(first + second[:5])
    parts, rest = frame.split()
    assert (b"".join(parts), rest) == (first, second[:5])


def test_a_chunked_body_is_decoded_as_it_arrives_and_its_bytes_kept_as_sent() -> None:
    request = chunked(b"abc", b"defgh")
    frame = feed(request)
    parts, rest = frame.split()
    assert (b"".join(parts), rest) == (request, b"")


def test_a_declared_length_over_the_limit_is_refused_before_the_body() -> None:
    refused = refusal(head(f"Content-Length: {LIMIT + 1}"))
    assert (refused.status, refused.problem) == (413, "the body is larger than the 1 MiB limit")


def test_a_chunked_body_is_refused_once_its_decoded_size_is_over_the_limit() -> None:
    half = b"x" * (LIMIT // 2 + 1)
    unfinished = chunked(half, half)[: -len(b"0\r\n\r\n")]
    assert refusal(unfinished).status == 413


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    assert feed(post(b"x" * LIMIT)).complete
    assert feed(chunked(b"x" * (LIMIT // 2), b"x" * (LIMIT // 2))).complete


def test_too_many_chunks_are_refused() -> None:
    frame = RequestFrame(10 * MAX_CHUNKS)
    frame.feed(head("Transfer-Encoding: chunked"))
    with pytest.raises(Refusal) as refused:
        frame.feed(b"1\r\nx\r\n" * (MAX_CHUNKS + 1))
    assert refused.value.status == 400
    assert "more than 16384 chunks" in refused.value.problem


@pytest.mark.parametrize("piece", [100, 100_000])
def test_headers_over_the_limit_are_refused_whole_or_in_pieces(piece: int) -> None:
    too_long = head(f"X-Padding: {'x' * MAX_HEADER_BYTES}")
    refused = refusal(too_long, piece)
    assert (refused.status, refused.problem) == (431, "the request line and headers are larger than 16 KiB")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # TLS sent to the HTTP layer
        (b"POST /validate HTTP/1.1\r\n\r\n", 400),  # no Host
        (head("Content-Length: 1", "Content-Length: 2"), 400),
        (head("Transfer-Encoding: gzip"), 501),
    ],
)
def test_malformed_requests_are_refused(request_bytes: bytes, status: int) -> None:
    refused = refusal(request_bytes, piece=len(request_bytes))
    assert refused.status == status
    assert refused.problem.startswith("malformed HTTP request: ")


def test_a_client_that_expects_100_continue_is_told_once_and_only_for_an_acceptable_body() -> None:
    frame = RequestFrame(LIMIT)
    frame.feed(head("Content-Length: 10", "Expect: 100-continue"))
    assert frame.wants_continue()
    assert not frame.wants_continue()
    with pytest.raises(Refusal):
        RequestFrame(LIMIT).feed(head(f"Content-Length: {LIMIT + 1}", "Expect: 100-continue"))


# --- requests framed without h11 ---------------------------------------------------------------------

ODD_HEADS = [
    head("Content-Length: 5"),
    head("content-length:5"),
    head("Content-Length: 5 "),
    head("Content-Length: 05"),
    head("Content-Length: 5, 5"),
    head("Content-Length: 5", "Content-Length: 5"),
    head("Content-Length: +5"),
    head("Content-Length: 99999999999999999999999"),
    head("Content-Length: 5", "Transfer-Encoding: chunked"),
    head("Content-Length: 5", "Expect: 100-continue"),
    head("Content-Length: 5", "Connection: Upgrade", "Upgrade: h2c"),
    head("Content-Length: 5", "Host: second"),
    head("Content-Length: 5", "X-Folded: a", " continued"),
    head("Content-Length: 5", "X-Empty:"),
    head("Content-Length: 5", "X-Tab:\tvalue\t"),
    head("Content-Length: 5", "Bad Name: x"),
    head("Content-Length: 5", "X-Latin: caf\u00e9"),
    head(),
    b"POST /validate HTTP/1.0\r\nHost: meshwarden\r\nContent-Length: 5\r\n\r\n",
    b"\r\nPOST /validate HTTP/1.1\r\nHost: meshwarden\r\nContent-Length: 5\r\n\r\n",
    b"POST /validate HTTP/1.1\nHost: meshwarden\nContent-Length: 5\n\n",
    b"POST  /validate HTTP/1.1\r\nHost: meshwarden\r\nContent-Length: 5\r\n\r\n",
    b"BREW /pot HTTP/1.1\r\nHost: meshwarden\r\nContent-Length: 5\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: meshwarden\r\n\r\n",
]


def outcome(pieces: list[bytes]) -> object:
    """What framing makes of a request fed in `pieces`: the request, or the refusal's status, or
    that it is incomplete. What it received beyond the request is the start of what follows."""
    frame = RequestFrame(LIMIT)
    try:
        for piece in pieces:
            frame.feed(piece)
    except Refusal as refused:
        return refused.status
    if not frame.complete:
        return "incomplete"
    parts, rest = frame.split()
    framed = b"".join(parts)
    assert b"".join(pieces).startswith(framed + rest)
    return framed


def mutated(seed: int) -> bytes:
    """An odd head, damaged at a few random places with bytes that matter to HTTP's syntax."""
    rng = random.Random(seed)
    data = bytearray(rng.choice(ODD_HEADS))
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(data) - 4)  # keep the blank line that ends the head
        byte = rng.choice(b" \t\r\n:,0x9A-\x80\x00")
        action = rng.choice(("insert", "replace", "delete"))
        if action == "insert":
            data.insert(at, byte)
        elif action == "replace":
            data[at] = byte
        else:
            del data[at]
    return bytes(data)


@pytest.mark.parametrize("seed", range(0, 3000, 300))
def test_a_head_in_one_piece_is_framed_as_h11_frames_it(seed: int) -> None:
    """A head that arrives whole may be framed without h11; one whose first byte arrives alone never
    is. Both must agree on every request: where it ends, or that it is refused and how."""
    simple = 0
    for case in range(seed, seed + 300):
        request = (ODD_HEADS[case] if case < len(ODD_HEADS) else mutated(case)) + b"hello" + post(b"next")
        head_end = request.find(b"\r\n\r\n")
        simple += simple_content_length(request[:head_end]) is not None
        assert outcome([request]) == outcome([request[:1], request[1:]]), request
    assert simple >= 15  # the property is not met by never taking the simple path


def test_the_simple_heads_are_those_h11_frames_by_their_content_length() -> None:
    assert [simple_content_length(h[:-4]) for h in ODD_HEADS] == [
        5, 5, 5, 5, None, None, None, None, None, None, None, None, None, 5, 5, None, None, 0,
        None, None, None, None, None, 0,
    ]  # fmt: skip
