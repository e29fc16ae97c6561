"""Triage end to end on planted bugs: reproduce, sidecars, grouping, promote, CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import targets
from harness.engine import corpus
from harness.triage import pipeline, replay, summarize_run
from harness.triage.finding import read_sidecar
from harness.triage.report import print_triage

ROOT = Path(__file__).resolve().parent.parent
PLANTED = Path(__file__).parent / "planted" / "targets.py"
BUG_A = "uncaught-exception: _decode_header < _parse < planted_bytes"


@pytest.fixture(scope="module", autouse=True)
def planted() -> None:
    targets.load_file(PLANTED)


def crash(directory: Path, data: bytes, prefix: str = "crash-") -> Path:
    """A crash file named as libFuzzer names it."""
    return corpus.store(directory, data, prefix=prefix)


def run_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_several_files_of_one_bug_make_one_group(tmp_path: Path) -> None:
    art = tmp_path / "artifacts" / "planted_bytes"
    files = [crash(art, b"xBUGA"), crash(art, b"BUGAyyyyyy"), crash(art, b"#qqBUGA")]
    result = pipeline.triage([art], tries=2)
    assert len(result.groups) == 1  # _parse and _parse_alt share 2 frames: one bug
    group = result.groups[0]
    assert sorted(group.files) == sorted(map(str, files))
    assert group.reproducible and not group.flaky
    assert group.smallest == 5 and group.kind == "uncaught-exception"


def test_two_bugs_make_two_groups_with_sidecars(tmp_path: Path) -> None:
    art = tmp_path / "artifacts" / "planted_bytes"
    a = crash(art, b"zzBUGA")
    b = crash(art, b"\xff\xfeab")
    result = pipeline.triage([tmp_path / "artifacts"])  # target inferred from artifacts/<t>/
    assert sorted(g.signature for g in result.groups) == sorted(
        [BUG_A, "invariant: _check_frame < planted_bytes"]
    )
    for path in (a, b):
        finding = read_sidecar(path)
        assert finding is not None and finding.reproducible and finding.target == "planted_bytes"
        assert finding.sha1 == corpus.sha1(path.read_bytes())
    assert "--targets" in (read_sidecar(a) or pytest.fail()).reproduce


def test_reproduction_command_in_the_sidecar_reproduces(tmp_path: Path) -> None:
    art = tmp_path / "artifacts" / "planted_bytes"
    path = crash(art, b"--BUGA--")
    pipeline.triage([art])
    finding = read_sidecar(path)
    assert finding is not None
    cmd = finding.reproduce.split()
    assert cmd[:3] == ["python", "-m", "harness.triage.reproduce"]
    proc = subprocess.run(
        [sys.executable, *cmd[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 1, proc.stderr
    assert BUG_A in proc.stdout


def test_flaky_crash_is_marked(tmp_path: Path) -> None:
    path = crash(tmp_path / "planted_flaky", b"x")
    result = pipeline.triage([path], tries=4)
    (group,) = result.groups
    assert group.reproducible and group.flaky


def test_unreproducible_file_keeps_what_the_fuzzer_log_said(tmp_path: Path) -> None:
    art = tmp_path / "planted_bytes"
    path = crash(art, b"no bug here")
    (art / "fuzz.log").write_text(
        " === Uncaught Python exception: ===\nKeyError: 'k'\nTraceback (most recent call last):\n"
        '  File "/x/targets.py", line 5, in planted_bytes\n    f()\n'
        '  File "/x/targets.py", line 9, in lookup\n    d["k"]\nKeyError: \'k\'\n'
        f"artifact_prefix='{art}/'; Test unit written to {path}\n"
    )
    (finding,) = pipeline.triage([art]).findings
    assert finding.reproducible is False
    assert finding.signature == "uncaught-exception: lookup < planted_bytes"


def test_timeout_file_reproduces_in_a_bounded_child(tmp_path: Path) -> None:
    path = crash(tmp_path / "planted_bytes", b"HANG", prefix="timeout-")
    result = pipeline.triage([path], timeout=0.5)
    (group,) = result.groups
    assert group.kind == "timeout" and group.reproducible
    assert group.signature == "timeout: _spin < planted_bytes"


def test_oom_file_reproduces_in_a_memory_limited_child(tmp_path: Path) -> None:
    path = crash(tmp_path / "planted_bytes", b"OOMX", prefix="oom-")
    (group,) = pipeline.triage([path]).groups
    assert group.kind == "oom" and group.reproducible
    assert group.signature == "oom: _grow < planted_bytes"


def test_real_atheris_crash_triages_to_the_in_process_signature(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a").write_bytes(b"xxBUGAyy")
    art = tmp_path / "artifacts" / "planted_bytes"
    art.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ENVOY_FUZZ_TARGETS": str(PLANTED)}
    with open(art / "fuzz.log", "w") as log:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from harness.engine import runner; "
                "runner.main('planted_bytes', sys.argv)",
                f"-artifact_prefix={art}/",
                "-runs=10",
                str(seeds),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=120,
            check=False,
        )
    files = list(pipeline.find_crash_files([art]))
    assert len(files) == 1 and files[0].name.startswith("crash-")
    (group,) = pipeline.triage([art]).groups
    assert group.signature == BUG_A
    assert "=== Uncaught Python exception" in (art / "fuzz.log").read_text()


def test_summarize_run_groups_and_minimizes(tmp_path: Path) -> None:
    art = tmp_path / "planted_bytes"
    crash(art, b"a" * 50 + b"BUGA" + b"b" * 50)
    crash(art, b"c" * 30 + b"BUGA")
    result = summarize_run(targets.get("planted_bytes"), art)
    (group,) = result.groups
    (minimized,) = result.minimized
    assert minimized.read_bytes() == b"BUGA" and minimized.name.startswith("minimized-")
    assert group.representative.input == str(minimized)
    assert (read_sidecar(minimized) or pytest.fail()).signature == BUG_A
    out = io.StringIO()
    print_triage(result, out)
    assert BUG_A in out.getvalue() and "minimized: " in out.getvalue()


def test_promote_writes_a_regression_that_replays_with_its_signature(tmp_path: Path) -> None:
    art = tmp_path / "planted_proto"
    crash(art, b'headers { key: "a" value: "b" }\nheaders { key: "x-bug" value: "..boom.." }\n')
    crash(art, b'headers { key: "x-bug" value: "boom!" }')
    result = pipeline.triage([art])
    (path,) = pipeline.promote(result, into=tmp_path / "corpora", budget=10)
    assert path.parent == tmp_path / "corpora" / "planted_proto"
    assert path.name == "crash-" + corpus.sha1(path.read_bytes())
    assert path.read_text() == 'headers {\n  key: "x-bug"\n  value: "boom"\n}\n'
    sidecar = read_sidecar(path)
    assert sidecar is not None and sidecar.input == str(path)
    # The pytest regression replay runs it: still crashing, with the promoted signature.
    outcome = replay.run_case(replay.Case(targets.get("planted_proto"), path))
    assert outcome.status == "finding" and outcome.signature == sidecar.signature


def test_cli_triage_json_shape_and_sarif(tmp_path: Path) -> None:
    art = tmp_path / "artifacts" / "planted_bytes"
    crash(art, b"BUGA1")
    crash(art, b"SMUG")
    proc = run_cli(
        "triage", "--targets", str(PLANTED), "--json", "--sarif", "out.sarif", cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr  # reproducible findings remain
    data = json.loads(proc.stdout)
    assert list(data) == ["groups"]
    for g in data["groups"]:
        assert set(g) == {"signature", "kind", "target", "files", "reproducible", "security"}
    assert [g["security"] for g in data["groups"]] == [True, False]  # security first
    assert json.loads((tmp_path / "out.sarif").read_text())["version"] == "2.1.0"


def test_cli_table_prints_the_security_marker(tmp_path: Path) -> None:
    crash(tmp_path / "artifacts" / "planted_bytes", b"SMUG")
    proc = run_cli("triage", "--targets", str(PLANTED), cwd=tmp_path)
    assert "divergence: upstream_requests" in proc.stdout
    assert "FuzzerSecurityIssueHigh" in proc.stdout.splitlines()


def test_cli_user_mistakes_are_one_line(tmp_path: Path) -> None:
    proc = run_cli("triage", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "artifacts/" in proc.stderr
    proc = run_cli("minimize", "nope", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown target" in proc.stderr
    (tmp_path / "ok").write_bytes(b"fine")
    proc = run_cli("minimize", "planted_bytes", "ok", "--targets", str(PLANTED), cwd=tmp_path)
    assert proc.returncode == 2 and "does not crash" in proc.stderr


def test_cli_minimize_and_merge(tmp_path: Path) -> None:
    (tmp_path / "c").write_bytes(b"0123456789BUGA0123456789")
    proc = run_cli(
        "minimize",
        "planted_bytes",
        "c",
        "-o",
        "m",
        "--targets",
        str(PLANTED),
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["size_before"] == 24 and out["size_after"] == 4 and out["signature"] == BUG_A
    assert (tmp_path / "m").read_bytes() == b"BUGA"
    src = tmp_path / "src"
    src.mkdir()
    for i, data in enumerate([b"a", b"b", b"#x", b"#y", b"\xff\xfe", b"SMUG"]):
        (src / str(i)).write_bytes(data)
    proc = run_cli(
        "merge", "planted_bytes", "src", "--into", "out", "--targets", str(PLANTED), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "files:    6 -> " in proc.stdout and "left out (crash): 1" in proc.stdout


def test_a_per_run_limit_is_said_once_with_its_number_and_the_flag_that_lifts_it(
    tmp_path: Path,
) -> None:
    art = tmp_path / "planted_bytes"
    files = [crash(art, b"BUGA" + b"x" * n) for n in range(5)]
    result = pipeline.triage([art], max_files=2, write_sidecars=False)
    assert len(result.findings) == 2 and len(result.over_limit) == 3
    assert {Path(f.input) for f in result.findings} == set(files[:2])  # the smallest first
    out = io.StringIO()
    print_triage(result, out, raise_limit="--max-files N")
    text = out.getvalue()
    (line,) = [line for line in text.splitlines() if "not triaged" in line]
    assert "3 of 5" in line and "2 smallest" in line and "--max-files N" in line
    assert not any(p.name in text for p in files[2:])  # named only with --verbose
    out = io.StringIO()
    print_triage(result, out, verbose=True)
    assert all(p.name in out.getvalue() for p in files[2:])
    assert result.to_json()["over_limit"] == {"limit": 2, "files": [str(p) for p in files[2:]]}


def test_cli_triage_max_files_and_verbose(tmp_path: Path) -> None:
    art = tmp_path / "artifacts" / "planted_bytes"
    files = [crash(art, b"BUGA" + b"y" * n) for n in range(3)]
    quiet = run_cli("triage", "--targets", str(PLANTED), "--max-files", "1", cwd=tmp_path)
    assert quiet.returncode == 1, quiet.stderr
    assert quiet.stdout.count("not triaged: 2 of 3") == 1, quiet.stdout
    assert files[2].name not in quiet.stdout
    loud = run_cli("triage", "--targets", str(PLANTED), "--max-files", "1", "-v", cwd=tmp_path)
    assert files[1].name in loud.stdout and files[2].name in loud.stdout


def test_promote_keeps_timeout_and_oom_groups_and_the_replay_fails_them_with_their_kind(
    tmp_path: Path,
) -> None:
    art = tmp_path / "planted_bytes"
    crash(art, b"HANG", prefix="timeout-")
    crash(art, b"OOMX", prefix="oom-")
    result = pipeline.triage([art], timeout=0.5)
    promoted = pipeline.promote(result, into=tmp_path / "corpora", timeout=0.5)
    by_kind = {path.name.split("-", 1)[0]: path for path in promoted}
    assert set(by_kind) == {"timeout", "oom"}
    assert by_kind["timeout"].read_bytes() == b"HANG"  # kept as found, not minimized
    assert by_kind["oom"].read_bytes() == b"OOMX"
    for kind, path in by_kind.items():
        sidecar = read_sidecar(path)
        assert sidecar is not None and sidecar.kind == kind
        # what tests/test_regressions.py runs for every corpus file: bounded, so it ends
        outcome = replay.run_case(replay.Case(targets.get("planted_bytes"), path), timeout=0.5)
        assert (outcome.status, outcome.kind) == ("finding", kind)
