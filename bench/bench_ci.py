"""OSS-Fuzz packaging: `envoy-fuzz ci build` of every in-process target (wall time on this
machine), and a frozen fuzzer's exec/s against the same target run as a script, same run.

exec/s is fuzzing time only: from libFuzzer's INITED line to its DONE line, timed as the
lines arrive, so start-up (a onefile package unpacks itself first) is left out. The script
and the frozen binaries run the same flags from the same (empty) corpus, interleaved.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Report
from harness import targets
from harness.ci import build, outdir
from harness.engine.progress import Stats

ROUNDS = 3
# target -> runs per measurement (sized for a few seconds each on 2 cores)
EXEC_TARGETS = {"base64": 20000, "http1_connection": 10000, "hpack": 4000}


def _exec_per_sec(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    stats = Stats()
    started = ended = None
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        stats.feed(line)
        word = line.split()[1:2]  # "#2\tINITED cov: ..."
        if word == ["INITED"] and started is None:
            started = time.perf_counter()
        elif word == ["DONE"]:
            ended = time.perf_counter()
    proc.wait()
    if started is None or ended is None or ended <= started:
        raise RuntimeError(f"no INITED/DONE lines from {argv[0]} (exit {proc.returncode})")
    return stats.runs / (ended - started)


def run(report: Report) -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-ci-") as tmp:
        out = Path(tmp) / "out"
        result = build.build(out, [], [])
        report("ci build: in-process targets built", len(result.fuzzers))
        report("ci build: wall time", result.seconds, "s")
        if result.per_fuzzer:
            report(
                "ci build: one fuzzer, median", statistics.median(result.per_fuzzer.values()), "s"
            )
        report("load average at the start (1 min)", load[0])
        venv_path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
        script_env = dict(os.environ, PATH=venv_path)
        preload = {
            "LD_PRELOAD": str(out / outdir.SANITIZER_LIBRARY),
            "ASAN_OPTIONS": "detect_leaks=0",
        }
        rows = []
        for name, runs in EXEC_TARGETS.items():
            flags = ["-seed=1", f"-runs={runs}", "-use_value_profile=1"]
            script = targets.get(name).fuzzer_script
            assert script is not None
            package = outdir.package(out, outdir.fuzzer_name(name))
            package.chmod(0o755)
            commands = {
                "script": ([sys.executable, str(script), *flags], script_env),
                "pkg": ([str(package), "--", *flags], outdir.bare_env()),
                "script+asan": ([sys.executable, str(script), *flags], {**script_env, **preload}),
                "wrapper": ([str(out / outdir.fuzzer_name(name)), "--", *flags], outdir.bare_env()),
            }
            figures: dict[str, list[float]] = {k: [] for k in commands}
            for _ in range(ROUNDS):  # interleaved, so load changes hit every variant alike
                for key, (argv, env) in commands.items():
                    with tempfile.TemporaryDirectory() as cwd:
                        figures[key].append(_exec_per_sec(argv, env, Path(cwd)))
            med = {k: statistics.median(v) for k, v in figures.items()}
            rows.append(
                [
                    f"{name} ({runs:,} runs)",
                    f"{med['script']:,.0f}",
                    f"{med['pkg']:,.0f}",
                    f"{med['pkg'] / med['script']:.2f}",
                    f"{med['script+asan']:,.0f}",
                    f"{med['wrapper']:,.0f}",
                    f"{med['wrapper'] / med['script+asan']:.2f}",
                ]
            )
    report.flush_figures("ci build of every in-process target")
    report.table(
        f"frozen fuzzer exec/s vs the same target as a script, same run (median of {ROUNDS})",
        [
            "target",
            "script",
            "frozen .pkg",
            "ratio",
            "script + ASan preload",
            "OSS-Fuzz wrapper (ASan preload)",
            "ratio",
        ],
        rows,
        note="Script: `python fuzzers/fuzz_<t>.py` in the venv; `.pkg`: the pyinstaller package "
        "run directly with a bare environment; wrapper: OSS-Fuzz's sh wrapper, which preloads "
        "atheris' asan_with_fuzzer.so, compared with the script under the same preload. Same "
        "flags (-seed=1 -use_value_profile=1), empty corpus, interleaved. Under a preloaded "
        "libFuzzer atheris' custom mutator is not used (google/atheris#54), so a proto target "
        "there runs byte mutation only.",
    )
