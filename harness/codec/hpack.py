"""HPACK (RFC 7541) for the HTTP/2 targets: the ``hpack`` package's Encoder/Decoder with
Envoy's table size, plus the few fixed representations Envoy's test frame builders write by
hand (test/common/http/http2/http2_frame.cc), which no encoder produces on its own.
"""

from __future__ import annotations

from itertools import groupby

from hpack import Decoder, Encoder
from hpack import hpack as _hpack
from hpack.exceptions import HPACKError

from harness.codec.huffman import HUFFMAN_ENCODER, install_decoder

__all__ = [
    "DEFAULT_TABLE_SIZE",
    "HPACKError",
    "HeaderList",
    "HeaderPair",
    "HpackPair",
    "empty_literal_with_indexing",
    "encode_integer",
    "indexed",
    "literal_without_indexing",
    "literal_without_indexing_new_name",
]

DEFAULT_TABLE_SIZE = 4096  # Envoy's hpack_table_size default (protocol.proto field 1)

HeaderPair = tuple[bytes, bytes]
HeaderList = list[HeaderPair]

# RFC 7541 Appendix A static-table indexes Envoy's builders use.
AUTHORITY = 1
METHOD_GET = 2
METHOD_POST = 3
PATH = 4
PATH_ROOT = 4  # ":path: /" is entry 4
SCHEME_HTTPS = 7
STATUS_200 = 8
STATUS_204 = 9
STATUS_206 = 10
STATUS_304 = 11
STATUS_400 = 12
STATUS_404 = 13
STATUS_500 = 14


def encode_integer(value: int, prefix_bits: int, pattern: int = 0) -> bytes:
    """RFC 7541 §5.1 integer with an N-bit prefix; ``pattern`` fills the high bits."""
    out = _hpack.encode_integer(value, prefix_bits)
    out[0] |= pattern
    return bytes(out)


def indexed(index: int) -> bytes:
    """Indexed header field (§6.1)."""
    return encode_integer(index, 7, 0x80)


def literal_without_indexing(name_index: int, value: bytes) -> bytes:
    """Literal without indexing, indexed name, raw (non-Huffman) value (§6.2.2)."""
    return encode_integer(name_index, 4) + encode_integer(len(value), 7) + value


def literal_without_indexing_new_name(name: bytes, value: bytes) -> bytes:
    """Literal without indexing, new name, raw strings (§6.2.2)."""
    return b"\x00" + encode_integer(len(name), 7) + name + encode_integer(len(value), 7) + value


def empty_literal_with_indexing() -> bytes:
    """``0x40 0x00 0x00``: literal with incremental indexing, empty name and value (§6.2.1)."""
    return b"\x40\x00\x00"


_HUFFMAN = HUFFMAN_ENCODER
# every hpack Decoder of the process (ours, h2's, the model's) decodes Huffman with ours
install_decoder()


class HpackPair:
    """An encoder and a decoder sharing one connection's worth of dynamic-table state."""

    def __init__(self, table_size: int = DEFAULT_TABLE_SIZE) -> None:
        self.encoder = Encoder()
        self.encoder.header_table_size = table_size
        self.encoder.huffman_coder = _HUFFMAN
        self.decoder = Decoder(max_header_list_size=1 << 30)
        self.decoder.max_allowed_table_size = table_size

    def encode(self, headers: HeaderList, huffman: bool = True) -> bytes:
        return self.encoder.encode(headers, huffman=huffman)

    def encode_shortest(self, headers: HeaderList) -> bytes:
        """One block, each header Huffman-coded where that shortens its value (nghttp2's
        choice, made per string there; hpack's Encoder takes one choice per call)."""
        coded = _HUFFMAN.encode
        # one call per run of headers with the same choice (one call per header costs more)
        return b"".join(
            self.encoder.encode(list(run), huffman=huffman)
            for huffman, run in groupby(headers, lambda h: len(coded(h[1])) < len(h[1]))
        )

    def decode(self, block: bytes) -> HeaderList:
        """Decode one header block; raises HPACKError when it is malformed."""
        return [(bytes(n), bytes(v)) for n, v in self.decoder.decode(block, raw=True)]
