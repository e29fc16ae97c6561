"""Frame and header-block builders for the hand-written HTTP/2 agreement cases
(``http2_cases``) and the generated inputs (``generated``): raw bytes a client sends, invalid
ones included (HPACK literals without indexing, any name or value)."""

from __future__ import annotations

from collections.abc import Iterable

from hpack import Encoder

from harness.codec import http2
from harness.codec.hpack import encode_integer

PREFACE = http2.PREFACE

Header = tuple[str | bytes, str | bytes]


def _b(text: str | bytes) -> bytes:
    return text.encode("latin-1") if isinstance(text, str) else text


def literal(name: str | bytes, value: str | bytes) -> bytes:
    """HPACK literal without indexing, new name, raw strings (RFC 7541 §6.2.2)."""
    n, v = _b(name), _b(value)
    return b"\x00" + encode_integer(len(n), 7) + n + encode_integer(len(v), 7) + v


def block(headers: Iterable[Header]) -> bytes:
    return b"".join(literal(n, v) for n, v in headers)


def frame(type_: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return http2.build_frame(type_, flags, stream_id, payload)


def settings(*pairs: tuple[int, int], ack: bool = False) -> bytes:
    payload = b"".join(k.to_bytes(2, "big") + v.to_bytes(4, "big") for k, v in pairs)
    return frame(http2.SETTINGS, http2.FLAG_ACK if ack else 0, 0, payload)


def request_headers(
    method: str | None = "GET",
    path: str | None = "/",
    authority: str | None = "host",
    scheme: str | None = "http",
    extra: Iterable[Header] = (),
) -> list[Header]:
    """A request's header list; ``None`` leaves that pseudo-header out."""
    out: list[Header] = []
    for name, value in ((":method", method), (":scheme", scheme), (":authority", authority)):
        if value is not None:
            out.append((name, value))
    if path is not None:
        out.append((":path", path))
    return out + list(extra)


def headers(
    stream_id: int,
    header_list: Iterable[Header],
    end_stream: bool = True,
    end_headers: bool = True,
) -> bytes:
    flags = (http2.FLAG_END_STREAM if end_stream else 0) | (
        http2.FLAG_END_HEADERS if end_headers else 0
    )
    return frame(http2.HEADERS, flags, stream_id, block(header_list))


def data(stream_id: int, body: bytes, end_stream: bool = False) -> bytes:
    return frame(http2.DATA, http2.FLAG_END_STREAM if end_stream else 0, stream_id, body)


def start(*pairs: tuple[int, int]) -> bytes:
    """The client preface and its SETTINGS (empty unless ``pairs``)."""
    return PREFACE + settings(*pairs)


def get(stream_id: int = 1, *, end_stream: bool = True, **fields: object) -> bytes:
    """One HEADERS frame with a whole request (``fields`` as ``request_headers``)."""
    return headers(stream_id, request_headers(**fields), end_stream=end_stream)  # type: ignore[arg-type]


def post(stream_id: int, body: bytes, *, length: bool = True, path: str = "/") -> bytes:
    extra = [("content-length", str(len(body)))] if length else []
    return get(stream_id, method="POST", path=path, extra=extra, end_stream=False) + data(
        stream_id, body, end_stream=True
    )


def rst_stream(stream_id: int, code: int = 8) -> bytes:
    return frame(http2.RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))


def goaway(last_stream_id: int = 0, code: int = 0) -> bytes:
    return frame(http2.GOAWAY, 0, 0, last_stream_id.to_bytes(4, "big") + code.to_bytes(4, "big"))


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(http2.WINDOW_UPDATE, 0, stream_id, increment.to_bytes(4, "big"))


def ping(opaque: bytes = b"12345678", ack: bool = False) -> bytes:
    return frame(http2.PING, http2.FLAG_ACK if ack else 0, 0, opaque)


def priority(stream_id: int, depends_on: int = 0, weight: int = 15) -> bytes:
    return frame(http2.PRIORITY, 0, stream_id, depends_on.to_bytes(4, "big") + bytes([weight]))


def indexed_block(encoder: Encoder, header_list: list[tuple[str, str]]) -> bytes:
    """A block from hpack's encoder (incremental indexing, Huffman): the dynamic table counts."""
    return encoder.encode(header_list)


def split_block(stream_id: int, header_list: list[Header], size: int = 16384) -> bytes:
    """A whole request (END_STREAM) in HEADERS + CONTINUATION frames of ``size`` bytes."""
    raw = block(header_list)
    parts = [raw[i : i + size] for i in range(0, len(raw), size)]
    out = frame(http2.HEADERS, http2.FLAG_END_STREAM, stream_id, parts[0])
    for i, part in enumerate(parts[1:], 2):
        flags = http2.FLAG_END_HEADERS if i == len(parts) else 0
        out += frame(http2.CONTINUATION, flags, stream_id, part)
    return out


def padded(type_: int, stream_id: int, flags: int, payload: bytes, pad: int) -> bytes:
    return frame(type_, flags | http2.FLAG_PADDED, stream_id, bytes([pad]) + payload + b"\0" * pad)


def open_and_reset(streams: int) -> bytes:
    """``streams`` requests, each reset by the client at once (a rapid-reset pattern)."""
    return b"".join(
        get(2 * i + 1, end_stream=False) + rst_stream(2 * i + 1) for i in range(streams)
    )
