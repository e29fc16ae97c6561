"""The Envoy-limited HTTP/2 connection (harness/codec/h2_connection.py): each flood limit trips
at exactly the documented count and not one frame before; header limits; outcome
classification; clones behave like freshly built connections."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hyperframe import frame as hf
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.codec import h2_connection as hc
from harness.codec import h2_frames, hpack, http2
from harness.codec.fuzz_http2 import _template

CORPORA = Path(__file__).resolve().parent.parent / "corpora"
REQUEST = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b":authority", b"h")]
EMPTY_SETTINGS = http2.build_frame(http2.SETTINGS, 0, 0)


def server(limits: hc.Limits = hc.DEFAULT_LIMITS) -> hc.EnvoyH2Connection:
    conn = hc.EnvoyH2Connection(client=False, limits=limits)
    assert conn.receive(http2.PREFACE + EMPTY_SETTINGS).kind == "accepted"
    return conn


def headers(stream: int, end_stream: bool = False, extra: list | None = None) -> bytes:
    flags = http2.FLAG_END_HEADERS | (http2.FLAG_END_STREAM if end_stream else 0)
    block = hpack.HpackPair().encode(REQUEST + (extra or []))
    return http2.build_frame(http2.HEADERS, flags, stream, block)


def priority(stream: int) -> bytes:
    return http2.build_frame(http2.PRIORITY, 0, stream, struct.pack(">IB", 0, 16))


def window_update(stream: int = 0) -> bytes:
    return http2.build_frame(http2.WINDOW_UPDATE, 0, stream, struct.pack(">I", 1))


PING = http2.build_frame(http2.PING, 0, 0, b"abcdefgh")
EMPTY_DATA = http2.build_frame(http2.DATA, 0, 1, b"")


def test_envoy_defaults() -> None:
    lim = hc.DEFAULT_LIMITS
    assert (lim.max_concurrent_streams, lim.initial_stream_window_size) == (1024, 16 << 20)
    assert (lim.initial_connection_window_size, lim.hpack_table_size) == (24 << 20, 4096)
    assert (lim.max_headers_kb, lim.max_headers_count) == (60, 100)
    assert (lim.max_outbound_frames, lim.max_outbound_control_frames) == (10000, 1000)
    assert lim.max_consecutive_inbound_frames_with_empty_payload == 1
    assert lim.max_inbound_priority_frames_per_stream == 100
    assert lim.max_inbound_window_update_frames_per_data_frame_sent == 10
    conn = hc.EnvoyH2Connection()
    out = conn.drain()
    raws, _ = http2.split_frames(out)
    sent = http2.parse_frame(raws[0])
    assert isinstance(sent, hf.SettingsFrame)
    assert sent.settings[http2.SETTINGS_MAX_CONCURRENT_STREAMS] == 1024
    assert sent.settings[http2.SETTINGS_INITIAL_WINDOW_SIZE] == 16 << 20
    assert sent.settings[http2.SETTINGS_HEADER_TABLE_SIZE] == 4096
    update = http2.parse_frame(raws[1])
    assert isinstance(update, hf.WindowUpdateFrame)
    assert (update.stream_id, update.window_increment) == (0, (24 << 20) - 65535)


@pytest.mark.parametrize("one_call", [True, False])
def test_consecutive_empty_frames_trip_on_the_second(one_call: bool) -> None:
    conn = server()
    conn.receive(headers(1))
    frames = [EMPTY_DATA, EMPTY_DATA]
    if one_call:
        assert conn.receive(b"".join(frames)).reason == hc.INBOUND_EMPTY_FRAMES_FLOOD
    else:
        assert conn.receive(frames[0]).kind == "accepted"
        assert conn.receive(frames[1]).reason == hc.INBOUND_EMPTY_FRAMES_FLOOD
    assert conn.outcome.kind == "connection_error" and conn.outcome.goaway_code is None


def test_non_empty_or_end_stream_frames_reset_the_empty_count() -> None:
    conn = server()
    conn.receive(headers(1))
    data = http2.build_frame(http2.DATA, 0, 1, b"x")
    conn.receive(EMPTY_DATA + data + EMPTY_DATA)
    assert conn.outcome.kind == "accepted"
    # Padding does not make a frame non-empty (Envoy subtracts it).
    padded_empty = http2.build_frame(http2.DATA, http2.FLAG_PADDED, 1, b"\x02\x00\x00")
    assert conn.receive(padded_empty).reason == hc.INBOUND_EMPTY_FRAMES_FLOOD


@pytest.mark.parametrize("streams", [0, 1, 2])
def test_priority_frames_trip_at_100_times_one_plus_streams(streams: int) -> None:
    conn = server()
    for i in range(streams):
        conn.receive(headers(2 * i + 1, end_stream=True))
    limit = 100 * (1 + streams)
    assert conn.receive(priority(101) * limit).kind == "accepted"
    assert conn.constraints.inbound_priority_frames == limit
    assert conn.receive(priority(101)).reason == hc.INBOUND_PRIORITY_FRAMES_FLOOD


def test_priority_flood_in_one_dispatch_stops_at_the_tripping_frame() -> None:
    conn = server()
    conn.receive(priority(101) * 150)
    assert conn.outcome.reason == hc.INBOUND_PRIORITY_FRAMES_FLOOD
    updates = [e for e in conn.events if type(e).__name__ == "PriorityUpdated"]
    assert len(updates) == 100  # h2 saw the 100 allowed frames and not the 101st


@pytest.mark.parametrize(("streams", "data_frames"), [(0, 0), (1, 0), (1, 1), (1, 2)])
def test_window_update_frames_trip_at_5_plus_2_streams_and_data(
    streams: int, data_frames: int
) -> None:
    conn = server()
    for i in range(streams):
        conn.receive(headers(2 * i + 1, end_stream=True))
    if data_frames:
        conn.send_headers(1, [(b":status", b"200")])
        for _ in range(data_frames):
            conn.send_data(1, b"x")
    assert conn.constraints.outbound_data_frames == data_frames
    limit = 5 + 2 * (streams + 10 * data_frames)
    assert conn.receive(window_update() * limit).kind == "accepted"
    assert conn.receive(window_update()).reason == hc.INBOUND_WINDOW_UPDATE_FRAMES_FLOOD


def test_outbound_control_frames_trip_above_1000_queued() -> None:
    conn = server()
    queued = conn.constraints.outbound_control_frames  # the SETTINGS ACK
    assert queued == 1
    assert conn.receive(PING * (1000 - queued)).kind == "accepted"
    assert conn.constraints.outbound_control_frames == 1000
    assert conn.receive(PING).reason == hc.OUTBOUND_CONTROL_FLOOD


def test_draining_releases_the_outbound_counters() -> None:
    conn = server()
    conn.receive(PING * 900)
    conn.drain()
    assert conn.constraints.outbound_control_frames == 0
    assert conn.receive(PING * 1000).kind == "accepted"


def test_outbound_frames_trip_above_10000_queued() -> None:
    conn = server()
    conn.receive(headers(1, end_stream=True))
    conn.send_headers(1, [(b":status", b"200")])
    queued = conn.constraints.outbound_frames
    for _ in range(10000 - queued):
        conn.send_data(1, b"x")
    assert conn.outcome.kind == "accepted" and conn.constraints.outbound_frames == 10000
    assert conn.send_data(1, b"x").reason == hc.OUTBOUND_FLOOD


def test_header_count_limit_resets_the_stream() -> None:
    ok = [(b"x-h%d" % i, b"v") for i in range(100 - len(REQUEST))]
    conn = server()
    assert conn.receive(headers(1, True, ok)).kind == "accepted"
    conn = server()
    outcome = conn.receive(headers(1, True, [*ok, (b"x-one-more", b"v")]))
    assert outcome.kind == "stream_reset" and outcome.reason == hc.HEADER_OVERFLOW
    assert outcome.resets == [(1, 2)]  # INTERNAL_ERROR, as nghttp2 resets it


@pytest.mark.parametrize(("excess", "kind"), [(0, "accepted"), (1, "stream_reset")])
def test_header_size_limit_is_60_kib(excess: int, kind: str) -> None:
    used = sum(len(n) + len(v) for n, v in REQUEST) + len(b"x-big")
    value = b"a" * (60 * 1024 - used + excess)
    block = hpack.HpackPair().encode([*REQUEST, (b"x-big", value)], huffman=False)
    chunks = [block[i : i + 16384] for i in range(0, len(block), 16384)]
    wire = http2.build_frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, chunks[0])
    for i, chunk in enumerate(chunks[1:], 2):
        flags = http2.FLAG_END_HEADERS if i == len(chunks) else 0
        wire += http2.build_frame(http2.CONTINUATION, flags, 1, chunk)
    assert server().receive(wire).kind == kind


@pytest.mark.parametrize(
    ("wire", "kind", "code"),
    [
        (http2.build_frame(http2.DATA, 0, 0, b"x"), "connection_error", 1),  # DATA on stream 0
        (headers(1, True) + headers(1, True), "stream_reset", 5),  # STREAM_CLOSED
        (headers(1, True) + PING, "accepted", None),
        (http2.build_frame(http2.PING, 0, 0, b"short"), "connection_error", 6),  # FRAME_SIZE
    ],
)
def test_outcomes_are_classified_as_envoy_reports_them(
    wire: bytes, kind: str, code: int | None
) -> None:
    outcome = server().receive(wire)
    assert outcome.kind == kind
    if kind == "connection_error":
        assert outcome.goaway_code == code
    elif kind == "stream_reset":
        assert outcome.resets[0][1] == code


def test_overlong_padding_with_priority_is_a_protocol_error() -> None:
    # hyperframe accepts it; nghttp2 does not.
    bad = http2.build_frame(
        http2.HEADERS, http2.FLAG_PADDED | http2.FLAG_PRIORITY | 0x5, 1, b"\x04" + bytes(5)
    )
    outcome = server().receive(bad)
    assert (outcome.kind, outcome.goaway_code) == ("connection_error", 1)


def test_a_truncated_frame_is_tracked_when_its_header_arrives() -> None:
    conn = server()
    for _ in range(100):
        conn.receive(priority(101))
    assert conn.receive(priority(101)[:10]).reason == hc.INBOUND_PRIORITY_FRAMES_FLOOD


def test_client_role_opens_a_stream_and_reads_a_response() -> None:
    conn = hc.EnvoyH2Connection(client=True)
    sid = conn.send_request(REQUEST)
    assert sid == 1 and conn.constraints.opened_streams == 1
    resp = hpack.HpackPair().encode([(b":status", b"200")])
    wire = EMPTY_SETTINGS + http2.build_frame(http2.HEADERS, 0x5, 1, resp)
    assert conn.receive(wire).kind == "accepted"
    assert any(type(e).__name__ == "ResponseReceived" for e in conn.events)


def _fresh(name: str) -> hc.EnvoyH2Connection:
    if name == "server":
        conn = hc.EnvoyH2Connection(client=False)
        conn.receive(
            h2_frames.PREFACE
            + h2_frames.DEFAULT_SETTINGS_FRAME
            + h2_frames.INITIAL_WINDOW_UPDATE_FRAME
        )
    else:
        conn = hc.EnvoyH2Connection(client=True)
        conn.send_request(
            [
                (b":method", b"GET"),
                (b":path", b"/"),
                (b":scheme", b"http"),
                (b":authority", b"host"),
            ]
        )
        conn.receive(h2_frames.DEFAULT_SETTINGS_FRAME + h2_frames.INITIAL_WINDOW_UPDATE_FRAME)
    conn.events.clear()
    return conn


def _observe(conn: hc.EnvoyH2Connection, data: bytes) -> tuple:
    out = conn.receive(data)
    return (
        str(out),
        out.resets,
        bytes(conn.outbound),
        [repr(e) for e in conn.events],
        vars(conn.constraints).copy(),
    )


@pytest.mark.parametrize("name", ["server", "client"])
def test_clones_behave_like_fresh_connections_on_the_seeds(name: str) -> None:
    corpus = CORPORA / ("request_header" if name == "server" else "response_header")
    for path in sorted(corpus.iterdir()):
        data = path.read_bytes()
        for wire in (data, h2_frames.fixup_headers(data)):
            assert _observe(_template(name), wire) == _observe(_fresh(name), wire), path.name


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120))
def test_clones_behave_like_fresh_connections(data: bytes) -> None:
    seed = (CORPORA / "request_header/headers_continuation").read_bytes()
    for wire in (data, seed[: len(data)] + data):
        assert _observe(_template("server"), wire) == _observe(_fresh("server"), wire)


def test_clone_refuses_an_h2_it_does_not_know() -> None:
    conn = hc.EnvoyH2Connection()
    conn.h2.__dict__["some_new_attribute"] = 1
    with pytest.raises(TypeError, match="some_new_attribute"):
        conn.clone()


def test_headers_whose_padding_fills_the_payload_reach_h2() -> None:
    # hyperframe 6.1.0 rejects this valid frame ("Padding is too long"); the model rewrites it.
    block = hpack.HpackPair().encode(REQUEST)
    padded_empty = http2.build_frame(http2.HEADERS, http2.FLAG_PADDED, 1, b"\x02\x00\x00")
    rest = http2.build_frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, block)
    with pytest.raises(http2.FrameError, match="Padding is too long"):
        http2.parse_frame(http2.split_frames(padded_empty)[0][0])
    conn = server()
    assert conn.receive(padded_empty + rest).kind == "accepted"
    assert any(type(e).__name__ == "RequestReceived" for e in conn.events)


def test_window_update_reserved_bit_is_ignored() -> None:
    # RFC 9113 §6.9: ignore the bit (nghttp2 masks it); hyperframe 6.1.0 rejects the frame.
    conn = server()
    wire = http2.build_frame(http2.WINDOW_UPDATE, 0, 0, b"\x80\x00\x00\x05")
    assert conn.receive(wire).kind == "accepted"
    assert [getattr(e, "delta", None) for e in conn.events][-1] == 5


def test_the_model_upstream_client_behaves_like_a_fresh_client() -> None:
    """h2_capture's upstream bytes go to a clone of one client connection built once: it
    must see what a freshly built client sees, on the upstream side of Envoy's h2 corpus."""
    from harness.engine.corpus import parse_text_proto
    from harness.model.fuzz import _upstream_client, h2_capture_bytes
    from harness.proto import message_class

    cls = message_class("test.integration.h2.H2CaptureFuzzTestCase")
    upstreams = [b"", h2_frames.DEFAULT_SETTINGS_FRAME]
    for path in sorted((CORPORA / "h2_capture" / "envoy").glob("*")):
        case = parse_text_proto(cls, path.read_bytes())
        if case is not None:
            upstreams.append(h2_capture_bytes(case)[1])
    assert len(upstreams) > 5
    for upstream in upstreams:
        for wire in (upstream, upstream[: len(upstream) // 2]):
            assert _observe(_upstream_client(), wire) == _observe(
                hc.EnvoyH2Connection(client=True), wire
            )


def _large_write(empty_frames: int) -> tuple[hc.EnvoyH2Connection, bytes]:
    """A server after the handshake, and a client's request with a 1 MiB body in 16 KiB DATA
    frames as one write, with ``empty_frames`` empty DATA frames in the middle (two trip the
    empty-frame flood limit)."""
    limits = hc.Limits(initial_stream_window_size=1 << 30, initial_connection_window_size=1 << 30)
    client = hc.EnvoyH2Connection(client=True, limits=limits)
    server = hc.EnvoyH2Connection(limits=limits)
    server.receive(client.drain())
    client.receive(server.drain())
    server.receive(client.drain())
    server.drain()
    headers = [
        (b":method", b"POST"),
        (b":path", b"/"),
        (b":scheme", b"http"),
        (b":authority", b"a"),
    ]
    sid = client.send_request(headers, end_stream=False)
    for i in range(64):
        client.send_data(sid, b"a" * 16384)
        if i == 31:
            for _ in range(empty_frames):
                client.send_data(sid, b"")
    client.send_data(sid, b"", end_stream=True)
    return server, client.drain()


@pytest.mark.parametrize("empty_frames", [0, 1, 2])
def test_a_large_write_is_received_alike_whole_or_in_pieces(empty_frames: int) -> None:
    """codec_impl dispatches each write whole, as Envoy's ReorderBuffer does (it used to cut
    large ones in 64 KiB pieces for h2's frame buffer, no longer quadratic in h2 4.4.1):
    the same events, output, outcome and counters as frame by frame and in pieces."""
    template, data = _large_write(empty_frames)
    frames, _ = http2.scan_frames(data)
    cuts = [o + http2.HEADER_SIZE + n for o, n, *_ in frames]
    ways = {
        "whole": [data],
        "frames": [data[a:b] for a, b in zip([0, *cuts], cuts, strict=False)],
        "pieces": [data[i : i + 65536] for i in range(0, len(data), 65536)],
    }
    seen = {}
    for way, parts in ways.items():
        server = template.clone()
        for part in parts:
            server.receive(part)
        events = [
            (type(e).__name__, getattr(e, "stream_id", 0), getattr(e, "data", b""))
            for e in server.events
        ]
        seen[way] = (events, server.drain(), str(server.outcome), vars(server.constraints))
    assert seen["whole"] == seen["frames"] == seen["pieces"]
    assert ("inbound_empty_frames_flood" in seen["whole"][2]) == (empty_frames > 1)
    assert len(seen["whole"][0]) > (30 if empty_frames > 1 else 64)  # every frame seen
