"""``ci run --mode coverage``: a coverage report of the built targets over their corpora.

ClusterFuzzLite runs a ``sanitizer: coverage`` build over each corpus; here the same targets
are replayed under coverage.py in a child process (a frozen package carries no sources to
report on). The report is ``envoy-fuzz coverage``'s (``harness.report.coverage.measure``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import targets
from harness.errors import UserError
from harness.report import coverage


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


def measure_corpora(fuzzers: list[str], ws: Path) -> dict[str, Any]:
    """The report for ``fuzzers`` over ``<ws>/corpus/<fuzzer>``, written to
    ``<ws>/coverage/coverage.json`` (and HTML beside it)."""
    selected = _targets_of(fuzzers)
    corpus_dirs = {t.name: ws / "corpus" / f"fuzz_{t.name}" for t in selected}
    report_dir = ws / "coverage"
    report_dir.mkdir(parents=True, exist_ok=True)
    html_dir = report_dir / "html"
    data = coverage.measure(
        selected,
        corpus_dirs={name: [d] for name, d in corpus_dirs.items() if d.is_dir()},
        html_dir=html_dir,
    ).to_json()
    (report_dir / "coverage.json").write_text(json.dumps(data, indent=2) + "\n")
    return data
