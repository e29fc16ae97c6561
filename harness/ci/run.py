"""``envoy-fuzz ci run DIR --mode M``: the built fuzzers run as ClusterFuzzLite's
``run_fuzzers`` runs them (``infra/cifuzz``), on this machine.

* every mode: each target's seed zip is unpacked into its corpus (``<workspace>/corpus/<f>``,
  kept between runs as CFLite keeps it in its storage), and the target is started as
  ``run_fuzzer`` starts it (``outdir.run_fuzzer_command``: options applied, dictionary given);
* ``code-change`` (PRs): ``-seed=1337``, the fuzz time shared between the targets, the run
  stops at the first bug; ``batch``: every target gets its share and every bug is reported;
* a crash is reproduced (up to 10 replays of the testcase with ``-runs=100``) before it is
  reported; an unreproducible one is not a bug (CFLite's default); timeouts and OOMs are left
  unreported, as with CFLite's ``report-timeouts``/``report-ooms`` off;
* ``prune``: libFuzzer's ``-merge=1`` of each corpus into a fresh one, which replaces it;
* ``coverage``: a coverage report of the targets over their corpora (coverage.py).

A reported bug makes the exit status 2 (as run_fuzzers), and the SARIF file is written where
CFLite writes it (``<workspace>/cifuzz-sarif/results.sarif``).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.ci import outdir
from harness.ci.check import execute
from harness.errors import UserError

MODES = ("code-change", "batch", "prune", "coverage")
DEFAULT_FUZZ_SECONDS = 600
BUG_EXIT = 2
CODE_CHANGE_SEED = 1337
REPRODUCE_ATTEMPTS = 10
REPRODUCE_TIMEOUT = 120.0  # CFLite's for Python
REPRODUCE_RUNS = 100
MERGE_TIMEOUT = 600.0
SARIF_FILE = Path("cifuzz-sarif") / "results.sarif"
CRASH_PREFIXES = ("crash-",)  # timeout-/oom- would be reported only when asked for
SARIF_SCHEMA = (
    "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
)


@dataclass
class Bug:
    fuzzer: str
    testcase: Path
    kind: str
    trace: str

    def to_json(self) -> dict[str, object]:
        return {"fuzzer": self.fuzzer, "testcase": str(self.testcase), "kind": self.kind}


@dataclass
class RunResult:
    mode: str
    workspace: Path
    fuzzers: list[str]
    bugs: list[Bug] = field(default_factory=list)
    unreproducible: list[str] = field(default_factory=list)
    sarif: Path | None = None
    corpus_sizes: dict[str, int] = field(default_factory=dict)
    coverage: dict[str, Any] | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "workspace": str(self.workspace),
            "fuzzers": self.fuzzers,
            "bugs": [b.to_json() for b in self.bugs],
            "unreproducible": self.unreproducible,
            "sarif": str(self.sarif) if self.sarif else None,
            "corpus_sizes": self.corpus_sizes,
            "coverage": (self.coverage or {}).get("totals"),
        }

    def summary(self) -> str:
        line = f"{self.mode}: {len(self.fuzzers)} fuzzer(s), {len(self.bugs)} bug(s)"
        if self.unreproducible:
            line += f", {len(self.unreproducible)} unreproducible crash(es) not reported"
        if self.coverage is not None:
            line += f", coverage {self.coverage.get('totals', {}).get('percent', 0):.1f} %"
        if self.sarif is not None:
            line += f"; SARIF: {self.sarif}"
        return line


def unpack_seeds(out: Path, fuzzer: str, corpus_dir: Path) -> int:
    """Unzip ``<fuzzer>_seed_corpus.zip`` into ``corpus_dir`` (as run_fuzzer does)."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    seeds = outdir.seed_corpus(out, fuzzer)
    if not seeds.exists():
        return 0
    with zipfile.ZipFile(seeds) as zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
        for member in members:
            target = corpus_dir / Path(member).name  # flat: no path in a member escapes
            if not target.exists():
                target.write_bytes(zf.read(member))
    return len(members)


def _new_crashes(artifacts: Path, before: set[Path]) -> list[Path]:
    return sorted(
        p for p in artifacts.iterdir() if p.name.startswith(CRASH_PREFIXES) and p not in before
    )


def reproduce(out: Path, fuzzer: str, testcase: Path, cwd: Path) -> str | None:
    """The crash output if ``testcase`` crashes ``fuzzer`` again (up to 10 tries), else None."""
    for _ in range(REPRODUCE_ATTEMPTS):
        command = outdir.run_fuzzer_command(
            out, fuzzer, [f"-runs={REPRODUCE_RUNS}", str(testcase)], cwd=cwd
        )
        finished = execute(command, REPRODUCE_TIMEOUT)
        if finished.code not in (0, None):
            return finished.output
    return None


def crash_kind(trace: str) -> str:
    if "Uncaught Python exception" in trace:
        return "uncaught-exception"
    if "ERROR: libFuzzer: deadly signal" in trace:
        return "deadly-signal"
    return "crash"


def _fuzz_one(out: Path, fuzzer: str, ws: Path, mode: str, seconds: int, result: RunResult) -> None:
    corpus_dir = ws / "corpus" / fuzzer
    artifacts = ws / "artifacts" / fuzzer
    artifacts.mkdir(parents=True, exist_ok=True)
    before = set(artifacts.iterdir())
    args = [f"-max_total_time={seconds}", f"-artifact_prefix={artifacts}/"]
    if mode == "code-change":
        args.append(f"-seed={CODE_CHANGE_SEED}")
    command = outdir.run_fuzzer_command(out, fuzzer, args, corpus_dir=corpus_dir, cwd=ws)
    finished = execute(command, seconds + REPRODUCE_TIMEOUT)
    (artifacts / "fuzz.log").write_text(finished.output)
    crashes = _new_crashes(artifacts, before)
    if not crashes:
        return
    testcase = crashes[0]  # CFLite considers the first crash of a run only
    trace = reproduce(out, fuzzer, testcase, ws)
    if trace is None:
        result.unreproducible.append(str(testcase))
        return
    result.bugs.append(Bug(fuzzer, testcase, crash_kind(trace), trace))


def _prune_one(out: Path, fuzzer: str, ws: Path) -> None:
    corpus_dir = ws / "corpus" / fuzzer
    merged = ws / "corpus" / f"{fuzzer}.merged"
    shutil.rmtree(merged, ignore_errors=True)
    merged.mkdir(parents=True)
    command = outdir.run_fuzzer_command(
        out, fuzzer, ["-merge=1", str(merged), str(corpus_dir)], cwd=ws
    )
    finished = execute(command, MERGE_TIMEOUT)
    if finished.code != 0:
        shutil.rmtree(merged, ignore_errors=True)
        tail = finished.output.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"{fuzzer}: corpus merge failed (exit {finished.code}): {tail[0]}")
    shutil.rmtree(corpus_dir)
    merged.rename(corpus_dir)


def run(
    out: Path,
    mode: str,
    fuzz_seconds: int,
    *,
    workspace: Path | None = None,
    sarif: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    if mode not in MODES:
        raise UserError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not out.is_dir():
        raise UserError(f"not a build output directory: {out}")
    out = out.resolve()
    fuzzers = [p.name for p in outdir.find_fuzz_targets(out)]
    if not fuzzers:
        raise UserError(f"no fuzz targets in {out} (run `envoy-fuzz ci build --out {out}`)")
    ws = (workspace or out.with_name(out.name + ".cifuzz")).resolve()
    ws.mkdir(parents=True, exist_ok=True)
    result = RunResult(mode, ws, fuzzers)
    say = progress or (lambda _line: None)
    seconds = max(1, fuzz_seconds // len(fuzzers))  # run_fuzzers shares the time out
    for fuzzer in fuzzers:
        seeds = unpack_seeds(out, fuzzer, ws / "corpus" / fuzzer)
        if mode == "coverage":
            continue
        say(f"{fuzzer}: {mode}, {seeds} seed(s)" + ("" if mode == "prune" else f", {seconds} s"))
        if mode == "prune":
            _prune_one(out, fuzzer, ws)
        else:
            _fuzz_one(out, fuzzer, ws, mode, seconds, result)
            if result.bugs and result.bugs[-1].fuzzer == fuzzer:
                say(f"{fuzzer}: {result.bugs[-1].kind} reproduced: {result.bugs[-1].testcase}")
                if mode == "code-change":
                    break  # CFLite stops a PR's run at the first bug
        result.corpus_sizes[fuzzer] = sum(1 for _ in (ws / "corpus" / fuzzer).iterdir())
    if mode == "coverage":
        from harness.ci import coverage_run

        result.coverage = coverage_run.measure_corpora(fuzzers, ws)
    if sarif and mode in ("code-change", "batch"):
        result.sarif = ws / SARIF_FILE
        write_sarif(result.bugs, result.sarif)
    return result


def to_sarif(bugs: list[Bug]) -> dict[str, Any]:
    """SARIF shaped as ClusterFuzzLite's ``sarif_utils``: one rule per crash kind, one result
    per bug located at its first frame under test (a path inside the project)."""
    from harness.triage import signature

    kinds = sorted({b.kind for b in bugs})
    rules = [
        {
            "id": kind,
            "shortDescription": {"text": kind.replace("-", " ")},
            "helpUri": "https://google.github.io/clusterfuzzlite/",
            "properties": {"category": "Crashes"},
        }
        for kind in kinds
    ]
    results = []
    for bug in bugs:
        frames = signature.frames_from_text(bug.trace)
        frame = signature.first_frame_under_test(frames)
        state = signature.crash_state(frames)
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": _project_path(frame.file) if frame else bug.fuzzer},
                "region": {"startLine": frame.line if frame and frame.line > 0 else 1},
            }
        }
        results.append(
            {
                "level": "error",
                "message": {"text": f"{bug.kind} in {bug.fuzzer}: {' < '.join(state)}"},
                "locations": [location],
                "ruleId": bug.kind,
                "ruleIndex": kinds.index(bug.kind),
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ClusterFuzzLite/CIFuzz (envoy-fuzz ci run)",
                        "informationUri": "https://google.github.io/clusterfuzzlite/",
                        "version": "1.0.0",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _project_path(file: str) -> str:
    """A frame's file as a path inside the project (frozen frames are relative already)."""
    parts = Path(file).parts
    for root in ("harness", "fuzzers"):
        if root in parts:
            return Path(*parts[parts.index(root) :]).as_posix()
    return Path(file).name


def write_sarif(bugs: list[Bug], path: Path) -> None:
    from harness.engine.corpus import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(to_sarif(bugs), indent=2) + "\n").encode())
