"""Report subcommands: coverage (coverage.py over a target's corpora)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness import targets
from harness.cli.args import load_user_targets, short_path, targets_flag


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "coverage",
        help="coverage.py (branch) coverage of what the corpora reach in the code under test",
        description="Replay each TARGET's corpora (seeds, envoy/, regressions/ and the working "
        "corpus, or --corpus) under coverage.py with branch coverage, measuring the code under "
        "test (our codecs, model, utilities, config engine; a --targets file's own modules), "
        "not the harness.",
    )
    p.add_argument("target", nargs="+", metavar="TARGET")
    p.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        action="append",
        help="replay this dir (or file) instead of the default corpora (repeatable)",
    )
    p.add_argument("--html", type=Path, metavar="DIR", help="write coverage.py's HTML report")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    targets_flag(p)
    p.set_defaults(handler=cmd_coverage)


def cmd_coverage(args: argparse.Namespace) -> int:
    from harness.report.coverage import measure

    load_user_targets(args)
    selected = [targets.get(name) for name in args.target]
    report = measure(selected, corpus_dirs=args.corpus, html_dir=args.html)
    if args.json:
        json.dump(report.to_json(), sys.stdout)
        print()
        return 0
    from rich.table import Table

    from harness.triage.report import console

    table = Table(
        "file",
        "lines",
        "covered",
        "branches",
        "covered",
        "percent",
        title=f"envoy-fuzz coverage {' '.join(args.target)}",
    )
    for f in [*report.files, report.totals]:
        table.add_row(
            f.path,
            str(f.num_statements),
            str(f.covered_lines),
            str(f.num_branches),
            str(f.covered_branches),
            f"{f.percent:.1f}%",
            end_section=f is report.files[-1] if report.files else False,
        )
    out = console()
    out.print(table)
    for name, tally in report.replayed.items():
        out.print(
            f"{name}: replayed {tally['files']} files ({tally['ok']} ok, {tally['skipped']} "
            f"skipped, {tally['finding']} findings) from {', '.join(report.corpus_dirs[name])}"
        )
    if report.html_dir is not None:
        out.print(f"HTML report: {short_path(report.html_dir / 'index.html')}")
    return 0


# --- the campaign report of `fuzz` and `campaign` ---------------------------------------------


def report_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="write the HTML report (index.html) and summary.json here "
        "(default: beside the artifacts)",
    )


def write_run_report(
    args: argparse.Namespace,
    results: list[tuple[Any, Any]],
    default_dir: Path,
    title: str,
    /,
    **settings: Any,
) -> Path:
    """Write the campaign report of ``results`` ((FuzzResult, TriageResult | None) pairs) into
    ``--report`` or ``default_dir``; returns the page's path."""
    from harness.engine.launch import DEFAULT_FLAGS
    from harness.report.campaign import TargetRun, run_settings, write_report

    out_dir = (args.report or default_dir).resolve()
    settings["libfuzzer_flags"] = " ".join([*DEFAULT_FLAGS, *settings.get("libfuzzer_flags", [])])
    return write_report(
        out_dir,
        [TargetRun(result, triage) for result, triage in results],
        run_settings(**settings),
        title,
    )


def report_line(page: Path) -> str:
    return f"report: {short_path(page)}"
