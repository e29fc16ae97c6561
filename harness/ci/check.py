"""``envoy-fuzz ci check-build DIR``: what OSS-Fuzz's ``check_build`` does for Python.

Its ``test_all.py`` moves ``$OUT`` elsewhere first (hard-coded paths then fail), finds the
targets (``outdir.find_fuzz_targets``), and ``bad_build_check`` runs each as ``run_fuzzer``
does with ``SKIP_SEED_CORPUS=1 ... -seed=1337 -runs=4``: the output must say ``Done 4 runs``;
for Python the ``.pkg`` must be an x86-64 executable. The build fails when more than 10 % of
the targets are broken. Here the move is a copy (hard links) into a temporary directory, and
every target runs with a bare environment from an unrelated working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.ci import outdir
from harness.errors import UserError

RUNS = 4
SEED = 1337
ALLOWED_BROKEN_TARGETS_PERCENTAGE = 10
TIMEOUT = 120.0  # seconds for one start: a onefile package unpacks itself first


@dataclass(frozen=True)
class Finished:
    """One finished (or killed) start of a fuzzer."""

    code: int | None  # None: killed after the timeout
    output: str


def execute(command: outdir.RunCommand, timeout: float) -> Finished:
    """Run ``command`` to its end (stdout and stderr together), killing it after ``timeout``."""
    with subprocess.Popen(
        command.argv,
        cwd=command.cwd,
        env=command.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # libFuzzer's -fork/-merge children go with it on a kill
    ) as proc:
        try:
            data, _ = proc.communicate(timeout=timeout)
            return Finished(proc.returncode, data.decode("utf-8", "replace"))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            data, _ = proc.communicate()
            return Finished(None, data.decode("utf-8", "replace"))
        except BaseException:  # Ctrl-C: its own session got no SIGINT, so stop it here
            os.killpg(proc.pid, 9)
            raise


@contextmanager
def moved(out: Path) -> Iterator[Path]:
    """``out``'s files at another path (hard links where the file system allows), removed
    afterwards: what test_all.py's move catches (paths of the build baked in) it catches."""
    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-check-") as tmp:
        copy = Path(tmp) / "out"
        copy.mkdir()
        for path in out.iterdir():
            if path.is_file():
                try:
                    os.link(path, copy / path.name)
                except OSError:
                    shutil.copy2(path, copy / path.name)
        yield copy


@dataclass(frozen=True)
class TargetCheck:
    fuzzer: str
    broken: bool
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"fuzzer": self.fuzzer, "broken": self.broken, "reason": self.reason}


@dataclass(frozen=True)
class CheckResult:
    checks: list[TargetCheck]

    @property
    def broken(self) -> list[TargetCheck]:
        return [c for c in self.checks if c.broken]

    @property
    def broken_percentage(self) -> float:
        return 100.0 * len(self.broken) / len(self.checks) if self.checks else 100.0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and self.broken_percentage <= ALLOWED_BROKEN_TARGETS_PERCENTAGE

    def to_json(self) -> dict[str, object]:
        return {
            "passed": self.passed,
            "broken_percentage": round(self.broken_percentage, 1),
            "allowed_broken_percentage": ALLOWED_BROKEN_TARGETS_PERCENTAGE,
            "targets": [c.to_json() for c in self.checks],
        }


def check_target(out: Path, fuzzer: Path, scratch: Path) -> TargetCheck:
    name = fuzzer.name
    package = outdir.package(out, name)
    if package.exists():  # a Python target (compile_python_fuzzer's package beside it)
        machine = outdir.elf_machine(package)
        if machine != outdir.X86_64:
            return TargetCheck(name, True, f"{package.name} is not an x86-64 executable")
    corpus_dir = scratch / f"{name}_corpus"
    corpus_dir.mkdir()
    command = outdir.run_fuzzer_command(
        out, name, [f"-seed={SEED}", f"-runs={RUNS}"], corpus_dir=corpus_dir, cwd=scratch
    )
    finished = execute(command, TIMEOUT)
    if f"Done {RUNS} runs" in finished.output:
        return TargetCheck(name, False, f"Done {RUNS} runs")
    last = [line for line in finished.output.splitlines() if line.strip()][-1:] or ["no output"]
    how = "timed out" if finished.code is None else f"exit {finished.code}"
    return TargetCheck(name, True, f"no 'Done {RUNS} runs' ({how}): {last[0][:200]}")


def check_build(
    out: Path, jobs: int = 2, progress: Callable[[TargetCheck], None] | None = None
) -> CheckResult:
    if not out.is_dir():
        raise UserError(f"not a build output directory: {out}")
    if not outdir.find_fuzz_targets(out):
        raise UserError(f"no fuzz targets in {out} (run `envoy-fuzz ci build --out {out}`)")
    with moved(out) as copy, tempfile.TemporaryDirectory(prefix="envoy-fuzz-cwd-") as cwd:
        fuzzers = outdir.find_fuzz_targets(copy)

        def one(fuzzer: Path) -> TargetCheck:
            scratch = Path(cwd) / fuzzer.name
            scratch.mkdir()
            result = check_target(copy, fuzzer, scratch)
            if progress is not None:
                progress(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            checks = list(pool.map(one, fuzzers))
    return CheckResult(checks)
