"""The ``codec_impl`` oracle: what one codec sent is what the other received.

Per stream we record what the client encoded (request headers, body, trailers) and what the
server decoded, and the same for the response. A direction is compared when it ended cleanly:
the receiver saw its end, the stream was never reset, neither codec reported an error and no
byte of that direction's buffer was mutated or reordered. Headers are compared after Envoy's
normalisation: over HTTP/2 exactly as encoded (pseudo-headers first); over HTTP/1 as the
request/status line and header lines carry them (``:authority`` as Host, values trimmed as the
parser trims them, framing headers left out, since the encoder writes its own). HTTP/1 cases
whose framing is the application's, not the codec's, or that HTTP/1 cannot carry are not
compared: header names or a method that are not tokens, a path with whitespace, a
``content-length``
the body does not match, CONNECT, upgrades, an explicit Host, a non-origin-form path, HEAD,
1xx/204/304 bodies.
"""

from __future__ import annotations

from typing import Any, Final

from harness.codec.codec_impl_h2 import Body, Headers
from harness.codec.http1 import is_token
from harness.oracle import InvariantViolation

_FRAMING: Final = frozenset((b"content-length", b"transfer-encoding"))
# Request headers that make HTTP/1 framing or routing the application's business.
_H1_SKIP: Final = frozenset(
    (b"host", b"connection", b"upgrade", b"expect", b"te", b"keep-alive", b"proxy-connection")
)
_WS: Final = b" \t"


class StreamRecord:
    """What was sent and received on one stream, in both directions."""

    __slots__ = (
        "req_body",
        "req_body_recv",
        "req_ended",
        "req_headers",
        "req_headers_recv",
        "req_trailers",
        "req_trailers_recv",
        "reset",
        "resp_body",
        "resp_body_recv",
        "resp_ended",
        "resp_headers",
        "resp_headers_recv",
        "resp_trailers",
        "resp_trailers_recv",
    )

    def __init__(self, headers: Headers, end_stream: bool) -> None:
        del end_stream
        self.req_headers = headers
        # Bodies as lists of chunks, joined when compared (large bodies: no repeated copies).
        self.req_body: list[Body] = []
        self.req_trailers: Headers | None = None
        self.resp_headers: Headers | None = None
        self.resp_body: list[Body] = []
        self.resp_trailers: Headers | None = None
        self.req_headers_recv: Headers | None = None
        self.req_body_recv: list[Body] = []
        self.req_trailers_recv: Headers | None = None
        self.req_ended = False
        self.resp_headers_recv: Headers | None = None
        self.resp_body_recv: list[Body] = []
        self.resp_trailers_recv: Headers | None = None
        self.resp_ended = False
        self.reset = False

    # --- the sending side -------------------------------------------------------------------

    def sent_response(self, headers: Headers, end_stream: bool) -> None:
        del end_stream
        self.resp_headers = headers

    def sent_data(self, response: bool, data: Body, end_stream: bool) -> None:
        del end_stream
        (self.resp_body if response else self.req_body).append(data)

    def sent_trailers(self, response: bool, trailers: Headers) -> None:
        if response:
            self.resp_trailers = trailers
        else:
            self.req_trailers = trailers

    # --- the receiving side -----------------------------------------------------------------

    def received(self, at_client: bool, kind: str, payload: Any) -> None:
        if at_client:
            if kind == "headers" and self.resp_headers_recv is None:
                self.resp_headers_recv = payload
            elif kind == "data":
                self.resp_body_recv.append(payload)
            elif kind == "trailers":
                self.resp_trailers_recv = payload
            elif kind == "end":
                self.resp_ended = True
        else:
            if kind == "headers" and self.req_headers_recv is None:
                self.req_headers_recv = payload
            elif kind == "data":
                self.req_body_recv.append(payload)
            elif kind == "trailers":
                self.req_trailers_recv = payload
            elif kind == "end":
                self.req_ended = True


def _get(headers: Headers, name: bytes) -> bytes | None:
    return next((v for k, v in headers if k == name), None)


def _h1_fields(headers: Headers, keep: tuple[bytes, ...] = ()) -> Headers:
    """Headers as an HTTP/1 parser gives them back: the kept pseudo-headers, then the others
    without framing headers, values trimmed."""
    out = [(k, v.strip(_WS)) for k in keep if (v := _get(headers, k)) is not None]
    out += [(k, v.strip(_WS)) for k, v in headers if not k.startswith(b":") and k not in _FRAMING]
    return out


def _h1_representable(headers: Headers | None) -> bool:
    """Every header name is a token: HTTP/1 cannot carry other names (``a:b`` would come back
    as ``a`` with a value starting ``b``); Envoy's encoder writes them unchecked."""
    return all(k.startswith(b":") or is_token(k) for k, _ in headers or ())


def _framed_by_codec(headers: Headers, body: list[Body]) -> bool:
    """No ``content-length``, or one the body matches (else the peer frames differently)."""
    declared = _get(headers, b"content-length")
    return declared is None or (declared.isdigit() and int(declared) == sum(len(c) for c in body))


def _same_trailers(sent: Headers | None, got: Headers | None, http2: bool) -> bool:
    want = sent or []
    if not http2:  # trailer lines: no pseudo-headers, values trimmed
        want = [(k, v.strip(_WS)) for k, v in want if not k.startswith(b":")]
    return want == (got or [])


def _length(body: list[Body]) -> int:
    return sum(map(len, body))


def same_body(sent: list[Body], got: list[Body]) -> bool:
    """The two chunk lists hold the same bytes. Compared a received chunk at a time against
    the same span of the sent chunks: joining a 1 MiB body costs a fresh 1 MiB buffer (page
    faults and all) per side, and comparing memoryviews goes byte by byte."""
    if _length(sent) != _length(got):
        return False
    chunks = iter(sent)
    rest = memoryview(b"")  # what is left of the sent chunk being compared
    for chunk in got:
        start, size = 0, len(chunk)
        while start < size:
            if not rest:
                rest = memoryview(next(chunks))
            n = min(size - start, len(rest))
            if rest[:n].tobytes() != bytes(chunk[start : start + n]):
                return False
            rest = rest[n:]
            start += n
    return True


def _fail(index: int, what: str, sent: object, got: object) -> None:
    raise InvariantViolation(
        f"stream {index}: {what} sent is not what was received:\n  sent: {sent!r:.300}\n"
        f"  got:  {got!r:.300}"
    )


def _check_request(i: int, r: StreamRecord, http2: bool, trailers: bool) -> None:
    sent = r.req_headers
    got = r.req_headers_recv
    if http2:
        want = sent
    else:
        method = _get(sent, b":method") or b""
        path = _get(sent, b":path") or b""
        if (
            method in (b"CONNECT", b"HEAD")
            or not is_token(method)
            or not path.startswith(b"/")
            or b" " in path
            or b"\t" in path
            or any(k in _H1_SKIP for k, _ in sent)
            or not _h1_representable(sent)
            or not _h1_representable(r.req_trailers)
            or not _framed_by_codec(sent, r.req_body)
        ):
            return
        want = _h1_fields(sent, (b":method", b":path", b":authority"))
        got = _h1_fields(got or [], (b":method", b":path", b":authority"))
    if want != got:
        _fail(i, "request headers", want, got)
    if not same_body(r.req_body, r.req_body_recv):
        _fail(i, "request body", _length(r.req_body), _length(r.req_body_recv))
    if trailers and not _same_trailers(r.req_trailers, r.req_trailers_recv, http2):
        _fail(i, "request trailers", r.req_trailers, r.req_trailers_recv)


def _check_response(i: int, r: StreamRecord, http2: bool, trailers: bool) -> None:
    sent = r.resp_headers
    got = r.resp_headers_recv
    assert sent is not None
    if http2:
        want = sent
    else:
        status = _get(sent, b":status") or b""
        if (
            not (status.isdigit() and len(status) == 3 and 200 <= int(status) < 600)
            or status in (b"204", b"304")
            or _get(r.req_headers, b":method") == b"HEAD"
            or not _h1_representable(sent)
            or not _h1_representable(r.resp_trailers)
            or not _framed_by_codec(sent, r.resp_body)
        ):
            return
        want = _h1_fields(sent, (b":status",))
        got = _h1_fields(got or [], (b":status",))
    if want != got:
        _fail(i, "response headers", want, got)
    if not same_body(r.resp_body, r.resp_body_recv):
        _fail(i, "response body", _length(r.resp_body), _length(r.resp_body_recv))
    if trailers and not _same_trailers(r.resp_trailers, r.resp_trailers_recv, http2):
        _fail(i, "response trailers", r.resp_trailers, r.resp_trailers_recv)


def check_streams(
    records: list[StreamRecord],
    *,
    clean: bool,
    http2: bool,
    request_tampered: bool,
    response_tampered: bool,
    trailers: tuple[bool, bool],
) -> None:
    """Raise InvariantViolation when a cleanly ended direction arrived different."""
    if not clean:
        return
    for i, r in enumerate(records):
        if r.reset:
            continue
        if not request_tampered and r.req_ended and r.req_headers_recv is not None:
            _check_request(i, r, http2, trailers[0])
        if (
            not response_tampered
            and r.resp_ended
            and r.resp_headers is not None
            and r.resp_headers_recv is not None
        ):
            _check_response(i, r, http2, trailers[1])
