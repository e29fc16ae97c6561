"""The HTTP/2-downstream half of the Envoy model: what Envoy 1.40 does with one connection.

``predict_http2(data, config)`` takes the bytes a client writes on a fresh HTTP/2 connection
(preface and frames; then the client waits) and returns the ``Observation`` the real-Envoy lane
makes of them (``EnvoyLane(ProxyConfig(downstream="http2")).observe(data)``): the ``:status``
codes sent downstream, the HTTP/1 requests the upstream received (sorted by content, as the
lane sorts concurrent streams) and whether Envoy closed or sent GOAWAY.

Sans-IO. The input is one read for Envoy (it reads up to 1 MiB at a time) and one
``nghttp2_session_mem_recv`` call: every frame is processed before anything is written, so
what Envoy queues while dispatching (local replies, ACKs, RST_STREAMs) is sent afterwards, or
never when the dispatch fails. The codec is modelled on nghttp2 as Envoy configures it, every
rule checked on Envoy 1.40 (see bench/agreement/http2_cases.py):

* Envoy's ``onInvalidFrame`` callback fails for every error nghttp2 reports with a frame
  (invalid headers and messaging, PROTOCOL/FLOW_CONTROL/STREAM_CLOSED errors of SETTINGS,
  PING, GOAWAY, RST_STREAM, WINDOW_UPDATE, HEADERS), so those close the connection without a
  GOAWAY (after the 1 s delayed-close timer) and nothing queued in that read is sent: a
  *silent* close. Errors nghttp2 detects on its own while reading (first frame not SETTINGS,
  frame or payload size, DATA on a wrong stream, padding, CONTINUATION order, HPACK, too many
  SETTINGS) end the session with a GOAWAY; queued replies are not sent either.
* Stream errors: a body longer or shorter than ``content-length`` resets the stream
  (PROTOCOL_ERROR), too many or too large headers reset it (INTERNAL_ERROR), a SETTINGS change
  that overflows a stream's window resets it (FLOW_CONTROL_ERROR).
* Envoy's flood limits are ``ProtocolConstraints`` (harness/codec/h2_connection.py), inbound
  per frame; outbound after the dispatch, when the queued frames are written.
* RFC 7540 priorities are off: PRIORITY frames only count against the flood limit. HEADERS on
  a lower, never-seen stream id, frames on reset streams and unknown frame types are ignored.

The connection manager and router then: ``#`` in ``:path`` -> 400; no route (path not starting
with ``/``, CONNECT) -> 404; ``expect: 100-continue`` -> a local 100; the rest is forwarded
over HTTP/1 (``:authority`` as ``host``, first; cookies joined at the end; ``te`` kept only
as ``trailers``; ``harness.model.headers`` for Envoy's added and stripped headers and the body
framing), and the upstream's ``200`` comes back for every request that ended.

The lane's pool holds ``WARM_POOL_CONNECTIONS`` idle connections (``differential.warm_pool``):
a request that gets one is upstream at once, even if reset later in the read; later ones wait
for a connection and are cancelled by a reset in the read (1.40: of 100 reset streams, 12 pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from h2.errors import ErrorCodes
from hpack import Decoder

from harness.codec import http2
from harness.codec.h2_connection import DEFAULT_LIMITS, ProtocolConstraints
from harness.config.proxy import ProxyConfig
from harness.model import http2_wire
from harness.model.headers import http1_framing, upstream_headers
from harness.model.http2_fields import (
    AUTHORITY_CHARS,
    REQUEST_PSEUDO,
    TRUNCATED,
    content_type,
    inflate,
    pseudo_ok,
    regular_field_error,
)
from harness.model.http2_wire import MAX_CONCURRENT_STREAMS, Sent, SentKind
from harness.observation import Observation, UpstreamRequest
from harness.util.http import decimal_value, is_grpc_content_type

PREFACE: Final = http2.PREFACE

MAX_WINDOW: Final = (1 << 31) - 1
WARM_POOL_CONNECTIONS: Final = 12  # idle in the lane's pool as an input starts (docstring)
READ_SLICE: Final = DEFAULT_LIMITS.read_slice
DEFAULT_WINDOW: Final = 65535
LOCAL_MAX_FRAME_SIZE: Final = 16384  # Envoy does not raise SETTINGS_MAX_FRAME_SIZE
MAX_SETTINGS_ENTRIES: Final = 32  # nghttp2's default max_settings
_SETTINGS_NO_RFC7540_PRIORITIES: Final = 0x9  # RFC 9218
# What Envoy queues around the first dispatch besides replies: SETTINGS and WINDOW_UPDATE.
_INITIAL_OUTBOUND_FRAMES: Final = 2

# Frames whose payload has one size (else FRAME_SIZE_ERROR).
_FIXED_SIZES: Final = {
    http2.PRIORITY: 5,
    http2.RST_STREAM: 4,
    http2.PING: 8,
    http2.WINDOW_UPDATE: 4,
}

# Local replies the connection manager and router make.
BAD_REQUEST: Final = 400
NOT_FOUND: Final = 404
OK: Final = 200  # also what a gRPC client gets for any local reply (grpc-status inside)
CONTINUE: Final = 100
UPSTREAM_OK: Final = 200  # what the harness's fake upstream answers


class _Silent(Exception):
    """A codec error Envoy answers by closing the connection without a GOAWAY."""


class _GoAway(Exception):
    """nghttp2 ended the session with a GOAWAY."""


class _Flood(Exception):
    """An inbound flood limit tripped (Envoy closes without a GOAWAY)."""


@dataclass
class _Forwarded:
    """A request as the upstream receives it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: int = 0
    complete: bool = False
    waits: bool = False  # no idle pooled connection was left: it waits for a new one
    reset: bool = False  # its stream was reset in the read


@dataclass
class _Stream:
    sid: int
    window: int  # Envoy's send window (the client's receive window)
    remote_closed: bool = False  # END_STREAM received
    reset: bool = False  # RST_STREAM sent or received: nothing more reaches the upstream
    request: _Forwarded | None = None
    local_reply: bool = False
    content_length: int | None = None
    received: int = 0
    relayed: int | None = None  # bytes of the upstream's answer sent down (None: not begun)


@dataclass
class Http2Prediction:
    """The prediction and whether the lane can tell ``closed`` reliably.

    ``closed_timing_dependent``: Envoy closes without a GOAWAY after its 1 s delayed-close
    timer while an upstream answer it will never deliver makes the lane wait its ``max_wait``
    (1 s) too: which comes first is a race, so ``closed`` is not comparable.
    """

    observation: Observation
    closed_timing_dependent: bool = False
    reason: str = ""
    # The wire (harness.model.http2_wire): what Envoy queued and wrote after the read, the
    # upstream answers it relays later, the GOAWAY it ends with and whether it closes.
    queued: tuple[Sent, ...] = ()
    answers: tuple[Sent, ...] = ()
    goaway: int | None = None
    closes: bool = False


@dataclass
class _Block:
    """A header block being received (HEADERS then CONTINUATIONs)."""

    sid: int
    end_stream: bool
    fragments: list[bytes] = field(default_factory=list)
    kind: str = "ignored"  # "request", "trailers" or "ignored"
    stream: _Stream | None = None
    depends_on: int = 0  # the HEADERS frame's RFC 7540 priority dependency


def _content_key(r: UpstreamRequest) -> tuple[str, str, list[tuple[str, str]], int]:
    # As harness/envoy/upstream.py sorts an HTTP/2 connection's requests (x-request-id is random).
    return (r.target, r.method, [h for h in r.headers if h[0] != "x-request-id"], r.body)


def _latin1(b: bytes) -> str:
    return b.decode("latin-1")


class _Connection:
    def __init__(self, config: ProxyConfig, wire: bool = False) -> None:
        self.config = config
        self.max_headers_count = config.max_headers_count
        self.max_headers_bytes = config.max_request_headers_kb * 1024
        self.constraints = ProtocolConstraints(DEFAULT_LIMITS)
        self.decoder = Decoder(max_header_list_size=1 << 24)
        self.decoder.max_allowed_table_size = DEFAULT_LIMITS.hpack_table_size
        self.streams: dict[int, _Stream] = {}
        self.last_recv = 0
        self.first_frame = True
        self.block: _Block | None = None
        self.window = DEFAULT_WINDOW  # connection send window
        self.initial_window = DEFAULT_WINDOW
        self.settings_acks_expected = 1  # Envoy's own SETTINGS is in flight
        self.goaway_last: int | None = None
        self.connect_protocol = False
        self.local: list[int] = []  # local replies, in the order they were made
        self.forwarded: list[_Forwarded] = []
        self.pooled = WARM_POOL_CONNECTIONS  # idle upstream connections left in this read
        self.premature_resets = 0  # streams the client reset before an answer
        self.resets_received = 0  # RST_STREAM frames (nghttp2's reset rate limit)
        self.control_frames = 0  # SETTINGS/PING ACKs and RST_STREAMs Envoy queues
        self.wire = wire  # record what Envoy queues, in order (harness.model.http2_wire)
        self.sent: list[Sent] = []
        self.relayed_ok = 0  # upstream answers sent in full at a read boundary
        self.frames = _INITIAL_OUTBOUND_FRAMES

    # --- input ----------------------------------------------------------------------------------

    def run(self, data: bytes, reads: Sequence[int] = ()) -> None:
        """Dispatch ``data``; ``reads``: offsets where the client waited for Envoy's answers
        (the upstream's answers go down there, ending their streams); none: one read."""
        if not data.startswith(PREFACE):
            if PREFACE.startswith(data):
                return  # the preface is not complete yet: Envoy waits
            raise _Silent("bad client magic")
        headers, end = http2.scan_frames(data, len(PREFACE))
        boundary = READ_SLICE
        waits = list(reads)
        for header in headers:
            offset, length, type_ = header[0], header[1], header[2]
            while waits and offset + http2.HEADER_SIZE + length > waits[0]:
                boundary = waits.pop(0) + READ_SLICE  # a new read: its own slices
                self.relay_answers()
            while boundary < offset + http2.HEADER_SIZE + length:
                if self._stops_at(boundary, offset, type_):
                    return
                boundary += READ_SLICE
            self._frame(data, header)
        if len(data) - end >= http2.HEADER_SIZE:
            # The last frame's header arrived without all of its payload: nghttp2 acts on the
            # header (order, size and stream checks, the flood count); a partial payload is
            # handed on to nobody (Envoy's codec waits for the frame's end).
            length = int.from_bytes(data[end : end + 3], "big")
            type_, flags = data[end + 3], data[end + 4]
            if any(self._stops_at(b, end, type_) for b in range(boundary, len(data), READ_SLICE)):
                return
            sid = int.from_bytes(data[end + 5 : end + 9], "big")
            sid &= 0x7FFFFFFF
            self._frame_head(type_, flags, sid, length)
            if type_ != http2.DATA:
                self._track(type_, flags, length, 0)
            if type_ == http2.HEADERS:
                self._partial_headers(flags, sid, data[end + http2.HEADER_SIZE :])

    def _stops_at(self, boundary: int, offset: int, type_: int) -> bool:
        """Envoy feeds nghttp2 16 KiB slices, stopping at a ``boundary`` once a GOAWAY came and
        no stream is open; a HEADERS frame whose 9-byte header is in the slice opened one."""
        if type_ == http2.HEADERS and offset + http2.HEADER_SIZE <= boundary:
            return False
        return self.goaway_last is not None and all(s.reset for s in self.streams.values())

    def _frame_head(self, type_: int, flags: int, sid: int, length: int) -> None:
        """nghttp2's checks on a frame header, before its payload (NGHTTP2_IB_READ_HEAD)."""
        if self.first_frame:
            if type_ != http2.SETTINGS or flags & http2.FLAG_ACK:
                raise _GoAway("SETTINGS expected")
            self.first_frame = False
        if length > LOCAL_MAX_FRAME_SIZE:
            raise _GoAway("too large frame size")
        if self.block is not None:
            if type_ != http2.CONTINUATION:
                raise _GoAway("unexpected non-CONTINUATION frame")
        elif type_ == http2.CONTINUATION:
            raise _GoAway("CONTINUATION: unexpected")
        size = _FIXED_SIZES.get(type_)
        if size is not None and length != size:
            raise _GoAway(f"{http2.FRAME_NAMES[type_]}: frame size")
        if type_ == http2.SETTINGS:
            if length % 6 or (flags & http2.FLAG_ACK and length):
                raise _GoAway("SETTINGS: frame size")
            if length // 6 > MAX_SETTINGS_ENTRIES:
                raise _GoAway("SETTINGS: too many setting entries")
        elif type_ == http2.GOAWAY and length < 8:
            raise _GoAway("GOAWAY: frame size")
        elif type_ == http2.DATA:
            if sid == 0:
                raise _GoAway("DATA: stream_id == 0")
            if self._idle(sid):
                raise _GoAway("DATA: stream in idle")
            stream = self.streams.get(sid)
            if stream is not None and stream.remote_closed:
                raise _GoAway("DATA: stream in half-closed(remote)")

    def _frame(self, data: bytes, header: http2.FrameHeader) -> None:
        offset, length, type_, flags, sid = header
        sid &= 0x7FFFFFFF
        self._frame_head(type_, flags, sid, length)
        body = offset + http2.HEADER_SIZE
        payload = data[body : body + length]
        if type_ == http2.DATA:
            self._data(flags, sid, payload)
        elif type_ == http2.HEADERS:
            self._headers(flags, sid, payload)
        elif type_ == http2.CONTINUATION:
            self._continuation(flags, sid, payload)
        elif type_ == http2.PRIORITY:
            self._track(type_, flags, length, 0)  # priorities are off: only counted
        elif type_ == http2.RST_STREAM:
            self._rst_stream(sid)
        elif type_ == http2.SETTINGS:
            self._settings(flags, sid, payload)
        elif type_ == http2.PUSH_PROMISE:
            raise _Silent("PUSH_PROMISE from a client")
        elif type_ == http2.PING:
            if sid:
                raise _Silent("PING on a stream")
            if not flags & http2.FLAG_ACK and not self._closing():
                self._queue_control("ping_ack", ping=payload)
        elif type_ == http2.GOAWAY:
            self._goaway(sid, payload)
        elif type_ == http2.WINDOW_UPDATE:
            self._track(type_, flags, length, 0)
            self._window_update(sid, int.from_bytes(payload, "big") & 0x7FFFFFFF)
        # Any other type (METADATA, ALTSVC, ORIGIN, unknown) is ignored.

    def _track(self, type_: int, flags: int, length: int, padding: int) -> None:
        if self.constraints.track_inbound(type_, flags, length, padding) is not None:
            raise _Flood(self.constraints.status or "flood")

    def _queue_control(
        self, kind: SentKind, sid: int = 0, code: int = 0, ping: bytes = b""
    ) -> None:
        if self.wire:  # a frame object per ACK costs as much as the rest of a flood's dispatch
            self.sent.append(Sent(kind, sid, code, ping))
        self.control_frames += 1
        self.frames += 1

    def _active_streams(self) -> int:
        streams = self.streams.values()
        return sum(not s.reset and not (s.local_reply and s.remote_closed) for s in streams)

    def _closing(self) -> bool:
        """nghttp2's session_is_closing: a client GOAWAY and no stream left, so no more ACKs."""
        return self.goaway_last is not None and not self._active_streams()

    def relay_answers(self) -> None:
        """Upstream answers go down as far as windows allow; one sent whole closes its stream."""
        for sid in sorted(self.streams):
            s = self.streams[sid]
            if s.request is None or not s.request.complete or s.reset or s.local_reply:
                continue
            frames, s.relayed, done = http2_wire.relay_answer(sid, s.relayed, s.window, self.window)
            sent = sum(len(f.payload) for f in frames)
            s.window, self.window = s.window - sent, self.window - sent
            self.sent += frames
            if done:
                self.relayed_ok += 1
                del self.streams[sid]

    def _idle(self, sid: int) -> bool:
        """nghttp2's session_detect_idle_stream for a server."""
        if sid % 2 == 0:
            return sid >= 2  # Envoy (next stream id 2) never opened one
        return sid > self.last_recv

    # --- frame types ----------------------------------------------------------------------------

    def _settings(self, flags: int, sid: int, payload: bytes) -> None:
        if flags & http2.FLAG_ACK:
            if sid:
                raise _Silent("SETTINGS on a stream")
            if self.settings_acks_expected == 0:
                raise _Silent("SETTINGS: unexpected ACK")
            self.settings_acks_expected -= 1
            return
        if sid:
            raise _Silent("SETTINGS on a stream")
        new_window = None
        for i in range(0, len(payload), 6):
            key = int.from_bytes(payload[i : i + 2], "big")
            value = int.from_bytes(payload[i + 2 : i + 6], "big")
            if key == http2.SETTINGS_ENABLE_PUSH and value > 1:
                raise _Silent("SETTINGS: invalid ENABLE_PUSH")
            if key == http2.SETTINGS_INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise _Silent("SETTINGS: invalid INITIAL_WINDOW_SIZE")
                new_window = value
            if key == http2.SETTINGS_MAX_FRAME_SIZE and not 16384 <= value <= (1 << 24) - 1:
                raise _Silent("SETTINGS: invalid MAX_FRAME_SIZE")
            if key == _SETTINGS_NO_RFC7540_PRIORITIES and value > 1:
                raise _Silent("SETTINGS: invalid SETTINGS_NO_RFC7540_PRIORITIES")
            if key == http2.SETTINGS_ENABLE_CONNECT_PROTOCOL:
                if value > 1 or (self.connect_protocol and value == 0):
                    raise _Silent("SETTINGS: invalid ENABLE_CONNECT_PROTOCOL")
                self.connect_protocol = value == 1
        if new_window is not None:
            delta = new_window - self.initial_window
            self.initial_window = new_window
            for stream in self.streams.values():
                stream.window += delta
                if stream.window > MAX_WINDOW and not stream.reset:
                    self._reset(stream, ErrorCodes.FLOW_CONTROL_ERROR)
        if not self._closing():
            self._queue_control("settings_ack")

    def _goaway(self, sid: int, payload: bytes) -> None:
        if sid:
            raise _Silent("GOAWAY on a stream")
        last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        if (last and last % 2) or (self.goaway_last is not None and last > self.goaway_last):
            raise _Silent("GOAWAY: invalid last_stream_id")
        self.goaway_last = last

    def _rst_stream(self, sid: int) -> None:
        if sid == 0 or self._idle(sid):
            raise _Silent("RST_STREAM: stream 0 or idle")
        stream = self.streams.get(sid)
        if stream is not None:
            if not stream.reset and not stream.local_reply:
                self.premature_resets += 1  # reset before any answer (within Envoy's 1 s)
            stream.reset = True
            if stream.request is not None:
                stream.request.reset = True
            del self.streams[sid]  # closed: later frames on it are ignored
        self.resets_received += 1

    def _window_update(self, sid: int, increment: int) -> None:
        if sid == 0:
            if increment == 0 or self.window + increment > MAX_WINDOW:
                raise _Silent("WINDOW_UPDATE: connection")
            self.window += increment
            return
        if self._idle(sid):
            raise _Silent("WINDOW_UPDATE: idle stream")
        stream = self.streams.get(sid)
        if stream is None:
            return
        if increment == 0 or stream.window + increment > MAX_WINDOW:
            raise _Silent("WINDOW_UPDATE: stream")
        stream.window += increment

    def _data(self, flags: int, sid: int, payload: bytes) -> None:
        stream = self.streams.get(sid)  # _frame_head checked the stream
        if stream is None:
            return  # a closed stream: ignored before its padding is looked at or it is counted
        padding = 0
        if flags & http2.FLAG_PADDED:
            if not payload or payload[0] + 1 > len(payload):
                raise _GoAway("DATA: invalid padding")
            padding = payload[0] + 1
        self._track(http2.DATA, flags, len(payload), padding)
        size = len(payload) - padding
        end = bool(flags & http2.FLAG_END_STREAM)
        received = stream.received + size
        if stream.content_length is not None and (
            received > stream.content_length or (end and received != stream.content_length)
        ):
            # nghttp2 resets the stream (PROTOCOL_ERROR); Envoy's codec hands a DATA frame's
            # payload on only once the frame was accepted, so none of it is forwarded. A body
            # too long is caught mid-frame (the frame's END_STREAM is never seen), one too
            # short at its end (the stream is half-closed).
            if end and received <= stream.content_length:
                stream.remote_closed = True
            self._reset(stream, ErrorCodes.PROTOCOL_ERROR)
            return
        stream.received = received
        request = None if stream.reset or stream.local_reply else stream.request
        if request is not None:
            request.body += size
        if end:
            stream.remote_closed = True
            if request is not None:
                request.complete = True

    def _headers(self, flags: int, sid: int, payload: bytes) -> None:
        start = 0
        end = len(payload)
        if flags & http2.FLAG_PADDED:
            if not payload:
                raise _GoAway("HEADERS: invalid padding")
            start = 1
            end -= payload[0]
        depends_on = 0
        if flags & http2.FLAG_PRIORITY:
            depends_on = int.from_bytes(payload[start : start + 4], "big") & 0x7FFFFFFF
            start += 5
        if end < start:
            raise _GoAway("HEADERS: invalid padding")
        self._track(http2.HEADERS, flags, len(payload), 0)
        block = _Block(sid, bool(flags & http2.FLAG_END_STREAM), [payload[start:end]])
        block.depends_on = depends_on
        self._begin_headers(block)
        if flags & http2.FLAG_END_HEADERS:
            self._header_block(block)
        else:
            self.block = block

    def _continuation(self, flags: int, sid: int, payload: bytes) -> None:
        block = self.block
        assert block is not None  # _frame_head saw to it
        if sid != block.sid:
            raise _GoAway("unexpected non-CONTINUATION frame or stream_id is invalid")
        self._track(http2.CONTINUATION, flags, len(payload), 0)
        block.fragments.append(payload)
        if flags & http2.FLAG_END_HEADERS:
            self.block = None
            self._header_block(block)

    # --- header blocks --------------------------------------------------------------------------

    def _begin_headers(self, block: _Block) -> None:
        """What the HEADERS frame is, decided when it starts (nghttp2's
        session_process_headers_frame): a new request, trailers, or ignored."""
        sid = block.sid
        if sid == 0:
            raise _Silent("HEADERS: stream_id == 0")
        stream = self.streams.get(sid)
        if stream is None:
            if sid % 2 == 0:
                raise _Silent("request HEADERS: invalid stream_id")
            if sid <= self.last_recv:
                return  # a lower, closed or never-seen stream: ignored
            self.last_recv = sid
            # nghttp2 counts open streams against Envoy's SETTINGS once the client ACKed them
            # (a connection error then), against the value it sent before (REFUSED_STREAM)
            limit = MAX_CONCURRENT_STREAMS
            if len(self.streams) >= limit and self._active_streams() >= limit:
                if not self.settings_acks_expected:
                    raise _Silent("request HEADERS: max concurrent streams exceeded")
                self._queue_control("rst_stream", sid, ErrorCodes.REFUSED_STREAM)
                return
            if block.depends_on == sid:
                raise _Silent("request HEADERS: depend on itself")
            self.constraints.opened_streams += 1
            stream = _Stream(sid, self.initial_window)
            self.streams[sid] = stream
            block.kind = "request"
        elif stream.remote_closed:
            raise _Silent("HEADERS: stream closed")
        else:
            block.kind = "trailers"
        block.stream = stream

    def _partial_headers(self, flags: int, sid: int, available: bytes) -> None:
        """A HEADERS frame cut short: nghttp2 has begun the stream and inflates, field by
        field, what arrived (a field cut short is just waited for)."""
        block = _Block(sid, False)
        self._begin_headers(block)
        start = (1 if flags & http2.FLAG_PADDED else 0) + (5 if flags & http2.FLAG_PRIORITY else 0)
        fields, error = inflate(self.decoder, available[start:])
        if error is not None and error.startswith(TRUNCATED):
            error = None
        stream = block.stream
        if stream is not None and block.kind == "request":
            self._request(stream, fields, False, error or "incomplete")
        elif stream is not None and block.kind == "trailers":
            self._trailers(stream, fields, False, error or "incomplete")
        if error is not None:
            raise _GoAway(f"COMPRESSION_ERROR: {error}")

    def _header_block(self, block: _Block) -> None:
        raw = block.fragments[0] if len(block.fragments) == 1 else b"".join(block.fragments)
        fields, error = inflate(self.decoder, raw)  # ignored blocks too: HPACK state moves on
        stream = block.stream
        if stream is not None and block.kind == "request":
            self._request(stream, fields, block.end_stream, error)
        elif stream is not None and block.kind == "trailers":
            self._trailers(stream, fields, block.end_stream, error)
        if error is not None:
            raise _GoAway(f"COMPRESSION_ERROR: {error}")

    def _check_regular(self, name: bytes, value: bytes) -> None:
        error = regular_field_error(name, value)
        if error is not None:
            raise _Silent(error)

    def _over_limits(self, count: int, size: int) -> bool:
        return count > self.max_headers_count or size > self.max_headers_bytes

    def _request(
        self, stream: _Stream, fields: list[tuple[bytes, bytes]], end: bool, error: str | None
    ) -> None:
        """A request's header fields, checked one by one as nghttp2 inflates them (an HPACK
        ``error`` after them ends the session once they passed)."""
        pseudo: dict[bytes, bytes] = {}
        regular: list[tuple[bytes, bytes]] = []
        content_length: int | None = None
        underscores = self.config.headers_with_underscores_action
        count = size = 0
        for name, value in fields:
            if name[:1] == b":":
                if regular or name not in REQUEST_PSEUDO or name in pseudo:
                    raise _Silent(f"bad pseudo-header {name!r}")
                if not pseudo_ok(name, value):
                    raise _Silent(f"invalid {name!r}")
                pseudo[name] = value
            else:
                self._check_regular(name, value)
                if name == b"content-length":
                    if content_length is not None or not value.isdigit():
                        raise _Silent("bad content-length")
                    content_length = decimal_value(value)
                elif name == b"host" and (not value or not AUTHORITY_CHARS.issuperset(value)):
                    raise _Silent("bad host")
            count += 1
            size += len(name) + len(value)
            if self._over_limits(count, size):
                self._reset(stream, ErrorCodes.INTERNAL_ERROR)  # Envoy's header callback fails
                return
            if b"_" in name and underscores != "ALLOW" and name[:1] != b":":
                if underscores == "REJECT_REQUEST":
                    self._reset(stream, ErrorCodes.INTERNAL_ERROR)
                    return
                continue  # DROP_HEADER
            if name[:1] != b":":
                regular.append((name, value))
        if error is not None:
            return
        method = pseudo.get(b":method")
        if method == b"CONNECT":
            if b":protocol" in pseudo:
                raise _Silent(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL")
            if b":path" in pseudo or b":scheme" in pseudo or b":authority" not in pseudo:
                raise _Silent("bad CONNECT request")
        else:
            if method is None or b":path" not in pseudo or b":scheme" not in pseudo:
                raise _Silent("missing pseudo-header")
            if b":protocol" in pseudo:
                raise _Silent(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL")
            if b":authority" not in pseudo and not any(n == b"host" for n, _ in regular):
                raise _Silent("no :authority and no host")
            path = pseudo[b":path"]
            if pseudo[b":scheme"] in (b"http", b"https") and not (
                path[:1] == b"/" or (method == b"OPTIONS" and path == b"*")
            ):
                raise _Silent("bad :path")
        if end:
            stream.remote_closed = True
            if content_length not in (None, 0):
                raise _Silent("END_STREAM with a non-zero content-length")
        stream.content_length = content_length
        self._connection_manager(stream, pseudo, regular, end)

    def _trailers(
        self, stream: _Stream, fields: list[tuple[bytes, bytes]], end: bool, error: str | None
    ) -> None:
        size = 0
        for count, (name, value) in enumerate(fields, 1):
            if name[:1] == b":":
                raise _Silent("pseudo-header in trailers")
            self._check_regular(name, value)
            size += len(name) + len(value)
            if self._over_limits(count, size) or (
                b"_" in name and self.config.headers_with_underscores_action == "REJECT_REQUEST"
            ):
                self._reset(stream, ErrorCodes.INTERNAL_ERROR)
                return
        if error is not None:
            return
        if not end:
            raise _Silent("trailers without END_STREAM")
        stream.remote_closed = True
        if stream.content_length is not None and stream.received != stream.content_length:
            self._reset(stream, ErrorCodes.PROTOCOL_ERROR)
            return
        request = stream.request
        if request is not None and not stream.reset and not stream.local_reply:
            request.complete = True  # trailers are dropped on the way to an HTTP/1 upstream

    def _reset(self, stream: _Stream, code: int) -> None:
        """Envoy/nghttp2 reset the stream: one RST_STREAM queued."""
        if not stream.reset:
            stream.reset = True
            if stream.request is not None:
                stream.request.reset = True
            self._queue_control("rst_stream", stream.sid, code)

    def _local_reply(self, stream: _Stream, status: int) -> None:
        stream.local_reply = True
        self.local.append(status)
        if self.wire:
            self.sent.append(Sent("headers", stream.sid, status, end_stream=True))
        self.frames += 1
        if not stream.remote_closed:
            # the response ends the stream; Envoy resets the request side
            self._reset(stream, ErrorCodes.NO_ERROR)

    # --- connection manager and router -----------------------------------------------------------

    def _connection_manager(
        self,
        stream: _Stream,
        pseudo: dict[bytes, bytes],
        regular: list[tuple[bytes, bytes]],
        end: bool,
    ) -> None:
        method = pseudo[b":method"]
        path = pseudo.get(b":path", b"")
        grpc = is_grpc_content_type(content_type(regular))
        if b"#" in path:
            self._local_reply(stream, OK if grpc else BAD_REQUEST)
            return
        headers: list[tuple[str, str]] = []
        authority = pseudo.get(b":authority")
        cookies: list[bytes] = []
        for name, value in regular:
            if name == b"host":
                if authority is None:
                    authority = value
                continue  # :authority wins (http2_discard_host_header)
            if name == b"cookie":
                cookies.append(value)
                continue
            if name == b"expect" and value.lower() == b"100-continue":
                self.local.append(CONTINUE)
                if self.wire:
                    self.sent.append(Sent("headers", stream.sid, CONTINUE))
                self.frames += 1
                continue
            if name == b"te" and value != b"trailers":
                continue  # Envoy keeps te only as "trailers" (nghttp2 took any case of it)
            headers.append((_latin1(name), _latin1(value.strip(b" \t"))))
        if method == b"CONNECT" or path[:1] != b"/":
            self._local_reply(stream, OK if grpc else NOT_FOUND)
            return
        if self.config.direct_response:
            self._local_reply(stream, OK)  # the route answers itself
            return
        assert authority is not None
        headers.insert(0, ("host", _latin1(authority)))
        if cookies:
            headers.append(("cookie", _latin1(b"; ".join(cookies))))
        headers = upstream_headers(headers)
        m = _latin1(method)
        headers += http1_framing(headers, m, end)
        request = _Forwarded(m, _latin1(path), headers, complete=end, waits=not self.pooled)
        self.pooled = max(0, self.pooled - 1)
        stream.request = request
        self.forwarded.append(request)

    # --- outcome ----------------------------------------------------------------------------------

    def outbound_flood(self) -> bool:
        limits = self.constraints.limits
        return (
            self.control_frames > limits.max_outbound_control_frames
            or self.frames > limits.max_outbound_frames
        )


def _requests(conn: _Connection, ended: bool = False) -> list[UpstreamRequest]:
    """What reached the upstream (a waiting one unless it or, ``ended``, the connection ended)."""
    kept = [r for r in conn.forwarded if not r.waits or not (ended or r.reset)]
    out = [UpstreamRequest(r.method, r.target, r.headers, r.body) for r in kept]
    out.sort(key=_content_key)
    return out


def predict_http2_detail(
    data: bytes, config: ProxyConfig | None = None, reads: Sequence[int] | None = None
) -> Http2Prediction:
    """``predict_http2`` with whether ``closed`` is observable and why the connection ended;
    with ``reads`` (as in ``_Connection.run``) also the frames Envoy writes (``queued``,
    ``answers``); the lane sends everything at once and reads no frames: None."""
    config = config or ProxyConfig(downstream="http2")
    _check_config(config, data)
    conn = _Connection(config, wire=reads is not None)
    try:
        conn.run(data, reads or ())
    except _GoAway as e:
        # Nothing queued in this read is sent but the GOAWAY; the lane stops at it.
        observed = Observation([], _requests(conn, ended=True), True)
        code = http2_wire.goaway_code(str(e))
        return Http2Prediction(observed, False, f"GOAWAY: {e}", goaway=code)
    except (_Silent, _Flood) as e:
        # Closed after the delayed-close timer, nothing queued sent. The lane reports the close
        # only if it was still waiting then: for an upstream answer (a request that ended).
        waiting = any(r.complete and not r.waits for r in conn.forwarded)
        observed = Observation([], _requests(conn, ended=True), False)
        return Http2Prediction(observed, waiting, str(e), closes=True)
    premature = conn.premature_resets * 2 >= DEFAULT_LIMITS.premature_reset_total_stream_count
    if premature or conn.resets_received > DEFAULT_LIMITS.stream_reset_burst:
        # rapid-reset defences (premature resets, nghttp2's reset limit): aborted, nothing sent
        observed = Observation([], _requests(conn, ended=True), True)
        return Http2Prediction(observed, True, "too many premature resets", closes=True)
    answered = [r for s in conn.streams.values() if (r := s.request) and r.complete and not s.reset]
    # Complete requests whose stream the client reset get an upstream answer nobody reads.
    if conn.outbound_flood():
        # The queued frames are written, then the connection is closed: no upstream answer
        # comes down any more.
        waiting = any(r.complete and not r.waits for r in conn.forwarded)
        observed = Observation(list(conn.local), _requests(conn, ended=True), False)
        return Http2Prediction(observed, waiting, "outbound flood", tuple(conn.sent), closes=True)
    statuses = conn.local + [UPSTREAM_OK] * (len(answered) + conn.relayed_ok)
    observed = Observation(statuses, _requests(conn), False)
    if reads is None:
        return Http2Prediction(observed)  # the lane's view: no frames needed
    queued = tuple(conn.sent)
    conn.relay_answers()
    return Http2Prediction(observed, queued=queued, answers=tuple(conn.sent[len(queued) :]))


def predict_http2(data: bytes, config: ProxyConfig | None = None) -> Observation:
    """What Envoy 1.40 visibly does with ``data`` sent on a fresh HTTP/2 connection."""
    return predict_http2_detail(data, config).observation


def _check_config(config: ProxyConfig, data: bytes) -> None:
    if config.downstream == "http1" or (
        config.downstream == "auto" and not (config.speaks_http2(data) or PREFACE.startswith(data))
    ):
        raise ValueError("predict_http2 models HTTP/2 downstream connections only")
    if config.upstream != "http1":
        raise ValueError("predict_http2 models an HTTP/1 upstream (the comparable view) only")
