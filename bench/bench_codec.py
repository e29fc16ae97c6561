"""exec/s under ``envoy-fuzz fuzz`` of the slow codec targets, against bare ``h2`` receiving
the ``request_header`` seeds (``bench_bare_h2`` in bench/bench_targets.py), in the same run.

Every target runs through the launcher exactly as a user's ``envoy-fuzz fuzz T --runs N``
(atheris, the target's dictionary, -use_value_profile, the structured mutator for proto
targets), one process, seed 1, a fresh working corpus; exec/s counts fuzzing time only.

On a shared machine one measurement of each is noise (one round's ratio ranged 0.14-0.28
for the same code), so the benchmark runs ``ROUNDS`` rounds, each the baseline then every
target back to back, and reports the median ratio of the rounds with its spread.

Until 2026-12-07 the baseline's seed path resolved beside bench/bench_targets.py, where it
does not exist, so bare h2 fuzzed from one empty input (~12k exec/s here, against ~2.4k on the
seeds); every ratio in this section before then is against that faster, wrong yardstick.
"""

from __future__ import annotations

import os
import statistics

from bench.engine import BENCH_TARGETS, _run
from bench.report import Report
from harness import targets

# target -> the ratio to bare h2 it must reach (issue 17); None: measured, no floor
TARGETS: dict[str, float | None] = {
    "hpack": 0.35,
    "h2_capture": 0.25,
    "codec_impl": 0.12,
    "http1_codec_impl": None,
}
ROUNDS = 5


def run(report: Report, runs: int = 5000, rounds: int = ROUNDS) -> None:
    targets.load_file(BENCH_TARGETS)
    known = {t.name for t in targets.all_targets()}
    names = [name for name in TARGETS if name in known]
    bare: list[float] = []
    empty: list[float] = []  # the old, wrong yardstick, shown beside the right one
    measured: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    old_ratios: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        bare.append(_run(targets.get("bench_bare_h2"), runs=runs).exec_per_sec)
        empty.append(_run(targets.get("bench_bare_h2_from_empty"), runs=runs).exec_per_sec)
        for name in names:
            result = _run(targets.get(name), runs=runs)
            measured[name].append(result.exec_per_sec)
            ratios[name].append(result.exec_per_sec / bare[-1] if bare[-1] else 0.0)
            old_ratios[name].append(result.exec_per_sec / empty[-1] if empty[-1] else 0.0)
    rows = [
        [
            "bench_bare_h2 (baseline)",
            f"{runs:,}",
            f"{statistics.median(bare):,.0f}",
            "1.00",
            "-",
            "-",
            "-",
        ],
        [
            "bench_bare_h2_from_empty (the old yardstick)",
            f"{runs:,}",
            f"{statistics.median(empty):,.0f}",
            "-",
            "-",
            "1.00",
            "-",
        ],
    ]
    for name in names:
        rows.append(
            [
                name,
                f"{runs:,}",
                f"{statistics.median(measured[name]):,.0f}",
                f"{statistics.median(ratios[name]):.3f}",
                f"{min(ratios[name]):.3f}-{max(ratios[name]):.3f}",
                f"{statistics.median(old_ratios[name]):.3f}",
                "-" if (floor := TARGETS[name]) is None else f"{floor:.2f}",
            ]
        )
    report.table(
        f"codec targets vs bare h2 under envoy-fuzz fuzz ({rounds} rounds, seed 1)",
        [
            "target",
            "runs",
            "exec/s (median)",
            "ratio (median)",
            "ratio (spread)",
            "vs the old yardstick",
            "floor",
        ],
        rows,
        note=f"A ratio is the target's exec/s over the baseline's of the same round; median "
        f"and min-max over {rounds} rounds. The floors are against bare h2 on the "
        f"request_header seeds (issue 17); the old yardstick, bare h2 from one empty input, is "
        f"what this section measured against until 2026-12-07. Load average at the end: "
        f"{os.getloadavg()[0]:.2f}. Where the time goes: docs/performance.md.",
    )
