"""One side of the ``codec_impl`` pair over HTTP/1: Envoy's codec API on ``http1.Parser``.

The encoders write what Envoy's ``Http1::StreamEncoderImpl`` writes (source/common/http/http1/
codec_impl.cc): a request line from ``:method``/``:path`` and ``host`` from ``:authority``; a
status line ``HTTP/1.1 <code> <reason>``; the other headers in order, pseudo-headers left out.
Framing as ``encodeHeadersBase`` decides it: a ``content-length`` header means a raw body; a
headers-only message gets ``content-length: 0`` (not on bodiless requests, 1xx, 204 or HEAD
answers); 1xx, 204 and 304 answers are never chunked; anything else is chunked. Trailers are
written only with ``enable_trailers`` on a chunked message (else just the last chunk). A stream
reset closes the connection (``should_close_connection`` in Envoy's test). METADATA and read
disabling have no effect on HTTP/1 (Envoy counts the metadata and drops it; the test's mock
connection ignores readDisable).
"""

from __future__ import annotations

from typing import Final

from harness.codec.codec_impl_h2 import Body, Headers, Received
from harness.codec.http1 import (
    Data,
    EndOfMessage,
    Error,
    Options,
    Parser,
    RequestHead,
    ResponseHead,
    Trailers,
)

# Requests Envoy sends without ``content-length: 0`` when they end with their headers.
BODILESS_METHODS: Final = frozenset((b"GET", b"HEAD", b"DELETE", b"OPTIONS", b"TRACE", b"CONNECT"))
_REASONS: Final = {100: b"Continue", 200: b"OK", 204: b"No Content", 304: b"Not Modified"}


def _fields(headers: Headers) -> list[bytes]:
    return [b"%s: %s\r\n" % (k, v) for k, v in headers if not k.startswith(b":")]


def _get(headers: Headers, name: bytes) -> bytes | None:
    return next((v for k, v in headers if k == name), None)


class _Encoder:
    """The framing of the message being written on one side."""

    __slots__ = ("chunked", "done", "trailers_enabled")

    def __init__(self, chunked: bool, done: bool, trailers_enabled: bool) -> None:
        self.chunked = chunked
        self.done = done
        self.trailers_enabled = trailers_enabled

    def data(self, data: Body, end_stream: bool) -> Body:
        if self.done:
            return b""
        if end_stream:
            self.done = True
        if not self.chunked:
            return data
        # Joined, not %-formatted: bytes % builds a large body ~10x slower than a join.
        out = [b"%x\r\n" % len(data), data, b"\r\n"] if data else []
        if end_stream:
            out.append(b"0\r\n\r\n")
        return b"".join(out)

    def trailers(self, headers: Headers) -> bytes:
        if self.done:
            return b""
        self.done = True
        if not self.chunked:
            return b""
        lines = _fields(headers) if self.trailers_enabled else []
        return b"0\r\n" + b"".join(lines) + b"\r\n"


class H1Endpoint:
    """A client or server HTTP/1 codec with Envoy's per-stream API (sans-IO). Streams are
    numbered from 1 in the order their requests begin; one is active at a time."""

    http2 = False

    def __init__(self, client: bool, options: Options, enable_trailers: bool) -> None:
        self.client = client
        self.options = options
        self.enable_trailers = enable_trailers
        self.parser = Parser("response" if client else "request", options)
        self.received: list[Received] = []
        self.error: str | None = None
        self.reset_requested = False  # a stream reset: Envoy closes the HTTP/1 connection
        self._out = bytearray()
        self._stream = 0  # the stream being written (client) or read (server)
        self._encoder: _Encoder | None = None
        self._head_request = False  # server: the request being answered is a HEAD
        self._interim = False  # client: the message being parsed is a 1xx (its end is not)

    # --- the codec API ----------------------------------------------------------------------

    def new_stream(self, headers: Headers, end_stream: bool) -> int | None:
        self._stream += 1
        method = _get(headers, b":method") or b""
        lines = [b"%s %s HTTP/1.1\r\n" % (method, _get(headers, b":path") or b"")]
        authority = _get(headers, b":authority")
        if authority is not None:
            lines.append(b"host: %s\r\n" % authority)
        lines += _fields(headers)
        chunked = False
        if _get(headers, b"content-length") is None:
            if end_stream:
                if method not in BODILESS_METHODS:
                    lines.append(b"content-length: 0\r\n")
            else:
                lines.append(b"transfer-encoding: chunked\r\n")
                chunked = method != b"CONNECT" and _get(headers, b"upgrade") is None
        lines.append(b"\r\n")
        self._out += b"".join(lines)
        self._encoder = _Encoder(chunked, end_stream, self.enable_trailers)
        self.parser.expect_response_to(method)
        return self._stream

    def send_1xx(self, sid: int, headers: Headers) -> None:
        if sid == self._stream and not self.client:
            self._out += b"HTTP/1.1 100 Continue\r\n" + b"".join(_fields(headers)) + b"\r\n"

    def send_headers(self, sid: int, headers: Headers, end_stream: bool) -> None:
        if sid != self._stream or self.client:
            return  # a client's headers are its new_stream; a later request is not ours yet
        status_text = _get(headers, b":status") or b"200"
        status = int(status_text) if status_text.isdigit() and len(status_text) <= 3 else 0
        lines = [b"HTTP/1.1 %s %s\r\n" % (status_text, _REASONS.get(status, b"Unknown"))]
        lines += _fields(headers)
        chunked = False
        no_body = status < 200 or status in (204, 304)
        if _get(headers, b"content-length") is None and not no_body:
            if end_stream:
                if not self._head_request:
                    lines.append(b"content-length: 0\r\n")
            else:
                lines.append(b"transfer-encoding: chunked\r\n")
                chunked = True
        lines.append(b"\r\n")
        self._out += b"".join(lines)
        self._encoder = _Encoder(
            chunked and not self._head_request, end_stream, self.enable_trailers
        )

    def send_data(self, sid: int, data: Body, end_stream: bool) -> None:
        if sid == self._stream and self._encoder is not None:
            self._out += self._encoder.data(data, end_stream)

    def send_trailers(self, sid: int, headers: Headers) -> None:
        if sid == self._stream and self._encoder is not None:
            self._out += self._encoder.trailers(headers)

    def send_metadata(self, sid: int, metadata: Headers) -> None:
        pass  # HTTP/1 has no METADATA: Envoy drops it

    def reset(self, sid: int, reason: int) -> None:
        if sid == self._stream:
            self.reset_requested = True

    def read_disable(self, sid: int, disable: bool) -> None:
        pass

    def release(self) -> None:
        pass

    def stream_open(self, sid: int) -> bool:
        return sid == self._stream and not self.reset_requested

    # --- the wire ---------------------------------------------------------------------------

    def take_output(self) -> bytes:
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def dispatch(self, data: bytes) -> bool:
        if self.error is not None:
            return False
        out = self.received
        for ev in self.parser.feed(data):
            kind = type(ev)
            sid = self._stream
            if kind is RequestHead:
                assert isinstance(ev, RequestHead)
                self._stream = sid = sid + 1
                self._head_request = ev.method == b"HEAD"
                self._encoder = None
                out.append(("headers", sid, _request_map(ev), False))
            elif kind is ResponseHead:
                assert isinstance(ev, ResponseHead)
                status = b"%d" % ev.status
                headers = [(b":status", status), *ev.headers]
                informational = 100 <= ev.status < 200 and ev.status != 101
                self._interim = informational
                out.append(("1xx" if informational else "headers", sid, headers, False))
            elif kind is Data:
                assert isinstance(ev, Data)
                out.append(("data", sid, ev.data, False))
            elif kind is Trailers:
                assert isinstance(ev, Trailers)
                out.append(("trailers", sid, list(ev.headers), False))
            elif kind is EndOfMessage:
                if self._interim:
                    self._interim = False
                else:
                    out.append(("end", sid, None, True))
            elif kind is Error:
                assert isinstance(ev, Error)
                self.error = f"{ev.details} ({ev.status})"
                return False
        return True


def _request_map(head: RequestHead) -> Headers:
    """The server's header map of a request: ``:method``, ``:path``, ``:authority`` from Host,
    then the other headers as parsed."""
    out: Headers = [(b":method", head.method), (b":path", head.target)]
    rest: Headers = []
    for k, v in head.headers:
        if k == b"host":
            out.append((b":authority", v))
        else:
            rest.append((k, v))
    return out + rest
