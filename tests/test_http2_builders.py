"""Envoy's test-frame builders (harness/codec/h2_frames.py): the exact bytes of
http2_frame.cc (newest generation), http2_connection_fuzz_test.cc and frame_replay.cc."""

from __future__ import annotations

from pathlib import Path

import pytest
from hpack import Decoder as HpackDecoder
from hyperframe import frame as hf

from harness.codec import h2_frames, hpack, http2
from harness.engine.corpus import parse_text_proto
from harness.proto import message_class

ENVOY = Path(__file__).resolve().parent.parent / "corpora"
H2_CORPUS = ENVOY / "h2_capture" / "envoy"  # Envoy's h2_corpus, imported by the lead


def frame(text: str) -> bytes:
    msg = parse_text_proto(message_class("test.integration.h2.H2TestFrame"), text.encode())
    assert msg is not None, text
    return h2_frames.h2_test_frame_bytes(msg)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("settings {}", "000000040000000000"),
        ("settings { flags: ACK }", "000000040100000000"),
        ('ping { flags: ACK data: "0123456789" }', "0000080600000000003031323334353637"),
        ('ping { data: "ab" }', "0000080600000000006162000000000000"),
        ("headers { flags: END_STREAM flags: END_HEADERS stream_index: 1 }", "000000010500000001"),
        ("continuation { flags: END_HEADERS stream_index: 3 }", "000000090400000003"),
        ("data { flags: END_STREAM stream_index: 2147483648 }", "000000000180000000"),
        ("priority { stream_index: 3 dependent_index: 1 }", "0000050200000000030000000100"),
        ("push_promise { stream_index: 1 promised_stream_index: 2 }", "00000405000000000100000002"),
        # Error codes are copied in host byte order (little-endian), no htonl.
        ("reset_stream { stream_index: 1 error_code: CANCEL }", "00000403000000000108000000"),
        (
            "go_away { last_stream_index: 5 error_code: ENHANCE_YOUR_CLAIM }",
            "000008070000000000000000050b000000",
        ),
        ("reset_stream { stream_index: 1 error_code: 300 }", "0000040300000000012c000000"),
        ("window_update { stream_index: 1 increment: 65536 }", "00000408000000000100010000"),
        ("malformed_request { stream_index: 1 }", "00000101050000000188"),
        (
            'request { stream_index: 1 host: "host" path: "/" }',
            "0000090105000000018287840104" + b"host".hex(),
        ),
        (
            'request { stream_index: 1 host: "h" path: "/p" }',
            "000009010500000001828704022f70010168",
        ),
        ('post_request { stream_index: 3 host: "h" path: "" }', "000006010400000003838784010168"),
        (
            'malformed_request_with_zerolen_header { stream_index: 1 host: "h" path: "/" }',
            "00000b010500000001828704012f010168400000",
        ),
        ('generic { frame_bytes: "\\000\\001raw" }', "0001" + b"raw".hex()),
        ('status { status: "200" stream_index: 1 }', "00000101050000000188"),
        ('status { status: "500" stream_index: 1 }', "0000010105000000018e"),
        (
            'status { status: "999" stream_index: 1 }',
            "00000d0105000000010007" + b":status".hex() + "03" + b"999".hex(),
        ),
        (
            "metadata { flags: END_METADATA stream_index: 0 "
            'metadata { metadata { key: "k" value: "vv" } } }',
            "0000064d040000000000016b027676",
        ),
        ("", ""),
    ],
)
def test_h2_test_frame_bytes(text: str, expected: str) -> None:
    assert frame(text).hex() == expected


def test_metadata_pairs_are_written_in_key_order() -> None:
    """A protobuf map iterates in another order in each process: sorting by key makes a
    testcase's bytes the same in every run."""
    keys = [f"k{i:02d}" for i in range(20)][::-1]
    pairs = " ".join(f'metadata {{ key: "{k}" value: "v" }}' for k in keys)
    built = frame(f"metadata {{ flags: END_METADATA stream_index: 1 metadata {{ {pairs} }} }}")
    decoded = [name for name, _ in HpackDecoder().decode(built[http2.HEADER_SIZE :], raw=True)]
    assert decoded == sorted(k.encode() for k in keys)


def test_every_envoy_h2_corpus_case_builds() -> None:
    if not H2_CORPUS.is_dir():
        pytest.skip("Envoy's h2_corpus is not imported yet")
    cls = message_class("test.integration.h2.H2CaptureFuzzTestCase")
    built = 0
    for path in sorted(H2_CORPUS.iterdir()):
        case = parse_text_proto(cls, path.read_bytes())
        if case is None:
            continue  # metadata_test uses the old repeated-metadata schema: Envoy skips it too
        for event in case.events:
            side, wire = h2_frames.h2_capture_event_bytes(event)
            assert side in (None, "downstream", "upstream")
            built += len(wire)
    assert built > 0


def test_capture_event_concatenates_frames() -> None:
    cls = message_class("test.integration.h2.Event")
    event = parse_text_proto(
        cls,
        b"downstream_send_event { h2_frames { settings {} } "
        b"h2_frames { settings { flags: ACK } } }",
    )
    assert event is not None
    assert h2_frames.h2_capture_event_bytes(event) == (
        "downstream",
        bytes.fromhex("000000040000000000000000040100000000"),
    )


def test_frame_replay_well_known_frames() -> None:
    settings = http2.parse_frame(http2.split_frames(h2_frames.DEFAULT_SETTINGS_FRAME)[0][0])
    assert isinstance(settings, hf.SettingsFrame)
    assert settings.settings == {4: 2**31 - 1, 2: 0}
    update = http2.parse_frame(http2.split_frames(h2_frames.INITIAL_WINDOW_UPDATE_FRAME)[0][0])
    assert isinstance(update, hf.WindowUpdateFrame)
    assert (update.stream_id, update.window_increment) == (0, 268369921)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "000000010500000001"),
        (b"\x07\x07", "000000010500000001"),
        (bytes.fromhex("ffffff0800ffffffff") + b"abc", "000003010500000001" + b"abc".hex()),
    ],
)
def test_fixup_headers(data: bytes, expected: str) -> None:
    assert h2_frames.fixup_headers(data).hex() == expected


def connection_case(text: str) -> object:
    cls = message_class("test.common.http.http2.Http2ConnectionFuzzCase")
    case = parse_text_proto(cls, text.encode())
    assert case is not None
    return case


def test_http2_connection_frames_byte_orders() -> None:
    case = connection_case(
        "frames { h2frame { streamid: 0 settings { settings { identifier: 3 value: 100 } } } }"
        "frames { h2frame { streamid: 1 ping { data: 1 } } }"
        "frames { h2frame { streamid: 2 rst { error_code: 8 } } }"
        'frames { junk { data: "\\001\\002" } }'
        "frames { h2frame { } }"
    )
    wire = h2_frames.http2_connection_case_bytes(case)
    assert wire is not None
    body = wire[len(h2_frames.PREFACE) + 9 :]
    assert (
        wire[len(h2_frames.PREFACE) : len(h2_frames.PREFACE) + 9] == h2_frames.EMPTY_SETTINGS_FRAME
    )
    # SETTINGS: identifier in host order (no htons), value htonl; stream (0 << 1) | 1.
    assert body[:15].hex() == "000006040000000001030000000064"
    # PING: the uint64 in host order; stream (1 << 1) | 1 = 3.
    assert body[15:32].hex() == "0000080600000000030100000000000000"
    assert body[32:45].hex() == "00000403000000000500000008"
    assert body[45:] == b"\x01\x02"  # junk as is; the empty h2frame writes nothing


def test_http2_connection_headers_padding_and_weight() -> None:
    case = connection_case(
        "frames { h2frame { streamid: 0 flags: 12 headers { stream_dependency: 7 weight: 16 "
        'padding: "\\000\\000" '
        'headers { headers { key: ":method" value: "GET" } } } } }'
    )
    wire = h2_frames.http2_connection_case_bytes(case)
    assert wire is not None
    raw = http2.split_frames(wire[len(h2_frames.PREFACE) + 9 :])[0][0]
    assert (raw.type, raw.flags, raw.stream_id) == (http2.HEADERS, 12, 1)
    assert raw.payload[0] == 2  # PADDED: pad length first
    assert raw.payload[1:6] == bytes.fromhex("000000070f")  # dependency, weight - 1
    assert hpack.HpackPair().decode(raw.payload[6:-2]) == [(b":method", b"GET")]
    assert raw.payload[-2:] == b"\x00\x00"


def test_http2_connection_case_without_frames_is_skipped() -> None:
    assert h2_frames.http2_connection_case_bytes(connection_case("")) is None


def test_envoy_http2_connection_corpus_parses_where_envoy_does() -> None:
    cls = message_class("test.common.http.http2.Http2ConnectionFuzzCase")
    folder = ENVOY / "http2_connection" / "envoy"
    parsed = {p.name for p in folder.iterdir() if parse_text_proto(cls, p.read_bytes()) is not None}
    assert len(list(folder.iterdir())) == 28
    # The ten junk cases parse; HDRS000-017 repeat the singular oneof field `headers`, which
    # protobuf's text parser (C++ as Python) rejects, so Envoy skips them as well.
    assert parsed == {
        "CONTINUATION",
        "DATA",
        "GOAWAY",
        "HEADERS",
        "PING",
        "PRIORITY",
        "PUSH_PROMISE",
        "RST_STREAM",
        "SETTINGS",
        "WINDOW_UPDATE",
    }


def test_remembered_frame_bytes_are_the_built_ones() -> None:
    """Frames are looked up by their serialized bytes: the bytes built for every frame of
    Envoy's h2 corpus, and of the same frames again (remembered), are the builder's."""
    cls = message_class("test.integration.h2.H2CaptureFuzzTestCase")
    frames = []
    for path in sorted(H2_CORPUS.iterdir()) if H2_CORPUS.is_dir() else ():
        case = parse_text_proto(cls, path.read_bytes())
        for event in case.events if case is not None else ():
            which = event.WhichOneof("event_selector")
            if which is not None:
                frames.extend(getattr(event, which).h2_frames)
    assert len(frames) > 20 or not H2_CORPUS.is_dir()
    for _ in range(2):
        for frame in frames:
            assert h2_frames._frame_bytes(frame) == h2_frames.h2_test_frame_bytes(frame)
