"""Hand-built HPACK header blocks (RFC 7541 §6) for cases that test one representation.

The hpack library's encoder picks representations itself; these helpers write the exact bytes
a case names, including invalid ones (bad Huffman padding, the EOS symbol, bad indexes).
"""

from __future__ import annotations

from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

# :method GET, :scheme http, :path / from the static table (indexes 2, 6, 4)
INDEXED_REQUEST = b"\x82\x86\x84"
EOS = 256
# The :authority every case sends (a fixed value keeps cases pure data; Envoy's route matches
# any host, and so does any server a user points the suite at that serves "/").
AUTHORITY = "localhost"


def integer(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def huffman(text: bytes, *, pad_with_ones: bool = True, symbols: tuple[int, ...] = ()) -> bytes:
    """Huffman code of ``text`` (then ``symbols``, e.g. EOS), padded with 1s as RFC 7541
    §5.2 requires, or with 0s to make a bad one."""
    acc, nbits = 0, 0
    for sym in (*text, *symbols):
        acc = (acc << REQUEST_CODES_LENGTH[sym]) | REQUEST_CODES[sym]
        nbits += REQUEST_CODES_LENGTH[sym]
    pad = -nbits % 8
    acc = (acc << pad) | (((1 << pad) - 1) if pad_with_ones else 0)
    return (acc).to_bytes((nbits + pad) // 8, "big") if nbits + pad else b""


def string(text: bytes, huffman_coded: bool = False) -> bytes:
    if huffman_coded:
        coded = huffman(text)
        return integer(len(coded), 7, 0x80) + coded
    return integer(len(text), 7) + text


def literal(
    kind: str, value: bytes, *, name_index: int = 0, name: bytes = b"", huff: bool = False
) -> bytes:
    """A literal field: kind ``incremental`` (6-bit prefix, 0x40), ``without`` (4-bit, 0x00)
    or ``never`` (4-bit, 0x10); an indexed name when ``name_index`` else a new ``name``."""
    first, bits = {"incremental": (0x40, 6), "without": (0x00, 4), "never": (0x10, 4)}[kind]
    head = integer(name_index, bits, first)
    if not name_index:
        head += string(name, huff)
    return head + string(value, huff)


def authority(kind: str = "incremental", huff: bool = False) -> bytes:
    return literal(kind, AUTHORITY.encode(), name_index=1, huff=huff)


def request_block(*tail: bytes, head: bytes = b"", host: bytes | None = None) -> bytes:
    """The default request in exact representations: ``head`` (e.g. table size updates),
    the indexed pseudo-headers, :authority, then ``tail``."""
    host = authority() if host is None else host
    return head + INDEXED_REQUEST + host + b"".join(tail)


def table_size_update(size: int) -> bytes:
    return integer(size, 5, 0x20)
