"""HPACK (harness/codec/hpack.py) and the hpack target: Envoy's documented example bytes decode
to the documented header lists, our fixed representations match RFC 7541, encode/decode
round-trips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hpack.exceptions import HPACKDecodingError
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.codec import hpack, http2, huffman
from harness.codec.fuzz_http2 import hpack as hpack_target
from harness.engine.corpus import parse_text_proto
from harness.oracle import InvariantViolation
from harness.proto import message_class

CORPORA = Path(__file__).resolve().parent.parent / "corpora"

REQUEST = [
    (b":scheme", b"http"),
    (b":method", b"GET"),
    (b":authority", b"host"),
    (b":path", b"/"),
    (b"foo", b"barbaz"),
]
RESPONSE = [(b":status", b"200"), (b"compression", b"test")]


@pytest.mark.parametrize(
    ("path", "header", "headers"),
    [
        ("request_header/simple_example_plain", "000041010500000001", REQUEST),
        ("request_header/simple_example_huffman", "000012010500000001", REQUEST),
        ("response_header/simple_example_plain", "00001f010500000001", RESPONSE),
        ("response_header/simple_example_huffman", "00000f010500000001", RESPONSE),
    ],
)
def test_documented_examples_decode_to_documented_headers(
    path: str, header: str, headers: list[tuple[bytes, bytes]]
) -> None:
    data = (CORPORA / path).read_bytes()
    assert data[:9].hex() == header
    raws, end = http2.split_frames(data)
    assert end == len(data) and len(raws) == 1
    assert hpack.HpackPair().decode(raws[0].payload) == headers


def test_huffman_example_bytes_are_the_documented_ones() -> None:
    data = (CORPORA / "request_header/simple_example_huffman").read_bytes()
    assert data[9:].hex() == "868241839ce84f84408294e7858c76463f7f"


@pytest.mark.parametrize(
    ("value", "prefix", "expected"),
    [
        (10, 5, "0a"),
        (1337, 5, "1f9a0a"),
        (42, 8, "2a"),
        (15, 4, "0f00"),
        (126, 7, "7e"),
        (127, 7, "7f00"),
    ],
)
def test_integer_encoding_rfc7541_c1(value: int, prefix: int, expected: str) -> None:
    assert hpack.encode_integer(value, prefix).hex() == expected


def test_fixed_representations() -> None:
    assert hpack.indexed(2) == b"\x82"
    assert hpack.literal_without_indexing(4, b"/a") == b"\x04\x02/a"
    assert hpack.literal_without_indexing(1, b"h" * 200)[:3] == b"\x01\x7f\x49"
    assert hpack.literal_without_indexing_new_name(b"k", b"v") == b"\x00\x01k\x01v"
    decoded = hpack.HpackPair().decode(hpack.literal_without_indexing(4, b"/x") + b"\x40\x00\x00")
    assert decoded == [(b":path", b"/x"), (b"", b"")]


def _case(text: str) -> object:
    msg = parse_text_proto(message_class("test.common.http.http2.HpackTestCase"), text.encode())
    assert msg is not None
    return msg


def test_hpack_target_skips_what_envoy_skips() -> None:
    hpack_target(_case("end_headers: true"))  # headers unset: fails Envoy's validation
    hpack_target(_case("headers {}"))  # empty header map


def test_hpack_target_detects_a_broken_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    case = _case('headers { headers { key: "a" value: "b" } }')
    hpack_target(case)
    monkeypatch.setattr(hpack.HpackPair, "decode", lambda self, block: [(b"a", b"c")])
    with pytest.raises(InvariantViolation):
        hpack_target(case)


def test_hpack_target_encodes_one_block_as_envoy(monkeypatch: pytest.MonkeyPatch) -> None:
    """One deflate and one inflate per input (hpack_fuzz_test.cc), not one per Huffman mode."""
    blocks: list[bytes] = []
    decode = hpack.HpackPair.decode

    def counted(self: hpack.HpackPair, block: bytes) -> hpack.HeaderList:
        blocks.append(block)
        return decode(self, block)

    monkeypatch.setattr(hpack.HpackPair, "decode", counted)
    hpack_target(_case('headers { headers { key: "a" value: "text" } headers { key: "b" } }'))
    assert len(blocks) == 1


def _string_flags(block: bytes) -> list[bool]:
    """The H bit of each new-name literal's name and value (block of 0x40 literals only)."""
    flags, at = [], 0
    while at < len(block):
        assert block[at] == 0x40  # literal with incremental indexing, new name
        at += 1
        for _ in range(2):
            flags.append(bool(block[at] & 0x80))
            at += 1 + (block[at] & 0x7F)  # short strings: a one-byte length
    return flags


def test_encode_shortest_huffman_codes_only_what_it_shortens() -> None:
    """nghttp2's rule, per header here: Huffman where the value gets shorter, else raw."""
    headers = [
        (b"x-text", b"hello world"),
        (b"x-bin", b"\x00\x01\xff\xfe"),
        (b"x-empty", b""),
        (b"x-more", b"aaaaaaaa"),
    ]
    pair = hpack.HpackPair()
    block = pair.encode_shortest(headers)
    assert _string_flags(block) == [True, True, False, False, False, False, True, True]
    assert pair.decode(block) == headers


_bytes = st.binary(max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_bytes, _bytes), min_size=1, max_size=12), st.booleans())
def test_encode_decode_round_trip(headers: list[tuple[bytes, bytes]], huffman: bool) -> None:
    pair = hpack.HpackPair()
    for _ in range(2):  # the second block reuses the dynamic table
        assert pair.decode(pair.encode(headers, huffman=huffman)) == headers


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_linear_huffman_encoder_writes_what_hpacks_own_writes(data: bytes) -> None:
    from hpack.huffman import HuffmanEncoder
    from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
    from hpack.huffman_table import decode_huffman

    theirs = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode(data)
    ours = huffman.LinearHuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)
    assert ours.encode(data) == theirs
    assert ours.encode(data) == theirs  # remembered: the same again
    assert decode_huffman(theirs) == data


def _decoded_or_error(decode: Callable[[Any], bytes], data: bytes | bytearray) -> bytes | str:
    try:
        return decode(data)
    except HPACKDecodingError as e:
        return f"HPACKDecodingError: {e}"


def _huffman_strings() -> st.SearchStrategy[bytes]:
    """Any bytes, valid Huffman strings, and valid ones with a byte changed, cut or padded
    (most random bytes fail at once; these reach the padding and EOS rules)."""
    from hpack.huffman import HuffmanEncoder
    from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

    encode = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode
    valid = st.binary(min_size=1, max_size=80).map(encode)

    @st.composite
    def damaged(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(valid))
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + b"\xff" * draw(st.integers(0, 4))

    return st.one_of(st.binary(max_size=40), valid, damaged())


@settings(max_examples=1000, deadline=None)
@given(_huffman_strings())
def test_byte_table_decoder_reads_what_hpacks_decoder_reads(data: bytes) -> None:
    """Same bytes out, or the same HPACKDecodingError (invalid code, EOS, bad padding)."""
    from hpack.huffman_table import decode_huffman as hpacks

    theirs = _decoded_or_error(hpacks, data)
    assert _decoded_or_error(huffman.decode_uncached, data) == theirs
    for _ in range(2):  # remembered results, and failures that are not remembered
        assert _decoded_or_error(huffman.decode_huffman, data) == theirs
        assert _decoded_or_error(huffman.decode_huffman, bytearray(data)) == theirs


def test_every_hpack_decoder_uses_the_byte_table_decoder() -> None:
    """h2's decoder and ours read Huffman strings through hpack.hpack's module global."""
    from hpack import hpack as hpack_module

    assert hpack_module.decode_huffman is huffman.decode_huffman
    block = hpack.HpackPair().encode([(b"x-name", b"a value")], huffman=True)
    assert hpack_module.Decoder().decode(block, raw=True) == [(b"x-name", b"a value")]


def test_hpack_pair_uses_the_linear_huffman_encoder() -> None:
    pair = hpack.HpackPair()
    assert isinstance(pair.encoder.huffman_coder, huffman.LinearHuffmanEncoder)
    assert pair.decode(pair.encode([(b"x-long", b"v" * 5000)])) == [(b"x-long", b"v" * 5000)]


def test_h2_connections_use_the_linear_huffman_encoder_and_write_the_same_bytes() -> None:
    """EnvoyH2Connection's (h2's) encoder Huffman-codes with ours: the same HEADERS bytes
    as with hpack's own coder, only faster (hpack's was ~3 % of codec_impl's fuzz loop)."""
    from hpack.huffman import HuffmanEncoder
    from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

    from harness.codec.h2_connection import EnvoyH2Connection

    headers = [
        (b":method", b"POST"),
        (b":path", b"/a/long/path?with=a&query=string" * 20),
        (b":scheme", b"http"),
        (b":authority", b"example.com"),
        (b"x-binary", bytes(range(256))),
    ]
    wire = []
    for coder in (None, HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)):
        client = EnvoyH2Connection(client=True)
        if coder is None:
            assert client.h2.encoder.huffman_coder is huffman.HUFFMAN_ENCODER
        else:
            client.h2.encoder.huffman_coder = coder
        client.drain()
        client.send_request(headers)
        wire.append(client.drain())
    assert wire[0] == wire[1]


def test_a_memo_empties_itself_when_full() -> None:
    from harness.codec.memo import Memo

    memo: Memo[int, str] = Memo(limit=3)
    assert [memo.keep(i, str(i)) for i in range(3)] == ["0", "1", "2"]
    assert dict(memo) == {0: "0", 1: "1", 2: "2"}
    memo.keep(3, "3")
    assert dict(memo) == {3: "3"}
