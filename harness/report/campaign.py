"""The campaign report: one self-contained HTML page per run (``index.html``) and the same
facts as JSON beside it (``summary.json``).

Per target: exec/s, coverage (cov), features (ft) and corpus size over time as inline SVG
plots, drawn from the libFuzzer status lines the launcher read (``Stats.series``); the findings
table (signature, kind, files, reproducible, smallest size, the reproduction command); and the
run's settings. Nothing external is referenced (no script, style sheet, font or image), so the
page opens offline and can be attached to a ticket as one file. The page is rendered from the
summary dict, so the two never disagree.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from harness.engine import corpus
from harness.engine.launch import FuzzResult
from harness.report import svg
from harness.triage.pipeline import TriageResult

# The plotted series: summary.json's column name, the plot's title.
SERIES = (
    ("exec_per_sec", "exec/s"),
    ("cov", "coverage (cov)"),
    ("ft", "features (ft)"),
    ("corpus_units", "corpus size (inputs)"),  # libFuzzer's corp: units
)
SAMPLE_FIELDS = ("seconds", "runs", "cov", "ft", "corpus_units", "exec_per_sec")


@dataclass
class TargetRun:
    """One target's part of a run: what the launcher measured and what triage made of it."""

    result: FuzzResult
    triage: TriageResult | None = None


def run_settings(**given: Any) -> dict[str, Any]:
    """The settings a report shows: what the caller passed, plus the machine it ran on."""
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        **{k: v for k, v in given.items() if v is not None},
        "command": " ".join(["envoy-fuzz", *sys.argv[1:]]),
        "report_written": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": platform.python_version(),
        "cores": len(os.sched_getaffinity(0)),
        "load_average": load,
    }


def _findings(run: TargetRun) -> list[dict[str, Any]]:
    if run.triage is None:
        return []
    rows = []
    for group in run.triage.groups:
        rep = group.representative
        rows.append(
            {
                "signature": group.signature,
                "kind": group.kind,
                "files": len(group.files),
                "reproducible": ("flaky" if group.flaky else "yes") if group.reproducible else "no",
                "security": rep.severity if group.security else None,
                "smallest": group.smallest,
                "reproduce": rep.reproduce,
            }
        )
    return rows


def summary(runs: Sequence[TargetRun], settings: dict[str, Any], title: str) -> dict[str, Any]:
    """What ``summary.json`` holds (and the page shows)."""
    targets = []
    for run in runs:
        row = run.result.as_dict()
        series = run.result.stats.series
        row["series"] = {name: [getattr(s, name) for s in series] for name in SAMPLE_FIELDS}
        row["series"]["seconds"] = [round(t, 3) for t in row["series"]["seconds"]]
        row["finding_groups"] = _findings(run)
        if run.triage is not None and run.triage.over_limit:
            row["not_triaged"] = len(run.triage.over_limit)
        targets.append(row)
    return {"title": title, "settings": settings, "targets": targets}


def write_report(
    out_dir: Path, runs: Sequence[TargetRun], settings: dict[str, Any], title: str
) -> Path:
    """Write ``summary.json`` and ``index.html`` into ``out_dir`` (atomically); returns the
    page's path."""
    data = summary(runs, settings, title)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus.write_atomic(out_dir / "summary.json", json.dumps(data, indent=1).encode())
    page = out_dir / "index.html"
    corpus.write_atomic(page, render(data).encode())
    umask = os.umask(0)
    os.umask(umask)
    for path in (page, out_dir / "summary.json"):  # a page to share, not a private temp file
        path.chmod(0o666 & ~umask)
    return page


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, monospace; word-break: break-all; }
.plots { display: flex; flex-wrap: wrap; gap: 8px; }
svg.plot { background: #fbfcfd; border: 1px solid #e3e7eb; }
svg.plot text { font: 11px system-ui, sans-serif; fill: #57606a; }
svg.plot .plot-title { font-weight: 600; fill: #1b1f24; }
svg.plot .grid { stroke: #e3e7eb; }
svg.plot .line { fill: none; stroke: #0969da; stroke-width: 1.6; }
.bad { color: #cf222e; font-weight: 600; }
"""


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> str:
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        cells = [
            f'<td class="num">{escape(str(v))}</td>' if i in numeric else f"<td>{v}</td>"
            for i, v in enumerate(row)
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _target_section(row: dict[str, Any]) -> str:
    name = escape(row["target"])
    series = row["series"]
    plots = [
        svg.line_plot(
            f"{row['target']}: {label}",
            "seconds",
            list(zip(series["seconds"], series[key], strict=True)),
        )
        for key, label in SERIES
    ]
    groups = row["finding_groups"]
    if groups:
        findings = _table(
            ["signature", "kind", "files", "reproducible", "security", "smallest", "reproduce"],
            [
                [
                    f"<code>{escape(g['signature'])}</code>",
                    escape(g["kind"]),
                    g["files"],
                    escape(g["reproducible"]),
                    escape(g["security"] or "-"),
                    f"{g['smallest']} B",
                    f"<code>{escape(g['reproduce'])}</code>",
                ]
                for g in groups
            ],
            numeric={2},
        )
    elif row["findings"]:
        findings = "<p class='bad'>" + "<br>".join(escape(f) for f in row["findings"]) + "</p>"
    else:
        findings = "<p>No findings.</p>"
    if row.get("not_triaged"):
        findings += f"<p>{row['not_triaged']} more crash file(s) not triaged (per-run limit).</p>"
    return (
        f'<section id="target-{name}"><h2>{name} <small>({escape(row["plane"])} plane)</small></h2>'
        f'<div class="plots">{"".join(plots)}</div>'
        f"<h3>Findings</h3>{findings}"
        f"<p>corpus: <code>{escape(row['corpus_dir'])}</code>; artifacts: "
        f"<code>{escape(row['artifacts_dir'])}</code>; log: <code>{escape(row['log'] or '-')}"
        "</code></p></section>"
    )


def render(data: dict[str, Any]) -> str:
    """The page: a summary table, the settings, then one section per target."""
    rows = data["targets"]
    overview = _table(
        ["target", "plane", "runs", "exec/s", "cov", "ft", "corpus", "new", "findings", "time"],
        [
            [
                f'<a href="#target-{escape(r["target"])}">{escape(r["target"])}</a>',
                escape(r["plane"]),
                f"{r['runs']:,}",
                f"{r['exec_per_sec']:,.0f}",
                r["cov"],
                r["ft"],
                r["corpus_files"],
                r["new_units"],
                len(r["findings"]),
                f"{r['seconds']:.0f}s" + (" (stopped)" if r["interrupted"] else ""),
            ]
            for r in rows
        ],
        numeric={2, 3, 4, 5, 6, 7, 8, 9},
    )
    settings = _table(
        ["setting", "value"],
        [[escape(k), f"<code>{escape(str(v))}</code>"] for k, v in data["settings"].items()],
        numeric=set(),
    )
    title = escape(data["title"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title}</h1>{overview}<h2>Settings</h2>{settings}"
        + "".join(_target_section(r) for r in rows)
        + "<p><small>Plots: one point per libFuzzer status line (time: when the launcher read it)."
        " summary.json beside this page holds the same figures.</small></p>"
        "</body></html>\n"
    )
