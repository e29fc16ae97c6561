"""The HTTP/2 model (harness/model/http2.py) against the real Envoy 1.40, case by case.

Every case of bench/agreement/http2_cases.py goes to one Envoy (started once for the module)
and to ``predict_http2``; statuses, upstream requests and ``closed`` must agree. ``closed`` is
not compared where the model says it is timing-dependent: Envoy closes without a GOAWAY after
its 1 s delayed-close timer while the lane, owed an upstream answer that never comes down,
waits its own 1 s ``max_wait``; which ends first is a race.

Before each case the upstream pool is warmed (a dozen GETs leave a dozen idle connections, or
more when earlier cases left some): a request decoded in the same read as a reset reaches the
upstream only on an idle one. The cases that open more streams than that (``POOL_SENSITIVE``)
need exactly a dozen: the pool is drained first (``differential.warm_pool``), and they run
under ``make test-all`` only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.agreement.http2_build import PREFACE, get, headers, start
from bench.agreement.http2_build import data as data_frame
from bench.agreement.http2_cases import CASES, POOL_SENSITIVE
from harness.config.proxy import ProxyConfig
from harness.envoy.lane import EnvoyLane
from harness.model.differential import warm_pool
from harness.model.http2 import predict_http2, predict_http2_detail
from harness.observation import GENERATED_ID, diff

CONFIG = ProxyConfig(downstream="http2")
# More concurrent streams than any default case opens: the pool keeps that many idle.
WARM = start() + b"".join(get(2 * i + 1, path=f"/warm{i}") for i in range(12))


@pytest.fixture(scope="module")
def lane() -> Iterator[EnvoyLane]:
    with EnvoyLane(CONFIG) as running:
        yield running


@pytest.mark.envoy
@pytest.mark.parametrize(
    ("name", "data"),
    [
        pytest.param(n, d, id=n, marks=[pytest.mark.extended] if n in POOL_SENSITIVE else [])
        for n, d in CASES
    ],
)
def test_model_agrees_with_envoy(lane: EnvoyLane, name: str, data: bytes) -> None:
    if name in POOL_SENSITIVE:
        warm_pool(lane)
    else:
        assert lane.observe(WARM).statuses == [200] * 12, "the pool warm-up itself failed"
    real = lane.observe(data)
    predicted = predict_http2_detail(data, CONFIG)
    paths = diff(predicted.observation, real)
    if predicted.closed_timing_dependent and paths == ["closed"]:
        paths = []
    assert paths == [], (
        f"{name}: model {predicted.observation} ({predicted.reason}) != envoy {real}"
    )


_KNOB_CASES = [
    ("underscore_header", start() + get(extra=[("x_y", "1"), ("z", "2")])),
    ("underscore_on_one_stream", start() + get(1, path="/a", extra=[("x_y", "1")]) + get(3)),
    (
        "underscore_trailer",
        start()
        + get(1, method="POST", end_stream=False)
        + data_frame(1, b"ab")
        + headers(1, [("x_t", "1")]),
    ),
    ("ten_extra_headers", start() + get(extra=[(f"x-{i}", "v") for i in range(10)])),
    ("three_kb_header", start() + get(extra=[("x-big", "a" * 3000)])),
]
_KNOBS = [
    ProxyConfig(downstream="http2", headers_with_underscores_action="REJECT_REQUEST"),
    ProxyConfig(downstream="http2", headers_with_underscores_action="DROP_HEADER"),
    ProxyConfig(downstream="http2", max_headers_count=13, max_request_headers_kb=2),
]


@pytest.mark.envoy
@pytest.mark.parametrize("config", _KNOBS, ids=["reject_underscores", "drop_underscores", "limits"])
def test_model_follows_the_header_knobs(config: ProxyConfig) -> None:
    with EnvoyLane(config) as knob_lane:
        for name, data in _KNOB_CASES:
            assert knob_lane.observe(WARM).statuses == [200] * 12
            real = knob_lane.observe(data)
            predicted = predict_http2_detail(data, config)
            paths = diff(predicted.observation, real)
            if predicted.closed_timing_dependent and paths == ["closed"]:
                paths = []
            assert paths == [], f"{name}: model {predicted.observation} != envoy {real}"


# --- the model alone -----------------------------------------------------------------------------


def test_cases_are_many_and_distinct() -> None:
    names = [name for name, _ in CASES]
    assert len(names) >= 50
    assert len(set(names)) == len(names)
    assert len({data for _, data in CASES}) == len(CASES)


def test_simple_get_is_forwarded_over_http1_and_answered() -> None:
    obs = predict_http2(start() + get(path="/x?y=1", extra=[("cookie", "a"), ("cookie", "b")]))
    assert obs.statuses == [200]
    assert not obs.closed
    [request] = obs.upstream
    assert (request.method, request.target, request.body) == ("GET", "/x?y=1", 0)
    assert request.headers == [
        ("host", "host"),
        ("cookie", "a; b"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", GENERATED_ID),
        ("x-envoy-expected-rq-timeout-ms", "15000"),
    ]


def test_incomplete_preface_waits_and_a_wrong_one_closes_silently() -> None:
    waiting = predict_http2_detail(PREFACE[:5])
    assert waiting.observation == predict_http2(b"")
    assert waiting.reason == ""
    bad = predict_http2_detail(b"GET / HTTP/1.1\r\n\r\n", CONFIG)
    assert bad.reason == "bad client magic"
    assert not bad.observation.closed


def test_silent_close_after_a_forwarded_request_marks_closed_as_a_race() -> None:
    data = start() + get(1) + get(3, extra=[("connection", "close")])
    detail = predict_http2_detail(data)
    assert detail.closed_timing_dependent
    assert detail.observation.statuses == []
    assert [r.target for r in detail.observation.upstream] == ["/"]


def test_configs_it_does_not_model_are_refused() -> None:
    with pytest.raises(ValueError):
        predict_http2(start() + get(), ProxyConfig(downstream="http1"))
    with pytest.raises(ValueError):
        predict_http2(b"GET / HTTP/1.1\r\n\r\n", ProxyConfig(downstream="auto"))
    with pytest.raises(ValueError):
        predict_http2(start() + get(), ProxyConfig(downstream="http2", upstream="http2"))
    # "auto" with the preface is an HTTP/2 connection
    assert predict_http2(start() + get(), ProxyConfig(downstream="auto")).statuses == [200]


def test_header_limits_follow_the_config() -> None:
    data = start() + get(extra=[(f"x-{i}", "v") for i in range(10)])
    assert predict_http2(data, ProxyConfig(downstream="http2", max_headers_count=13)).upstream == []
    assert predict_http2(data, ProxyConfig(downstream="http2", max_headers_count=14)).upstream


@settings(max_examples=300, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 10), st.integers(0, 2**32 - 1)), max_size=8
    ),
    cut=st.integers(0, 12),
    preface=st.booleans(),
)
def test_the_oracle_counts_the_streams_begun_as_the_codec_scans_them(
    frames: list[tuple[int, int, int]], cut: int, preface: bool
) -> None:
    """streams_begun walks the frame headers itself: the distinct HEADERS stream ids of the
    complete frames, as the codec's scanner finds them."""
    from harness.codec import http2
    from harness.model.oracles import streams_begun

    data = b"".join(
        length.to_bytes(3, "big") + bytes([type_, 0]) + sid.to_bytes(4, "big") + b"x" * length
        for length, type_, sid in frames
    )
    data = (http2.PREFACE if preface else b"") + data
    data = data[: len(data) - cut]
    start = len(http2.PREFACE) if data.startswith(http2.PREFACE) else 0
    headers, _ = http2.scan_frames(data, start)
    want = len({sid & 0x7FFFFFFF for _, _, t, _, sid in headers if t == http2.HEADERS})
    assert streams_begun(data) == want
