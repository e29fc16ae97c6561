"""nghttp2's header field rules as Envoy 1.40 applies them to HTTP/2 requests, and the
field-by-field HPACK inflation that decides which error counts first.

Pure functions for ``harness.model.http2``: each returns what is wrong (or whether a value is
valid), and the connection model decides what Envoy does about it.
"""

from __future__ import annotations

from typing import Final

from hpack import Decoder

# nghttp2's character classes (lib/nghttp2_helper.c, nghttp2_http.c).
LOWER: Final = b"abcdefghijklmnopqrstuvwxyz"
UPPER: Final = LOWER.upper()
NAME_CHARS: Final = frozenset(b"!#$%&'*+-.^_`|~0123456789" + LOWER)  # lower-case tchar
TCHAR: Final = frozenset(NAME_CHARS | set(UPPER))
VALUE_CHARS: Final = frozenset([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
PATH_CHARS: Final = frozenset([*range(0x21, 0x7F), *range(0x80, 0x100)])
AUTHORITY_CHARS: Final = frozenset(LOWER + UPPER + b"0123456789-._~%!$&'()*+,;=:[]")
SCHEME_FIRST: Final = frozenset(LOWER + UPPER)
SCHEME_CHARS: Final = frozenset(SCHEME_FIRST | set(b"0123456789+-."))

REQUEST_PSEUDO: Final = frozenset((b":method", b":scheme", b":authority", b":path", b":protocol"))
CONNECTION_SPECIFIC: Final = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)


def content_type(fields: list[tuple[bytes, bytes]]) -> bytes:
    """The first ``content-type`` value among the regular fields (empty without one)."""
    return next((v for n, v in fields if n == b"content-type"), b"")


# hpack's messages for a block that ends inside a field (not an error in a partial frame).
TRUNCATED: Final = ("Truncated header block", "Unable to decode HPACK integer")


def inflate(decoder: Decoder, data: bytes) -> tuple[list[tuple[bytes, bytes]], str | None]:
    """The fields of one header block up to the first HPACK error, and that error (None if
    none): nghttp2 inflates and checks field by field, so a bad field before a decoding error
    counts first. hpack's ``Decoder.decode`` is all or nothing; this is its loop, on its
    per-representation methods (hpack 4.x)."""
    fields: list[tuple[bytes, bytes]] = []
    view = memoryview(data)
    index = 0
    size = len(data)
    try:
        while index < size:
            first = data[index]
            if first & 0x80:
                header, consumed = decoder._decode_indexed(view[index:])
            elif first & 0x40:
                header, consumed = decoder._decode_literal_index(view[index:])
            elif first & 0x20:
                if fields:
                    return fields, "table size update not at the start of the block"
                consumed = decoder._update_encoding_context(view[index:])
                header = None
            else:
                header, consumed = decoder._decode_literal_no_index(view[index:])
            if header is not None:
                fields.append((bytes(header[0]), bytes(header[1])))
            index += consumed
        decoder._assert_valid_table_size()
    except Exception as e:  # hpack raises HPACKError and, on some inputs, others
        return fields, str(e) or type(e).__name__
    return fields, None


def regular_field_error(name: bytes, value: bytes) -> str | None:
    """Why nghttp2 rejects a regular (non-pseudo) request field, or None."""
    if not name or not NAME_CHARS.issuperset(name):
        return f"invalid header name {name!r}"
    if not VALUE_CHARS.issuperset(value):
        return f"invalid header value for {name!r}"
    if name in CONNECTION_SPECIFIC:
        return f"connection-specific header {name!r}"
    if name == b"te" and value.lower() != b"trailers":
        return "te other than trailers"
    return None


def pseudo_ok(name: bytes, value: bytes) -> bool:
    """Whether nghttp2 accepts a request pseudo-header's value."""
    if name == b":method":
        return bool(value) and TCHAR.issuperset(value)
    if name == b":path":
        return bool(value) and PATH_CHARS.issuperset(value)
    if name == b":authority":
        return bool(value) and AUTHORITY_CHARS.issuperset(value)
    if name == b":scheme":
        return bool(value) and value[0] in SCHEME_FIRST and SCHEME_CHARS.issuperset(value)
    return VALUE_CHARS.issuperset(value)  # :protocol
