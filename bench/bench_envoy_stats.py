"""Stat-counter feedback on the envoy plane (harness.envoy.stats): what it finds, what it costs.

* ``envoy-fuzz fuzz h1_capture --plane envoy --time 60 -- -seed=1`` with ``--feedback stats``
  and with ``--feedback visible`` (same seed, same budget, default workers, one after the
  other): the distinct proxy counters each run made Envoy change (``envoy_stats_touched``),
  exec/s, corpus size.
* The lane's cost of the per-input read, on the same cases: replays/s of the fuzz plane's
  lane alone, and with the stats read after each case (closes synced, counters read), taking
  turns so that the machine's load hits both alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_STATS_SECONDS", "60"))
SEED = 1


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
        return dict(json.loads(done.stdout))


def lane_cost(seconds: float) -> dict[str, float]:
    """Cases/s of the h1 fuzz plane's lane without and with the per-input stats read."""
    from bench.bench_envoy import _capture_cases
    from harness.envoy import lanes
    from harness.envoy.lane import EnvoyLane
    from harness.envoy.stats import CounterWatch

    cases = _capture_cases("h1_capture")
    with (
        EnvoyLane(lanes.H1, finish="input") as plain,
        EnvoyLane(lanes.H1, finish="input") as read,
    ):
        watch = CounterWatch(per_input=True)
        watch.before_input(read)

        def with_read(case: Any) -> None:
            read.replay_capture(case, settle=False)
            watch.after_input(read)

        def without(case: Any) -> None:
            plain.replay_capture(case, settle=False)

        runs: dict[str, Callable[[Any], None]] = {"visible": without, "stats": with_read}
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


def run(report: Callable[..., Any] | None = None) -> dict[str, Any]:
    load = os.getloadavg()[0]
    results = {fb: fuzz_run(fb, SECONDS) for fb in ("visible", "stats")}
    lane = lane_cost(10.0)
    stats, visible = results["stats"], results["visible"]
    ratio = stats["envoy_stats_touched"] / max(1, visible["envoy_stats_touched"])
    out: dict[str, Any] = {
        "seconds": SECONDS,
        "load_at_start": load,
        "touched_stats": stats["envoy_stats_touched"],
        "touched_visible": visible["envoy_stats_touched"],
        "touched_ratio": round(ratio, 2),
        "exec_per_sec_stats": stats["exec_per_sec"],
        "exec_per_sec_visible": visible["exec_per_sec"],
        "corpus_stats": stats["corpus_files"],
        "corpus_visible": visible["corpus_files"],
        "only_stats": sorted(
            set(stats["envoy_stats_touched_names"]) - set(visible["envoy_stats_touched_names"])
        ),
        "only_visible": sorted(
            set(visible["envoy_stats_touched_names"]) - set(stats["envoy_stats_touched_names"])
        ),
        "lane_cases_per_s": {k: round(v) for k, v in lane.items()},
    }
    if report is not None:
        prefix = f"envoy_stats.h1_capture_{SECONDS:.0f}s"
        report(f"{prefix}.touched_stats", out["touched_stats"], "counters")
        report(f"{prefix}.touched_visible", out["touched_visible"], "counters")
        report(f"{prefix}.touched_stats_vs_visible", out["touched_ratio"], "x")
        report(f"{prefix}.exec_per_sec_stats", out["exec_per_sec_stats"], "inputs/s")
        report(f"{prefix}.exec_per_sec_visible", out["exec_per_sec_visible"], "inputs/s")
        report(
            f"{prefix}.exec_stats_vs_visible",
            round(out["exec_per_sec_stats"] / max(1.0, out["exec_per_sec_visible"]), 2),
            "x",
        )
        report(f"{prefix}.corpus_stats", out["corpus_stats"], "files")
        report(f"{prefix}.corpus_visible", out["corpus_visible"], "files")
        report("envoy_stats.lane_replay_visible", out["lane_cases_per_s"]["visible"], "cases/s")
        report("envoy_stats.lane_replay_with_read", out["lane_cases_per_s"]["stats"], "cases/s")
        report(
            "envoy_stats.lane_read_vs_none",
            round(lane["stats"] / lane["visible"], 2),
            "x",
        )
        report("envoy_stats.load_at_start", round(load, 2), "1-min load average")
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
