"""An HTTP/2 connection configured and limited like Envoy 1.40's codec, on top of ``h2``.

``h2`` does the protocol (state machines, flow control, HPACK, header validation). On top of
it this module adds what Envoy adds (source/common/http/http2/codec_impl.cc and
protocol_constraints.cc):

* Envoy's SETTINGS defaults (1.36+): max concurrent streams 1024, initial stream window
  16 MiB, connection window 24 MiB (a WINDOW_UPDATE after SETTINGS), HPACK table 4096;
  request/response header limits 60 KiB / 100 headers (a stream reset, INTERNAL_ERROR, as
  nghttp2 does when the header callback fails).
* Envoy's flood and abuse limits, counted as ``ProtocolConstraints`` counts them (see that
  class). Each inbound frame is tracked *before* h2 processes it, as Envoy's
  onBeforeFrameReceived / onBeginData callbacks do, so input is fed to h2 one frame at a time.
* An ``Outcome`` in Envoy's terms: connection error (with the GOAWAY code when one is sent),
  stream resets (RST_STREAM codes) or accepted.

Outbound frames count as "queued" until ``drain()`` (the socket write Envoy waits for).

Known differences from Envoy's nghttp2/oghttp2 codecs (h2 decides these, not us):
exceeding MAX_CONCURRENT_STREAMS is a connection PROTOCOL_ERROR (nghttp2 refuses the stream
while its SETTINGS are unacknowledged); a WINDOW_UPDATE with increment 0 or the reserved bit
set on a stream is a connection error (hyperframe rejects it while parsing); more than 64
CONTINUATION frames in one header block is a connection error (h2's own limit); an invalid
header is a connection error (as Envoy by default, but h2 also sends GOAWAY where Envoy just
closes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import h2
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes

from harness.codec import http2
from harness.codec.h2_clone import CowEncoder, CowSettings, DispatchTable, clone_h2
from harness.codec.h2_internals import H2_VERSION, install_header_check, receive_frame
from harness.codec.huffman import HUFFMAN_ENCODER

HEADER_ENTRY_OVERHEAD = 32  # RFC 7541 §4.1, what hpack adds per entry to the list size


@dataclass(frozen=True)
class Limits:
    """Envoy 1.40's Http2ProtocolOptions defaults (api/envoy/config/core/v3/protocol.proto)."""

    hpack_table_size: int = 4096
    max_concurrent_streams: int = 1024
    initial_stream_window_size: int = 16 * 1024 * 1024
    initial_connection_window_size: int = 24 * 1024 * 1024
    max_headers_kb: int = 60
    max_headers_count: int = 100
    max_outbound_frames: int = 10000
    max_outbound_control_frames: int = 1000
    max_consecutive_inbound_frames_with_empty_payload: int = 1
    max_inbound_priority_frames_per_stream: int = 100
    max_inbound_window_update_frames_per_data_frame_sent: int = 10
    allow_metadata: bool = False
    # overload.premature_reset_total_stream_count: half as many streams reset before an answer
    # abort the connection (observed on 1.40: 250 do, 249 do not)
    premature_reset_total_stream_count: int = 500
    # nghttp2's stream reset rate limit (burst 1000, 33 a second; an input arrives at once):
    # the 1,001st RST_STREAM received queues a GOAWAY and Envoy closes (observed on 1.40)
    stream_reset_burst: int = 1000
    # what Envoy's codec hands the HTTP/2 session at a time (one buffer slice)
    read_slice: int = 16384


DEFAULT_LIMITS = Limits()

# Envoy's stat names (http2.*) for each limit, used as the outcome's reason.
OUTBOUND_FLOOD = "http2.outbound_flood"
OUTBOUND_CONTROL_FLOOD = "http2.outbound_control_flood"
INBOUND_EMPTY_FRAMES_FLOOD = "http2.inbound_empty_frames_flood"
INBOUND_PRIORITY_FRAMES_FLOOD = "http2.inbound_priority_frames_flood"
INBOUND_WINDOW_UPDATE_FRAMES_FLOOD = "http2.inbound_window_update_frames_flood"
HEADER_OVERFLOW = "http2.header_overflow"


class ProtocolConstraints:
    """Envoy's flood counters (source/common/http/http2/protocol_constraints.cc), 1:1.

    Every check trips when a counter goes *above* its limit; the first failure sticks.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.outbound_frames = 0
        self.outbound_control_frames = 0
        self.outbound_data_frames = 0
        self.consecutive_empty = 0
        self.inbound_priority_frames = 0
        self.inbound_window_update_frames = 0
        self.opened_streams = 0
        self.status: str | None = None  # the stat of the first violation

    def copy(self) -> ProtocolConstraints:
        new = ProtocolConstraints.__new__(ProtocolConstraints)
        new.__dict__.update(self.__dict__)
        return new

    def inbound_state(self) -> tuple[int, int, int, str | None]:
        return (
            self.consecutive_empty,
            self.inbound_priority_frames,
            self.inbound_window_update_frames,
            self.status,
        )

    def restore_inbound(self, state: tuple[int, int, int, str | None]) -> None:
        (
            self.consecutive_empty,
            self.inbound_priority_frames,
            self.inbound_window_update_frames,
            self.status,
        ) = state

    def track_outbound(self, type: int, flags: int) -> str | None:
        """One frame queued for the peer (ConnectionImpl::addOutboundFrameFragment)."""
        self.outbound_frames += 1
        # onBeforeFrameSend: only PING/SETTINGS *ACKs* and RST_STREAM are control frames here.
        if (type in (http2.PING, http2.SETTINGS) and flags & http2.FLAG_ACK) or (
            type == http2.RST_STREAM
        ):
            self.outbound_control_frames += 1
        elif type == http2.DATA:
            self.outbound_data_frames += 1
        return self._check_outbound()

    def release_outbound(self) -> None:
        """The socket took everything queued (the drain trackers fire)."""
        self.outbound_frames = 0
        self.outbound_control_frames = 0

    def _check_outbound(self) -> str | None:
        if self.status is not None:
            return self.status
        if self.outbound_frames > self.limits.max_outbound_frames:
            self.status = OUTBOUND_FLOOD
        elif self.outbound_control_frames > self.limits.max_outbound_control_frames:
            self.status = OUTBOUND_CONTROL_FLOOD
        return self.status

    def track_inbound(self, type: int, flags: int, length: int, padding: int) -> str | None:
        """One received frame (ConnectionImpl::trackInboundFrames -> trackInboundFrame)."""
        if type in (http2.HEADERS, http2.CONTINUATION, http2.DATA):
            end_stream = type != http2.CONTINUATION and bool(flags & http2.FLAG_END_STREAM)
            if length - padding == 0 and not end_stream:
                self.consecutive_empty += 1
            else:
                self.consecutive_empty = 0
        elif type == http2.PRIORITY:
            self.inbound_priority_frames += 1
        elif type == http2.WINDOW_UPDATE:
            self.inbound_window_update_frames += 1
        return self._check_inbound()

    def _check_inbound(self) -> str | None:
        if self.status is not None:
            return self.status
        lim = self.limits
        if self.consecutive_empty > lim.max_consecutive_inbound_frames_with_empty_payload:
            self.status = INBOUND_EMPTY_FRAMES_FLOOD
        elif self.inbound_priority_frames > lim.max_inbound_priority_frames_per_stream * (
            1 + self.opened_streams
        ):
            self.status = INBOUND_PRIORITY_FRAMES_FLOOD
        elif self.inbound_window_update_frames > 5 + 2 * (
            self.opened_streams
            + lim.max_inbound_window_update_frames_per_data_frame_sent * self.outbound_data_frames
        ):
            self.status = INBOUND_WINDOW_UPDATE_FRAMES_FLOOD
        return self.status


@dataclass
class Outcome:
    """What Envoy would report for the input so far."""

    kind: str = "accepted"  # "accepted" | "stream_reset" | "connection_error"
    goaway_code: int | None = None  # GOAWAY error code sent, None when closed without one
    resets: list[tuple[int, int]] = field(default_factory=list)  # (stream id, RST_STREAM code)
    reason: str = ""  # Envoy stat name or h2's error text

    def __str__(self) -> str:
        if self.kind == "connection_error":
            code = "no GOAWAY" if self.goaway_code is None else f"GOAWAY {self.goaway_code}"
            return f"connection error ({code}): {self.reason}"
        if self.kind == "stream_reset":
            return f"stream reset {self.resets}: {self.reason}"
        return "accepted"


_HEADER_EVENTS = (
    h2.events.RequestReceived,
    h2.events.ResponseReceived,
    h2.events.InformationalResponseReceived,
    h2.events.TrailersReceived,
)


def _h2_config(client: bool) -> h2.config.H2Configuration:
    # Bytes headers and no normalization: the header list is checked as received.
    return h2.config.H2Configuration(
        client_side=client,
        header_encoding=None,
        validate_inbound_headers=True,
        normalize_inbound_headers=False,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )


_CONFIGS = {True: _h2_config(True), False: _h2_config(False)}


_REWRITTEN = frozenset({http2.HEADERS, http2.WINDOW_UPDATE})


def _hyperframe_workaround(data: bytes, header: http2.FrameHeader) -> bytes | None:
    """A frame nghttp2 accepts but hyperframe 6.1.0 rejects, rewritten to an equivalent one
    hyperframe accepts (None when the frame needs nothing):

    * HEADERS whose padding fills the rest of the payload (an empty header block fragment):
      hyperframe compares the pad length with the payload *after* the pad-length octet and
      calls it "Padding is too long". The padding carries nothing: we drop it.
    * WINDOW_UPDATE with the reserved bit set: RFC 9113 §6.9 says to ignore the bit, nghttp2
      masks it, hyperframe rejects the frame. We clear the bit.
    """
    offset, length, type_, flags, sid = header
    body = offset + http2.HEADER_SIZE
    if type_ == http2.HEADERS and flags & http2.FLAG_PADDED and length:
        priority = 5 if flags & http2.FLAG_PRIORITY else 0
        if data[body] + 1 + priority == length:
            payload = data[body + 1 : body + 1 + priority]
            return http2.build_frame(http2.HEADERS, flags & ~http2.FLAG_PADDED, sid, payload)
    elif type_ == http2.WINDOW_UPDATE and length == 4 and data[body] & 0x80:
        payload = bytes([data[body] & 0x7F]) + data[body + 1 : body + 4]
        return http2.build_frame(http2.WINDOW_UPDATE, flags, sid, payload)
    return None


class _Abort(Exception):
    """Stops h2's receive loop when the model closes the connection (not a ProtocolError,
    so h2 lets it through untouched)."""


install_header_check()

# h2's per-frame method, without its eager repr where we have the copy for this h2.
_RECEIVE_FRAME = (
    receive_frame if h2.__version__ == H2_VERSION else h2.connection.H2Connection._receive_frame
)


class _HookedH2(h2.connection.H2Connection):
    """h2's connection with a hook after each frame it processes, so the model sees every
    frame's events and output in order even when many frames are dispatched at once."""

    _envoy: EnvoyH2Connection
    _overflow_stream: int

    def _receive_frame(self, frame: Any) -> list[h2.events.Event]:
        highest = self.highest_inbound_stream_id
        try:
            events = _RECEIVE_FRAME(self, frame)
        except h2.exceptions.DenialOfServiceError:
            self._overflow_stream = frame.stream_id
            raise
        env = self._envoy
        if self.highest_inbound_stream_id > highest and not env.client:
            env.constraints.opened_streams += 1  # ServerConnectionImpl::onBeginHeaders
        if events:
            env.events.extend(events)
            for event in events:
                if isinstance(event, _HEADER_EVENTS):
                    env._check_headers(event)
        if self._data_to_send and not env._collect_outbound():
            raise _Abort  # an outbound limit tripped: stop dispatching
        return events


class EnvoyH2Connection:
    """One side of an HTTP/2 connection with Envoy's settings and limits (sans-IO)."""

    def __init__(self, client: bool = False, limits: Limits = DEFAULT_LIMITS) -> None:
        self.client = client
        self.limits = limits
        self.constraints = ProtocolConstraints(limits)
        self.outcome = Outcome()
        self.closed = False
        self.outbound = bytearray()  # queued for the peer, not yet drained
        self.events: list[h2.events.Event] = []
        self._pending = b""  # bytes of an incomplete frame (h2 buffers them too)
        self._preface_left = 0 if client else len(http2.PREFACE)
        self._metadata: dict[int, bytearray] = {}
        self._partial_tracked = False
        conn = _HookedH2(_CONFIGS[client])
        conn.encoder = CowEncoder()
        # hpack's Huffman coder, byte for byte, in linear time (harness.codec.huffman)
        conn.encoder.huffman_coder = HUFFMAN_ENCODER
        table = DispatchTable(conn._frame_dispatch_table, conn)
        conn._frame_dispatch_table = table  # type: ignore[assignment]  # duck-typed lookups
        conn._envoy = self
        conn._overflow_stream = 0
        conn.remote_settings = CowSettings(client=not client)
        conn.local_settings = CowSettings(
            client=client,
            initial_values={
                h2.settings.SettingCodes.HEADER_TABLE_SIZE: limits.hpack_table_size,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: limits.max_concurrent_streams,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: limits.initial_stream_window_size,
            },
        )
        conn.max_inbound_frame_size = conn.local_settings.max_frame_size
        # Enough for Envoy's header limits to be the ones that trip (see _check_headers);
        # beyond it hpack stops inflating (a compressed block can expand without bound).
        conn.decoder.max_header_list_size = (
            limits.max_headers_kb * 1024 + (limits.max_headers_count + 1) * HEADER_ENTRY_OVERHEAD
        )
        conn.initiate_connection()
        window_delta = limits.initial_connection_window_size - 65535
        if window_delta > 0:
            conn.increment_flow_control_window(window_delta)
        self.h2 = conn
        self._collect_outbound()

    # --- sending (the local application) ----------------------------------------------------

    def send_request(self, headers: list[tuple[bytes, bytes]], end_stream: bool = True) -> int:
        """Client: open a stream with ``headers``; returns its id."""
        stream_id = self.h2.get_next_available_stream_id()
        self.h2.send_headers(stream_id, headers, end_stream=end_stream)
        self.constraints.opened_streams += 1  # ClientConnectionImpl::newStream
        self._collect_outbound()
        return stream_id

    def send_headers(
        self, stream_id: int, headers: list[tuple[bytes, bytes]], end_stream: bool = False
    ) -> Outcome:
        """Send headers (a response on a server); the frames count against the limits."""
        self.h2.send_headers(stream_id, headers, end_stream=end_stream)
        self._collect_outbound()
        return self.outcome

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = False) -> Outcome:
        """Send one DATA frame; it counts as an outbound frame and an outbound DATA frame."""
        self.h2.send_data(stream_id, data, end_stream=end_stream)
        self._collect_outbound()
        return self.outcome

    def drain(self) -> bytes:
        """Everything queued for the peer; the outbound counters are released."""
        if not self.outbound:
            return b""  # nothing queued since the last drain: its counters are still 0
        out = bytes(self.outbound)
        self.outbound.clear()
        self.constraints.release_outbound()
        return out

    # --- receiving --------------------------------------------------------------------------

    def receive(self, data: bytes) -> Outcome:
        """Dispatch ``data`` from the peer; returns the (cumulative) outcome."""
        if self.closed or not data:
            return self.outcome
        if self._preface_left:
            n = min(self._preface_left, len(data))
            try:
                self.h2.receive_data(data[:n])
            except h2.exceptions.ProtocolError as e:
                return self._protocol_error(e)
            self._preface_left -= n
            data = data[n:]
        data = self._pending + data if self._pending else data
        headers, end = http2.scan_frames(data)
        if headers:
            if len(headers) > 1 and self._track_batch(data, headers):
                # No limit can trip on these frames: h2 takes them in one go (the hook on
                # h2's per-frame method still sees every frame, in order).
                if not self._dispatch(data[:end], headers[-1][4]):
                    return self.outcome
            else:
                for header in headers:
                    if not self._receive_frame(data, header):
                        return self.outcome
        self._pending = tail = data[end:]
        if len(tail) >= http2.HEADER_SIZE and not self._partial_tracked:
            # A frame whose header arrived but not all of its payload: Envoy's begin-frame
            # callback has already tracked it (DATA waits for its padding to be known).
            self._partial_tracked = True
            if tail[3] != http2.DATA:
                tripped = self.constraints.track_inbound(
                    tail[3], tail[4], int.from_bytes(tail[:3], "big"), 0
                )
                if tripped is not None:
                    self._flood(tripped)
        return self.outcome

    def _track_batch(self, data: bytes, headers: list[http2.FrameHeader]) -> bool:
        """Track all frames up front if that is exactly what tracking them one by one would
        do: no limit trips (the stream count only grows while they are processed, which only
        raises the limits), no bad padding, no METADATA to decode."""
        trial = self.constraints
        saved = trial.inbound_state()
        skip = self._partial_tracked
        metadata = self.limits.allow_metadata
        track = trial.track_inbound
        for header in headers:
            offset, length, type_, flags, _sid = header
            padding = 0
            if flags & http2.FLAG_PADDED:
                padding = http2.padding_length(data, offset, length, type_, flags)
            if (
                padding < 0
                or (type_ == http2.METADATA and metadata)
                or (type_ in _REWRITTEN and _hyperframe_workaround(data, header) is not None)
                or (
                    not skip
                    and (type_ != http2.PING or not flags & http2.FLAG_ACK)
                    and track(type_, flags, length, padding if type_ == http2.DATA else 0)
                    is not None
                )
            ):
                trial.restore_inbound(saved)
                return False
            skip = False
        self._partial_tracked = False
        return True

    def _receive_frame(self, data: bytes, header: http2.FrameHeader) -> bool:
        """Track and process the complete frame whose header is ``header`` (offset, length,
        type, flags, stream id) in ``data``; False once the connection is closed."""
        offset, length, type_, flags, sid = header
        stop = offset + http2.HEADER_SIZE + length
        if self._partial_tracked:
            self._partial_tracked = False  # tracked when its header arrived
        elif type_ != http2.PING or not flags & http2.FLAG_ACK:  # PING ACKs are not tracked
            padding = 0
            if flags & http2.FLAG_PADDED:
                padding = http2.padding_length(data, offset, length, type_, flags)
                if padding < 0:
                    # hyperframe misses some over-long padding (HEADERS with PRIORITY):
                    # nghttp2 treats padding beyond the payload as a connection PROTOCOL_ERROR.
                    self.h2._terminate_connection(ErrorCodes.PROTOCOL_ERROR)
                    self._connection_error(ErrorCodes.PROTOCOL_ERROR, "invalid padding")
                    self._collect_outbound()
                    return False
            # DATA is tracked with its padding (onBeginData), the rest without.
            tripped = self.constraints.track_inbound(
                type_, flags, length, padding if type_ == http2.DATA else 0
            )
            if tripped is not None:
                self._flood(tripped)
                return False
        if type_ == http2.METADATA and self.limits.allow_metadata:
            payload = data[offset + http2.HEADER_SIZE : stop]
            if not self._receive_metadata(http2.RawFrame(type_, flags, sid, payload)):
                return False
        wire = _hyperframe_workaround(data, header)
        if wire is None:
            wire = data[offset:stop] if offset or stop != len(data) else data
        return self._dispatch(wire, sid)

    def _dispatch(self, wire: bytes, stream_id: int) -> bool:
        """Hand whole frames to h2 (``_HookedH2._receive_frame`` does the per-frame work)."""
        try:
            self.h2.receive_data(wire)
        except _Abort:
            return False
        except h2.exceptions.DenialOfServiceError as e:
            # hpack's list-size cap tripped: the block broke Envoy's 60 KiB / 100 limit too.
            return self._header_overflow(self.h2._overflow_stream or stream_id, str(e))
        except h2.exceptions.ProtocolError as e:
            self._protocol_error(e)
            return False
        return not self.closed

    def _receive_metadata(self, frame: http2.RawFrame) -> bool:
        # Envoy's MetadataDecoder: the payloads up to END_METADATA form one HPACK block,
        # decoded with its own table; a block that does not decode is a connection error.
        block = self._metadata.setdefault(frame.stream_id, bytearray())
        block += frame.payload
        if frame.flags & http2.FLAG_END_METADATA:
            from harness.codec.hpack import HpackPair

            del self._metadata[frame.stream_id]
            try:
                HpackPair().decode(bytes(block))
            except Exception as e:  # hpack raises HPACKError and, on some inputs, others
                self.h2._terminate_connection(ErrorCodes.PROTOCOL_ERROR)
                self._connection_error(ErrorCodes.PROTOCOL_ERROR, f"metadata: {e}")
                self._collect_outbound()
                return False
        return True

    def _check_headers(self, event: Any) -> None:
        headers = event.headers or []
        size = 0
        for name, value in headers:
            size += len(name) + len(value)
        if len(headers) > self.limits.max_headers_count or size > self.limits.max_headers_kb * 1024:
            self._reset(event.stream_id, ErrorCodes.INTERNAL_ERROR, HEADER_OVERFLOW)

    def _reset(self, stream_id: int, code: int, reason: str) -> None:
        try:
            self.h2.reset_stream(stream_id, code)
        except h2.exceptions.ProtocolError:
            return
        if self.outcome.kind == "accepted":
            self.outcome.kind = "stream_reset"
            self.outcome.reason = reason

    # --- outcome bookkeeping ----------------------------------------------------------------

    def _collect_outbound(self) -> bool:
        out = self.h2.data_to_send()
        if not out:
            return not self.closed
        self.outbound += out
        track = self.constraints.track_outbound
        # A client's first bytes are the connection preface, which is not a frame.
        start = len(http2.PREFACE) if out.startswith(http2.PREFACE) else 0
        for offset, length, type_, flags, sid in http2.scan_frames(out, start)[0]:
            if type_ == http2.RST_STREAM and length == 4:
                code = int.from_bytes(out[offset + 9 : offset + 13], "big")
                self.outcome.resets.append((sid, code))
                if self.outcome.kind == "accepted":
                    self.outcome.kind = "stream_reset"
            elif type_ == http2.GOAWAY and length >= 8:
                code = int.from_bytes(out[offset + 13 : offset + 17], "big")
                if code != ErrorCodes.NO_ERROR:
                    self._connection_error(code, self.outcome.reason or "GOAWAY sent")
            tripped = track(type_, flags)
            if tripped is not None:
                self._flood(tripped)
                return False
        return not self.closed

    def _flood(self, stat: str) -> None:
        # The codec returns a flood error; the connection is closed without a GOAWAY.
        self._connection_error(None, stat)

    def _header_overflow(self, stream_id: int, detail: str) -> bool:
        # h2 cannot continue after hpack gave up mid-block, so the model stops here; Envoy
        # resets the stream and keeps the connection.
        self.outcome.kind = "stream_reset"
        self.outcome.resets.append((stream_id, ErrorCodes.INTERNAL_ERROR))
        self.outcome.reason = HEADER_OVERFLOW
        self.closed = True
        self.h2.data_to_send()  # h2's own GOAWAY is not what Envoy sends
        return False

    def _protocol_error(self, e: h2.exceptions.ProtocolError) -> Outcome:
        code = int(getattr(e, "error_code", ErrorCodes.PROTOCOL_ERROR))
        self._connection_error(code, f"{type(e).__name__}: {e}")
        self._collect_outbound()  # h2's GOAWAY is queued like any other frame
        return self.outcome

    def _connection_error(self, code: int | None, reason: str) -> Any:
        self.closed = True
        if self.outcome.kind != "connection_error":
            self.outcome.kind = "connection_error"
            self.outcome.goaway_code = int(code) if code is not None else None
            self.outcome.reason = reason
        return False

    def release(self) -> None:
        """Break the reference cycles (h2's bound-method table, our back-reference) so the
        connection is freed at once instead of by the cyclic GC; it is unusable afterwards.
        The fuzz targets call it after every input: less GC work per input."""
        conn: Any = self.h2
        conn._frame_dispatch_table = None
        conn._envoy = None

    # --- snapshots --------------------------------------------------------------------------

    def clone(self) -> EnvoyH2Connection:
        """An independent copy, much cheaper than building and replaying a new connection.

        The fuzz targets replay the same prefix (preface, SETTINGS, WINDOW_UPDATE) for every
        input: they build it once and clone it per input.
        """
        new = EnvoyH2Connection.__new__(EnvoyH2Connection)
        d = new.__dict__
        d.update(self.__dict__)
        d["constraints"] = self.constraints.copy()
        o = self.outcome
        d["outcome"] = Outcome(o.kind, o.goaway_code, list(o.resets), o.reason)
        d["outbound"] = bytearray(self.outbound)
        d["events"] = list(self.events)
        if self._metadata:
            d["_metadata"] = {k: bytearray(v) for k, v in self._metadata.items()}
        new.h2 = clone_h2(self.h2)
        new.h2._envoy = new
        return new
