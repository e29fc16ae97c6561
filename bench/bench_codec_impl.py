"""exec/s of ``codec_impl`` and ``http1_codec_impl`` under ``envoy-fuzz fuzz``, against bare
``h2`` receiving the ``request_header`` seeds, in the same run (issue 17: codec_impl >= 0.12x).

Each target runs through the launcher as ``envoy-fuzz fuzz T --runs N`` does (bench.engine's
``_run``: atheris, the structured mutator, seed 1, a fresh working corpus). The floor comes
from bench_codec's table, so the two benchmarks cannot disagree on it.
"""

from __future__ import annotations

import os

from bench.bench_codec import TARGETS as FLOORS
from bench.engine import BENCH_TARGETS, _run
from bench.report import Report
from harness import targets

MEASURED = ("codec_impl", "http1_codec_impl")


def run(report: Report, runs: int = 5000) -> None:
    targets.load_file(BENCH_TARGETS)
    bare = _run(targets.get("bench_bare_h2"), runs=runs)
    rows = [["bench_bare_h2 (baseline)", f"{bare.stats.runs:,}", f"{bare.exec_per_sec:,.0f}"]]
    rows[0] += ["1.00", "-"]
    for name in MEASURED:
        result = _run(targets.get(name), runs=runs)
        ratio = result.exec_per_sec / bare.exec_per_sec if bare.exec_per_sec else 0.0
        floor = FLOORS.get(name)
        rows.append(
            [
                name,
                f"{result.stats.runs:,}",
                f"{result.exec_per_sec:,.0f}",
                f"{ratio:.3f}",
                f"{floor:.2f}" if floor is not None else "-",
            ]
        )
    report.table(
        f"codec_impl targets vs bare h2 under envoy-fuzz fuzz ({runs:,} runs each, seed 1)",
        ["target", "runs", "exec/s", "ratio to bare h2", "floor"],
        rows,
        note=f"load average at the end: {os.getloadavg()[0]:.2f}; baseline from the same run.",
    )
