"""The Envoy model for HTTP/1 downstream against the real Envoy, and the model plane's oracles.

``test_model_agrees_with_envoy`` runs the whole HTTP/1 edge-case suite of the agreement
benchmark (bench/agreement/http1_cases.py) through the model and through one real Envoy: every
case must agree on statuses, forwarded requests (headers in order, Envoy's added ones
included) and whether the connection closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from bench.agreement import http1_cases
from harness.codec.http1 import Options
from harness.config.proxy import ProxyConfig
from harness.envoy.lane import EnvoyLane
from harness.model import predict
from harness.model.http1 import codec_options
from harness.model.oracles import check_forwarded, check_observation
from harness.observation import GENERATED_ID, Observation, UpstreamRequest, diff
from harness.oracle import InvariantViolation

CONFIG = ProxyConfig(downstream="http1")
CASES = http1_cases.cases()


@pytest.fixture(scope="module")
def lane() -> Iterator[EnvoyLane]:
    with EnvoyLane(CONFIG) as running:
        yield running


@pytest.mark.parametrize("name,data", CASES, ids=[n for n, _ in CASES])
def test_model_agrees_with_envoy(lane: EnvoyLane, name: str, data: bytes) -> None:
    model = predict(data, CONFIG)
    envoy = lane.observe(data)
    assert diff(model, envoy) == [], f"model {model}\nenvoy {envoy}"


def test_envoy_headers_are_added_in_envoy_order() -> None:
    got = predict(b"POST /p HTTP/1.1\r\nHost: h\r\nX-Envoy-Retry-On: 5xx\r\n\r\n", CONFIG)
    assert got.upstream[0].headers == [
        ("host", "h"),
        ("x-forwarded-proto", "http"),
        ("x-request-id", GENERATED_ID),
        ("x-envoy-expected-rq-timeout-ms", "15000"),
        ("content-length", "0"),
    ]


def test_direct_response_answers_without_upstream() -> None:
    config = ProxyConfig(downstream="http1", direct_response=True)
    got = predict(b"GET / HTTP/1.1\r\nhost: a\r\n\r\nGET / HTTP/1.1\r\nhost: a\r\n\r\n", config)
    assert got == Observation([200, 200], [], False)


def _request(*headers: tuple[str, str], body: int = 0) -> UpstreamRequest:
    return UpstreamRequest("GET", "/", [("host", "a"), *headers], body)


def test_oracle_flags_more_requests_upstream_than_downstream() -> None:
    smuggled = Observation([200], [_request(), _request()], False)
    with pytest.raises(InvariantViolation, match="smuggling"):
        check_observation(smuggled, 1, codec_options(CONFIG))


def test_the_oracle_remembers_passes_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # HTTP/2 targets remember the requests that passed the re-parse (it yields them no
    # coverage); a request that fails is checked, and fails, every time
    from harness.model import oracles

    checked: list[UpstreamRequest] = []
    real = oracles.check_forwarded

    def counted(request: UpstreamRequest, options: Options) -> None:
        checked.append(request)
        real(request, options)

    monkeypatch.setattr(oracles, "check_forwarded", counted)
    monkeypatch.setattr(oracles, "_passed", oracles.Memo())
    options = codec_options(CONFIG)
    good = Observation([200], [_request(("x", "1"))], False)
    bad = Observation([200], [_request(("x", "1\r\nGET /evil HTTP/1.1"))], False)
    for _ in range(3):
        check_observation(good, 1, options, remember=True)
    assert len(checked) == 1
    check_observation(good, 1, replace(options, max_headers_count=1), remember=True)
    assert len(checked) == 2  # other limits: checked again
    for _ in range(2):
        with pytest.raises(InvariantViolation, match="re-parse"):
            check_observation(bad, 1, options, remember=True)
    assert len(checked) == 4
    for _ in range(2):
        check_observation(good, 1, options)
    assert len(checked) == 6


def test_oracle_flags_a_forwarded_header_that_splits_the_request() -> None:
    with pytest.raises(InvariantViolation, match="re-parse"):
        check_forwarded(_request(("x", "1\r\nGET /evil HTTP/1.1")), codec_options(CONFIG))


def test_oracle_takes_the_non_ascii_path_envoy_forwards_from_http2() -> None:
    # Envoy 1.40 forwards an HTTP/2 :path of bytes 0x80-0xff to its HTTP/1 upstream as it
    # is (observed), though it answers one from an HTTP/1 client with a 400: the re-parse
    # checks the framing (found by `fuzz h2_capture`: "/\xd0\x8b")
    check_forwarded(UpstreamRequest("GET", "/\xd0\x8b", [("host", "t")], 0), codec_options(CONFIG))
    with pytest.raises(InvariantViolation, match="re-parse"):
        check_forwarded(
            UpstreamRequest("GET", "/\xd0 x", [("host", "t")], 0), codec_options(CONFIG)
        )


def test_oracle_flags_too_many_forwarded_headers() -> None:
    check_forwarded(_request(("content-length", "3"), body=3), codec_options(CONFIG))
    with pytest.raises(InvariantViolation, match="header"):
        check_forwarded(_request(*[(f"h{i}", "v") for i in range(120)]), codec_options(CONFIG))


def test_oracle_accepts_a_forwarded_body_that_is_still_arriving() -> None:
    # Envoy forwards a head and the bytes so far of a body that declared more (found by
    # `fuzz h1_capture`: a content-length of 10**17 with no body yet).
    for declared in ("10", "100000000000000000"):
        request = UpstreamRequest("POST", "/", [("host", "x"), ("content-length", declared)], 2)
        check_forwarded(request, codec_options(ProxyConfig()))
    with pytest.raises(InvariantViolation):
        check_forwarded(
            UpstreamRequest("POST", "/", [("host", "x\r\nz")], 0), codec_options(ProxyConfig())
        )


@pytest.fixture(scope="module")
def auto_lane() -> Iterator[EnvoyLane]:
    with EnvoyLane(ProxyConfig()) as running:
        yield running


@pytest.mark.envoy
@pytest.mark.parametrize(
    "name,data", http1_cases.AUTO_CASES, ids=[n for n, _ in http1_cases.AUTO_CASES]
)
def test_model_agrees_with_envoy_on_the_auto_listener(
    auto_lane: EnvoyLane, name: str, data: bytes
) -> None:
    model = predict(data, ProxyConfig())
    envoy = auto_lane.observe(data)
    assert diff(model, envoy) == [], f"model {model}\nenvoy {envoy}"
