"""Engine benchmarks: exec/s per target next to an empty target, and the proto mutator's
coverage against plain byte mutation of the same text files, all in the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.report import Report
from harness import targets
from harness.engine.launch import FuzzOptions, FuzzResult, fuzz

BENCH_TARGETS = Path(__file__).resolve().parent / "bench_targets.py"


def _run(
    target: targets.Target,
    *,
    runs: int | None = None,
    time: float | None = None,
    mutator: str = "auto",
    flags: tuple[str, ...] = (),
) -> FuzzResult:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:  # a fresh working corpus each run
        return fuzz(
            FuzzOptions(
                target=target,
                plane="model",
                runs=runs,
                time=time,
                mutator=mutator,
                corpus_dir=Path(tmp),
                artifacts_dir=Path(tmp) / "artifacts",
                libfuzzer_flags=["-seed=1", *flags],
                quiet=True,
            )
        )


def exec_per_sec(report: Report, runs: int = 20000) -> None:
    targets.load_file(BENCH_TARGETS)
    empty = _run(targets.get("bench_empty"), runs=runs)
    rows = [
        [
            "bench_empty (baseline)",
            "bytes",
            f"{empty.stats.runs:,}",
            f"{empty.exec_per_sec:,.0f}",
            "1.00",
        ]
    ]
    for target in targets.all_targets():
        if target.source != "builtin" or "model" not in target.planes:
            continue
        result = _run(target, runs=runs)
        ratio = result.exec_per_sec / empty.exec_per_sec if empty.exec_per_sec else 0.0
        rows.append(
            [
                target.name,
                target.input,
                f"{result.stats.runs:,}",
                f"{result.exec_per_sec:,.0f}",
                f"{ratio:.3f}",
            ]
        )
    report.table(
        f"exec/s per target ({runs:,} runs each, one process, seed 1)",
        ["target", "input", "runs", "exec/s", "ratio to empty"],
        rows,
        note="exec/s counts fuzzing time only (from libFuzzer's INITED line), not start-up or "
        "instrumentation. The empty target is measured in the same run as the baseline.",
    )


def mutator_coverage(report: Report, seconds: float = 40.0) -> None:
    rows = []
    for target in targets.all_targets():
        if target.source != "builtin" or target.proto_name is None or "model" not in target.planes:
            continue
        structured = _run(target, time=seconds, mutator="auto")
        plain = _run(target, time=seconds, mutator="bytes")
        rows.append(
            [
                target.name,
                structured.stats.cov,
                plain.stats.cov,
                structured.stats.ft,
                plain.stats.ft,
                f"{structured.exec_per_sec:,.0f}",
                f"{plain.exec_per_sec:,.0f}",
                "yes" if structured.stats.cov > plain.stats.cov else "no",
            ]
        )
    report.table(
        f"structure-aware proto mutator vs byte mutation of the text ({seconds:.0f} s each)",
        [
            "target",
            "cov (proto)",
            "cov (bytes)",
            "ft (proto)",
            "ft (bytes)",
            "exec/s (proto)",
            "exec/s (bytes)",
            "proto reaches more",
        ],
        rows,
        note="Same seed corpus, same seed (-seed=1), same time budget, fresh working corpus, "
        "run back to back. cov = libFuzzer's edge coverage of the instrumented Python code.",
    )
