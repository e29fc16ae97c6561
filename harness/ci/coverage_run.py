"""``ci run --mode coverage``: a coverage report of the built targets over their corpora.

ClusterFuzzLite runs a ``sanitizer: coverage`` build over each corpus; here the same targets
are replayed in this interpreter under coverage.py (a frozen package carries no sources to
report on). The report comes from ``harness.report.coverage.measure`` (``envoy-fuzz
coverage``) when that module is there; until then :func:`replay_coverage` does it, with the
same JSON shape: ``{"files": [{"path", "covered_lines", "num_statements", "percent"}],
"totals": {...}}``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from harness import targets
from harness.errors import UserError


def _targets_of(fuzzers: list[str]) -> list[targets.Target]:
    found = []
    for fuzzer in fuzzers:
        name = fuzzer.removeprefix("fuzz_")
        try:
            found.append(targets.get(name))
        except UserError:
            continue  # a user's target: its targets file is not known to a build directory
    if not found:
        raise UserError("coverage: none of the built fuzzers is a built-in target")
    return found


def replay_coverage(
    selected: list[targets.Target], corpus_dirs: dict[str, Path], html_dir: Path | None
) -> dict[str, Any]:
    """Every corpus file through its target's model plane under coverage.py."""
    import coverage

    from harness.triage import replay

    cov = coverage.Coverage(data_file=None, source=["harness"], branch=False)
    cov.start()
    try:
        for target in selected:
            for case in replay.cases([target], [corpus_dirs[target.name]]):
                replay.run_case(case, "model")
    finally:
        cov.stop()
    if html_dir is not None:
        cov.html_report(directory=str(html_dir))
    files = []
    covered = statements = 0
    for path in sorted(cov.get_data().measured_files()):
        _, lines, _, missing, _ = cov.analysis2(path)
        hit = len(lines) - len(missing)
        covered += hit
        statements += len(lines)
        files.append(
            {
                "path": str(Path(path).relative_to(targets.PROJECT_ROOT))
                if Path(path).is_relative_to(targets.PROJECT_ROOT)
                else path,
                "covered_lines": hit,
                "num_statements": len(lines),
                "percent": round(100.0 * hit / len(lines), 2) if lines else 100.0,
            }
        )
    percent = round(100.0 * covered / statements, 2) if statements else 100.0
    totals = {"covered_lines": covered, "num_statements": statements, "percent": percent}
    return {"files": files, "totals": totals}


def measure_corpora(fuzzers: list[str], ws: Path) -> dict[str, Any]:
    """The report for ``fuzzers`` over ``<ws>/corpus/<fuzzer>``, written to
    ``<ws>/coverage/coverage.json`` (and HTML beside it)."""
    selected = _targets_of(fuzzers)
    corpus_dirs = {t.name: ws / "corpus" / f"fuzz_{t.name}" for t in selected}
    report_dir = ws / "coverage"
    report_dir.mkdir(parents=True, exist_ok=True)
    html_dir = report_dir / "html"
    try:
        module = importlib.import_module("harness.report.coverage")
    except ImportError:
        data = replay_coverage(selected, corpus_dirs, html_dir)
    else:
        data = module.measure(selected, corpus_dirs=corpus_dirs, html_dir=html_dir).to_json()
    (report_dir / "coverage.json").write_text(json.dumps(data, indent=2) + "\n")
    return data
