"""Envoy's stat counters as fuzzing feedback (harness.envoy.stats, harness.engine.features)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.engine import corpus
from harness.engine.runner import ENV_FEEDBACK, ENV_PLANE
from harness.envoy import lanes
from harness.envoy.lane import EnvoyLane
from harness.envoy.stats import PREFIXES, CounterWatch, _dechunk, changed_counters
from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase
from tests.conftest import ROOT, envoy_fuzz

REQUEST = b"GET / HTTP/1.1\r\nhost: a\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


def _case(*upstream: bytes) -> CaptureFuzzTestCase:
    case = CaptureFuzzTestCase()
    case.events.add().downstream_send_bytes = REQUEST
    for data in upstream:
        case.events.add().upstream_send_bytes = data
    return case


# Two inputs Envoy answers alike (one 200, the connection kept, one request upstream): the
# second one's upstream sends a 100 Continue first, which Envoy swallows but counts
# (cluster.cluster_0.upstream_rq_100). Only its counters tell them apart.
PLAIN = _case(OK)
COUNTER_ONLY = _case(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)


def test_changed_counters_parses_only_moved_proxy_lines() -> None:
    first = b"http.config_test.downstream_rq_total: 3\nhttp.admin.downstream_rq_total: 9\n"
    values: dict[bytes, int] = {}
    lines, deltas = changed_counters(first, set(), values)
    assert deltas == {b"http.config_test.downstream_rq_total": 3}  # admin's own: not ours
    second = first.replace(b"total: 3", b"total: 5")
    second += b"http1.dropped_headers_with_underscores: 1\n"
    _, deltas = changed_counters(second, lines, values)
    assert deltas == {
        b"http.config_test.downstream_rq_total": 2,
        b"http1.dropped_headers_with_underscores": 1,
    }


def test_dechunk() -> None:
    assert _dechunk(b"5\r\nhello\r\n3;x=1\r\nabc\r\n0\r\n\r\n") == b"helloabc"


@pytest.mark.envoy
def test_a_counter_delta_is_all_that_separates_the_two_inputs() -> None:
    """The premise of the next test, observed: same visible answer, different counters."""
    with EnvoyLane(lanes.H1, finish="input") as lane:
        watch = CounterWatch(per_input=True)
        watch.before_input(lane)
        seen = []
        for case in (PLAIN, COUNTER_ONLY, PLAIN):  # PLAIN first: the spare client settles
            obs = lane.replay_capture(case, settle=False)
            before = dict(watch._values)
            watch.after_input(lane)
            moved = {n for n, v in watch._values.items() if v != before.get(n)}
            seen.append((obs, moved))
    (plain, plain_moved), (other, other_moved), _ = seen
    assert (plain.statuses, plain.closed, len(plain.upstream)) == ([200], False, 1)
    assert (other.statuses, other.closed, len(other.upstream)) == ([200], False, 1)
    assert b"cluster.cluster_0.upstream_rq_100" in other_moved - plain_moved
    assert all(n.decode().startswith(PREFIXES) for n in plain_moved | other_moved)


def _initial_corpus(tmp_path: Path, feedback: str) -> int:
    """How many of the two seeds a real atheris run on a real Envoy keeps (libFuzzer's
    ``INITED ... corp: N`` after reading the seeds; -runs=0: no mutations)."""
    seeds = tmp_path / f"seeds-{feedback}"
    seeds.mkdir()
    for case in (PLAIN, COUNTER_ONLY):
        corpus.store(seeds, corpus.to_text(case))
    env = dict(os.environ, **{ENV_PLANE: "envoy", ENV_FEEDBACK: feedback})
    done = subprocess.run(
        [sys.executable, str(ROOT / "fuzzers" / "fuzz_h1_capture.py"), str(seeds), "-runs=0"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    found = re.search(r"INITED .*corp: (\d+)/", done.stderr)
    assert found, done.stderr[-2000:]
    return int(found.group(1))


@pytest.mark.envoy
def test_an_input_that_only_changes_a_counter_is_kept(tmp_path: Path) -> None:
    """With --feedback stats the counter-only input is new coverage and kept; with visible
    feedback libFuzzer sees nothing new in it and keeps one of the two."""
    assert _initial_corpus(tmp_path, "stats") == 2
    assert _initial_corpus(tmp_path, "visible") == 1


@pytest.mark.envoy
def test_fuzz_json_reports_the_counters_touched(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    result = envoy_fuzz(
        "fuzz", "h1_capture", "--plane", "envoy", "--runs", "40", "--jobs", "1", "--json",
        "--corpus", str(tmp_path / "corpus"), "--artifacts", str(tmp_path / "art"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    names = summary["envoy_stats_touched_names"]
    assert summary["envoy_stats_touched"] == len(names) > 10
    assert "http.config_test.downstream_rq_total" in names
    assert all(n.startswith(PREFIXES) for n in names)


def test_feedback_is_for_the_envoy_plane() -> None:
    result = envoy_fuzz("fuzz", "h1_capture", "--plane", "model", "--feedback", "stats")
    assert result.returncode == 2
    assert result.stderr.strip() == "envoy-fuzz: --feedback is for the envoy plane (--plane envoy)"
