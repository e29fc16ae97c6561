"""``envoy-fuzz ci build``: OSS-Fuzz's build step on this machine, without Docker.

It runs the project's own ``ci/oss-fuzz/build.sh`` (the file OSS-Fuzz and ClusterFuzzLite
run) in the environment OSS-Fuzz's ``compile`` gives it: ``$SRC`` holding the checkout as
``$SRC/envoy-fuzz``, ``$OUT``, ``$WORK``, ``$SANITIZER``, ``compile_python_fuzzer`` on
``PATH`` (``harness/ci/compile_python_fuzzer``, the same steps) and atheris' sanitizer library
copied to ``$OUT/sanitizer_with_fuzzer.so`` as ``compile`` copies it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import targets
from harness.ci import outdir, plan
from harness.errors import UserError

BUILD_SCRIPT = targets.PROJECT_ROOT / "ci" / "oss-fuzz" / "build.sh"
COMPILE_PYTHON_FUZZER = Path(__file__).with_name("compile_python_fuzzer")
PROJECT = "envoy-fuzz"
DEFAULT_OUT = Path("build") / "out" / PROJECT  # where infra/helper.py build_fuzzers puts it
SANITIZERS = ("address", "undefined", "coverage", "none")
BUILT_MARK = "compile_python_fuzzer: built "


@dataclass
class BuildResult:
    out: Path
    fuzzers: list[str]
    seconds: float
    log: Path
    per_fuzzer: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "out": str(self.out),
            "fuzzers": self.fuzzers,
            "seconds": round(self.seconds, 1),
            "log": str(self.log),
        }


def sanitizer_library(sanitizer: str) -> Path | None:
    """atheris' own ``*_with_fuzzer.so`` for ``sanitizer`` (None for coverage/none)."""
    name = outdir.SANITIZER_SOURCES.get(sanitizer)
    if name is None:
        return None
    import atheris

    path = Path(atheris.path()) / name
    if not path.is_file():
        raise UserError(f"atheris has no {name} in {atheris.path()} (reinstall atheris)")
    return path


def build_env(out: Path, work: Path, src: Path, sanitizer: str, jobs: int) -> dict[str, str]:
    tools = work / "bin"
    tools.mkdir(parents=True, exist_ok=True)
    link = tools / COMPILE_PYTHON_FUZZER.name
    link.unlink(missing_ok=True)
    link.symlink_to(COMPILE_PYTHON_FUZZER)
    env = dict(os.environ)
    # this venv's python3 and pyinstaller, as the image's are on OSS-Fuzz's PATH
    env["PATH"] = os.pathsep.join([str(tools), os.path.dirname(sys.executable), env["PATH"]])
    env.update(
        SRC=str(src),
        OUT=str(out),
        WORK=str(work),
        SANITIZER=sanitizer,
        FUZZING_ENGINE="libfuzzer",
        FUZZING_LANGUAGE="python",
        ENVOY_FUZZ_PREINSTALLED="1",
        ENVOY_FUZZ_BUILD_JOBS=str(jobs),
        PYTHONDONTWRITEBYTECODE="1",  # the checkout stays as it is
    )
    return env


def build(
    out: Path,
    names: list[str],
    targets_files: list[Path],
    *,
    sanitizer: str = "address",
    jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Run build.sh into ``out`` for ``names`` (default: every OSS-Fuzz-legal target, or the
    targets files' own ones). The work directory is ``out``'s sibling ``<out>.work``."""
    if sanitizer not in SANITIZERS:
        raise UserError(f"sanitizer must be one of {', '.join(SANITIZERS)}, not {sanitizer!r}")
    for file in targets_files:
        targets.load_file(file)  # a bad file fails here, in one line, not in the build
    for name in names:
        target = targets.get(name)
        if not plan.is_oss_fuzz_legal(target):
            raise UserError(f"target {name!r} has no in-process plane: not buildable")
    out = out.resolve()
    work = out.with_name(out.name + ".work")
    src = work / "src"
    out.mkdir(parents=True, exist_ok=True)
    src.mkdir(parents=True, exist_ok=True)
    checkout = src / PROJECT
    if checkout.is_symlink() or checkout.exists():
        checkout.unlink()
    checkout.symlink_to(targets.PROJECT_ROOT, target_is_directory=True)
    for stale in outdir.find_fuzz_targets(out):
        stale.unlink()  # a target built before but not now would be run by check-build
    library = sanitizer_library(sanitizer)
    (out / outdir.SANITIZER_LIBRARY).unlink(missing_ok=True)  # a build before may have had one
    if library is not None:
        shutil.copyfile(library, out / outdir.SANITIZER_LIBRARY)

    env = build_env(out, work, src, sanitizer, jobs or len(os.sched_getaffinity(0)))
    env[plan.ENV_TARGETS] = " ".join(names)
    env[plan.ENV_TARGETS_FILES] = os.pathsep.join(str(f.resolve()) for f in targets_files)
    log = work / "build.log"
    started = time.monotonic()
    per_fuzzer: dict[str, float] = {}
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            ["bash", "-eu", str(BUILD_SCRIPT)],
            cwd=src,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                log_file.write(line)
                if line.startswith(BUILT_MARK):
                    fuzzer, _, rest = line[len(BUILT_MARK) :].partition(" in ")
                    per_fuzzer[fuzzer] = float(rest.split()[0])
                    if progress is not None:
                        progress(line.strip().removeprefix("compile_python_fuzzer: "))
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if code != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise UserError(f"build.sh failed (exit {code}); log: {log}\n{tail}")
    fuzzers = [p.name for p in outdir.find_fuzz_targets(out)]
    return BuildResult(out, fuzzers, time.monotonic() - started, log, per_fuzzer)
