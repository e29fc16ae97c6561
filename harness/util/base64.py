"""Envoy's ``Base64`` and ``Base64Url`` (source/common/common/base64.cc), newest version.

Envoy decodes strictly and returns ``b""`` for any invalid input (it never raises):

* ``Base64.decode`` needs a length that is a multiple of 4 and then behaves as
  ``decode_without_padding``;
* ``decode_without_padding`` strips at most two trailing ``=``, rejects a remainder of one
  character (``len % 4 == 1``), any byte outside the alphabet (a third ``=`` included) and
  a last character whose unused low bits are not zero (non-canonical encodings);
* ``Base64Url.decode`` accepts no padding at all (a trailing ``=`` is invalid);
* ``encode`` pads with ``=``; ``Base64Url.encode`` never pads.

Where Envoy deliberately differs from Python's ``base64`` module:

* Python's ``b64decode`` (even with ``validate=True``) accepts non-zero trailing bits
  (``"QR=="`` -> ``b"A"``); Envoy rejects them, so every string Envoy accepts is the one
  canonical encoding of its bytes.
* Python requires full padding (``"QQ"`` is an error); ``decode_without_padding`` and
  ``Base64Url.decode`` accept unpadded input, and ``decode_without_padding`` also accepts
  partial padding (``"QQ="``).
* Without ``validate=True`` Python silently drops bytes outside the alphabet; Envoy rejects.
* Python's ``urlsafe_b64decode`` requires padding; ``Base64Url.decode`` forbids it.
* An empty input decodes to ``b""`` in both, so ``b""`` is ambiguous (Envoy's API too).
"""

from __future__ import annotations

import binascii

_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INVALID = 64


def _reverse(alphabet: bytes) -> bytes:
    table = bytearray([_INVALID] * 256)
    for i, c in enumerate(alphabet):
        table[c] = i
    return bytes(table)


STD_REVERSE = _reverse(_STD)
URL_REVERSE = _reverse(_URL)
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_STD_SET = frozenset(_STD)
_URL_SET = frozenset(_URL)


def _decode_helper(data: bytes, reverse: bytes, alphabet: frozenset[int], url: bool) -> bytes:
    """Envoy's decodeHelper: validate like Envoy, then let binascii do the bit work."""
    n = len(data)
    if n == 0:
        return b""
    # Envoy counts a '=' at n-2 even when n-1 is not '='; the last-character check below then
    # rejects such input, so the count only matters for well-formed padding.
    count = (data[n - 1] == 0x3D) + (n >= 2 and data[n - 2] == 0x3D)
    real = n - count
    if real % 4 == 1:
        return b""
    body = data[:real]
    if real:
        last = reverse[body[-1]]
        if last == _INVALID:
            return b""
        if (real % 4 == 2 and last & 0x0F) or (real % 4 == 3 and last & 0x03):
            return b""
    if not alphabet.issuperset(body):
        return b""
    if url:
        body = body.translate(_URL_TO_STD)
    try:
        return binascii.a2b_base64(body + b"=" * (-real % 4), strict_mode=True)
    except binascii.Error:  # pragma: no cover - validation above already rejects these
        return b""


class Base64:
    @staticmethod
    def encode(data: bytes, add_padding: bool = True) -> bytes:
        out = binascii.b2a_base64(data, newline=False)
        return out if add_padding else out.rstrip(b"=")

    @staticmethod
    def decode(data: bytes) -> bytes:
        if len(data) % 4:
            return b""
        return Base64.decode_without_padding(data)

    @staticmethod
    def decode_without_padding(data: bytes) -> bytes:
        return _decode_helper(data, STD_REVERSE, _STD_SET, url=False)

    @staticmethod
    def complete_padding(encoded: bytes) -> bytes:
        return encoded + b"=" * (-len(encoded) % 4)


class Base64Url:
    @staticmethod
    def encode(data: bytes) -> bytes:
        return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_STD_TO_URL)

    @staticmethod
    def decode(data: bytes) -> bytes:
        if data and URL_REVERSE[data[-1]] == _INVALID:
            return b""  # URL decoding accepts no padding
        return _decode_helper(data, URL_REVERSE, _URL_SET, url=True)


def legacy_decode(data: bytes, url: bool = False, padded: bool = True) -> bytes:
    """The older table-driven decoder of base64.cc (decodeBase/decodeLast), kept as an
    independent second implementation for differential checks (as Envoy's own
    base64_differential_fuzz_test does).

    Standard Base64 strips up to two '=' (``padded`` also requires ``len % 4 == 0``, as
    ``Base64::decode`` did; without it this is the old ``decodeWithoutPadding``, whose
    unsigned underflow on an all-padding input is read here as "invalid").
    Base64Url strips nothing.
    """
    reverse = URL_REVERSE if url else STD_REVERSE
    if not data or (not url and padded and len(data) % 4):
        return b""
    n = len(data)
    if not url and data[n - 1] == 0x3D:
        n -= 1
        if n > 0 and data[n - 1] == 0x3D:
            n -= 1
    if n == 0:
        return b""
    values = data[:n].translate(reverse)
    if _INVALID in values:
        return b""
    # decodeBase/decodeLast work character by character; the same arithmetic is done here a
    # group of four at a time (speed), with decodeLast's checks on the final group.
    out = bytearray()
    full = n - n % 4
    for i in range(0, full, 4):
        a, b, c, d = values[i : i + 4]
        out += bytes(((a << 2 | b >> 4) & 0xFF, (b << 4 | c >> 2) & 0xFF, (c << 6 | d) & 0xFF))
    rest = n % 4
    if rest == 1:
        return b""  # decodeLast at position 0 of a group
    if rest == 2:
        a, b = values[full : full + 2]
        if b & 0x0F:
            return b""
        out.append((a << 2 | b >> 4) & 0xFF)
    elif rest == 3:
        a, b, c = values[full : full + 3]
        if c & 0x03:
            return b""
        out += bytes(((a << 2 | b >> 4) & 0xFF, (b << 4 | c >> 2) & 0xFF))
    return bytes(out)
