"""Observation JSON shape and diff paths (no Envoy needed)."""

from __future__ import annotations

import json
from typing import Any

from harness.observation import Observation, UpstreamRequest, diff


def _req(**kw: Any) -> UpstreamRequest:
    base: dict[str, Any] = {"method": "GET", "target": "/", "headers": [("host", "a")], "body": 0}
    base.update(kw)
    return UpstreamRequest(**base)


def test_to_json_has_exactly_the_issue_shape() -> None:
    obs = Observation([200, 400], [_req(body=3)], True)
    out = obs.to_json("case-1")
    assert out == {
        "name": "case-1",
        "statuses": [200, 400],
        "upstream": [{"method": "GET", "target": "/", "headers": [["host", "a"]], "body": 3}],
        "closed": True,
    }
    assert json.loads(json.dumps(out)) == out  # JSON-able as is


def test_diff_is_empty_for_equal_observations() -> None:
    assert diff(Observation([200], [_req()], False), Observation([200], [_req()], False)) == []


def test_diff_names_each_differing_field() -> None:
    a = Observation([200], [_req(), _req(target="/a")], False)
    b = Observation([400], [_req(headers=[("host", "b")]), _req(target="/b", body=1)], True)
    assert diff(a, b) == [
        "statuses",
        "upstream[0].headers",
        "upstream[1].target",
        "upstream[1].body",
        "closed",
    ]


def test_diff_reports_a_different_number_of_upstream_requests() -> None:
    a = Observation([200], [_req()], False)
    b = Observation([200], [_req(), _req(method="POST")], False)
    assert diff(a, b) == ["upstream"]
    assert diff(b, a) == ["upstream"]
