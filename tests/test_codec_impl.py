"""The codec_impl target (Envoy's codec_impl_fuzz_test) and http1_codec_impl.

What is checked: Envoy's corpora parse and replay cleanly; the pair does what Envoy's test does
(streams, HTTP/1 one at a time, resets, reorder buffers, settings folding); the sent==received
oracle holds on honest codecs and catches planted ones (a dropped header, a lost body byte, a
dropped trailer) over both protocols, and stays quiet where the wire was tampered with; a real
atheris run of the target.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import text_format

from harness import targets
from harness.codec import codec_impl, codec_impl_h1, codec_impl_h2
from harness.codec import http2 as wire
from harness.codec.codec_impl import CodecPair, http1_messages, run_case, sanitize
from harness.codec.codec_impl_h2 import MAX_STREAMS, MIN_WINDOW, Body, limits_from
from harness.codec.codec_impl_oracle import same_body
from harness.engine import corpus
from harness.oracle import InvariantViolation
from harness.proto import message_class
from tests.conftest import envoy_fuzz

CORPUS = targets.CORPORA_ROOT / "codec_impl" / "envoy"
H1_CORPUS = targets.CORPORA_ROOT / "http1_codec_impl" / "envoy"
CASE = message_class("test.common.http.CodecImplFuzzTestCase")
H1_CASE = message_class("test.common.http.http1.Http1CodecImplFuzzTestCase")

# One request with a body and trailers, answered with headers, a body and trailers.
ROUND_TRIP = """
h1_settings { server { enable_trailers: true } client { enable_trailers: true } }
actions { new_stream { request_headers {
  headers { key: ":method" value: "POST" } headers { key: ":path" value: "/p" }
  headers { key: ":scheme" value: "http" } headers { key: ":authority" value: "foo.com" }
  headers { key: "x-a" value: "1" } headers { key: "x-b" value: "2" } } } }
actions { client_drain {} }
actions { stream_action { request { data: 70000 } } }
actions { stream_action { request { trailers { headers { key: "t-req" value: "v" } } } } }
actions { quiesce_drain {} }
actions { stream_action { response { headers { headers { key: ":status" value: "200" }
  headers { key: "x-r" value: "3" } } } } }
actions { stream_action { response { data_value: "hello" } } }
actions { stream_action { response { trailers { headers { key: "t-resp" value: "w" } } } } }
"""


def _case(text: str) -> Any:
    return text_format.Parse(text, CASE())


def _record(pair: CodecPair, index: int = 0) -> Any:
    return pair.all_streams[index].record


# --- Envoy's corpora ------------------------------------------------------------------------


def test_envoy_codec_impl_corpus_parses_and_replays_cleanly() -> None:
    """>= 90 % of Envoy's codec_impl_corpus parses and runs through both protocols without
    any exception; the rest are counted with their reason (a file that is not text format)."""
    decoder = corpus.Decoder(targets.get("codec_impl"))
    files = sorted(CORPUS.iterdir())
    assert len(files) == 65
    skipped = []
    for path in files:
        case = decoder.decode(path.read_bytes())
        if case is None:
            skipped.append(path.name)
            continue
        codec_impl.codec_impl(case)
    # The one skipped file has an unterminated string literal (line 41): Envoy's parser
    # rejects it too.
    assert skipped == ["oss-fuzz-46020-codec_impl_fuzz_test-6259213749321728"]
    assert (len(files) - len(skipped)) / len(files) >= 0.9


def test_envoy_http1_codec_impl_corpus_replays_and_raw_files_are_counted() -> None:
    """Four files are Http1CodecImplFuzzTestCase text; six are raw HTTP/1 messages (three
    requests, three ``200 OK`` responses) left from an older form of Envoy's test: not text
    protos, so skipped, as libprotobuf-mutator does."""
    decoder = corpus.Decoder(targets.get("http1_codec_impl"))
    parsed, raw = [], []
    for path in sorted(H1_CORPUS.iterdir()):
        data = path.read_bytes()
        case = decoder.decode(data)
        if case is None:
            first = data.split(b"\n", 1)[0].rstrip(b"\r")
            assert re.fullmatch(rb"[A-Z]+ / HTTP/\d(\.\d)?|200 OK", first), path.name
            raw.append(path.name)
        else:
            codec_impl.http1_codec_impl(case)
            parsed.append(path.name)
    assert parsed == ["GET", "HEAD", "POST", "PUT"]
    assert len(raw) == 6


def test_http1_messages_are_built_as_envoy_builds_them() -> None:
    case = text_format.Parse(
        'req { method: "GET" path: "/" } resp { status: 200 msg: "OK" } '
        'headers { headers { key: "Host" value: "h" } } body: "A"',
        H1_CASE(),
    )
    request, response = http1_messages(case)
    assert request == b"GET / HTTP/1.1\r\nHost: h\r\n\r\nA"
    assert response == b"200 OKHost: h\r\n\r\nA"  # Envoy writes no version and no CRLF


# --- Envoy's semantics ----------------------------------------------------------------------


@pytest.mark.parametrize("http2", [False, True])
def test_a_full_exchange_is_compared_in_both_directions(http2: bool) -> None:
    pair = run_case(_case(ROUND_TRIP), http2, keep=True)
    assert pair.client.error is None and pair.server.error is None
    rec = _record(pair)
    assert rec.req_ended and rec.resp_ended and not rec.reset
    assert len(b"".join(rec.req_body_recv)) == 70000
    assert b"".join(rec.resp_body_recv) == b"hello"
    assert rec.req_trailers_recv == [(b"t-req", b"v")]
    assert rec.resp_trailers_recv == [(b"t-resp", b"w")]


def test_http1_trailers_need_both_ends_enabled() -> None:
    text = ROUND_TRIP.replace("client { enable_trailers: true }", "")
    pair = run_case(_case(text), http2=False, keep=True)
    rec = _record(pair)
    assert rec.req_ended and rec.req_trailers_recv is None  # the client drops them
    assert rec.resp_trailers_recv is None  # the client does not parse them


def test_data_is_n_modulo_one_mib_of_a() -> None:
    text = ROUND_TRIP.replace("data: 70000", f"data: {3 * 1024 * 1024 + 5}")
    rec = _record(run_case(_case(text), http2=True, keep=True))
    assert b"".join(rec.req_body_recv) == b"a" * 5


def test_http1_runs_one_stream_at_a_time_and_a_reset_closes_the_connection() -> None:
    stream = (
        'actions { new_stream { request_headers { headers { key: ":method" value: "GET" } '
        'headers { key: ":path" value: "/" } } } }'
    )
    text = f"{stream} {stream} actions {{ quiesce_drain {{}} }}"
    pair = run_case(_case(text), http2=False, keep=True)
    assert len(pair.all_streams) == 1  # the second waits for the first to finish: skipped
    assert len(run_case(_case(text), http2=True, keep=True).all_streams) == 2
    reset = text + " actions { stream_action { request { reset_stream: 0 } } }" + stream
    pair = run_case(_case(reset), http2=False, keep=True)
    assert pair.should_close and len(pair.all_streams) == 1


def test_http2_settings_are_folded_into_their_valid_ranges() -> None:
    settings = message_class("test.common.http.Http2Settings")(
        hpack_table_size=7, max_concurrent_streams=MAX_STREAMS, initial_stream_window_size=5
    )
    limits = limits_from(settings)
    assert limits.hpack_table_size == 7
    assert limits.max_concurrent_streams == 1  # 1 + X % (2^31 - 1)
    assert limits.initial_stream_window_size == MIN_WINDOW + 5
    assert limits.initial_connection_window_size == MIN_WINDOW
    assert limits.allow_metadata


def test_headers_are_sanitized_as_envoy_does() -> None:
    headers = text_format.Parse(
        'headers { key: "X-Up" value: "a\\nb" } headers { key: "" value: "v" } '
        'headers { key: "Transfer-Encoding" value: "chunked" } headers { key: ":path" value: "/" }',
        message_class("test.fuzz.Headers")(),
    )
    assert sanitize(headers, request=True) == [
        (b":path", b"/"),
        (b":authority", b"dummy"),
        (b":method", b"dummy"),
        (b"x-up", b"a b"),
        (b"not-empty", b"v"),
    ]


# --- the oracle -----------------------------------------------------------------------------


@pytest.mark.parametrize("http2", [False, True])
def test_the_oracle_catches_a_codec_that_drops_a_header(
    http2: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_case(_case(ROUND_TRIP), http2)  # the honest codecs pass
    if http2:
        original = codec_impl_h2.H2Endpoint._process_events

        def dropping(self: Any) -> None:
            for ev in self.conn.events:
                if hasattr(ev, "headers") and not self.client and ev.headers:
                    ev.headers = [h for h in ev.headers if h[0] != b"x-b"]
            original(self)

        monkeypatch.setattr(codec_impl_h2.H2Endpoint, "_process_events", dropping)
    else:
        original_map = codec_impl_h1._request_map
        monkeypatch.setattr(
            codec_impl_h1,
            "_request_map",
            lambda head: [h for h in original_map(head) if h[0] != b"x-b"],
        )
    with pytest.raises(InvariantViolation, match="request headers sent is not what"):
        run_case(_case(ROUND_TRIP), http2)


@pytest.mark.parametrize("http2", [False, True])
def test_the_oracle_catches_a_lost_body_byte_and_a_lost_trailer(
    http2: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = codec_impl_h2.H2Endpoint if http2 else codec_impl_h1.H1Endpoint
    original = endpoint.dispatch

    def losing(self: Any, data: bytes) -> bool:
        ok = original(self, data)
        if self.client:  # the response side: lose one body byte
            self.received[:] = [
                (k, s, p[1:] if k == "data" and p else p, e) for k, s, p, e in self.received
            ]
        return ok

    monkeypatch.setattr(endpoint, "dispatch", losing)
    with pytest.raises(InvariantViolation, match="response body"):
        run_case(_case(ROUND_TRIP), http2)
    monkeypatch.setattr(endpoint, "dispatch", original)

    def no_trailers(self: Any, data: bytes) -> bool:
        ok = original(self, data)
        if not self.client:
            self.received[:] = [r for r in self.received if r[0] != "trailers"]
        return ok

    monkeypatch.setattr(endpoint, "dispatch", no_trailers)
    with pytest.raises(InvariantViolation, match="request trailers"):
        run_case(_case(ROUND_TRIP), http2)


def test_the_oracle_is_quiet_where_the_wire_was_tampered_with() -> None:
    """A mutation that turns a valid header value into another valid one arrives different,
    with no protocol error: that direction is not compared (Envoy's test has no such oracle;
    ours must not blame the codec for the fuzzer's own edit)."""
    text = ROUND_TRIP.replace(
        "actions { client_drain {} }",
        # byte 38 of the request is the "1" of "x-a: 1" (after the request and host lines)
        "actions { mutate { buffer: 0 offset: 38 value: 57 } } actions { client_drain {} }",
    )
    pair = run_case(_case(text), http2=False, keep=True)
    rec = _record(pair)
    assert pair.to_server.tampered and rec.req_ended
    assert (b"x-a", b"9") in rec.req_headers_recv  # it arrived changed; no violation raised


def test_a_case_with_every_action_kind_runs_over_both_protocols() -> None:
    text = (
        ROUND_TRIP
        + """
actions { stream_action { response { metadata { metadata { key: "k" value: "v" } } } } }
actions { stream_action { request { read_disable: true } } }
actions { stream_action { request { read_disable: false } } }
actions { swap_buffer { buffer: 1 server: true } }
actions { server_drain {} }
actions { stream_action { stream_id: 0 request { data: 5 } dispatching_action { data: 3 } } }
actions { stream_action { response { continue_headers { } } } }
actions { stream_action { response { reset_stream: 3 } } }
"""
    )
    for http2 in (False, True):
        run_case(_case(text), http2)


# --- a real atheris run ---------------------------------------------------------------------


def test_a_short_real_fuzz_run_finds_nothing(tmp_path: Path) -> None:
    result = envoy_fuzz("fuzz", "--json", "codec_impl", "--runs", "300", cwd=tmp_path)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert result.returncode == 0, result.stderr[-2000:]
    assert summary["runs"] == 300
    assert summary["findings"] == []


# --- speed-ups that must not change what happens ----------------------------------------------


def _h2_trace(cases: list[Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Everything both HTTP/2 endpoints write, receive and report, dispatch by dispatch."""
    trace: list[Any] = []
    endpoint = codec_impl_h2.H2Endpoint
    dispatch, take_output = endpoint.dispatch, endpoint.take_output

    def traced_dispatch(self: Any, data: bytes) -> bool:
        ok = dispatch(self, data)
        conn = self.conn
        trace.append((self.client, data, ok, list(self.received), self.error, str(conn.outcome)))
        trace.append((conn.closed, bytes(conn.outbound), vars(conn.constraints).copy()))
        return ok

    def traced_take_output(self: Any) -> bytes:
        out = take_output(self)
        trace.append((self.client, "wrote", out))
        return out

    monkeypatch.setattr(endpoint, "dispatch", traced_dispatch)
    monkeypatch.setattr(endpoint, "take_output", traced_take_output)
    for case in cases:
        try:
            run_case(case, http2=True)
        except Exception as e:  # the same failure either way is part of the trace
            trace.append(repr(e))
    monkeypatch.setattr(endpoint, "dispatch", dispatch)
    monkeypatch.setattr(endpoint, "take_output", take_output)
    return trace


def test_a_server_cloned_after_the_preface_does_what_one_decoding_it_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``_after_preface``: the server's first write from the client starts with the preface,
    which the server takes from a clone of one that decoded it. Over Envoy's corpus, our
    regressions and cases whose preface carries a WINDOW_UPDATE or is mutated, every write,
    event, error, outcome and limit counter is the same as when each server decodes it."""
    decoder = corpus.Decoder(targets.get("codec_impl"), cached=False)
    files = sorted(CORPUS.iterdir()) + sorted((CORPUS.parent / "regressions").iterdir())
    cases = [c for f in files if (c := decoder.decode(f.read_bytes())) is not None]
    window = "h2_settings { client { initial_connection_window_size: 100000 } }\n"
    cases += [
        _case(ROUND_TRIP),
        _case(window + ROUND_TRIP),
        # byte 30 is inside the client's SETTINGS frame (the preface string is 24 bytes)
        _case(
            ROUND_TRIP.replace(
                "actions { client_drain {} }",
                "actions { mutate { offset: 30 value: 255 } } actions { client_drain {} }",
            )
        ),
    ]
    built: list[int] = []
    after_preface = codec_impl_h2._after_preface

    def counting(limits: Any, preface: bytes) -> Any:
        built.append(len(preface))
        return after_preface(limits, preface)

    monkeypatch.setattr(codec_impl_h2, "_after_preface", counting)
    codec_impl_h2._handshaken.clear()
    cloned = _h2_trace(cases + cases, monkeypatch)  # the second pass finds them all built
    assert len(built) > len(cases) and any(n > 24 + 45 for n in built)  # WINDOW_UPDATE too
    monkeypatch.setattr(codec_impl_h2, "preface_end", lambda data: 0)
    n = len(built)
    decoded = _h2_trace(cases + cases, monkeypatch)
    assert len(built) == n  # every server decoded its preface itself
    assert cloned == decoded


def test_preface_end_takes_the_settings_and_window_update_after_the_preface() -> None:
    settings = wire.build_frame(wire.SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x01")
    update = wire.build_frame(wire.WINDOW_UPDATE, 0, 0, b"\x00\x00\x10\x00")
    ack = wire.build_frame(wire.SETTINGS, wire.FLAG_ACK, 0)
    headers = wire.build_frame(wire.HEADERS, wire.FLAG_END_HEADERS, 1, b"\x82")
    preface = wire.PREFACE + settings + update
    assert codec_impl_h2.preface_end(preface + headers) == len(preface)
    assert codec_impl_h2.preface_end(preface + ack + settings) == len(preface)
    assert codec_impl_h2.preface_end(preface[:-1]) == len(wire.PREFACE + settings)
    assert codec_impl_h2.preface_end(settings + update) == 0
    stream_update = wire.build_frame(wire.WINDOW_UPDATE, 0, 1, b"\x00\x00\x10\x00")
    assert codec_impl_h2.preface_end(wire.PREFACE + stream_update) == 0


def test_same_body_compares_bytes_across_any_chunking() -> None:
    body: list[Body] = [memoryview(b"a" * 40000)[:30000], b"xyz"]
    assert same_body(body, [b"a" * 16384, b"a" * 13616 + b"x", b"yz"])
    assert same_body([], [])
    assert same_body([b""], [])
    assert not same_body(body, [b"a" * 16384, b"a" * 13616 + b"X", b"yz"])  # one byte
    assert not same_body(body, [b"a" * 30000, b"xy"])  # one short
    assert not same_body([b"ab"], [b"ba"])


def test_http1_chunks_are_written_as_before() -> None:
    """The chunk encoder joins instead of %-formatting: the same bytes."""
    for data, end in ((b"abc", False), (memoryview(b"x" * 70000), True), (b"", True)):
        encoder = codec_impl_h1._Encoder(chunked=True, done=False, trailers_enabled=False)
        expected = (b"%x\r\n%s\r\n" % (len(data), bytes(data)) if data else b"") + (
            b"0\r\n\r\n" if end else b""
        )
        assert encoder.data(data, end) == expected


def test_a_mutated_fragment_is_copied_and_only_it() -> None:
    buf = codec_impl._Buffer()
    first, second = b"abc", b"def"
    buf.add(first)
    buf.add(second)
    buf.mutate(buffer=1, offset=4, value=ord("e"))  # the byte already holds that value
    assert not buf.tampered and buf.fragments[1] is second
    buf.mutate(buffer=1, offset=4, value=ord("X"))
    assert buf.tampered and bytes(buf.fragments[1]) == b"dXf" and second == b"def"
    assert buf.fragments[0] is first


def test_the_server_writes_nothing_before_its_first_dispatch_then_settings_and_ack() -> None:
    """Envoy's server codec queues its SETTINGS (and connection WINDOW_UPDATE) in its
    constructor and writes them at the end of its first dispatch (sendPendingFrames), after
    decoding the client's preface: the model writes them with that dispatch's answer, the
    ACK of the client's SETTINGS. It used to write them before receiving anything."""
    window = "h2_settings { server { initial_connection_window_size: 100000 } }\n"
    case = _case(window + ROUND_TRIP)
    pair = CodecPair(case, http2=True)
    pair._new_stream(case.actions[0].new_stream)
    assert pair.to_server.fragments and not pair.to_client.fragments
    assert pair._drain(pair.to_server, pair.server)
    first = pair.to_client.fragments[0]
    frames = [(t, f & wire.FLAG_ACK) for _o, _n, t, f, _s in wire.scan_frames(first)[0]]
    assert frames[:3] == [
        (wire.SETTINGS, 0),
        (wire.WINDOW_UPDATE, 0),
        (wire.SETTINGS, wire.FLAG_ACK),
    ]
    pair.run(case.actions[1:])
    pair.check()
    assert pair.client.error is None and pair.server.error is None
