"""Coverage of each built-in target's seed corpus (corpora/<target>/, envoy/ and regressions/
included), measured by ``envoy-fuzz coverage``'s library; with BENCH_COVERAGE_CAMPAIGN=S, also
after an S-second campaign (``envoy-fuzz campaign --time S`` in a scratch dir), seeds plus the
working corpus it grew. The cost figure compares the coverage replay with a plain replay of
the same files in the same run (the baseline)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Report


def _plain_replay_seconds(name: str) -> float:
    """A replay of the same corpus without coverage, in a child as the measured one is."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "harness.cli", "replay", name], check=True, capture_output=True
    )
    return time.perf_counter() - started


def run(report: Report) -> None:
    from harness import targets
    from harness.report.coverage import measure

    selected = [t for t in targets.all_targets() if t.source == "builtin" and "model" in t.planes]
    rows: dict[str, list[object]] = {}
    covered_seconds = plain = 0.0
    for target in selected:
        plain += _plain_replay_seconds(target.name)
        started = time.perf_counter()
        totals = measure([target], corpus_dirs=[target.corpus]).totals
        covered_seconds += time.perf_counter() - started
        rows[target.name] = [
            target.name,
            sum(1 for _ in target.corpus.rglob("*") if _.is_file()),
            f"{totals.covered_lines}/{totals.num_statements}",
            f"{totals.covered_branches}/{totals.num_branches}",
            f"{totals.percent:.1f} %",
        ]
    campaign = float(os.environ.get("BENCH_COVERAGE_CAMPAIGN", "0") or 0)
    headers = ["target", "seed files", "lines", "branches", "seeds: percent"]
    if campaign > 0:
        headers.append(f"after a {campaign:.0f} s campaign")
        with tempfile.TemporaryDirectory(prefix="bench-coverage-") as tmp:
            subprocess.run(
                [sys.executable, "-m", "harness.cli", "campaign", "--time", str(campaign)],
                cwd=tmp,
                capture_output=True,
                check=False,  # a finding (exit 1) still leaves its corpus
            )
            for target in selected:
                grown = Path(tmp) / ".envoy-fuzz" / "corpus" / target.name
                dirs = [target.corpus, *([grown] if grown.is_dir() else [])]
                after = measure([target], corpus_dirs=dirs).totals
                rows[target.name].append(
                    f"{after.percent:.1f} % ({after.covered_lines} lines, "
                    f"{after.covered_branches} branches)"
                )
    report.table(
        "Coverage of the seed corpora (coverage.py, branch; code under test only)",
        headers,
        list(rows.values()),
        note="percent is coverage.py's: (covered lines + covered branches) / (lines + "
        "branches) of the files the target imported in harness/codec, model, util, config.",
    )
    report("coverage replay of every seed corpus (one child per target)", covered_seconds, "s")
    report("plain replay of the same files (one child per target)", plain, "s")
    report("coverage replay / plain replay", covered_seconds / plain if plain else 0.0, "x")
    report.flush_figures("Coverage replay cost")
