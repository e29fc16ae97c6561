"""The HTTP/1 codec: split invariance, serializer round trips, responses, limits, the target."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.codec import fuzz_http1, http1
from harness.codec.http1 import (
    METHODS,
    Data,
    EndOfMessage,
    Error,
    Event,
    Options,
    Parser,
    RequestHead,
    ResponseHead,
    Role,
    Trailers,
    normalize,
    parse_all,
)
from harness.codec.http1_writer import serialize_message

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "http1_connection"
SEEDS = sorted(p.read_bytes() for p in CORPUS.rglob("*") if p.is_file())
END = EndOfMessage()


def parse_split(data: bytes, role: Role, cuts: list[int], options: Options) -> list[Event]:
    p = Parser(role, options)
    events: list[Event] = []
    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        events += p.feed(data[prev:cut])
        prev = cut
    return normalize(events + p.close())


# -- split invariance ----------------------------------------------------------------------


@st.composite
def stream_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    base = draw(st.sampled_from(SEEDS))
    if draw(st.booleans()):  # a small mutation so error paths get split too
        i = draw(st.integers(0, max(len(base) - 1, 0)))
        base = base[:i] + draw(st.binary(max_size=4)) + base[i + draw(st.integers(0, 3)) :]
    cuts = draw(st.lists(st.integers(0, len(base)), max_size=8))
    return base, cuts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream_and_cuts(), st.sampled_from(["request", "response"]))
def test_any_split_gives_the_same_events(case: tuple[bytes, list[int]], role: Role) -> None:
    data, cuts = case
    opts = fuzz_http1.FUZZ_OPTIONS
    assert parse_split(data, role, cuts, opts) == parse_split(data, role, [], opts)


@pytest.mark.parametrize("role", ["request", "response"])
def test_byte_at_a_time_equals_whole(role: Role) -> None:
    for data in SEEDS:
        if len(data) > 4096:
            continue
        whole = parse_split(data, role, [], fuzz_http1.FUZZ_OPTIONS)
        assert parse_split(data, role, list(range(len(data))), fuzz_http1.FUZZ_OPTIONS) == whole


# -- serializer round trip -----------------------------------------------------------------

_tchar = st.sampled_from(list("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"))
_name = st.text(_tchar, min_size=1, max_size=12).filter(
    lambda n: n not in ("content-length", "transfer-encoding", "host", "connection", "upgrade")
)
_vchar = st.sampled_from([*range(0x21, 0x7F), *range(0x80, 0x100)])
_value = st.builds(
    lambda a, mid: bytes(a) + bytes(mid),
    st.lists(_vchar, max_size=6),
    st.lists(st.sampled_from([0x20, 0x09, 0x41, 0xE9]), max_size=4),
).map(lambda v: v.strip(bytes(range(33))))
_headers = st.lists(st.tuples(_name.map(str.encode), _value), max_size=8)
_body = st.binary(max_size=300)


@st.composite
def request_message(draw: st.DrawFn) -> list[Event]:
    method = draw(st.sampled_from(sorted(METHODS - {b"CONNECT"})))
    target = b"/" + draw(
        st.binary(max_size=20).map(lambda b: bytes(c for c in b if 0x21 <= c <= 0x7E))
    )
    headers = [(b"host", b"example.com"), *draw(_headers)]
    body = draw(_body)
    events: list[Event] = []
    if draw(st.booleans()):
        headers.append((b"transfer-encoding", b"chunked"))
        tail = draw(_headers)
        events = [Data(body)] if body else []
        if tail:
            events.append(Trailers(tuple(tail)))
    elif body:
        headers.append((b"content-length", b"%d" % len(body)))
        events = [Data(body)]
    return [RequestHead(method, target, b"HTTP/1.1", tuple(headers)), *events, END]


@st.composite
def response_message(draw: st.DrawFn) -> list[Event]:
    status = draw(st.sampled_from([200, 201, 204, 301, 304, 404, 500, 599, 1000]))
    reason = draw(st.sampled_from([b"OK", b"", b"Not Found", b"x y\tz"]))
    headers = list(draw(_headers))
    body = b"" if status in (204, 304) else draw(_body)
    events: list[Event] = [Data(body)] if body else []
    if status != 204 and draw(st.booleans()):  # Envoy refuses a 204 with a body framing
        headers.append((b"transfer-encoding", b"chunked"))
    else:
        headers.append((b"content-length", b"%d" % len(body)))
    return [ResponseHead(status, reason, b"HTTP/1.1", tuple(headers)), *events, END]


@settings(max_examples=100, deadline=None)
@given(st.lists(request_message(), min_size=1, max_size=3))
def test_serialized_requests_parse_back(messages: list[list[Event]]) -> None:
    wire = b"".join(serialize_message(m) for m in messages)
    opts = Options(enable_trailers=True)
    assert parse_all(wire, "request", opts) == [e for m in messages for e in m]


@settings(max_examples=100, deadline=None)
@given(st.lists(response_message(), min_size=1, max_size=3))
def test_serialized_responses_parse_back(messages: list[list[Event]]) -> None:
    wire = b"".join(serialize_message(m) for m in messages)
    assert parse_all(wire, "response", Options(enable_trailers=True)) == [
        e for m in messages for e in m
    ]


# -- responses -----------------------------------------------------------------------------


def test_response_framing() -> None:
    wire = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
        b"HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n"
        b"HTTP/1.0 200 OK\r\n\r\nuntil close"
    )
    events = parse_all(wire, "response")
    heads = [e.status for e in events if isinstance(e, ResponseHead)]
    assert heads == [100, 200, 304, 200]
    assert [e.data for e in events if isinstance(e, Data)] == [b"ok", b"until close"]
    assert events[-1] == END


def test_status_codes_as_envoy_reads_them() -> None:
    # Observed on Envoy 1.40: any digits pass (kept as a uint16), '+' is allowed, 99 has a body.
    wire = b"HTTP/1.1 +200 OK\r\ncontent-length: 0\r\n\r\nHTTP/1.1 99999999999 X\r\n\r\nbody"
    events = parse_all(wire, "response")
    assert [e.status for e in events if isinstance(e, ResponseHead)] == [200, 59391]
    assert Data(b"body") in events


def test_response_to_head_has_no_body() -> None:
    p = Parser("response")
    p.expect_response_to(b"HEAD")
    p.expect_response_to(b"GET")
    ok3 = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n"
    events = p.feed(ok3 + ok3 + b"abc")
    assert [type(e) for e in events] == [
        ResponseHead,
        EndOfMessage,
        ResponseHead,
        Data,
        EndOfMessage,
    ]


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 0 Zero\r\n\r\n",
        b"\r\nHTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\ntransfer-encoding: chunked\r\n\r\n",
        b"HTTX/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx: \x01\r\n\r\n",
    ],
)
def test_bad_responses_are_502(wire: bytes) -> None:
    events = parse_all(wire, "response")
    assert isinstance(events[-1], Error) and events[-1].status == 502


# -- limits and EOF ------------------------------------------------------------------------


def _block(size: int) -> bytes:
    head = b"GET / HTTP/1.1\r\nhost: a\r\nx-a: \r\n\r\n"
    return head.replace(b"x-a: ", b"x-a: " + b"a" * (size - len(head)))


@pytest.mark.parametrize("kb", [1, 60])
def test_header_block_limit_is_exact(kb: int) -> None:
    opts = Options(max_request_headers_kb=kb)
    ok = parse_all(_block(kb * 1024), "request", opts)
    assert isinstance(ok[0], RequestHead)
    over = parse_all(_block(kb * 1024 + 1), "request", opts)
    assert over == [Error(431, "http1.headers_too_large")]
    # Incomplete but already at the limit: rejected without waiting for more.
    assert Parser("request", opts).feed(_block(kb * 1024 + 1)[: kb * 1024]) == [
        Error(431, "http1.headers_too_large")
    ]


def test_header_count_limit_counts_joined_inline_headers_once() -> None:
    extra = b"".join(b"x-h%d: v\r\n" % i for i in range(99))
    ok = parse_all(b"GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n" + extra + b"\r\n")
    assert isinstance(ok[0], RequestHead)
    over = parse_all(b"GET / HTTP/1.1\r\nhost: a\r\nx-z: 1\r\n" + extra + b"\r\n")
    assert over == [Error(431, "http1.too_many_headers")]


def test_chunk_sizes_at_the_u64_limit() -> None:
    head = b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n"
    waiting = parse_all(head + b"ffffffffffffffff\r\nabc", eof=False)
    assert waiting[-1] == Data(b"abc")
    over = parse_all(head + b"10000000000000000\r\n", eof=False)
    assert isinstance(over[-1], Error) and over[-1].status == 400


def test_very_long_numbers_do_not_raise() -> None:
    # Python refuses int() of decimal strings over 4300 digits: leading zeros must be cut.
    zeros = b"0" * 5000
    ok = parse_all(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: " + zeros + b"1\r\n\r\nx")
    assert ok[1] == Data(b"x")
    over = parse_all(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: " + b"9" * 5000 + b"\r\n\r\n")
    assert over[0] == Error(400, "http1.codec_error")
    resp = parse_all(b"HTTP/1.1 " + zeros + b"200 OK\r\ncontent-length: 0\r\n\r\n", "response")
    assert isinstance(resp[0], ResponseHead) and resp[0].status == 200
    bad = parse_all(b"HTTP/1.1 " + b"7" * 5000 + b" OK\r\n\r\n", "response")
    assert bad[0] == Error(502, "http1.codec_error")
    tunnel = parse_all(b"CONNECT a:" + zeros + b"443 HTTP/1.1\r\nhost: a\r\n\r\n")
    assert isinstance(tunnel[0], RequestHead)
    bad_port = parse_all(b"CONNECT a:" + b"9" * 5000 + b" HTTP/1.1\r\nhost: a\r\n\r\n")
    assert bad_port[0] == Error(400, "http1.invalid_url")


def test_eof_mid_message_is_a_silent_error() -> None:
    assert parse_all(b"GET / HTTP/1.1\r\nhost: a\r\n")[-1] == Error(0, "http1.codec_error")
    assert parse_all(b"\r\n\r\n") == []


# -- the fuzz target -----------------------------------------------------------------------


def test_envoy_corpus_replays_cleanly() -> None:
    files = sorted((CORPUS / "envoy").iterdir())
    assert len(files) == 56
    for path in files:
        fuzz_http1.http1_connection(path.read_bytes())


def test_every_seed_passes_the_target() -> None:
    assert len([p for p in CORPUS.iterdir() if p.is_file()]) >= 30
    for data in SEEDS:
        fuzz_http1.http1_connection(data)


_LINE_PIECES = [
    b"GET",
    b"POST",
    b"get",
    b"FOO",
    b" ",
    b"  ",
    b"\t",
    b"\x0c",
    b"\r",
    b"/",
    b"/a",
    b"*",
    b"http://h/p",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2",
    b"\x7f",
    b"\xe9",
    b"x",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), min_size=1, max_size=7))
def test_request_line_fast_path_agrees_with_balsa_split(pieces: list[bytes]) -> None:
    line = b"".join(pieces)
    if line[0] <= 0x20:
        return  # the parser rejects such a line before splitting it
    assert http1.first_line(line, True) == http1.first_line_general(line, True)
