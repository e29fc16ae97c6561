"""The child side of ``harness.report.coverage.measure``: coverage.py starts first, then the
targets are imported and their corpus files replayed (``python -m harness.report.coverage_run
REQUEST.json``). Nothing under test may be imported before ``start()``, or its module-level
lines would count as never run; so this module imports only the standard library and
coverage at the top."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    import coverage

    request: dict[str, Any] = json.loads(Path(argv[1]).read_text())
    cov = coverage.Coverage(
        data_file=request["data_file"],
        branch=True,
        include=request["include"],
        omit=request["omit"],
        config_file=False,
    )
    cov.start()
    try:
        replayed = _replay(request)
    finally:
        cov.stop()
    cov.save()
    try:
        cov.json_report(outfile=request["json_out"], pretty_print=False)
    except coverage.exceptions.NoDataError:  # nothing under test was imported at all
        Path(request["json_out"]).write_text(json.dumps({"files": {}, "totals": {}}))
    else:
        if request["html_dir"]:
            cov.html_report(directory=request["html_dir"], title="envoy-fuzz coverage")
    Path(request["replay_out"]).write_text(json.dumps(replayed))
    return 0


def _replay(request: dict[str, Any]) -> dict[str, dict[str, int]]:
    from harness import targets
    from harness.errors import UserError, one_line
    from harness.triage import replay

    try:
        for path in request["targets_files"]:
            targets.load_file(path)
        selected = [targets.get(name) for name in request["targets"]]
    except UserError as e:
        print(one_line(e), file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    counts: dict[str, dict[str, int]] = {}
    for target in selected:
        tally = {"files": 0, "ok": 0, "skipped": 0, "finding": 0}
        dirs = [Path(d) for d in request["corpus"][target.name]]
        for case in replay.cases([target], dirs) if dirs else ():
            outcome = replay.run_case(case, "model")
            tally["files"] += 1
            tally[outcome.status] += 1
        counts[target.name] = tally
    return counts


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
