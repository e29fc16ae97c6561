"""OSS-Fuzz / ClusterFuzzLite: `envoy-fuzz ci build|check-build|run` with real pyinstaller
builds, run the way OSS-Fuzz's runner runs them (output moved, bare environment, `--`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from harness import targets
from harness.ci import build, outdir, plan
from tests.conftest import ROOT, envoy_fuzz

BARE = ["env", "-i", "PATH=/usr/bin:/bin"]

PARSER = """
def parse(data: bytes) -> int:
    if data.startswith(b"CRASH"):
        raise ValueError("planted bug in the user's parser")
    return len(data)
"""

USER_TARGETS = """
import harness
import planted_parser


def fuzz_planted(data: bytes) -> None:
    planted_parser.parse(data)


harness.register("planted", fuzz_planted, input="bytes")
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real build of a built-in target and a --targets target, then the output moved
    and the user's sources deleted: what runs must be what the build bundled."""
    root = tmp_path_factory.mktemp("ci")
    user = root / "user"
    (user / "corpora" / "planted").mkdir(parents=True)
    (user / "planted_parser.py").write_text(PARSER)
    (user / "planted_targets.py").write_text(USER_TARGETS)
    (user / "corpora" / "planted" / "hello").write_bytes(b"hello")
    (user / "corpora" / "planted" / "crasher").write_bytes(b"CRASH me")
    out = root / "build" / "out"
    result = envoy_fuzz(
        "ci", "build", "--out", str(out), "--targets", str(user / "planted_targets.py"),
        "--json", "base64", "planted",
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["fuzzers"] == ["fuzz_base64", "fuzz_planted"]
    moved = root / "elsewhere" / "out"
    moved.parent.mkdir()
    shutil.move(out, moved)
    shutil.rmtree(user)
    cwd = root / "cwd"
    cwd.mkdir()
    return {"out": moved, "cwd": cwd, "root": root}


def test_the_build_writes_what_oss_fuzz_writes(built: dict[str, Path]) -> None:
    out = built["out"]
    for fuzzer in ("fuzz_base64", "fuzz_planted"):
        wrapper = (out / fuzzer).read_text()
        assert "LLVMFuzzerTestOneInput" in wrapper
        assert f"LD_PRELOAD=$this_dir/{outdir.SANITIZER_LIBRARY}" in wrapper
        package = outdir.package(out, fuzzer)
        assert outdir.elf_machine(package) == outdir.X86_64
        assert not os.access(package, os.X_OK) or "chmod +x" in wrapper
        assert outdir.libfuzzer_options(outdir.options_file(out, fuzzer)) == [
            "-use_value_profile=1",
            "-print_final_stats=1",
        ]
    assert [p.name for p in outdir.find_fuzz_targets(out)] == ["fuzz_base64", "fuzz_planted"]
    assert (out / "fuzz_base64.dict").read_bytes() == (ROOT / "fuzzers/base64.dict").read_bytes()
    with zipfile.ZipFile(outdir.seed_corpus(out, "fuzz_planted")) as zf:
        assert sorted(zf.read(n) for n in zf.namelist()) == [b"CRASH me", b"hello"]


@pytest.mark.parametrize("fuzzer", ["fuzz_base64", "fuzz_planted"])
def test_frozen_fuzzers_run_four_runs_moved_with_a_bare_environment(
    built: dict[str, Path], fuzzer: str
) -> None:
    run = subprocess.run(
        [*BARE, str(built["out"] / fuzzer), "--", "-seed=1337", "-runs=4"],
        cwd=built["cwd"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Done 4 runs" in run.stderr


def test_a_planted_crash_reproduces_in_the_frozen_user_target(built: dict[str, Path]) -> None:
    testcase = built["root"] / "crash-planted"
    testcase.write_bytes(b"CRASH now")
    run = subprocess.run(
        [*BARE, str(built["out"] / "fuzz_planted"), "--", "-runs=100", str(testcase)],
        cwd=built["cwd"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr  # atheris writes the exception to stdout
    assert run.returncode != 0
    assert "=== Uncaught Python exception: ===" in output
    assert "planted bug in the user's parser" in output
    assert 'File "planted_parser.py", line 4, in parse' in output
    assert str(ROOT) not in output  # nothing of the checkout is where the fuzzer runs


def test_check_build_passes_on_the_moved_output(built: dict[str, Path]) -> None:
    result = envoy_fuzz("ci", "check-build", str(built["out"]), "--json", cwd=built["cwd"])
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["passed"] is True
    assert [t["reason"] for t in report["targets"]] == ["Done 4 runs", "Done 4 runs"]


def test_check_build_fails_when_more_than_ten_percent_are_broken(
    built: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "out"
    shutil.copytree(built["out"], broken)
    package = outdir.package(broken, "fuzz_base64")
    package.unlink()
    package.write_bytes(b"#!/bin/sh\nexit 1\n")  # not x86-64, and no 4 runs
    result = envoy_fuzz("ci", "check-build", str(broken))
    assert result.returncode == 1
    assert "BROKEN fuzz_base64" in result.stderr
    assert "1 of 2 target(s) broken (50 %" in result.stdout


def test_ci_run_code_change_stops_at_the_planted_bug_with_sarif(
    built: dict[str, Path], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    result = envoy_fuzz(
        "ci", "run", str(built["out"]), "--mode", "code-change", "--fuzz-seconds", "4",
        "--workspace", str(ws), "--json",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert [b["fuzzer"] for b in report["bugs"]] == ["fuzz_planted"]
    assert report["bugs"][0]["kind"] == "uncaught-exception"
    sarif = json.loads((ws / "cifuzz-sarif" / "results.sarif").read_text())
    (res,) = sarif["runs"][0]["results"]
    assert res["ruleId"] == "uncaught-exception"
    assert sarif["runs"][0]["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "planted_parser.py"
    )


def test_ci_run_prune_merges_each_corpus_and_coverage_reports(
    built: dict[str, Path], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    result = envoy_fuzz("ci", "run", str(built["out"]), "--mode", "prune", "--workspace", str(ws))
    # the planted target's seed crashes it: a merge is crash-resistant and drops it
    assert result.returncode == 0, result.stderr
    seeds = len(list(plan.seed_files(targets.get("base64"))))
    kept = len(list((ws / "corpus" / "fuzz_base64").iterdir()))
    assert 0 < kept <= seeds
    result = envoy_fuzz(
        "ci", "run", str(built["out"]), "--mode", "coverage", "--workspace", str(ws), "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((ws / "coverage" / "coverage.json").read_text())
    paths = {f["path"] for f in data["files"]}
    assert "harness/util/base64.py" in paths
    assert 0 < data["totals"]["percent"] <= 100


def test_seed_zips_carry_envoy_and_regression_files() -> None:
    target = targets.get("http1_connection")
    files = plan.seed_files(target)
    folders = {f.relative_to(target.corpus).parts[0] for f in files}
    assert {"envoy", "regressions"} <= folders
    assert not any(f.name.endswith(".json") for f in files)  # sidecars are no seeds


def test_every_in_process_builtin_target_is_planned_with_its_entry_module(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(plan.ENV_TARGETS, raising=False)
    monkeypatch.delenv(plan.ENV_TARGETS_FILES, raising=False)
    scripts = plan.write_scripts(tmp_path)
    builtin = [t for t in targets.all_targets() if t.source == "builtin"]
    assert [s.stem for s in scripts] == [f"fuzz_{t.name}" for t in builtin]
    for target in builtin:
        args = (tmp_path / f"fuzz_{target.name}.args").read_text().split("\n")
        entry = target.entry("model")
        assert entry is not None
        assert args[args.index("--hidden-import") + 1] == entry.partition(":")[0]
        assert (tmp_path / f"fuzz_{target.name}.py").read_text() == (
            ROOT / "fuzzers" / f"fuzz_{target.name}.py"
        ).read_text()


def test_one_build_script_for_oss_fuzz_clusterfuzzlite_and_the_local_build() -> None:
    script = ROOT / "ci" / "oss-fuzz" / "build.sh"
    assert script == build.BUILD_SCRIPT
    assert (ROOT / ".clusterfuzzlite" / "build.sh").resolve() == script.resolve()
    for dockerfile in (ROOT / "ci/oss-fuzz/Dockerfile", ROOT / ".clusterfuzzlite/Dockerfile"):
        text = dockerfile.read_text()
        assert "FROM gcr.io/oss-fuzz-base/base-builder-python" in text
        assert "ci/oss-fuzz/build.sh $SRC/build.sh" in text
    # the steps are said once: only build.sh calls compile_python_fuzzer
    callers = [
        p.relative_to(ROOT).as_posix()
        for p in [*ROOT.glob("harness/**/*.py"), *ROOT.glob("ci/**/*"), *ROOT.glob(".github/**/*")]
        if p.is_file() and 'compile_python_fuzzer "' in p.read_text()
    ]
    assert callers == ["ci/oss-fuzz/build.sh"]


def _yaml_files() -> list[Path]:
    found = [*ROOT.glob("ci/**/*.yaml"), *ROOT.glob(".clusterfuzzlite/*.yaml")]
    return sorted([*found, *ROOT.glob(".github/workflows/*.yml")])


def test_every_yaml_file_parses_and_says_what_oss_fuzz_and_cflite_need() -> None:
    docs = {p.relative_to(ROOT).as_posix(): yaml.safe_load(p.read_text()) for p in _yaml_files()}
    project = docs["ci/oss-fuzz/project.yaml"]
    assert project["language"] == "python"
    assert project["fuzzing_engines"] == ["libfuzzer"]
    assert project["sanitizers"] == ["address", "undefined"]
    assert project["main_repo"] and project["homepage"]
    assert docs[".clusterfuzzlite/project.yaml"] == {"language": "python"}
    modes, sarif = set(), False
    for name, doc in docs.items():
        if not name.startswith(".github/"):
            continue
        for job in doc["jobs"].values():
            for step in job["steps"]:
                uses, inputs = step.get("uses", ""), step.get("with", {})
                if uses.startswith("google/clusterfuzzlite/actions/build_fuzzers"):
                    assert uses.endswith("@v1") and inputs["language"] == "python"
                if uses.startswith("google/clusterfuzzlite/actions/run_fuzzers"):
                    assert uses.endswith("@v1") and inputs["fuzz-seconds"] > 0
                    modes.add(inputs["mode"])
                    if inputs["mode"] == "coverage":
                        assert inputs["sanitizer"] == "coverage"
                    sarif |= inputs.get("output-sarif") is True
    assert modes == {"code-change", "batch", "prune", "coverage"}
    assert sarif


def test_ci_mistakes_are_one_line() -> None:
    result = envoy_fuzz("ci", "build", "no_such_target")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "envoy-fuzz: unknown target 'no_such_target' (see `envoy-fuzz targets`)"
    ]
    result = envoy_fuzz("ci", "check-build", "/nonexistent/out")
    assert result.returncode == 2
    assert result.stderr.startswith("envoy-fuzz: not a build output directory")


@pytest.mark.extended
def test_a_coverage_build_writes_coverage_data_as_oss_fuzz_runs_it(tmp_path: Path) -> None:
    """SANITIZER=coverage: the prologue compile_python_fuzzer writes saves coverage.py data
    when atheris returns (OSS-Fuzz's coverage runs use -atheris_runs=N for that)."""
    out = tmp_path / "out"
    result = envoy_fuzz("ci", "build", "--out", str(out), "--sanitizer", "coverage", "base64")
    assert result.returncode == 0, result.stderr
    assert not (out / outdir.SANITIZER_LIBRARY).exists()  # coverage builds preload nothing
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run = subprocess.run(
        [*BARE, str(out / "fuzz_base64"), "--", "-atheris_runs=20"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert (cwd / ".coverage").stat().st_size > 0
