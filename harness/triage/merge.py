"""Coverage-preserving corpus minimization: a greedy set cover over coverage features.

libFuzzer's ``-set_cover_merge=1`` picks, again and again, the input that adds the most
features not yet covered (the smaller one on ties). We do the same with features measured in
this process: the bytecode edges (with libFuzzer's hit-count buckets) executed in the code
atheris would instrument for the target (``harness``, the target's ``instrument`` packages,
a user's targets file). Measuring
here rather than through libFuzzer works for every target and both input kinds, gives a
deterministic figure, and lets us re-measure the merged set to prove nothing was lost.
Inputs that crash or time out are left out (libFuzzer's merge skips them too) and counted.
"""

from __future__ import annotations

import dis
import heapq
import itertools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from harness import targets
from harness.engine.corpus import iter_files, sha1, store
from harness.engine.launch import write_launcher
from harness.triage.reproduce import AttemptTimeout, time_limit

Edge = tuple[int, int, int]  # (code object id, from offset, to offset)
Feature = tuple[int, int, int, int]  # an edge and its hit-count bucket

# harness modules that are plumbing, not code under test (atheris instruments them, but
# they execute identically for every input, so they add no distinguishing features).
_PLUMBING = ("triage", "runner.py", "corpus.py", "targets.py", "errors.py", "oracle.py")


def _harness_root() -> str:
    return str(targets.PROJECT_ROOT / "harness") + "/"


_BRANCHES = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _bucket(count: int) -> int:
    """libFuzzer's hit-count buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+."""
    if count <= 3:
        return count
    for i, limit in enumerate((8, 16, 32, 128)):
        if count < limit:
            return 4 + i
    return 8


class Tracer:
    """Collects the bytecode edges one call executes in the files ``wanted`` accepts.

    atheris puts a counter on every branch of the bytecode, so a line can hold several
    (``a and b``, ``x if c else y``): we record every non-sequential transition between
    instructions, every outcome of a branch, and function entries, with libFuzzer's hit-count
    buckets as features.
    """

    def __init__(self, wanted: Callable[[str], bool]) -> None:
        self._wanted = wanted
        # code -> (feature id, offset -> next instruction's offset); None = not traced
        self._decided: dict[CodeType, tuple[int, dict[int, int]] | None] = {}
        self._ids: dict[tuple[str, int, str], int] = {}
        self.counts: dict[Edge, int] = {}

    def _code_info(self, code: CodeType) -> tuple[int, dict[int, int]] | None:
        if code in self._decided:
            return self._decided[code]
        info = None
        if self._wanted(code.co_filename):
            key = (code.co_filename, code.co_firstlineno, code.co_name)
            instructions = list(dis.get_instructions(code))
            # The fall-through of a branch is an edge too: a branch has no "sequential" next.
            following = {
                a.offset: b.offset
                for a, b in itertools.pairwise(instructions)
                if a.opcode not in _BRANCHES
            }
            info = (self._ids.setdefault(key, len(self._ids)), following)
        self._decided[code] = info
        return info

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        info = self._code_info(frame.f_code)
        if info is None:
            return None
        ident, following = info
        counts = self.counts
        prev = -1  # function entry (or a generator resuming)
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            nonlocal prev
            if event == "opcode":
                offset = frame.f_lasti
                if following.get(prev) != offset:
                    edge = (ident, prev, offset)
                    counts[edge] = counts.get(edge, 0) + 1
                prev = offset
            return local

        return local

    def run(
        self, fn: Callable[[bytes], None], data: bytes, timeout: float
    ) -> tuple[frozenset[Feature], str | None]:
        """(features, None) when ``fn`` handled ``data``; (features, why) if it crashed/hung."""
        problem: str | None = None
        try:
            with time_limit(timeout):
                # Untraced first run: one-time work (lazy imports, tables built on first use)
                # belongs to whichever input comes first, not to what an input covers.
                try:
                    fn(data)
                except (AttemptTimeout, KeyboardInterrupt, SystemExit):
                    raise
                except BaseException:
                    pass  # the traced run below reports it
                self.counts = {}
                sys.settrace(self._global)
                fn(data)
        except AttemptTimeout:
            problem = "timeout"
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            problem = "crash"
        finally:
            sys.settrace(None)
        if problem is not None:
            return frozenset(), problem
        return frozenset((*e, _bucket(n)) for e, n in self.counts.items()), problem


def wanted_files(target: targets.Target) -> Callable[[str], bool]:
    """Which source files count for ``target`` (what atheris instruments for it)."""
    root = _harness_root()
    plumbing = tuple(root + p for p in _PLUMBING)
    packages = tuple(f"/{name.replace('.', '/')}/" for name in target.instrument)
    modules = tuple(f"/{name.replace('.', '/')}.py" for name in target.instrument)
    user_dir = None if target.source in ("builtin", "<python>") else str(Path(target.source).parent)

    def wanted(filename: str) -> bool:
        if filename.startswith(root):
            return not filename.startswith(plumbing) and "/proto/" not in filename
        if user_dir is not None and filename.startswith(user_dir):
            return True
        return filename.endswith(modules) or any(p in filename for p in packages)

    return wanted


@dataclass
class MergeResult:
    files_before: int
    files_after: int
    edges_before: int
    edges_after: int  # re-measured over the chosen files
    features_before: int
    features_after: int
    selected: list[Path]
    left_out: dict[str, list[Path]] = field(default_factory=dict)  # "crash"/"timeout" -> files
    written: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "files_before": self.files_before,
            "files_after": self.files_after,
            "coverage_before": self.edges_before,
            "coverage_after": self.edges_after,
            "features_before": self.features_before,
            "features_after": self.features_after,
            "selected": [str(p) for p in self.selected],
            "left_out": {k: [str(p) for p in v] for k, v in self.left_out.items()},
            "written": [str(p) for p in self.written],
        }


def set_cover(items: list[tuple[Path, int, frozenset[Feature]]]) -> list[Path]:
    """Greedy set cover (lazy evaluation): most new features first, smaller file on ties."""
    covered: set[Feature] = set()
    heap = [(-len(f), size, str(p), p, f) for p, size, f in items if f]
    heapq.heapify(heap)
    chosen: list[Path] = []
    while heap:
        neg, size, key, path, feats = heapq.heappop(heap)
        gain = len(feats - covered)
        if gain == 0:
            continue
        if gain < -neg:  # stale bound: re-queue with the true gain
            heapq.heappush(heap, (-gain, size, key, path, feats))
            continue
        chosen.append(path)
        covered |= feats
    return chosen


def merge(
    target: targets.Target,
    sources: Iterable[Path],
    *,
    into: Path | None = None,
    plane: str | None = None,
    timeout: float = 5.0,
) -> MergeResult:
    from harness.engine.runner import test_one_input

    fn = test_one_input(target, plane, cached=False)  # every file runs once
    tracer = Tracer(wanted_files(target))
    measured: list[tuple[Path, int, frozenset[Feature]]] = []
    left_out: dict[str, list[Path]] = {}
    seen: set[str] = set()
    files_before = 0
    for src in sources:
        for path in iter_files(src):
            data = path.read_bytes()
            files_before += 1
            digest = sha1(data)
            if digest in seen:  # identical content in two places: one is enough
                continue
            seen.add(digest)
            features, problem = tracer.run(fn, data, timeout)
            if problem is not None:
                left_out.setdefault(problem, []).append(path)
                continue
            measured.append((path, len(data), features))
    before: set[Feature] = set().union(*(f for _, _, f in measured))
    chosen = set_cover(measured)
    after: set[Feature] = set()
    for path in chosen:  # re-measure: a nondeterministic target would show up here
        features, _ = tracer.run(fn, path.read_bytes(), timeout)
        after |= features
    written = [store(into, p.read_bytes()) for p in chosen] if into is not None else []
    return MergeResult(
        files_before=files_before,
        files_after=len(chosen),
        edges_before=len({f[:3] for f in before}),
        edges_after=len({f[:3] for f in after}),
        features_before=len(before),
        features_after=len(after),
        selected=chosen,
        left_out=left_out,
        written=written,
    )


# ---- libFuzzer's own figure and merge, through the target's fuzzer script ----

_INITED = re.compile(r"INITED cov: (\d+) ft: (\d+)")


@contextmanager
def _fuzzer_command(
    target: targets.Target, plane: str | None
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """argv and environment that run ``target`` under atheris. libFuzzer's merge re-executes
    argv[0], so that is a launcher whose shebang is this interpreter: the checked-in
    fuzzers/*.py say ``/usr/bin/env python3``, which outside an activated venv lacks atheris."""
    from harness.engine.runner import ENV_PLANE, ENV_TARGETS

    env = {**os.environ, "PYTHONPATH": str(targets.PROJECT_ROOT)}
    if plane:
        env[ENV_PLANE] = plane
    if target.source != "builtin":
        env[ENV_TARGETS] = target.source
    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-merge-") as tmp:
        script = write_launcher(Path(tmp) / f"fuzz_{target.name}.py", target.name)
        yield [str(script)], env


def engine_coverage(
    target: targets.Target, dirs: list[Path], *, plane: str | None = None, timeout: float = 600
) -> tuple[int, int] | None:
    """libFuzzer's ``cov``/``ft`` after loading ``dirs`` (``-runs=0``); None if it fails
    (a crashing input in the corpus stops libFuzzer)."""
    with _fuzzer_command(target, plane) as (cmd, env):
        try:
            proc = subprocess.run(
                [*cmd, "-runs=0", "-timeout=5", *map(str, dirs)],
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return None
    found = _INITED.findall(proc.stdout + proc.stderr)
    return (int(found[-1][0]), int(found[-1][1])) if found else None


def libfuzzer_merge(
    target: targets.Target, sources: list[Path], into: Path, *, plane: str | None = None
) -> int:
    """libFuzzer's ``-set_cover_merge=1`` of ``sources`` into ``into``; returns its exit code."""
    into.mkdir(parents=True, exist_ok=True)
    with _fuzzer_command(target, plane) as (cmd, env), tempfile.TemporaryDirectory() as tmp:
        control = Path(tmp) / "merge_control"
        proc = subprocess.run(
            [
                *cmd,
                "-set_cover_merge=1",
                "-timeout=5",
                f"-merge_control_file={control}",
                str(into),
                *map(str, sources),
            ],
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
        )
    return proc.returncode
