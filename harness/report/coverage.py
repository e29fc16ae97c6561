"""What a corpus reaches in the code under test, measured with coverage.py (branch coverage).

``measure`` replays each target's corpus files through the replay machinery
(``harness.triage.replay``) in a child process that runs under coverage.py, so that the
measurement never meets atheris's instrumentation (or the caller's own coverage) in one
interpreter. What is measured is the code under test, not the harness: for a built-in target
our codecs, model, utilities and config engine; for a target from a ``--targets`` file, the
modules in that file's directory. Installed libraries (h2, hpack, hyperframe: what atheris
also instruments for some targets) are left out, as coverage.py leaves out third-party code.
Only files the replay imported appear: a module no input reached is not listed at 0 %.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import targets
from harness.engine.launch import WORK_ROOT
from harness.errors import UserError
from harness.targets import PROJECT_ROOT, Target

HARNESS_ROOT = PROJECT_ROOT / "harness"
# The parts of harness/ that are code under test; every other part is the harness itself.
UNDER_TEST = ("codec", "model", "util", "config")
# The figures kept per file and in the totals (coverage.py's JSON report names).
_FIGURES = (
    "covered_lines",
    "num_statements",
    "missing_lines",
    "excluded_lines",
    "num_branches",
    "covered_branches",
    "missing_branches",
    "num_partial_branches",
)
CHILD_MODULE = "harness.report.coverage_run"


@dataclass
class FileCoverage:
    path: str  # relative to the project (a user's file: to the working dir, if under it)
    covered_lines: int
    num_statements: int
    percent: float  # coverage.py's: (covered lines + branches) / (statements + branches)
    num_branches: int = 0
    covered_branches: int = 0
    missing_lines: int = 0
    excluded_lines: int = 0
    missing_branches: int = 0
    num_partial_branches: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "covered_lines": self.covered_lines,
            "num_statements": self.num_statements,
            "percent": self.percent,
            "num_branches": self.num_branches,
            "covered_branches": self.covered_branches,
            "missing_lines": self.missing_lines,
            "excluded_lines": self.excluded_lines,
            "missing_branches": self.missing_branches,
            "num_partial_branches": self.num_partial_branches,
        }


@dataclass
class CoverageReport:
    files: list[FileCoverage]
    totals: FileCoverage
    # per target: files replayed, and how many were ok / skipped (unparsable) / findings
    replayed: dict[str, dict[str, int]] = field(default_factory=dict)
    corpus_dirs: dict[str, list[str]] = field(default_factory=dict)
    html_dir: Path | None = None

    def to_json(self) -> dict[str, Any]:
        totals = self.totals.to_json()
        del totals["path"]
        return {
            "files": [f.to_json() for f in self.files],
            "totals": totals,
            "replayed": self.replayed,
            "corpus_dirs": self.corpus_dirs,
            "html": str(self.html_dir / "index.html") if self.html_dir else None,
        }


def default_corpus_dirs(target: Target) -> list[Path]:
    """The target's corpus dir (seeds, ``envoy/``, ``regressions/``) and its working corpus
    (``.envoy-fuzz/corpus/<target>``, what ``envoy-fuzz fuzz`` grew), those that exist."""
    dirs = [target.corpus, WORK_ROOT / "corpus" / target.name]
    return [d.resolve() for d in dirs if d.is_dir()]


def _resolve(items: Iterable[Target | str]) -> list[Target]:
    found = [targets.get(t) if isinstance(t, str) else t for t in items]
    if not found:
        raise UserError("coverage: name at least one target")
    for t in found:
        if t.source == "<python>":
            raise UserError(
                f"target {t.name!r} was registered in this process, not by a targets file: "
                "the coverage replay runs in a child process, which loads targets files only"
            )
        if "model" not in t.planes:
            raise UserError(f"target {t.name!r} has no in-process (model) plane to measure")
    return found


def measured_patterns(selected: Sequence[Target]) -> tuple[list[str], list[str]]:
    """coverage.py ``include`` and ``omit`` patterns for the code under test of ``selected``."""
    include: list[str] = []
    for target in selected:
        if target.source == "builtin":
            include += [str(HARNESS_ROOT / part / "*") for part in UNDER_TEST]
        elif target.source != "<python>":
            include.append(str(Path(target.source).resolve().parent / "*"))
    machinery = sorted(
        p for p in HARNESS_ROOT.iterdir() if p.name not in UNDER_TEST and not p.name.startswith(".")
    )
    omit = [str(p / "*") if p.is_dir() else str(p) for p in machinery]
    omit += ["*_pb2.py", "*/site-packages/harness/*", str(PROJECT_ROOT / ".venv" / "*")]
    return sorted(set(include)), omit


def measure(
    targets_: Sequence[Target | str],
    corpus_dirs: Sequence[Path] | Mapping[str, Sequence[Path]] | None = None,
    html_dir: Path | None = None,
) -> CoverageReport:
    """Replay the corpora of ``targets_`` under coverage.py (branch coverage) in a child
    process; ``corpus_dirs`` replaces every target's default corpus dirs (one list for all
    targets, or a list per target name, as ``ci run --mode coverage`` has); ``html_dir`` gets
    coverage.py's HTML report (``index.html``)."""
    selected = _resolve(targets_)
    per_target: dict[str, list[Path]] = {}
    for t in selected:
        if corpus_dirs is None:
            per_target[t.name] = list(default_corpus_dirs(t))
        elif isinstance(corpus_dirs, Mapping):
            per_target[t.name] = [Path(d) for d in corpus_dirs.get(t.name, ())]
        else:
            per_target[t.name] = [Path(d) for d in corpus_dirs]
    if corpus_dirs is not None:
        missing = sorted({str(d) for dirs in per_target.values() for d in dirs if not d.exists()})
        if missing:
            raise UserError(f"corpus dir not found: {', '.join(missing)}")
    if html_dir is not None and html_dir.exists() and not html_dir.is_dir():
        raise UserError(f"--html: not a directory: {html_dir}")
    include, omit = measured_patterns(selected)
    plan = {name: [str(d.resolve()) for d in dirs] for name, dirs in per_target.items()}
    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-coverage-") as tmp:
        work = Path(tmp)
        request = {
            "targets": list(plan),
            "targets_files": sorted(
                {t.source for t in selected if t.source not in ("builtin", "<python>")}
            ),
            "corpus": plan,
            "include": include,
            "omit": omit,
            "data_file": str(work / ".coverage"),
            "json_out": str(work / "coverage.json"),
            "replay_out": str(work / "replay.json"),
            "html_dir": str(html_dir.resolve()) if html_dir is not None else None,
            "project_root": str(PROJECT_ROOT),
        }
        (work / "request.json").write_text(json.dumps(request))
        _run_child(work / "request.json", work / "child.log")
        data = json.loads((work / "coverage.json").read_text())
        replayed = json.loads((work / "replay.json").read_text())
    return CoverageReport(
        files=sorted(
            (_file_figures(_display_path(p), f["summary"]) for p, f in data["files"].items()),
            key=lambda f: f.path,
        ),
        totals=_file_figures("TOTAL", data["totals"]),
        replayed=replayed,
        corpus_dirs=plan,
        html_dir=html_dir.resolve() if html_dir is not None else None,
    )


def _run_child(request: Path, log: Path) -> None:
    env = dict(os.environ)
    # the child must not inherit a parent's coverage (pytest-cov) or atheris set-up
    for name in ("COVERAGE_PROCESS_START", "COVERAGE_RCFILE"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    with open(log, "w") as out:
        proc = subprocess.run(
            [sys.executable, "-m", CHILD_MODULE, str(request)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            check=False,
        )
    text = log.read_text(errors="replace")
    if proc.returncode == 2 and text.startswith("envoy-fuzz: "):
        raise UserError(text.strip().splitlines()[-1].removeprefix("envoy-fuzz: "))
    if proc.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-15:])
        raise RuntimeError(f"coverage replay failed (exit {proc.returncode}):\n{tail}")


def _display_path(path: str) -> str:
    """Project files relative to the project, a user's relative to the working dir (when
    under it), others absolute."""
    p = Path(path).resolve()
    for root in (PROJECT_ROOT, Path.cwd().resolve()):
        if p.is_relative_to(root):
            return p.relative_to(root).as_posix()
    return p.as_posix()


def _file_figures(path: str, summary: dict[str, Any]) -> FileCoverage:
    return FileCoverage(
        path=path,
        percent=round(float(summary.get("percent_covered", 100.0)), 2),
        **{name: int(summary.get(name, 0)) for name in _FIGURES},
    )
