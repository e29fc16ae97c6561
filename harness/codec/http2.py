"""HTTP/2 frames (RFC 9113 §4, §6): parse and serialize every frame type, Envoy's METADATA
extension frame (type 0x4D) and unknown types, with padding and flags.

Two layers:

* ``split_frames`` / ``RawFrame``: the 9-byte header walk, byte-exact (every flag bit, the
  reserved stream-id bit and padding bytes are kept). It is ours because hyperframe drops
  unknown flags, the reserved bit and padding contents, and the connection model and Envoy's
  frame builders need the exact bytes. It is also the cheap path (no objects per field).
* ``parse_frame`` / ``serialize``: hyperframe's frame classes (wrapped, not re-implemented),
  with the places where hyperframe falls short patched here (see ``serialize``).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from hpack import Decoder
from hpack.exceptions import HPACKError
from hyperframe import frame as hf
from hyperframe.exceptions import HyperframeError

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADER_SIZE = 9
MAX_PAYLOAD = (1 << 24) - 1

# Frame types (RFC 9113 §6 and Envoy's METADATA extension, source/common/http/http2/metadata_*).
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9
ALTSVC = 0xA
METADATA = 0x4D

FRAME_NAMES = {
    DATA: "DATA",
    HEADERS: "HEADERS",
    PRIORITY: "PRIORITY",
    RST_STREAM: "RST_STREAM",
    SETTINGS: "SETTINGS",
    PUSH_PROMISE: "PUSH_PROMISE",
    PING: "PING",
    GOAWAY: "GOAWAY",
    WINDOW_UPDATE: "WINDOW_UPDATE",
    CONTINUATION: "CONTINUATION",
    ALTSVC: "ALTSVC",
    METADATA: "METADATA",
}

# Flags (RFC 9113 §6; END_METADATA is Envoy's, same bit as END_HEADERS).
FLAG_ACK = 0x1
FLAG_END_STREAM = 0x1
FLAG_END_HEADERS = 0x4
FLAG_END_METADATA = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

# SETTINGS identifiers (RFC 9113 §6.5.2, RFC 8441).
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6
SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8

PADDED_TYPES = frozenset({DATA, HEADERS, PUSH_PROMISE})

_HEADER = struct.Struct(">HBBBL")  # 24-bit length as 16 + 8, type, flags, stream id
_SETTING = struct.Struct(">HL")


class FrameError(ValueError):
    """A frame whose payload breaks RFC 9113's layout (hyperframe's errors, wrapped)."""


class RawFrame(NamedTuple):
    """One frame exactly as on the wire (``stream_id`` keeps the reserved bit)."""

    type: int
    flags: int
    stream_id: int
    payload: bytes

    @property
    def length(self) -> int:
        return len(self.payload)

    def padding_length(self) -> int:
        """Bytes of padding overhead (pad-length octet + padding), as nghttp2's ``padlen``.

        -1 when the PADDED flag is set but the pad length does not fit the payload.
        """
        if self.type not in PADDED_TYPES or not self.flags & FLAG_PADDED:
            return 0
        if not self.payload:
            return -1
        total = self.payload[0] + 1
        minimum = total + (5 if self.type == HEADERS and self.flags & FLAG_PRIORITY else 0)
        minimum += 4 if self.type == PUSH_PROMISE else 0
        return total if minimum <= len(self.payload) else -1

    def to_bytes(self) -> bytes:
        return frame_header(len(self.payload), self.type, self.flags, self.stream_id) + self.payload


def frame_header(length: int, type: int, flags: int, stream_id: int) -> bytes:
    """The 9-byte frame header (stream id written as given, reserved bit included)."""
    return _HEADER.pack(
        (length >> 8) & 0xFFFF, length & 0xFF, type & 0xFF, flags & 0xFF, stream_id & 0xFFFFFFFF
    )


def build_frame(type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return frame_header(len(payload), type, flags, stream_id) + payload


def split_frames(data: bytes, offset: int = 0) -> tuple[list[RawFrame], int]:
    """All complete frames in ``data[offset:]`` and the offset where an incomplete one starts."""
    frames: list[RawFrame] = []
    end = len(data)
    unpack = _HEADER.unpack_from
    while end - offset >= HEADER_SIZE:
        hi, lo, type_, flags, sid = unpack(data, offset)
        length = (hi << 8) | lo
        stop = offset + HEADER_SIZE + length
        if stop > end:
            break
        frames.append(RawFrame(type_, flags, sid, bytes(data[offset + HEADER_SIZE : stop])))
        offset = stop
    return frames, offset


FrameHeader = tuple[int, int, int, int, int]  # offset, length, type, flags, stream id


def scan_frames(data: bytes | bytearray, offset: int = 0) -> tuple[list[FrameHeader], int]:
    """The headers of all complete frames in ``data[offset:]`` (no payload copies; the hot
    path of the connection model) and the offset where an incomplete frame starts."""
    headers: list[FrameHeader] = []
    end = len(data)
    unpack = _HEADER.unpack_from
    while end - offset >= HEADER_SIZE:
        hi, lo, type_, flags, sid = unpack(data, offset)
        length = (hi << 8) | lo
        if offset + HEADER_SIZE + length > end:
            break
        headers.append((offset, length, type_, flags, sid))
        offset += HEADER_SIZE + length
    return headers, offset


def padding_length(
    data: bytes | bytearray, offset: int, length: int, type_: int, flags: int
) -> int:
    """``RawFrame.padding_length`` for the frame whose header starts at ``offset``."""
    if type_ not in PADDED_TYPES or not flags & FLAG_PADDED:
        return 0
    if not length:
        return -1
    total = data[offset + HEADER_SIZE] + 1
    minimum = total + (5 if type_ == HEADERS and flags & FLAG_PRIORITY else 0)
    minimum += 4 if type_ == PUSH_PROMISE else 0
    return total if minimum <= length else -1


# --- hyperframe layer -------------------------------------------------------------------------


def parse_frame(raw: RawFrame) -> hf.Frame:
    """The hyperframe object for ``raw``; unknown types (METADATA too) become ExtensionFrame.

    Raises FrameError for a payload that breaks the frame's layout or stream association.
    """
    header = frame_header(len(raw.payload), raw.type, raw.flags, raw.stream_id)
    try:
        frame, _ = hf.Frame.parse_frame_header(memoryview(header))
        frame.parse_body(memoryview(raw.payload))
    except HyperframeError as e:
        raise FrameError(f"{FRAME_NAMES.get(raw.type, hex(raw.type))}: {e}") from None
    return frame


def parse_frames(data: bytes) -> tuple[list[hf.Frame], bytes]:
    """Parse every complete frame of ``data``; returns the frames and the unparsed tail."""
    raws, end = split_frames(data)
    return [parse_frame(r) for r in raws], bytes(data[end:])


def serialize(frame: hf.Frame) -> bytes:
    """Serialize a hyperframe frame, working around two hyperframe 6.1.0 bugs:

    * ``SettingsFrame.serialize_body`` masks identifiers with 0xFF (they are 16-bit), so a
      setting 0x100 comes back as 0x00: we write the 16-bit identifier.
    * ``ExtensionFrame.serialize`` takes the length from ``body_len``, which only
      ``parse_body`` sets: a frame built with ``body=`` serializes with length 0 followed by
      the body. We set ``body_len`` from the body.
    """
    if isinstance(frame, hf.SettingsFrame):
        body = b"".join(
            _SETTING.pack(k & 0xFFFF, v & 0xFFFFFFFF) for k, v in frame.settings.items()
        )
        flags = FLAG_ACK if "ACK" in frame.flags else 0
        return build_frame(SETTINGS, flags, frame.stream_id & 0x7FFFFFFF, body)
    if isinstance(frame, hf.ExtensionFrame):
        frame.body_len = len(frame.body)
    return frame.serialize()


def metadata_frame(stream_id: int, payload: bytes, flags: int = FLAG_END_METADATA) -> hf.Frame:
    """Envoy's METADATA frame (type 0x4D) as a hyperframe ExtensionFrame."""
    return hf.ExtensionFrame(type=METADATA, stream_id=stream_id, flag_byte=flags, body=payload)


def frame_fields(frame: hf.Frame) -> tuple[object, ...]:
    """A comparable summary of a parsed frame: everything serialization must preserve."""
    fields: tuple[object, ...] = (type(frame).__name__, frame.type, frame.stream_id)
    if isinstance(frame, hf.ExtensionFrame):
        return (*fields, frame.flag_byte, frame.body)
    fields = (*fields, tuple(sorted(frame.flags)))
    if isinstance(frame, hf.DataFrame | hf.ContinuationFrame):
        fields = (*fields, frame.data)
    if isinstance(frame, hf.HeadersFrame):
        fields = (*fields, frame.data)
        if "PRIORITY" in frame.flags:
            fields = (*fields, frame.depends_on, frame.stream_weight, frame.exclusive)
    if isinstance(frame, hf.DataFrame | hf.HeadersFrame | hf.PushPromiseFrame):
        fields = (*fields, frame.pad_length if "PADDED" in frame.flags else 0)
    if isinstance(frame, hf.PriorityFrame):
        fields = (*fields, frame.depends_on, frame.stream_weight, frame.exclusive)
    elif isinstance(frame, hf.RstStreamFrame):
        fields = (*fields, frame.error_code)
    elif isinstance(frame, hf.SettingsFrame):
        fields = (*fields, tuple(sorted(frame.settings.items())))
    elif isinstance(frame, hf.PushPromiseFrame):
        fields = (*fields, frame.promised_stream_id, frame.data)
    elif isinstance(frame, hf.PingFrame):
        fields = (*fields, frame.opaque_data)
    elif isinstance(frame, hf.GoAwayFrame):
        # The reserved bit of last_stream_id is kept by hyperframe's parser but dropped by its
        # serializer (RFC 9113 §6.8 says to ignore it): compare without it.
        fields = (*fields, frame.last_stream_id & 0x7FFFFFFF, frame.error_code)
        fields = (*fields, frame.additional_data)
    elif isinstance(frame, hf.WindowUpdateFrame):
        fields = (*fields, frame.window_increment)
    elif isinstance(frame, hf.AltSvcFrame):
        fields = (*fields, frame.origin, frame.field)
    return fields


def client_request_ids(sent: bytes) -> list[bytes] | None:
    """The x-request-id values in the header blocks of an HTTP/2 client's bytes (one HPACK
    context, as the server decodes them), or None when a block does not decode."""
    start = len(PREFACE) if sent.startswith(PREFACE) else 0
    frames, _ = scan_frames(sent, start)  # no payload copies: floods are long
    decoder: Decoder | None = None
    ids: list[bytes] = []
    block = b""
    for offset, length, type_, flags, _sid in frames:
        body = offset + HEADER_SIZE
        if type_ == HEADERS:
            pad = padding_length(sent, offset, length, type_, flags)
            if pad < 0:
                return None
            skip = (1 if pad else 0) + (5 if flags & FLAG_PRIORITY else 0)
            block = sent[body + skip : body + length - (pad - 1 if pad else 0)]
        elif type_ == CONTINUATION:
            block += sent[body : body + length]
        else:
            continue
        if flags & FLAG_END_HEADERS:
            decoder = decoder or Decoder(max_header_list_size=1 << 30)
            try:
                fields = decoder.decode(block, raw=True)
            except (HPACKError, ValueError, IndexError):
                return None
            ids += [bytes(v) for n, v in fields if bytes(n).lower() == b"x-request-id"]
            block = b""
    return ids
