"""Capture replay on the real Envoy: Envoy's h1/h2 corpora through the envoy-plane run
functions, the HTTP/2 replay's semantics, and the barrier that replaces the 10 ms wait."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import proto, targets
from harness.engine import corpus, mutate
from harness.envoy import fuzz, lanes
from harness.envoy.lane import EnvoyLane
from harness.envoy.upstream import H2RequestParser
from harness.proto.h2_capture_fuzz_pb2 import H2CaptureFuzzTestCase

pytestmark = pytest.mark.envoy

ROOT = Path(__file__).resolve().parent.parent
H1_CORPUS = ROOT / "corpora" / "h1_capture" / "envoy"
H2_CORPUS = ROOT / "corpora" / "h2_capture" / "envoy"


def _decoded(target: str, folder: Path) -> list[tuple[str, Any]]:
    """Each file of ``folder`` as the replay decodes it (None: unparsable, skipped)."""
    decoder = corpus.Decoder(targets.get(target))
    return [(p.name, decoder.decode(p.read_bytes())) for p in corpus.iter_files(folder)]


@pytest.fixture
def fresh_lanes() -> Iterator[None]:
    lanes.stop_lanes()
    try:
        yield
    finally:
        lanes.stop_lanes()


def _replay_all(
    cases: list[tuple[str, Any]], run: Callable[[Any], None], lane_name: str
) -> list[str]:
    played = []
    for name, case in cases:
        if case is not None:
            run(case)  # EnvoyCrash / EnvoyHang fail the test: Envoy must survive these
            played.append(name)
    assert lanes.running()[lane_name].restarts == 0
    return played


@pytest.mark.usefixtures("fresh_lanes")
def test_envoys_h1_corpus_replays_through_the_h1_envoy_plane() -> None:
    cases = _decoded("h1_capture", H1_CORPUS)
    assert len(cases) == 9 and all(case is not None for _, case in cases)
    assert len(_replay_all(cases, fuzz.h1_capture, "h1_capture")) == 9
    direct = "h1_capture_direct_response"
    assert len(_replay_all(cases, fuzz.h1_capture_direct_response, direct)) == 9


@pytest.mark.usefixtures("fresh_lanes")
def test_envoys_h2_corpus_replays_through_the_h2_envoy_plane() -> None:
    cases = _decoded("h2_capture", H2_CORPUS)
    assert len(cases) == 9
    # Files in an older layout of the proto do not parse; they are skipped, as
    # libprotobuf-mutator skips them. All the others must replay.
    assert sum(case is not None for _, case in cases) >= 8
    played = _replay_all(cases, fuzz.h2_capture, "h2_capture")
    assert "simple_test" in played and "connection_metadata" in played
    direct = "h2_capture_direct_response"
    assert _replay_all(cases, fuzz.h2_capture_direct_response, direct) == played
    assert lanes.running()["h2_capture"].config.allow_metadata
    assert lanes.running()[direct].config.direct_response


def _h2(name: str) -> H2CaptureFuzzTestCase:
    case = corpus.parse_text_proto(H2CaptureFuzzTestCase, (H2_CORPUS / name).read_bytes())
    assert isinstance(case, H2CaptureFuzzTestCase), name
    return case


@pytest.fixture(scope="module")
def h2_lane() -> Iterator[EnvoyLane]:
    with EnvoyLane(lanes.H2) as lane:
        yield lane


def test_h2_request_reaches_the_scripted_upstream_and_its_bad_answer_is_a_502(
    h2_lane: EnvoyLane,
) -> None:
    # SETTINGS, then a GET on stream 1; the scripted upstream answers with an invalid
    # :status, which Envoy turns into a 502.
    obs = h2_lane.replay_h2_capture(_h2("status_test_overflowed_status"))
    assert h2_lane.upstream_connected
    assert obs.statuses == [502]
    [request] = obs.upstream
    assert (request.method, request.target, request.body) == ("GET", "/path/to/long/url", 0)
    headers = dict(request.headers)
    assert headers[":authority"] == "host" and headers[":scheme"] == "https"


def test_h2_without_a_settings_frame_first_is_refused_and_never_proxied(
    h2_lane: EnvoyLane,
) -> None:
    # simple_test sends a request right after the preface: Envoy's codec wants SETTINGS
    # first, so it ends the connection; the upstream event then finds no connection.
    obs = h2_lane.replay_h2_capture(_h2("simple_test"))
    assert obs.closed and obs.statuses == [] and obs.upstream == []
    assert not h2_lane.upstream_connected


def test_h2_direct_response_answers_without_an_upstream() -> None:
    with EnvoyLane(lanes.H2_DIRECT) as lane:
        obs = lane.replay_h2_capture(_h2("connection_metadata"), direct=True)
        assert lane.upstream is not None and lane.upstream.accepted_total == 0
    assert obs.statuses == [200] and obs.upstream == []


def test_the_preface_goes_before_the_first_downstream_event_only(h2_lane: EnvoyLane) -> None:
    # An upstream event first: nothing was sent downstream, so no request and no upstream
    # connection - the case ends there, and the later downstream event is never played.
    case = H2CaptureFuzzTestCase()
    case.events.add().upstream_send_event.h2_frames.add().settings.SetInParent()
    down = case.events.add().downstream_send_event
    down.h2_frames.add().settings.SetInParent()
    request = down.h2_frames.add().request
    request.stream_index, request.host, request.path = 1, "a", "/x"
    obs = h2_lane.replay_h2_capture(case)
    assert obs.upstream == [] and obs.statuses == [] and not h2_lane.upstream_connected
    # The same events downstream-first: the request is proxied (one preface, then frames).
    case2 = H2CaptureFuzzTestCase()
    case2.events.add().CopyFrom(case.events[1])
    case2.events.add().CopyFrom(case.events[0])
    obs = h2_lane.replay_h2_capture(case2)
    assert [r.target for r in obs.upstream] == ["/x"] and h2_lane.upstream_connected


def test_h2_request_parser_reads_envoys_client_frames() -> None:
    import h2.config
    import h2.connection

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    fields = [(":method", "POST"), (":path", "/p"), (":scheme", "http"), (":authority", "a")]
    client.send_headers(1, [*fields, ("x-k", "v")])
    client.send_data(1, b"abcdef", end_stream=True)
    client.send_headers(
        3, [(":method", "GET"), (":path", "/g"), (":scheme", "http"), (":authority", "a")]
    )
    client.reset_stream(3)
    data = client.data_to_send()
    parser = H2RequestParser()
    started, completed = [], 0
    for i in range(0, len(data), 7):  # in pieces, as a socket may deliver them
        new, done = parser.feed(data[i : i + 7])
        started += new
        completed += done
    assert [(r.method, r.target, r.body, r.complete) for r in started] == [
        ("POST", "/p", 6, True),
        ("GET", "/g", 0, True),
    ]
    assert completed == 2
    assert ("x-k", "v") in started[0].headers and (":authority", "a") in started[0].headers


def _mutated(target: str, folder: Path, count: int, seed: int) -> list[Any]:
    cls = proto.message_class(targets.get(target).proto_name or "")
    mutator = mutate.ProtoMutator(cls)
    seeds = [p.read_bytes() for p in corpus.iter_files(folder)]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = mutator.mutate(rng.choice(seeds), 4096, rng.randrange(1 << 30))
        case = corpus.parse_text_proto(cls, data)
        if case is not None:
            out.append(case)
    return out


@pytest.mark.parametrize("target", ["h1_capture", "h2_capture"])
def test_the_barrier_decides_the_upstream_wait_as_envoys_10ms_wait_does(target: str) -> None:
    """For mutated cases, syncing with Envoy's worker instead of waiting 10 ms for the
    upstream connection changes nothing: same connection outcome, same observation."""
    h2 = target == "h2_capture"
    cases = _mutated(target, H2_CORPUS if h2 else H1_CORPUS, 80, seed=11)
    outcomes: dict[str, list[tuple[bool, Any]]] = {}
    for mode in ("barrier", "timed"):
        with EnvoyLane(lanes.H2 if h2 else lanes.H1, upstream_wait_mode=mode) as lane:
            play = lane.replay_h2_capture if h2 else lane.replay_capture
            outcomes[mode] = []
            for case in cases:
                obs = play(case, settle=False)
                outcomes[mode].append((lane.upstream_connected, obs))
            assert lane.restarts == 0
    connected = [c for c, _ in outcomes["barrier"]]
    assert connected == [c for c, _ in outcomes["timed"]]
    assert any(connected) and not all(connected)  # both outcomes were exercised
    differ = 0
    for (_, a), (_, b) in zip(outcomes["barrier"], outcomes["timed"], strict=True):
        if a == b:
            continue
        # The one race left: an answer Envoy writes after an upstream response resumed a
        # pipelined request may come after the final barrier. Nothing else may differ.
        differ += 1
        short, long = sorted((a.statuses, b.statuses), key=len)
        assert long[: len(short)] == short and a.upstream == b.upstream, (a, b)
    assert differ <= 3


def test_over_256_kib_downstream_the_lane_waits_as_envoy_does() -> None:
    """Past the size the barrier is trusted for, the upstream wait is Envoy's timed one."""
    from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase

    body = b"x" * (300 * 1024)
    head = b"POST /big HTTP/1.1\r\nhost: a\r\ncontent-length: %d\r\n\r\n" % len(body)
    case = CaptureFuzzTestCase()
    case.events.add().downstream_send_bytes = head + body
    case.events.add().upstream_send_bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    with EnvoyLane(lanes.H1) as lane:
        obs = lane.replay_capture(case)
        assert lane.upstream_connected
    assert obs.statuses == [200]
    assert [(r.target, r.body) for r in obs.upstream] == [("/big", len(body))]


def test_importing_the_envoy_plane_does_not_import_the_lane() -> None:
    # The runner instruments what a target's module imports; the lane machinery must stay
    # out of that (start-up time, per-input speed): it is imported on first use.
    code = (
        "import sys, harness.envoy.fuzz\n"
        "assert 'harness.envoy.lane' not in sys.modules, 'lane imported'\n"
        "assert 'harness.envoy.upstream' not in sys.modules, 'upstream imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
