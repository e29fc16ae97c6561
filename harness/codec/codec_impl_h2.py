"""One side of the ``codec_impl`` pair over HTTP/2: Envoy's codec API on ``EnvoyH2Connection``.

Envoy's ``Http2::ConnectionImpl`` offers encodeHeaders/Data/Trailers/Metadata, resetStream and
readDisable per stream; this adds them to our connection (which has the protocol and Envoy's
limits) with Envoy's semantics:

* data beyond the peer's flow-control window or the frame size is buffered per stream and sent
  as WINDOW_UPDATEs and SETTINGS open it (nghttp2's data provider); trailers wait behind it;
* received DATA is consumed (a WINDOW_UPDATE) at once, unless the stream is read-disabled:
  then when it is enabled again (Envoy's ``consumeData`` after ``readDisable(false)``);
* METADATA (frame 0x4D) is an HPACK block of its own encoder, split into frames of at most
  16 KiB, END_METADATA on the last (``MetadataEncoder``);
* every API call's output is one write (a fragment of the reorder buffer).

Decoded events reach the pair as ``Received`` tuples (see ``codec_impl``).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

import h2.events
import h2.exceptions
from h2.errors import ErrorCodes

from harness.codec import http2
from harness.codec.h2_connection import EnvoyH2Connection, Limits
from harness.codec.hpack import HpackPair

Headers = list[tuple[bytes, bytes]]
Body = bytes | memoryview  # body data: bytes, or a slice of a buffer (no copy)
# (kind, stream handle, payload, end): kind is "headers" (a request or a final response),
# "1xx", "data", "trailers", "end" (the peer ended its side) or "reset".
Received = tuple[str, int, Any, bool]

# Envoy's Http2ProtocolOptions ranges (Http2::Utility::OptionsLimits).
MAX_STREAMS = (1 << 31) - 1
MIN_WINDOW = 65535
MAX_WINDOW = (1 << 31) - 1
METADATA_FRAME_MAX = 16384

# Envoy casts ``reset_stream`` to a StreamResetReason; the codec turns a refused stream into
# REFUSED_STREAM and a CONNECT failure into CONNECT_ERROR, anything else into NO_ERROR. The
# enum's numbering is not checked here, so every reason sends NO_ERROR (the peer sees a reset
# either way).
RESET_CODE = ErrorCodes.NO_ERROR


def limits_from(settings: Any) -> Limits:
    """Envoy's fromHttp2Settings: each value folded into its valid range; metadata allowed."""
    return Limits(
        hpack_table_size=settings.hpack_table_size,
        max_concurrent_streams=1 + settings.max_concurrent_streams % MAX_STREAMS,
        initial_stream_window_size=MIN_WINDOW
        + settings.initial_stream_window_size % (1 + MAX_WINDOW - MIN_WINDOW),
        initial_connection_window_size=MIN_WINDOW
        + settings.initial_connection_window_size % (1 + MAX_WINDOW - MIN_WINDOW),
        allow_metadata=True,
    )


class _Pending:
    """Data (and trailers) a stream could not send yet for want of window: a queue of the
    writes, so appending to a blocked stream copies nothing."""

    __slots__ = ("chunks", "end_stream", "offset", "queued", "trailers")

    def __init__(self) -> None:
        self.chunks: deque[memoryview] = deque()
        self.offset = 0  # bytes of chunks[0] already sent
        self.queued = 0  # bytes not yet sent
        self.end_stream = False
        self.trailers: Headers | None = None

    def add(self, data: Body) -> None:
        if data:
            self.chunks.append(memoryview(data))
            self.queued += len(data)

    def take(self, size: int) -> bytes | memoryview:
        """The next ``size`` queued bytes (a frame's worth; copied only across writes)."""
        chunks = self.chunks
        first = chunks[0]
        start = self.offset
        if len(first) - start > size:
            self.offset = start + size
            self.queued -= size
            return first[start : start + size]
        parts = []
        need = size
        while need:
            chunk = chunks[0]
            piece = chunk[self.offset : self.offset + need]
            parts.append(piece)
            need -= len(piece)
            if self.offset + len(piece) == len(chunk):
                chunks.popleft()
                self.offset = 0
            else:
                self.offset += len(piece)
        self.queued -= size
        return parts[0] if len(parts) == 1 else b"".join(parts)


_TEMPLATE_LIMIT = 64  # connections kept by (side, settings); emptied when full
_templates: dict[tuple[bool, Limits], EnvoyH2Connection] = {}


def _new_connection(client: bool, limits: Limits) -> EnvoyH2Connection:
    """A fresh connection (its preface and SETTINGS queued), cloned from one built once per
    side and settings: building h2's connection costs more than copying one."""
    key = (client, limits)
    template = _templates.get(key)
    if template is None:
        if len(_templates) >= _TEMPLATE_LIMIT:
            _templates.clear()
        template = _templates[key] = EnvoyH2Connection(client=client, limits=limits)
    return template.clone()


# A server's state right after it received a client's connection preface, by (settings, the
# preface's bytes): every input's server starts by decoding the same few frames.
_HANDSHAKE_LIMIT = 256
_handshaken: OrderedDict[tuple[Limits, bytes], EnvoyH2Connection] = OrderedDict()


def preface_end(data: bytes) -> int:
    """Where a client's connection preface ends in ``data``: the preface string and the
    SETTINGS (not ACK) and connection WINDOW_UPDATE frames right after it; 0 when ``data``
    does not start with one."""
    if not data.startswith(http2.PREFACE):
        return 0
    end = 0
    for offset, length, type_, flags, sid in http2.scan_frames(data, len(http2.PREFACE))[0]:
        if sid or not (
            (type_ == http2.SETTINGS and not flags & http2.FLAG_ACK) or type_ == http2.WINDOW_UPDATE
        ):
            break
        end = offset + http2.HEADER_SIZE + length
    return end


def _after_preface(limits: Limits, preface: bytes) -> EnvoyH2Connection:
    """A new server connection (its own SETTINGS still queued: Envoy's server writes nothing
    before its first dispatch) that has received ``preface``: built once per settings and
    preface, then cloned. Receiving the rest of a write after it is receiving the whole
    write: it ends on a frame boundary, and ``EnvoyH2Connection.receive`` treats frames alike
    however the bytes are split."""
    key = (limits, preface)
    conn = _handshaken.get(key)
    if conn is None:
        if len(_handshaken) >= _HANDSHAKE_LIMIT:
            _handshaken.popitem(last=False)
        conn = _handshaken[key] = _new_connection(False, limits)
        conn.receive(preface)
    else:
        _handshaken.move_to_end(key)
    return conn.clone()


class H2Endpoint:
    """A client or server HTTP/2 codec with Envoy's per-stream API (sans-IO)."""

    http2 = True

    def __init__(self, client: bool, limits: Limits) -> None:
        self.client = client
        self.conn = _new_connection(client, limits)
        self.received: list[Received] = []
        self.error: str | None = None
        self._pending: dict[int, _Pending] = {}
        self._read_disabled: dict[int, int] = {}
        self._unacked: dict[int, int] = {}
        self._metadata_encoder: HpackPair | None = None  # made on first use
        # A server that received nothing yet: it has written nothing either (Envoy's codec
        # queues its SETTINGS in the constructor and writes them at the end of its first
        # dispatch, with what that dispatch answers), and see _after_preface
        self._fresh = not client

    # --- the codec API (the local application) ----------------------------------------------

    def new_stream(self, headers: Headers, end_stream: bool) -> int | None:
        """Client: a new request stream; None when h2 cannot open one (Envoy's pool would not
        have called newStream at the peer's concurrency limit)."""
        try:
            return self.conn.send_request(headers, end_stream=end_stream)
        except h2.exceptions.ProtocolError:
            # Too many streams, no stream ids left, or headers h2 will not send as a request
            # (a 1xx :status makes them informational): no stream.
            return None

    def send_1xx(self, sid: int, headers: Headers) -> None:
        self._call(self.conn.h2.send_headers, sid, headers, end_stream=False)

    def send_headers(self, sid: int, headers: Headers, end_stream: bool) -> None:
        self._call(self.conn.h2.send_headers, sid, headers, end_stream=end_stream)

    def send_data(self, sid: int, data: Body, end_stream: bool) -> None:
        self._fresh = False
        pending = self._pending.get(sid)
        if pending is None:
            pending = self._pending[sid] = _Pending()
        pending.add(data)
        pending.end_stream = end_stream
        self._flush(sid)

    def send_trailers(self, sid: int, headers: Headers) -> None:
        pending = self._pending.get(sid)
        if pending is not None and pending.queued:
            pending.trailers = headers
            return
        self._send_trailers(sid, headers)

    def _send_trailers(self, sid: int, headers: Headers) -> None:
        # Envoy sends empty trailers as an empty DATA frame with END_STREAM (h2 4.4.1 raises
        # IndexError on an empty header list).
        if headers:
            self._call(self.conn.h2.send_headers, sid, headers, end_stream=True)
        else:
            self._call(self.conn.h2.send_data, sid, b"", end_stream=True)

    def send_metadata(self, sid: int, metadata: Headers) -> None:
        self._fresh = False
        if self.conn.closed or not metadata:
            return
        if self._metadata_encoder is None:
            self._metadata_encoder = HpackPair()
        block = self._metadata_encoder.encode(metadata, huffman=True)
        frames = [
            block[i : i + METADATA_FRAME_MAX] for i in range(0, len(block), METADATA_FRAME_MAX)
        ]
        out = b"".join(
            http2.build_frame(
                http2.METADATA, http2.FLAG_END_METADATA if i == len(frames) - 1 else 0, sid, f
            )
            for i, f in enumerate(frames)
        )
        self.conn.outbound += out

    def reset(self, sid: int, reason: int) -> None:
        del reason  # see RESET_CODE
        self._pending.pop(sid, None)
        self._call(self.conn.h2.reset_stream, sid, RESET_CODE)

    def read_disable(self, sid: int, disable: bool) -> None:
        self._fresh = False
        count = self._read_disabled.get(sid, 0) + (1 if disable else -1)
        self._read_disabled[sid] = count
        if count == 0 and self._unacked.get(sid):
            self._ack(sid, self._unacked.pop(sid))
            self.conn._collect_outbound()

    def release(self) -> None:
        """Free the connection at once (see ``EnvoyH2Connection.release``); unusable after."""
        self.conn.release()

    def stream_open(self, sid: int) -> bool:
        stream = self.conn.h2.streams.get(sid)
        return stream is not None and not stream.closed

    # --- the wire ---------------------------------------------------------------------------

    def take_output(self) -> bytes:
        """What the codec wrote since the last call (one write: one fragment)."""
        if self._fresh:
            return b""  # a server before its first dispatch (see __init__)
        return self.conn.drain()

    def dispatch(self, data: bytes) -> bool:
        """Feed bytes from the peer; False when the codec reports an error."""
        conn = self.conn
        if self._fresh:
            self._fresh = False
            end = preface_end(data)
            if end:
                conn.release()
                self.conn = conn = _after_preface(conn.limits, bytes(data[:end]))
                data = data[end:]
        if conn.closed:
            return self._failed()
        conn.receive(data)
        self._process_events()
        return not conn.closed or self._failed()

    def _failed(self) -> bool:
        if self.error is None:
            self.error = str(self.conn.outcome)
        return False

    # --- internals --------------------------------------------------------------------------

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self._fresh = False
        if self.conn.closed:
            return
        try:
            fn(*args, **kwargs)
        except (h2.exceptions.StreamClosedError, h2.exceptions.NoSuchStreamError):
            return  # the peer reset or closed it first: Envoy's stream is gone too
        except h2.exceptions.FlowControlError:
            raise  # we sent past the window we computed: our bug
        except h2.exceptions.ProtocolError:
            # An API call h2's state machine refuses (e.g. headers on a half-closed stream):
            # Envoy's nghttp2 submit call fails the same way and the codec drops it.
            return
        self.conn._collect_outbound()

    def _flush(self, sid: int) -> None:
        """Send what the windows allow of ``sid``'s pending data, then its end or trailers.
        The frames are collected (and counted against the limits) once, at the end."""
        pending = self._pending.get(sid)
        conn = self.conn
        if pending is None or conn.closed:
            return
        h2c = conn.h2
        done = False  # all data sent
        while True:
            stream = h2c.streams.get(sid)
            if stream is None or stream.closed or not stream.open:
                self._pending.pop(sid, None)
                break
            if not pending.queued:
                done = True
                break
            size = min(h2c.local_flow_control_window(sid), h2c.max_outbound_frame_size)
            size = min(size, pending.queued)
            if size <= 0:
                break  # wait for a WINDOW_UPDATE or SETTINGS
            chunk = pending.take(size)
            last = not pending.queued and pending.end_stream and pending.trailers is None
            try:
                h2c.send_data(sid, chunk, end_stream=last)
            except (h2.exceptions.StreamClosedError, h2.exceptions.NoSuchStreamError):
                self._pending.pop(sid, None)
                break
        conn._collect_outbound()
        if not done or conn.closed:
            return
        del self._pending[sid]
        if pending.trailers is not None:
            self._send_trailers(sid, pending.trailers)
        elif pending.end_stream and not self._sent_end(sid):
            self._call(h2c.send_data, sid, b"", end_stream=True)

    def _sent_end(self, sid: int) -> bool:
        stream = self.conn.h2.streams.get(sid)
        return stream is None or stream.state_machine.state.name in ("HALF_CLOSED_LOCAL", "CLOSED")

    def _ack(self, sid: int, length: int) -> None:
        try:
            self.conn.h2.acknowledge_received_data(length, sid)
        except h2.exceptions.ProtocolError:
            pass  # the stream closed meanwhile: h2 still credits the connection window

    def _process_events(self) -> None:
        events = self.conn.events
        if not events:
            return
        out = self.received
        reopen: set[int] = set()
        consumed: dict[int, int] = {}  # acknowledged once per dispatch, not per frame
        unacked = self._unacked
        ev: Any
        for ev in events:
            kind = type(ev)
            if kind is h2.events.DataReceived:
                sid = ev.stream_id
                length = ev.flow_controlled_length
                if self._read_disabled.get(sid, 0) > 0:
                    unacked[sid] = unacked.get(sid, 0) + length
                elif length:
                    consumed[sid] = consumed.get(sid, 0) + length
                out.append(("data", sid, ev.data, False))
            elif kind in (h2.events.RequestReceived, h2.events.ResponseReceived):
                out.append(("headers", ev.stream_id, list(ev.headers), False))
            elif kind is h2.events.StreamEnded:
                out.append(("end", ev.stream_id, None, True))
            elif kind is h2.events.InformationalResponseReceived:
                out.append(("1xx", ev.stream_id, list(ev.headers), False))
            elif kind is h2.events.TrailersReceived:
                out.append(("trailers", ev.stream_id, list(ev.headers), False))
            elif kind is h2.events.StreamReset:
                self._pending.pop(ev.stream_id, None)
                out.append(("reset", ev.stream_id, ev.error_code, True))
            elif kind is h2.events.WindowUpdated:
                if ev.stream_id:
                    reopen.add(ev.stream_id)
                else:
                    reopen.update(self._pending)
            elif kind is h2.events.RemoteSettingsChanged:
                reopen.update(self._pending)
            elif kind is h2.events.ConnectionTerminated and self.error is None:
                self.error = f"GOAWAY {ev.error_code} received"
        events.clear()
        for sid, length in consumed.items():
            self._ack(sid, length)
        for sid in sorted(reopen):
            self._flush(sid)
        self.conn._collect_outbound()
