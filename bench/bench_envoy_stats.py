"""Stat-counter feedback on the envoy plane (harness.envoy.stats): what it finds, what it costs.

* ``envoy-fuzz fuzz h1_capture --plane envoy --time 60 -- -seed=1`` with ``--feedback stats``
  and with ``--feedback visible`` (same seed, same budget, default workers): the distinct
  proxy counters each run made Envoy change (``envoy_stats_touched``), exec/s, corpus size.
  ``ROUNDS`` rounds of one run per mode, the order alternating between rounds (visible
  first, then stats first, ...) so that load from other sessions that rises or falls during
  the bench hits both modes alike; the figures are medians over the rounds (one 60 s run
  per mode swung 0.92x-1.40x in touched counters from run to run).
* The lane's cost of the read, on the same cases: replays/s of the fuzz plane's lane alone,
  with the stats read in batches (the default) and after every case, taking turns so that
  the machine's load hits all alike.
* What the kept inputs cost: each mode's final corpus (last round) replayed on a plain lane.
  Inputs that move more of Envoy's counters take longer, so part of a whole run's exec/s
  ratio is the corpus, not the read.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_STATS_SECONDS", "60"))
ROUNDS = int(os.environ.get("BENCH_STATS_ROUNDS", "3"))
SEED = 1
MODES = ("visible", "stats")


def fuzz_run(feedback: str, seconds: float) -> dict[str, Any]:
    script = Path(sys.executable).with_name("envoy-fuzz")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]
    with tempfile.TemporaryDirectory(prefix="bench-envoy-stats-") as tmp:
        done = subprocess.run(
            [*command, "fuzz", "h1_capture", "--plane", "envoy", "--feedback", feedback,
             "--time", str(seconds), "--json", "--corpus", tmp, "--artifacts", f"{tmp}/art",
             "--", f"-seed={SEED}"],
            capture_output=True, text=True, cwd=ROOT, timeout=seconds * 4 + 120,
        )  # fmt: skip
        if done.returncode not in (0, 1):
            raise RuntimeError(done.stderr[-2000:])
        result = dict(json.loads(done.stdout))
        result["corpus"] = [p.read_bytes() for p in Path(tmp).iterdir() if p.is_file()]
        return result


def lane_cost(seconds: float, cases: list[Any] | None = None) -> dict[str, float]:
    """Cases/s of the h1 fuzz plane's lane on the same cases: alone (``visible``: no read), with
    the stats read in batches (``stats``, the fuzz run's default) and after every input
    (``per_input``), taking turns. The watches know the cases' features first (one sweep
    each, untimed), as in a fuzz run where nearly every batch moves only known counters."""
    from bench.bench_envoy import _capture_cases
    from harness.envoy import lanes
    from harness.envoy.lane import EnvoyLane
    from harness.envoy.stats import BATCH, CounterWatch

    cases = cases or _capture_cases("h1_capture")
    with (
        tempfile.TemporaryDirectory(prefix="bench-stats-hand-back-") as hand_back,
        EnvoyLane(lanes.H1, finish="input") as plain,
        EnvoyLane(lanes.H1, finish="input") as batched,
        EnvoyLane(lanes.H1, finish="input") as exact,
    ):

        def watched(lane: EnvoyLane, watch: CounterWatch) -> Callable[[Any], None]:
            def replay(case: Any) -> object:
                return lane.replay_capture(case, settle=False)

            def play(case: Any) -> None:
                watch.before_input(lane, case, replay)
                replay(case)
                watch.after_input(lane, case, replay)

            return play

        def without(case: Any) -> None:
            plain.replay_capture(case, settle=False)

        batch_watch = CounterWatch(per_input=True, batch=BATCH, hand_back=Path(hand_back))
        runs: dict[str, Callable[[Any], None]] = {
            "visible": without,
            "stats": watched(batched, batch_watch),
            "per_input": watched(exact, CounterWatch(per_input=True)),
        }
        for play in runs.values():
            for case in cases:
                play(case)
        spent = dict.fromkeys(runs, 0.0)
        sweeps = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or sweeps == 0:
            for name, play in runs.items():
                start = time.perf_counter()
                for case in cases:
                    play(case)
                spent[name] += time.perf_counter() - start
            sweeps += 1
    return {name: sweeps * len(cases) / s for name, s in spent.items()}


def corpus_cost(seconds: float, corpora: dict[str, list[bytes]]) -> dict[str, float]:
    """Cases/s of a plain lane replaying each mode's final corpus (taking turns): what the
    inputs each feedback kept cost to run, apart from any read."""
    from harness.engine.corpus import parse_text_proto
    from harness.envoy import lanes
    from harness.envoy.lane import EnvoyLane
    from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase

    cases = {
        mode: [c for c in (parse_text_proto(CaptureFuzzTestCase, t) for t in texts) if c]
        for mode, texts in corpora.items()
    }
    spent = dict.fromkeys(cases, 0.0)
    sweeps = 0
    with EnvoyLane(lanes.H1, finish="input") as lane:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or sweeps == 0:
            for mode, mine in cases.items():
                start = time.perf_counter()
                for case in mine:
                    lane.replay_capture(case, settle=False)
                spent[mode] += time.perf_counter() - start
            sweeps += 1
    return {mode: sweeps * len(cases[mode]) / max(s, 1e-9) for mode, s in spent.items()}


def fuzz_rounds(rounds: int, seconds: float) -> list[dict[str, dict[str, Any]]]:
    """``rounds`` pairs of runs, the order of the modes alternating from round to round."""
    out: list[dict[str, dict[str, Any]]] = []
    for i in range(rounds):
        order = MODES if i % 2 == 0 else MODES[::-1]
        out.append({fb: fuzz_run(fb, seconds) for fb in order})
    return out


# A counter per upstream status code (upstream_rq_404, external.upstream_rq_404): one new
# code adds two, so a run that reaches a status class finds dozens at once. Folded, each
# class counts once (its upstream_rq_4xx counter stays).
_STATUS_CODE = re.compile(r"\.upstream_rq_\d{3}$")


def folded(names: list[str]) -> int:
    """Distinct counters with the per-status-code ones left out."""
    return sum(1 for name in names if not _STATUS_CODE.search(name))


def _median(rounds: list[dict[str, dict[str, Any]]], mode: str, key: str) -> float:
    return float(statistics.median(r[mode][key] for r in rounds))


def run(report: Callable[..., Any] | None = None) -> dict[str, Any]:
    load = os.getloadavg()[0]
    rounds = fuzz_rounds(ROUNDS, SECONDS)
    lane = lane_cost(10.0)
    kept = corpus_cost(10.0, {mode: rounds[-1][mode]["corpus"] for mode in MODES})
    touched_ratios = [
        r["stats"]["envoy_stats_touched"] / max(1, r["visible"]["envoy_stats_touched"])
        for r in rounds
    ]
    exec_ratios = [
        r["stats"]["exec_per_sec"] / max(1.0, r["visible"]["exec_per_sec"]) for r in rounds
    ]
    folded_ratios = [
        folded(r["stats"]["envoy_stats_touched_names"])
        / max(1, folded(r["visible"]["envoy_stats_touched_names"]))
        for r in rounds
    ]
    names = {
        mode: set().union(*(r[mode]["envoy_stats_touched_names"] for r in rounds)) for mode in MODES
    }
    out: dict[str, Any] = {
        "seconds": SECONDS,
        "rounds": ROUNDS,
        "load_at_start": load,
        "load_at_end": os.getloadavg()[0],
        "touched_stats": _median(rounds, "stats", "envoy_stats_touched"),
        "touched_visible": _median(rounds, "visible", "envoy_stats_touched"),
        "touched_ratio": round(statistics.median(touched_ratios), 2),
        "touched_ratios": [round(x, 2) for x in touched_ratios],
        "folded_ratio": round(statistics.median(folded_ratios), 2),
        "folded_ratios": [round(x, 2) for x in folded_ratios],
        "exec_per_sec_stats": _median(rounds, "stats", "exec_per_sec"),
        "exec_per_sec_visible": _median(rounds, "visible", "exec_per_sec"),
        "exec_ratio": round(statistics.median(exec_ratios), 2),
        "exec_ratios": [round(x, 2) for x in exec_ratios],
        "corpus_stats": _median(rounds, "stats", "corpus_files"),
        "corpus_visible": _median(rounds, "visible", "corpus_files"),
        "only_stats": sorted(names["stats"] - names["visible"]),
        "only_visible": sorted(names["visible"] - names["stats"]),
        "lane_cases_per_s": {k: round(v) for k, v in lane.items()},
        "corpus_cases_per_s": {k: round(v) for k, v in kept.items()},
        "per_round": [
            {m: {k: r[m][k] for k in ("envoy_stats_touched", "exec_per_sec")} for m in MODES}
            for r in rounds
        ],
    }
    if report is not None:
        _report(report, out, lane)
    return out


def _report(report: Callable[..., Any], out: dict[str, Any], lane: dict[str, float]) -> None:
    prefix = f"envoy_stats.h1_capture_{SECONDS:.0f}s"
    spread = f"median of {ROUNDS} rounds"
    report(f"{prefix}.touched_stats", out["touched_stats"], f"counters ({spread})")
    report(f"{prefix}.touched_visible", out["touched_visible"], f"counters ({spread})")
    report(
        f"{prefix}.touched_stats_vs_visible",
        out["touched_ratio"],
        "x (rounds: " + ", ".join(f"{x:.2f}" for x in out["touched_ratios"]) + ")",
    )
    report(
        f"{prefix}.touched_stats_vs_visible_codes_folded",
        out["folded_ratio"],
        "x, per-status-code counters left out (rounds: "
        + ", ".join(f"{x:.2f}" for x in out["folded_ratios"])
        + ")",
    )
    report(f"{prefix}.exec_per_sec_stats", out["exec_per_sec_stats"], f"inputs/s ({spread})")
    report(f"{prefix}.exec_per_sec_visible", out["exec_per_sec_visible"], f"inputs/s ({spread})")
    report(
        f"{prefix}.exec_stats_vs_visible",
        out["exec_ratio"],
        "x (rounds: " + ", ".join(f"{x:.2f}" for x in out["exec_ratios"]) + ")",
    )
    report(f"{prefix}.corpus_stats", out["corpus_stats"], f"files ({spread})")
    report(f"{prefix}.corpus_visible", out["corpus_visible"], f"files ({spread})")
    report(f"{prefix}.only_stats", ", ".join(out["only_stats"]) or "-", "counters, any round")
    report(f"{prefix}.only_visible", ", ".join(out["only_visible"]) or "-", "counters, any round")
    cps = out["lane_cases_per_s"]
    report("envoy_stats.lane_replay_visible", cps["visible"], "cases/s, no read")
    report("envoy_stats.lane_replay_with_read", cps["stats"], "cases/s, reads in batches")
    report("envoy_stats.lane_replay_read_per_input", cps["per_input"], "cases/s")
    report("envoy_stats.lane_read_vs_none", round(lane["stats"] / lane["visible"], 2), "x")
    report(
        "envoy_stats.lane_read_per_input_vs_none",
        round(lane["per_input"] / lane["visible"], 2),
        "x",
    )
    kept = out["corpus_cases_per_s"]
    report(
        "envoy_stats.corpus_replay_stats_vs_visible",
        round(kept["stats"] / max(1, kept["visible"]), 2),
        f"x, each mode's last corpus on a plain lane ({kept['stats']} vs {kept['visible']}"
        " cases/s)",
    )
    report("envoy_stats.load_at_start", round(out["load_at_start"], 2), "1-min load average")
    report("envoy_stats.load_at_end", round(out["load_at_end"], 2), "1-min load average")


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
