"""Envoy's stat counters as fuzzing feedback (harness.envoy.stats, harness.engine.features)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from harness.config.proxy import PROXY_STAT_PREFIXES
from harness.engine import corpus, features, runner
from harness.engine.runner import ENV_FEEDBACK, ENV_PLANE, ENV_STATS_BATCH
from harness.envoy import lanes
from harness.envoy.lane import EnvoyLane
from harness.envoy.stats import (
    BATCH,
    CounterWatch,
    _dechunk,
    batch_size,
    changed_counters,
    hit_bucket,
)
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
    assert all(n.decode().startswith(PROXY_STAT_PREFIXES) for n in plain_moved | other_moved)


def _fuzz_seeds(tmp_path: Path, feedback: str, *flags: str, batch: int = 1) -> str:
    """libFuzzer's log of a real atheris run on a real Envoy, its corpus dirs an empty output
    dir then seeds PLAIN and COUNTER_ONLY."""
    seeds = tmp_path / f"seeds-{feedback}-{batch}"
    out = tmp_path / f"out-{feedback}-{batch}"
    seeds.mkdir()
    out.mkdir()
    for case in (PLAIN, COUNTER_ONLY):
        corpus.store(seeds, corpus.to_text(case))
    env = dict(os.environ, **{ENV_PLANE: "envoy", ENV_FEEDBACK: feedback})
    env[ENV_STATS_BATCH] = str(batch)
    script = str(ROOT / "fuzzers" / "fuzz_h1_capture.py")
    done = subprocess.run(
        [sys.executable, script, str(out), str(seeds), *flags],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def _initial_corpus(tmp_path: Path, feedback: str) -> int:
    """How many of the two seeds the run keeps (libFuzzer's ``INITED ... corp: N`` after
    reading the seeds; -runs=0: no mutations), each input read on its own."""
    log = _fuzz_seeds(tmp_path, feedback, "-runs=0")
    found = re.search(r"INITED .*corp: (\d+)/", log)
    assert found, log[-2000:]
    return int(found.group(1))


@pytest.mark.envoy
def test_an_input_that_only_changes_a_counter_is_kept(tmp_path: Path) -> None:
    """With --feedback stats the counter-only input is new coverage and kept; with visible
    feedback libFuzzer sees nothing new in it and keeps one of the two."""
    assert _initial_corpus(tmp_path, "stats") == 2
    assert _initial_corpus(tmp_path, "visible") == 1


@pytest.mark.envoy
def test_batches_hand_the_counter_only_input_back_and_libfuzzer_keeps_it(
    tmp_path: Path,
) -> None:
    """In batches (the default), the seeds are read together with the first mutants; the
    batch moved counters no input had, so its inputs are replayed one by one, and the ones
    with new features - COUNTER_ONLY among them - are written to the output corpus, which
    libFuzzer reloads and runs again, read on its own this time: a RELOAD that adds them."""
    log = _fuzz_seeds(tmp_path, "stats", "-max_total_time=4", batch=4)
    handed = tmp_path / "out-stats-4" / corpus.sha1(corpus.to_text(COUNTER_ONLY))
    assert handed.is_file()
    assert re.search(r"RELOAD cov: \d+ ft: \d+ corp: \d+", log), log[-2000:]


@pytest.mark.envoy
def test_a_batch_finds_the_input_that_moved_a_new_counter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hits: list[bytes] = []
    monkeypatch.setattr(features, "hit", lambda key, times=1: hits.append(key))
    watch = CounterWatch(per_input=True, batch=4, hand_back=tmp_path)
    with EnvoyLane(lanes.H1, finish="input") as lane:

        def replay(case: CaptureFuzzTestCase) -> object:
            return lane.replay_capture(case, settle=False)

        def run(case: CaptureFuzzTestCase) -> None:
            watch.before_input(lane, case, replay)
            replay(case)
            watch.after_input(lane, case, replay)

        for case in [PLAIN] * 4:  # every counter new: replayed one by one, the first handed back
            run(case)
        assert (watch.flushes, watch.confirmed) == (1, 1)
        run(PLAIN)  # like the handed-back PLAIN: taken for libFuzzer's reload of it, read exactly
        assert hits and watch.flushes == 1
        hits.clear()
        for case in [PLAIN] * 4:  # nothing new: one read, no replays
            run(case)
        assert (watch.flushes, watch.confirmed) == (2, 1)
        handed = set(os.listdir(tmp_path))
        for case in (PLAIN, COUNTER_ONLY, PLAIN, PLAIN):
            run(case)
        assert (watch.flushes, watch.confirmed) == (3, 2)
        assert set(os.listdir(tmp_path)) - handed == {corpus.sha1(corpus.to_text(COUNTER_ONLY))}
        assert hits == []  # batched inputs are no features: nobody knows whose they were
        run(CaptureFuzzTestCase.FromString(COUNTER_ONLY.SerializeToString()))  # reloaded
        assert b"cluster.cluster_0.upstream_rq_100" in hits
        hits.clear()
        run(COUNTER_ONLY)  # not pending any more: batched again
        assert hits == []


def test_hit_buckets_are_libfuzzers() -> None:
    buckets = [hit_bucket(n) for n in range(1, 300)]
    groups = [1, 2, 3, 4, 8, 16, 32, 128]  # where libFuzzer's buckets start
    for n in range(1, 300):
        start = max(g for g in groups if g <= n)
        assert buckets[n - 1] == buckets[start - 1]
        assert (n == start) or buckets[n - 2] == buckets[n - 1]
    assert len(set(buckets)) == len(groups)


def test_the_output_corpus_is_libfuzzers_first_corpus_dir(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "seeds").mkdir()
    out, seeds, file = str(tmp_path / "out"), str(tmp_path / "seeds"), str(tmp_path / "f")
    Path(file).write_bytes(b"x")
    assert runner._output_corpus(["fuzz.py", "-seed=1", out, seeds]) == Path(out)
    assert runner._output_corpus(["fuzz.py", out, "-reload=0"]) is None
    assert runner._output_corpus(["fuzz.py", out, "-fork=2"]) is None
    assert runner._output_corpus(["fuzz.py", file]) is None  # inputs run as files
    assert runner._output_corpus(["fuzz.py", "-runs=10"]) is None


def test_without_an_output_corpus_every_input_is_read_on_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert CounterWatch(per_input=True, batch=16).batch == 1
    monkeypatch.setenv(ENV_STATS_BATCH, "8")
    assert batch_size() == 8
    monkeypatch.setenv(ENV_STATS_BATCH, "lots")
    assert batch_size() == BATCH


@pytest.mark.envoy
def test_the_lanes_envoy_keeps_only_the_proxys_stats() -> None:
    """The lane's stats matcher: Envoy's server, runtime and admin stats are gone (a read
    walks fewer), the proxy's are all there and still count."""
    with EnvoyLane(lanes.H1, finish="input") as lane:
        lane.replay_capture(PLAIN, settle=False)
        stats = lane.stats()
    assert all(name.startswith(PROXY_STAT_PREFIXES) for name in stats)
    present = {
        prefix for prefix in PROXY_STAT_PREFIXES for name in stats if name.startswith(prefix)
    }
    assert present == set(PROXY_STAT_PREFIXES) - {"http2."}  # an HTTP/1 lane: no h2 codec
    assert stats["http.config_test.downstream_rq_total"] >= 1
    assert stats["cluster.cluster_0.upstream_rq_total"] >= 1


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
    assert all(n.startswith(PROXY_STAT_PREFIXES) for n in names)


def test_feedback_is_for_the_envoy_plane() -> None:
    result = envoy_fuzz("fuzz", "h1_capture", "--plane", "model", "--feedback", "stats")
    assert result.returncode == 2
    assert result.stderr.strip() == "envoy-fuzz: --feedback is for the envoy plane (--plane envoy)"


def _closing_case() -> CaptureFuzzTestCase:
    """A request Envoy answers 426 with `connection: close` (then its delayed close)."""
    case = CaptureFuzzTestCase()
    case.events.add().downstream_send_bytes = b"POST /r HTTP/2.2\r\n\r\n"
    return case


@pytest.mark.envoy
def test_a_connection_envoy_announced_closing_is_freed_with_its_input() -> None:
    """Envoy does not notice a client's RST during its delayed close (it would hold the
    connection for its 1 s timer, and count its close for a later input); the lane closes
    such a client with a FIN, which Envoy sees at once, after a byte Envoy never reads."""
    with EnvoyLane(lanes.H1, finish="input") as lane:
        before = lane.stats()
        for _ in range(3):
            obs = lane.replay_capture(_closing_case(), settle=False)
            assert obs.statuses == [426] and obs.closed
        after = lane.stats()
    prefix = "http.config_test."
    assert after[prefix + "downstream_cx_active"] == 1  # the next input's client only
    delta = {n: after.get(n, 0) - before.get(n, 0) for n in after}
    assert delta[prefix + "downstream_cx_destroy_remote"] == 3
    assert delta.get(prefix + "downstream_cx_destroy_local", 0) == 0
    sent = 3 * len(b"POST /r HTTP/2.2\r\n\r\n")
    assert delta[prefix + "downstream_cx_rx_bytes_total"] == sent  # the extra byte: unread


def _Lane(connects: int, spare: bool) -> EnvoyLane:
    """What ``_closes_done`` asks of a lane, without an Envoy."""
    return cast(EnvoyLane, SimpleNamespace(downstream_connects=connects, spare_open=spare))


def test_a_read_counts_only_once_envoy_freed_the_cases_connections() -> None:
    watch = CounterWatch(per_input=True)

    def values(total: int, destroy: int, up_total: int, up_destroy: int) -> None:
        watch._values = {
            b"http.config_test.downstream_cx_total": total,
            b"http.config_test.downstream_cx_destroy": destroy,
            b"cluster.cluster_0.upstream_cx_total": up_total,
            b"cluster.cluster_0.upstream_cx_destroy": up_destroy,
        }

    values(5, 4, 2, 2)
    assert watch._closes_done(_Lane(5, spare=True))  # all closed but the next client
    assert not watch._closes_done(_Lane(6, spare=True))  # the next client not accepted yet
    values(5, 3, 2, 2)
    assert watch._closes_done(_Lane(5, spare=True))  # the case's client not freed yet
    values(5, 2, 2, 2)
    assert watch._closes_done(_Lane(5, spare=True))  # an HTTP/2 client in delayed close
    values(5, 4, 2, 1)
    assert not watch._closes_done(_Lane(5, spare=True))  # an upstream connection still open
    values(5, 5, 0, 0)
    assert watch._closes_done(_Lane(5, spare=False))


def test_counters_that_move_on_every_input_are_touched_but_no_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hits: list[bytes] = []
    monkeypatch.setattr(features, "hit", lambda key, times=1: hits.append(key))
    watch = CounterWatch(per_input=True)
    moved = {
        b"http.config_test.downstream_cx_total": 1,
        b"http.config_test.downstream_cx_destroy": 2,  # the last input's, freed late
        b"listener.127.0.0.1_0.downstream_cx_destroy": 1,
        b"http.config_test.downstream_cx_destroy_remote": 1,
        b"http.config_test.downstream_cx_rx_bytes_total": 40,
    }
    watch._count(moved, as_features=True)
    assert hits == [b"http.config_test.downstream_cx_destroy_remote"]
    assert watch.touched == {n.decode() for n in moved}


def test_a_batch_is_replayed_when_a_sum_lands_in_a_new_bucket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The rule, on made-up reads: a batch is replayed one by one when a counter's sum lands
    in a hit bucket no batch's sum of it landed in, and only then."""
    reads: list[dict[bytes, int]] = []
    replayed: list[str] = []
    watch = CounterWatch(per_input=True, batch=2, hand_back=tmp_path)
    monkeypatch.setattr(watch, "_deltas", lambda lane: reads.pop(0))
    monkeypatch.setattr(watch, "_hand_back", lambda case: None)
    lane = cast(EnvoyLane, None)

    def batch(sums: dict[bytes, int], per_input: list[dict[bytes, int]]) -> bool:
        """Whether a batch with these sums was replayed (and its per-input reads taken)."""
        before = len(replayed)
        reads[:] = [sums, *per_input]
        watch._open = ["a", "b"]
        watch._flush(lane, replayed.append)
        return len(replayed) > before

    reset = b"http.config_test.downstream_rq_rx_reset"
    assert batch({reset: 1}, [{reset: 1}, {}])  # a counter never moved
    assert not batch({reset: 1}, [])  # the same sum again
    assert batch({reset: 2}, [{reset: 1}, {reset: 1}])  # a new bucket of the sum: replayed
    assert not batch({reset: 2}, [])  # ... once: no input made it, but the sum is known now
    assert batch({reset: 5}, [{reset: 5}, {}])  # 4-7: new
    assert not batch({reset: 6}, [])  # same bucket
    assert not batch({b"http.config_test.downstream_cx_rx_bytes_total": 300}, [])  # no feature
    assert reads == []
