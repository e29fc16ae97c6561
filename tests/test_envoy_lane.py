"""The real-Envoy lane against Envoy 1.40 (each test starts and stops its own Envoy)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.config.proxy import ProxyConfig
from harness.engine.corpus import parse_text_proto
from harness.envoy.errors import EnvoyCrash, EnvoyHang
from harness.envoy.lane import EnvoyLane, UpstreamWaitMode
from harness.envoy.process import stats_delta
from harness.observation import GENERATED_ID
from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase
from tests.conftest import sigstop

pytestmark = pytest.mark.envoy

ROOT = Path(__file__).resolve().parent.parent
H1_CORPUS = ROOT / "corpora" / "h1_capture" / "envoy"
GET = b"GET /hello HTTP/1.1\r\nhost: example\r\n\r\n"


@pytest.fixture
def lane() -> Iterator[EnvoyLane]:
    with EnvoyLane() as running:
        yield running


def test_simple_get_is_proxied_with_envoys_request_headers(lane: EnvoyLane) -> None:
    obs = lane.observe(GET)
    assert obs.statuses == [200]
    assert not obs.closed
    [request] = obs.upstream
    assert (request.method, request.target, request.body) == ("GET", "/hello", 0)
    names = [name for name, _ in request.headers]
    assert {"x-forwarded-proto", "x-request-id", "x-envoy-expected-rq-timeout-ms"} <= set(names)
    assert dict(request.headers)["host"] == "example"
    assert dict(request.headers)["x-envoy-expected-rq-timeout-ms"] == "15000"
    # Envoy's random request id is normalized, so the same input observes the same.
    assert dict(request.headers)["x-request-id"] == GENERATED_ID
    assert lane.observe(GET) == obs


def test_a_client_request_id_is_kept_as_sent(lane: EnvoyLane) -> None:
    rid = "0d6cf4d1-7a39-4a8f-9c8e-3c1f5c2b9a10"
    obs = lane.observe(b"GET / HTTP/1.1\r\nhost: a\r\nx-request-id: " + rid.encode() + b"\r\n\r\n")
    assert dict(obs.upstream[0].headers)["x-request-id"] == rid


def test_request_without_host_gets_400_and_a_close(lane: EnvoyLane) -> None:
    obs = lane.observe(b"GET / HTTP/1.1\r\n\r\n")
    assert obs.statuses == [400]
    assert obs.closed
    assert obs.upstream == []


def test_garbage_gets_400_without_reaching_the_upstream(lane: EnvoyLane) -> None:
    obs = lane.observe(b"\x00\x01garbage\r\n\r\n")
    assert obs.statuses == [400] and obs.closed and obs.upstream == []


def test_pipelined_requests_get_one_status_each_in_order(lane: EnvoyLane) -> None:
    data = (
        b"GET /1 HTTP/1.1\r\nhost: a\r\n\r\n"
        b"POST /2 HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello"
        b"GET /3 HTTP/1.1\r\nhost: a\r\n\r\n"
    )
    obs = lane.observe(data)
    assert obs.statuses == [200, 200, 200]
    assert [(r.method, r.target, r.body) for r in obs.upstream] == [
        ("GET", "/1", 0),
        ("POST", "/2", 5),
        ("GET", "/3", 0),
    ]


def test_pipelined_request_after_a_bad_one_is_not_served(lane: EnvoyLane) -> None:
    obs = lane.observe(b"GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nhost: a\r\n\r\n")
    assert obs.statuses == [400] and obs.closed and obs.upstream == []


def test_incomplete_request_gets_nothing_and_the_connection_stays_open(lane: EnvoyLane) -> None:
    obs = lane.observe(b"GET / HTTP/1.1\r\nhost: a\r\n")
    assert obs.statuses == [] and not obs.closed and obs.upstream == []


def test_chunked_body_reaches_the_upstream(lane: EnvoyLane) -> None:
    data = b"POST /c HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    obs = lane.observe(data)
    assert obs.statuses == [200]
    assert [(r.target, r.body) for r in obs.upstream] == [("/c", 3)]


def test_stats_count_the_requests(lane: EnvoyLane) -> None:
    before = lane.stats()
    for _ in range(3):
        lane.observe(GET)
    delta = stats_delta(before, lane.stats())
    assert delta["http.config_test.downstream_rq_2xx"] == 3
    assert delta["cluster.cluster_0.upstream_rq_total"] == 3


def test_direct_response_route_answers_itself() -> None:
    with EnvoyLane(ProxyConfig(direct_response=True)) as lane:
        obs = lane.observe(GET)
    assert obs.statuses == [200] and obs.upstream == []


def test_http2_both_sides() -> None:
    import h2.config
    import h2.connection

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.send_headers(
        1, [(":method", "POST"), (":path", "/h2"), (":scheme", "http"), (":authority", "a")]
    )
    client.send_data(1, b"abcd", end_stream=True)
    with EnvoyLane(ProxyConfig(downstream="http2", upstream="http2")) as lane:
        obs = lane.observe(client.data_to_send())
    assert obs.statuses == [200] and not obs.closed
    [request] = obs.upstream
    assert (request.method, request.target, request.body) == ("POST", "/h2", 4)
    assert dict(request.headers)[":authority"] == "a"


def test_envoy_killed_mid_run_is_a_crash_and_the_lane_recovers(lane: EnvoyLane) -> None:
    assert lane.observe(GET).statuses == [200]
    assert lane.process is not None and lane.process.pid is not None
    pid = lane.process.pid
    os.kill(pid, signal.SIGABRT)
    # The death is noticed on the first input after it. Envoy's fatal-signal handler writes
    # a backtrace before it dies (12-16 ms here at idle) and its worker serves the lane
    # meanwhile: 50 inputs (~15 ms) were sometimes not enough, so the test waits on a clock.
    deadline = time.monotonic() + 10.0
    with pytest.raises(EnvoyCrash) as info:
        while time.monotonic() < deadline:
            lane.observe(GET)
    assert info.value.returncode == -signal.SIGABRT
    assert "SIGABRT" in str(info.value)
    assert info.value.data == GET
    assert lane.restarts == 1 and lane.process is not None and lane.process.pid != pid
    assert lane.observe(GET).statuses == [200]


def test_stopped_envoy_is_a_hang_and_the_lane_recovers() -> None:
    with EnvoyLane(max_wait=0.3) as lane:
        assert lane.process is not None and lane.process.pid is not None
        pid = lane.process.pid
        sigstop(pid)
        try:
            with pytest.raises(EnvoyHang) as info:
                lane.observe(GET)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the lane killed it: fine
                os.kill(pid, signal.SIGCONT)
        assert info.value.data == GET
        assert lane.restarts == 1
        assert lane.observe(GET).statuses == [200]


def test_a_launched_lane_waits_for_envoy_at_first_use() -> None:
    lane = EnvoyLane()
    try:
        lane.launch()  # returns before Envoy is ready
        assert lane.process is not None and lane.process.pid is not None
        assert lane.upstream is not None  # listening, so Envoy's cluster has its endpoint
        pid = lane.process.pid
        lane.launch()  # idempotent
        assert lane.process.pid == pid
        assert lane.observe(GET).statuses == [200]  # waited for Envoy, then served
        assert lane.process.pid == pid and lane.restarts == 0
        lane.start()  # already running: returns at once
        assert lane.process.pid == pid
    finally:
        lane.stop()
    assert lane.process is None


def test_a_launched_lane_stops_even_if_never_used() -> None:
    lane = EnvoyLane()
    lane.launch()
    assert lane.process is not None
    proc = lane.process
    lane.stop()
    assert proc.pid is None and lane.process is None and lane.upstream is None
    lane.start()  # and can start afresh
    try:
        assert lane.observe(GET).statuses == [200]
    finally:
        lane.stop()


def _proxied(i: int) -> CaptureFuzzTestCase:
    case = CaptureFuzzTestCase()
    case.events.add().downstream_send_bytes = b"GET /x%d HTTP/1.1\r\nhost: a\r\n\r\n" % i
    case.events.add().upstream_send_bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    return case


@pytest.mark.parametrize("spin", [0.0, 0.00025], ids=["sleeping", "spinning"])
def test_fuzz_lane_replays_a_proxied_exchange_the_same_every_time(spin: float) -> None:
    """finish="input": the upstream connection is taken as soon as Envoy opens it, the
    answer is read once Envoy handled the scripted response, whether waits poll or sleep."""
    with EnvoyLane(ProxyConfig(downstream="http1"), finish="input", spin=spin) as lane:
        for i in range(30):
            obs = lane.replay_capture(_proxied(i), settle=False)
            assert lane.upstream_connected
            assert obs.statuses == [200] and not obs.closed
            assert [(r.method, r.target) for r in obs.upstream] == [("GET", f"/x{i}")]
        assert lane.restarts == 0


@pytest.mark.parametrize("pause", [0.0, 0.1])
def test_envoy_dying_between_inputs_is_blamed_on_the_input_before(pause: float) -> None:
    """finish="input": the closes are synced when the next case starts. Envoy dying in
    between - at once, or once it has handled all of an input, closes included (the pause)
    - is raised by the next call and blamed on the input before."""
    import time

    with EnvoyLane(ProxyConfig(downstream="http1"), finish="input") as lane:
        first, second = _proxied(1), _proxied(2)
        lane.replay_capture(first, settle=False)
        time.sleep(pause)  # 0.1 s: the barrier after the closes is back by then
        assert lane.process is not None and lane.process.pid is not None
        os.kill(lane.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while lane.process.exited() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(EnvoyCrash) as info:
            lane.replay_capture(second, settle=False)
        assert info.value.data is first and lane.restarts == 1
        assert lane.replay_capture(second, settle=False).statuses == [200]


@pytest.mark.parametrize("mode", ["barrier", "timed"])
def test_a_case_that_starts_upstream_ends_there(mode: UpstreamWaitMode) -> None:
    # Nothing was sent downstream, so Envoy cannot have connected upstream: the case ends at
    # once and its downstream event is never played.
    case = CaptureFuzzTestCase()
    case.events.add().upstream_send_bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    case.events.add().downstream_send_bytes = GET
    config = ProxyConfig(downstream="http1")
    with EnvoyLane(config, finish="input", upstream_wait_mode=mode) as lane:
        for _ in range(3):
            obs = lane.replay_capture(case, settle=False)
            assert obs.statuses == [] and obs.upstream == [] and not lane.upstream_connected
            # The same lane still proxies what does reach it. (In the timed mode Envoy's
            # answer may come after the return: see harness.envoy.lane, finish="input".)
            obs = lane.replay_capture(_proxied(0), settle=False)
            assert lane.upstream_connected
            assert obs.statuses == [200] or (mode == "timed" and obs.statuses == [])
        assert lane.restarts == 0


def _case(name: str) -> CaptureFuzzTestCase:
    case = parse_text_proto(CaptureFuzzTestCase, (H1_CORPUS / name).read_bytes())
    assert case is not None, name
    return case


def test_envoys_h1_corpus_replays() -> None:
    files = sorted(p.name for p in H1_CORPUS.iterdir())
    assert len(files) == 9
    with EnvoyLane(ProxyConfig(downstream="http1")) as lane:
        results = {name: lane.replay_capture(_case(name)) for name in files}
        assert lane.restarts == 0
    # The scripted upstream answers the proxied POST (chunked 200 from the capture).
    routed = results["RouterRequestAndResponseWithBodyNoBuffer.pb_text"]
    assert routed.statuses == [200]
    assert [(r.method, r.target, r.body) for r in routed.upstream] == [
        ("POST", "/test/long/url", 1024)
    ]
    # A response the upstream never finishes framing well: Envoy answers 502.
    assert results["upstream_extra_crlf.pb_text"].statuses == [502]


def test_envoys_h1_corpus_replays_against_the_direct_response_route() -> None:
    files = sorted(p.name for p in H1_CORPUS.iterdir())
    with EnvoyLane(ProxyConfig(downstream="http1", direct_response=True)) as lane:
        results = {name: lane.replay_capture(_case(name), direct=True) for name in files}
        assert lane.restarts == 0
        assert lane.upstream is not None and lane.upstream.connection_count() == 0
    routed = results["RouterRequestAndResponseWithBodyNoBuffer.pb_text"]
    assert routed.statuses == [200] and routed.upstream == []
    assert all(obs.upstream == [] for obs in results.values())


def test_first_upstream_event_without_an_upstream_connection_ends_the_case() -> None:
    # No request ever reaches Envoy, so it never connects upstream: the case ends at the
    # upstream event and the later downstream bytes are never sent.
    case = CaptureFuzzTestCase()
    case.events.add().downstream_send_bytes = b"GET / HTTP/1.1\r\nhost: a\r\n"
    case.events.add().upstream_send_bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    case.events.add().downstream_send_bytes = b"\r\n"
    with EnvoyLane(ProxyConfig(downstream="http1")) as lane:
        obs = lane.replay_capture(case)
    assert obs.statuses == [] and obs.upstream == []


@pytest.fixture(scope="module")
def shared_lane() -> Iterator[EnvoyLane]:
    """One Envoy for all the examples of a hypothesis test."""
    with EnvoyLane() as running:
        yield running


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(
            st.sampled_from(
                [
                    b"GET / HTTP/1.1\r\n",
                    b"host: a\r\n",
                    b"\r\n",
                    b"content-length: 3\r\n",
                    b"transfer-encoding: chunked\r\n",
                    b"abc",
                    b"0\r\n\r\n",
                    b"\n",
                    b"HTTP/1.0",
                    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                    b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
                ]
            ),
            max_size=10,
        ).map(b"".join),
    )
)
def test_observe_returns_an_observation_for_any_bytes(shared_lane: EnvoyLane, data: bytes) -> None:
    obs = shared_lane.observe(data)
    assert all(100 <= s <= 599 for s in obs.statuses)
    assert shared_lane.restarts == 0


def test_fuzz_plane_run_functions_replay_envoys_corpus() -> None:
    from harness.envoy import fuzz, lanes

    try:
        for path in sorted(H1_CORPUS.iterdir()):
            case = _case(path.name)
            fuzz.h1_capture(case)  # raises EnvoyCrash/EnvoyHang on a finding
            fuzz.h1_capture_direct_response(case)
        started = dict(lanes.running())
        assert set(started) == {"h1_capture", "h1_capture_direct_response"}
        assert all(lane.restarts == 0 for lane in started.values())
        assert started["h1_capture_direct_response"].config.direct_response
    finally:
        lanes.stop_lanes()
    assert not lanes.running()


def test_concurrent_http2_streams_observe_the_same_every_time() -> None:
    import h2.config
    import h2.connection

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    for stream, path in ((1, "/z"), (3, "/a"), (5, "/m")):
        headers = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "a")]
        client.send_headers(stream, headers, end_stream=True)
    data = client.data_to_send()
    with EnvoyLane(ProxyConfig(downstream="http2")) as lane:
        observations = [lane.observe(data) for _ in range(5)]
    assert observations[0].statuses == [200, 200, 200]
    # Envoy sends them upstream on up to three connections in a racy order: sorted here.
    assert [r.target for r in observations[0].upstream] == ["/a", "/m", "/z"]
    assert all(obs == observations[0] for obs in observations)
