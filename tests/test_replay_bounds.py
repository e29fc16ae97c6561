"""Bounded replay: a file that hangs or eats memory is a `timeout` / `oom` finding, named in
text, --json and JUnit, and the replay goes on to the next file (issue: reliability)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness import targets
from harness.triage import replay
from tests.conftest import envoy_fuzz

# A --targets target: b"hang" loops forever, b"eat" allocates until something stops it.
TARGETS_FILE = textwrap.dedent(
    """
    import harness


    def run(data: bytes) -> None:
        if data.startswith(b"hang"):
            while True:
                pass
        if data.startswith(b"eat"):
            hoard = []
            while True:
                hoard.append(bytearray(16 * 1024 * 1024))


    harness.register("bounded_demo", run, input="bytes")
    """
)


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, Path]:
    targets_file = tmp_path / "bounded_targets.py"
    targets_file.write_text(TARGETS_FILE)
    files = tmp_path / "corpora" / "bounded_demo"
    files.mkdir(parents=True)
    (files / "hang-input").write_bytes(b"hang")
    (files / "eat-input").write_bytes(b"eat")
    (files / "fine-input").write_bytes(b"fine")
    return targets_file, files


def test_replay_of_a_hanging_and_a_memory_eating_file_names_both_and_exits_1(
    demo: tuple[Path, Path], tmp_path: Path
) -> None:
    targets_file, files = demo
    junit = tmp_path / "replay.xml"
    # 3 s: on a loaded machine the memory eater took over 1 s to reach 256 MiB (timeout first)
    common = ["--targets", str(targets_file), "--timeout", "3", "--rss-limit-mb", "256"]
    # the subprocess timeout is only a safety net against a replay that never ends
    text = envoy_fuzz(
        "replay", "bounded_demo", str(files), *common, "--junit", str(junit), timeout=120
    )
    assert text.returncode == 1, text.stderr
    assert "FINDING bounded_demo/hang-input: timeout: no result after 3s" in text.stdout
    assert "FINDING bounded_demo/eat-input: oom: more than 256 MiB allocated" in text.stdout
    assert "replayed 3 files: 1 ok, 0 skipped (not parsable), 2 findings" in text.stdout
    assert "Traceback" not in text.stderr

    suite = ElementTree.parse(junit).getroot()
    failures = {
        tc.get("name"): tc.find("failure").get("type")  # type: ignore[union-attr]
        for tc in suite.iter("testcase")
        if tc.find("failure") is not None
    }
    assert failures == {"bounded_demo/hang-input": "timeout", "bounded_demo/eat-input": "oom"}

    as_json = envoy_fuzz("replay", "bounded_demo", str(files), *common, "--json", timeout=120)
    assert as_json.returncode == 1, as_json.stderr
    kinds = {
        row["id"]: (row["status"], row["kind"])
        for row in map(json.loads, as_json.stdout.splitlines())
    }
    assert kinds == {
        "bounded_demo/hang-input": ("finding", "timeout"),
        "bounded_demo/eat-input": ("finding", "oom"),
        "bounded_demo/fine-input": ("ok", ""),
    }


def test_memory_bound_is_lifted_after_each_file(demo: tuple[Path, Path]) -> None:
    import resource

    targets_file, files = demo
    targets.load_file(targets_file)
    target = targets.get("bounded_demo")
    before = resource.getrlimit(resource.RLIMIT_AS)
    outcome = replay.run_case(replay.Case(target, files / "eat-input"), rss_limit_mb=128)
    assert (outcome.status, outcome.kind) == ("finding", "oom")
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    # the same process can still allocate more than the bound once the file is done
    assert len(bytearray(256 * 1024 * 1024)) == 256 * 1024 * 1024


def test_bad_bound_flags_are_one_line_usage_errors() -> None:
    for flag, value in (("--timeout", "0"), ("--rss-limit-mb", "-1"), ("--timeout", "soon")):
        result = envoy_fuzz("replay", flag, value)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "envoy-fuzz: replay:" in result.stderr
