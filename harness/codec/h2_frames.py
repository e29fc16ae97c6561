"""Envoy's HTTP/2 test-frame builders: the exact bytes Envoy's fuzzers write.

* ``h2_test_frame_bytes``: an ``H2TestFrame`` (h2_capture_fuzz.proto) as the newest seen
  test/common/http/http2/http2_frame.cc writes it (the generation h2_fuzz.cc a19aa54 calls):
  stream_index used directly as the stream id (htonl), empty HEADERS/CONTINUATION/DATA
  payloads, fixed HPACK for request/post_request/status, RST_STREAM and GOAWAY error codes
  copied in host byte order (little-endian on x86) and truncated to the uint8 ErrorCode enum.
* ``h2_capture_event_bytes``: one ``Event`` of an ``H2CaptureFuzzTestCase``.
* ``http2_connection_frame_bytes`` / ``http2_connection_case_bytes``: the
  ``Http2ConnectionFuzzCase`` frames as http2_connection_fuzz_test.cc builds them.
* frame_replay.{h,cc}: the well-known frames and ``fixup_headers``.
"""

from __future__ import annotations

import struct
from typing import Any

from harness.codec import hpack, http2
from harness.codec.memo import Memo

PREFACE = http2.PREFACE

# frame_replay.cc: INITIAL_WINDOW_SIZE = 2^31-1 and ENABLE_PUSH = 0.
DEFAULT_SETTINGS_FRAME = bytes.fromhex("00000c04000000000000047fffffff000200000000")
# frame_replay.cc: stream 0, increment 268369921 (256 MiB - 65535).
INITIAL_WINDOW_UPDATE_FRAME = bytes.fromhex("0000040800000000000fff0001")
EMPTY_SETTINGS_FRAME = http2.build_frame(http2.SETTINGS, 0, 0)

_LE32 = struct.Struct("<I")
_BE32 = struct.Struct(">I")


def fixup_headers(frame: bytes) -> bytes:
    """frame_replay's FrameUtils::fixupHeaders: pad to 9 bytes, then rewrite the header as a
    HEADERS frame (END_STREAM|END_HEADERS, stream 1) whose length is the rest of the bytes."""
    if len(frame) < http2.HEADER_SIZE:
        frame = frame + b"\x00" * (http2.HEADER_SIZE - len(frame))
    payload = frame[http2.HEADER_SIZE :]
    # The 24-bit length field keeps only the low 24 bits of a longer input, as in Envoy.
    return http2.frame_header(len(payload) & 0xFFFFFF, http2.HEADERS, 0x05, 1) + payload


# --- h2_capture_fuzz.proto -> bytes ------------------------------------------------------------


def _sid(index: int) -> int:
    return index & 0xFFFFFFFF  # makeNetworkOrderStreamId: htonl, every bit kept


def _or_flags(flags: Any) -> int:
    value = 0
    for f in flags:
        value |= f
    return value & 0xFF  # static_cast to the uint8_t HeadersFlags enum


def _str(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")


def _request(stream: int, host: str, path: str, method_index: int, flags: int) -> bytes:
    block = hpack.indexed(method_index) + hpack.indexed(hpack.SCHEME_HTTPS)
    if path in ("", "/"):
        block += hpack.indexed(hpack.PATH_ROOT)
    else:
        block += hpack.literal_without_indexing(hpack.PATH, _str(path))
    block += hpack.literal_without_indexing(hpack.AUTHORITY, _str(host))
    return http2.build_frame(http2.HEADERS, flags, _sid(stream), block)


_STATUS_INDEX = {
    b"200": hpack.STATUS_200,
    b"204": hpack.STATUS_204,
    b"206": hpack.STATUS_206,
    b"304": hpack.STATUS_304,
    b"400": hpack.STATUS_400,
    b"500": hpack.STATUS_500,
}


def _status(status: bytes, stream: int) -> bytes:
    # makeHeadersFrameWithStatus with its default flags END_STREAM|END_HEADERS.
    index = _STATUS_INDEX.get(status)
    if index is not None:
        block = hpack.indexed(index)
    else:
        block = hpack.literal_without_indexing_new_name(b":status", status)
    return http2.build_frame(http2.HEADERS, 0x05, _sid(stream), block)


def _metadata(flags: int, stream: int, metadata: Any) -> bytes:
    # QUICHE HpackEncoder with compression disabled: every pair a literal without indexing,
    # new name, no Huffman. Envoy's MetadataMap is an unordered hash map, so its order is not
    # reproducible; ours is by key, since a protobuf map's iteration order differs from one
    # process to the next (the same testcase gave other bytes in each run).
    block = b"".join(
        hpack.literal_without_indexing_new_name(_str(k), _str(v))
        for k, v in sorted(metadata.items())
    )
    return http2.build_frame(http2.METADATA, flags & 0xFF, _sid(stream), block)


def get_request_frame(stream: int, host: str, path: str) -> bytes:
    """A complete GET as Envoy's ``request`` test frame writes it (END_STREAM|END_HEADERS)."""
    return _request(stream, host, path, hpack.METHOD_GET, 0x05)


def h2_test_frame_bytes(frame: Any) -> bytes:
    """The bytes Envoy's h2_fuzz.cc ``sendFrame`` writes for one ``H2TestFrame``."""
    kind = frame.WhichOneof("frame_type")
    if kind is None:
        return b""  # "Proto-frame not supported!": an empty Http2Frame, zero bytes
    f = getattr(frame, kind)
    if kind == "ping":
        # makePingFrame: the flags (ACK) are ignored; first 8 bytes of data, zero-padded.
        return http2.build_frame(http2.PING, 0, 0, f.data[:8].ljust(8, b"\x00"))
    if kind == "settings":
        return http2.build_frame(http2.SETTINGS, f.flags & 0xFF, 0)
    if kind == "headers":
        return http2.build_frame(http2.HEADERS, _or_flags(f.flags), _sid(f.stream_index))
    if kind == "continuation":
        return http2.build_frame(http2.CONTINUATION, _or_flags(f.flags), _sid(f.stream_index))
    if kind == "data":
        return http2.build_frame(http2.DATA, f.flags & 0xFF, _sid(f.stream_index))
    if kind == "priority":
        payload = _BE32.pack(_sid(f.dependent_index)) + b"\x00"  # weight byte left 0
        return http2.build_frame(http2.PRIORITY, 0, _sid(f.stream_index), payload)
    if kind == "push_promise":
        payload = _BE32.pack(_sid(f.promised_stream_index))
        return http2.build_frame(
            http2.PUSH_PROMISE, _or_flags(f.flags), _sid(f.stream_index), payload
        )
    if kind == "reset_stream":
        payload = _LE32.pack(f.error_code & 0xFF)
        return http2.build_frame(http2.RST_STREAM, 0, _sid(f.stream_index), payload)
    if kind == "go_away":
        payload = _BE32.pack(_sid(f.last_stream_index)) + _LE32.pack(f.error_code & 0xFF)
        return http2.build_frame(http2.GOAWAY, 0, 0, payload)
    if kind == "window_update":
        payload = _BE32.pack(f.increment & 0xFFFFFFFF)
        return http2.build_frame(http2.WINDOW_UPDATE, 0, _sid(f.stream_index), payload)
    if kind == "malformed_request":
        # :status 200 in a request.
        block = hpack.indexed(hpack.STATUS_200)
        return http2.build_frame(http2.HEADERS, 0x05, _sid(f.stream_index), block)
    if kind == "malformed_request_with_zerolen_header":
        block = (
            hpack.indexed(hpack.METHOD_GET)
            + hpack.indexed(hpack.SCHEME_HTTPS)
            + hpack.literal_without_indexing(hpack.PATH, _str(f.path))
            + hpack.literal_without_indexing(hpack.AUTHORITY, _str(f.host))
            + hpack.empty_literal_with_indexing()
        )
        return http2.build_frame(http2.HEADERS, 0x05, _sid(f.stream_index), block)
    if kind == "request":
        return _request(f.stream_index, f.host, f.path, hpack.METHOD_GET, 0x05)
    if kind == "post_request":
        return _request(f.stream_index, f.host, f.path, hpack.METHOD_POST, 0x04)
    if kind == "generic":
        return bytes(f.frame_bytes)
    if kind == "status":
        return _status(bytes(f.status), f.stream_index)
    if kind == "metadata":
        return _metadata(f.flags, f.stream_index, f.metadata.metadata)
    raise AssertionError(f"H2TestFrame.{kind} has no builder")  # a new oneof member


_event_bytes: Memo[bytes, tuple[str | None, bytes]] = Memo()


def h2_capture_event_bytes(event: Any) -> tuple[str | None, bytes]:
    """One ``Event``: ("downstream" | "upstream" | None, the frames' bytes concatenated).

    The 24-byte preface h2_fuzz.cc writes before the first downstream event is not included.
    Looked up by the event's serialized bytes first: a mutation changes one or two events of
    a testcase, and building the rest again was 18 % of h2_capture's time (profiled).
    """
    key = event.SerializePartialToString()
    found = _event_bytes.get(key)
    return found if found is not None else _event_bytes.keep(key, _build_event_bytes(event))


def _build_event_bytes(event: Any) -> tuple[str | None, bytes]:
    which = event.WhichOneof("event_selector")
    if which is None:
        return None, b""
    frames = getattr(event, which).h2_frames
    side = "downstream" if which == "downstream_send_event" else "upstream"
    return side, b"".join(map(_frame_bytes, frames))


_frame_bytes_cache: Memo[bytes, bytes] = Memo()


def _frame_bytes(frame: Any) -> bytes:
    """``h2_test_frame_bytes``, looked up by the frame's serialized bytes first: a mutated
    event differs from its parent in one frame or two (building the others again was 8 % of
    h2_capture's time, profiled)."""
    key = frame.SerializePartialToString()
    found = _frame_bytes_cache.get(key)
    return found if found is not None else _frame_bytes_cache.keep(key, h2_test_frame_bytes(frame))


# --- http2_connection.proto -> bytes ------------------------------------------------------------

MAX_HEADERS_PER_BLOCK = 32  # http2_connection_fuzz_test.cc MAX_HEADERS
MAX_BLOCK_BYTES = 4096  # its deflate buffer: a larger block makes nghttp2 fail, nothing written


def make_client_stream_id(index: int) -> int:
    """Http2Frame::makeClientStreamId: (index << 1) | 1 on uint32."""
    return ((index << 1) | 1) & 0xFFFFFFFF


def _deflate(encoder: hpack.HpackPair, headers: Any) -> bytes:
    # Envoy uses nghttp2's deflater; ours is the hpack package's (same header list, not the
    # same bytes: nghttp2 chooses indexing and Huffman differently).
    pairs = [(_str(h.key), _str(h.value)) for h in list(headers.headers)[:MAX_HEADERS_PER_BLOCK]]
    block = encoder.encode(pairs)
    return block if len(block) <= MAX_BLOCK_BYTES else b""


def http2_connection_frame_bytes(encoder: hpack.HpackPair, item: Any) -> bytes:
    """One ``Http2FrameOrJunk`` as pbToH2Frame builds it (``encoder`` is the case's deflater)."""
    kind = item.WhichOneof("frame")
    if kind == "junk":
        return bytes(item.junk.data)
    if kind is None:
        return b""
    h2f = item.h2frame
    sub = h2f.WhichOneof("frame")
    if sub is None:
        return b""
    flags = h2f.flags & 0xFF
    padded = bool(flags & http2.FLAG_PADDED)
    f = getattr(h2f, sub)
    payload: bytes
    if sub == "data":
        type_, payload = http2.DATA, bytes(f.data)  # the padding field is not used
    elif sub == "headers":
        type_ = http2.HEADERS
        pad = bytes(f.padding)[:255]
        payload = bytes([len(pad)]) if padded else b""
        payload += _BE32.pack(f.stream_dependency)
        if 0 < f.weight <= 256:
            payload += bytes([(f.weight - 1) & 0xFF])
        payload += _deflate(encoder, f.headers)
        payload += pad if padded else b""
    elif sub == "priority":
        type_ = http2.PRIORITY
        payload = _BE32.pack(f.stream_dependency) + bytes([f.weight & 0xFF])
    elif sub == "rst":
        type_, payload = http2.RST_STREAM, _BE32.pack(f.error_code)
    elif sub == "settings":
        type_ = http2.SETTINGS
        # The identifier is copied in host byte order (no htons), the value with htonl.
        payload = b"".join(
            struct.pack("<H", s.identifier & 0xFFFF) + _BE32.pack(s.value) for s in f.settings
        )
    elif sub == "push_promise":
        type_ = http2.PUSH_PROMISE
        pad = bytes(f.padding)[:255]
        payload = bytes([len(pad)]) if padded else b""
        payload += _BE32.pack(f.stream_id) + _deflate(encoder, f.headers)
        payload += pad if padded else b""
    elif sub == "ping":
        type_, payload = http2.PING, struct.pack("<Q", f.data)  # host byte order
    elif sub == "go_away":
        type_ = http2.GOAWAY
        payload = _BE32.pack(f.last_stream_id) + _BE32.pack(f.error_code) + bytes(f.debug_data)
    elif sub == "window_update":
        type_, payload = http2.WINDOW_UPDATE, _BE32.pack(f.window_size_increment)
    else:  # continuation
        type_, payload = http2.CONTINUATION, _deflate(encoder, f.headers)
    if len(payload) > http2.MAX_PAYLOAD:
        payload = payload[: http2.MAX_PAYLOAD]  # the 24-bit length field cannot say more
    return http2.build_frame(type_, flags, make_client_stream_id(h2f.streamid), payload)


def http2_connection_case_bytes(case: Any) -> bytes | None:
    """Everything the fuzz test dispatches to the server codec; None for a case with no frames
    (Envoy skips those). Preface, an empty SETTINGS, then the frames."""
    if not case.frames:
        return None
    encoder = hpack.HpackPair()
    body = b"".join(http2_connection_frame_bytes(encoder, item) for item in case.frames)
    return PREFACE + EMPTY_SETTINGS_FRAME + body
