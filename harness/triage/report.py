"""Terminal output: the grouped findings table, merge and minimize summaries."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from harness.triage.pipeline import TriageResult


def console(file: IO[str] | None = None) -> Any:
    from rich.console import Console

    out = file or sys.stdout
    # Piped output (CI logs) keeps whole rows instead of wrapping at 80 columns.
    return Console(file=out) if out.isatty() else Console(file=out, width=160)


def short(path: str | Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def reproducible_cell(reproducible: bool, flaky: bool) -> str:
    if not reproducible:
        return "no"
    return "flaky" if flaky else "yes"


def print_triage(
    result: TriageResult,
    file: IO[str] | None = None,
    *,
    title: str = "findings",
    verbose: bool = False,
    raise_limit: str = "--max-files N",
) -> None:
    """The grouped table, then one line per kind of file left out (each file named only
    with ``verbose``); ``raise_limit`` says how the caller's user lifts a per-run limit."""
    from rich.markup import escape
    from rich.table import Table

    out = console(file)
    if not result.groups:
        left_out = len(result.skipped) + len(result.over_limit)
        out.print("no findings" + (f" ({left_out} file(s) left out)" if left_out else ""))
    else:
        table = Table(
            "signature",
            "kind",
            "target",
            "files",
            "reproducible",
            "security",
            "smallest",
            title=f"{title}: {len(result.findings)} file(s) in {len(result.groups)} group(s)",
        )
        for g in result.groups:
            rep = g.representative
            table.add_row(
                escape(g.signature),
                g.kind,
                g.target,
                str(len(g.files)),
                reproducible_cell(g.reproducible, g.flaky),
                f"[bold red]{rep.severity}[/]" if g.security else "-",
                f"{g.smallest} B",
            )
        out.print(table)
        for g in result.groups:
            out.print(f"  reproduce: {escape(g.representative.reproduce)}")
    if result.over_limit:
        total = len(result.over_limit) + (result.limit or 0)
        out.print(
            f"[yellow]not triaged[/]: {len(result.over_limit)} of {total} crash files: this "
            f"triage takes the {result.limit} smallest (a per-run limit that keeps it short); "
            f"{escape(raise_limit)} raises it" + ("" if verbose else " (--verbose lists them)")
        )
    reasons: dict[str, list[Path]] = {}
    for path, why in result.skipped:
        reasons.setdefault(why, []).append(path)
    for why, paths in reasons.items():
        out.print(f"[yellow]skipped[/] {len(paths)} file(s): {escape(why)}")
    if verbose:
        for path in result.over_limit:
            out.print(f"  not triaged: {escape(short(path))}")
        for path, why in result.skipped:
            out.print(f"  skipped: {escape(short(path))}: {escape(why)}")
    for path in result.minimized:
        out.print(f"minimized: {escape(short(path))}")
    for path in result.promoted:
        out.print(f"promoted: {escape(short(path))}")
    # ClusterFuzz reads this marker anywhere in the output to classify the bug as security.
    for marker in result.security_markers():
        print(marker, file=file or sys.stdout)
