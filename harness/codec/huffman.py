"""HPACK Huffman coding (RFC 7541 Appendix B), byte for byte what the ``hpack`` package
writes and reads, only faster: the coder is on the hot path of every HTTP/2 target (the
``hpack`` target spent a third of its time in hpack's coder, profiled under atheris).

* ``LinearHuffmanEncoder``: hpack's encoder shifts one big integer per input byte (quadratic
  in the string's length); here each byte becomes its code's bit string in C
  (``str.translate``) and one ``int(bits, 2)`` makes the bytes.
* ``decode_huffman``: hpack's decoder walks its state machine a nibble at a time (two table
  lookups and four flag tests per byte); ``_BYTE_TABLE`` is the same machine composed over
  whole bytes, so a byte costs one lookup.
* Both remember recent results (pure functions of their input): a fuzzer's mutant shares
  most of its header strings with its parent, which was coded shortly before.

``install_decoder()`` puts the decoder in place of hpack's own (``hpack.hpack`` calls it by its
module-global name), so h2's decoder uses it too. Property tests hold both equal to hpack's.
"""

from __future__ import annotations

from hpack import hpack as _hpack
from hpack.exceptions import HPACKDecodingError
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hpack.huffman_table import (
    HUFFMAN_COMPLETE,
    HUFFMAN_EMIT_SYMBOL,
    HUFFMAN_FAIL,
    HUFFMAN_TABLE,
)

from harness.codec.memo import Memo

_ByteEntry = tuple[int, bytes, bool]  # (next state << 8, bytes emitted, accepting)


def _compose_nibbles() -> list[_ByteEntry | None]:
    """hpack's nibble machine over whole bytes: entry ``state << 8 | byte``, None where a
    nibble of the byte fails (an EOS code or an invalid one)."""
    # each nibble step as (next state, byte emitted or b"", accepting), None where it fails
    steps = [
        None
        if flags & HUFFMAN_FAIL
        else (
            end,
            bytes([out]) if flags & HUFFMAN_EMIT_SYMBOL else b"",
            bool(flags & HUFFMAN_COMPLETE),
        )
        for end, flags, out in HUFFMAN_TABLE
    ]
    table: list[_ByteEntry | None] = []
    for state in range(len(HUFFMAN_TABLE) // 16):
        for high in steps[state * 16 : state * 16 + 16]:
            if high is None:
                table.extend([None] * 16)
                continue
            middle, emitted, _ = high
            table.extend(
                None if low is None else (low[0] << 8, emitted + low[1], low[2])
                for low in steps[middle * 16 : middle * 16 + 16]
            )
    return table


_BYTE_TABLE = _compose_nibbles()


def decode_uncached(data: bytes | bytearray | memoryview | None) -> bytes:
    """hpack's ``decode_huffman``: the same bytes, the same errors (HPACKDecodingError)."""
    if not data:
        return b""
    table = _BYTE_TABLE
    state = 0
    out: list[bytes] = []
    emit = out.append
    entry: _ByteEntry | None = None
    for byte in bytes(data):
        entry = table[state | byte]
        if entry is None:
            raise HPACKDecodingError("Invalid Huffman string")
        state = entry[0]
        emit(entry[1])
    assert entry is not None  # data is not empty
    if not entry[2]:
        raise HPACKDecodingError("Incomplete Huffman string")
    return b"".join(out)


_decoded: Memo[bytes, bytes] = Memo()


def decode_huffman(huffman_string: bytes | bytearray | memoryview | None) -> bytes:
    """``decode_uncached``, remembered (a string that fails to decode is not remembered: it
    raises again the next time). hpack's name and signature: it takes hpack's place."""
    if not huffman_string:
        return b""
    key = huffman_string if type(huffman_string) is bytes else bytes(huffman_string)
    found = _decoded.get(key)
    return found if found is not None else _decoded.keep(key, decode_uncached(key))


def install_decoder() -> None:
    """Make hpack (and h2, through hpack's Decoder) decode Huffman strings with ours."""
    _hpack.decode_huffman = decode_huffman


class LinearHuffmanEncoder(HuffmanEncoder):
    """hpack's HuffmanEncoder, same output, in linear time and remembered (see the module
    docstring). Stateless, so one instance serves every hpack Encoder."""

    def __init__(self, codes: list[int], lengths: list[int]) -> None:
        super().__init__(codes, lengths)
        # the same mask hpack applies to each code (its length + 1 bits)
        self._bits = {
            byte: format(codes[byte] & (2 ** (lengths[byte] + 1) - 1), f"0{lengths[byte]}b")
            for byte in range(256)
        }
        self._encoded: Memo[bytes, bytes] = Memo()

    def encode(self, bytes_to_encode: bytes | None) -> bytes:
        if not bytes_to_encode:
            return b""
        key = bytes_to_encode if type(bytes_to_encode) is bytes else bytes(bytes_to_encode)
        found = self._encoded.get(key)
        return found if found is not None else self._encoded.keep(key, self.encode_uncached(key))

    def encode_uncached(self, data: bytes) -> bytes:
        bits = data.decode("latin-1").translate(self._bits)
        bits += "1" * (-len(bits) % 8)  # pad to an octet with ones (EOS prefix)
        return int(bits, 2).to_bytes(len(bits) // 8, "big")


# stateless, so one serves every encoder of the process (ours and h2's): its table is built
# once, not per input
HUFFMAN_ENCODER = LinearHuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
