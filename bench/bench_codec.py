"""exec/s under ``envoy-fuzz fuzz`` of the slow codec targets, against bare ``h2`` receiving
the ``request_header`` seeds (``bench_bare_h2`` in bench/bench_targets.py), in the same run.

Every target runs through the launcher exactly as a user's ``envoy-fuzz fuzz T --runs N``
(atheris, the target's dictionary, -use_value_profile, the structured mutator for proto
targets), one process, seed 1, a fresh working corpus; exec/s counts fuzzing time only.
"""

from __future__ import annotations

import os

from bench.engine import BENCH_TARGETS, _run
from bench.report import Report
from harness import targets

# target -> the ratio to bare h2 it must reach (issue 17)
TARGETS = {"hpack": 0.35, "h2_capture": 0.25, "codec_impl": 0.12}


def run(report: Report, runs: int = 5000) -> None:
    targets.load_file(BENCH_TARGETS)
    bare = _run(targets.get("bench_bare_h2"), runs=runs)
    rows = [
        [
            "bench_bare_h2 (baseline)",
            f"{bare.stats.runs:,}",
            f"{bare.exec_per_sec:,.0f}",
            "1.00",
            "-",
        ]
    ]
    known = {t.name for t in targets.all_targets()}
    for name, floor in TARGETS.items():
        if name not in known:
            continue
        result = _run(targets.get(name), runs=runs)
        ratio = result.exec_per_sec / bare.exec_per_sec if bare.exec_per_sec else 0.0
        rows.append(
            [
                name,
                f"{result.stats.runs:,}",
                f"{result.exec_per_sec:,.0f}",
                f"{ratio:.3f}",
                f"{floor:.2f}",
            ]
        )
    report.table(
        f"codec targets vs bare h2 under envoy-fuzz fuzz ({runs:,} runs each, seed 1)",
        ["target", "runs", "exec/s", "ratio to bare h2", "floor"],
        rows,
        note=f"load average at the end: {os.getloadavg()[0]:.2f}; baseline from the same run.",
    )
