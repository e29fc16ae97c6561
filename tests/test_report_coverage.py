"""`envoy-fuzz coverage`: coverage.py over a target's corpora, of the code under test only."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import envoy_fuzz


def _files(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["files"]}


def test_builtin_target_reports_its_codec_and_writes_html(tmp_path: Path) -> None:
    html = tmp_path / "html"
    result = envoy_fuzz("coverage", "http1_connection", "--json", "--html", str(html), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    files = _files(report)
    http1 = files["harness/codec/http1.py"]
    assert 0 < http1["percent"] < 100
    assert 0 < http1["covered_lines"] <= http1["num_statements"]
    assert 0 < http1["covered_branches"] <= http1["num_branches"]
    # the harness itself (engine, triage, registry, generated protos) is not measured
    assert not [p for p in files if not p.startswith(("harness/codec/", "harness/util/"))]
    assert report["replayed"]["http1_connection"]["ok"] > 50
    assert report["totals"]["num_statements"] == sum(f["num_statements"] for f in files.values())
    index = re.sub(r"<[^>]+>", "", (html / "index.html").read_text())  # drop the markup
    assert "harness/codec/http1.py" in index


def _user_target(tmp_path: Path) -> Path:
    (tmp_path / "parser_under_test.py").write_text(
        textwrap.dedent(
            """
            def parse(data: bytes) -> None:
                if data.startswith(b"A"):
                    if len(data) > 3:
                        return
                return
            """
        )
    )
    targets_file = tmp_path / "my_targets.py"
    targets_file.write_text(
        "import harness\nfrom parser_under_test import parse\n\n"
        "harness.register('cov_user', parse, input='bytes')\n"
    )
    return targets_file


def test_targets_file_measures_the_users_modules_by_branch(tmp_path: Path) -> None:
    targets_file = _user_target(tmp_path)
    few, more = tmp_path / "few", tmp_path / "more"
    few.mkdir()
    more.mkdir()
    (few / "a").write_bytes(b"ABCDE")
    (more / "a").write_bytes(b"ABCDE")
    (more / "b").write_bytes(b"xyz")

    def measured(corpus: Path) -> dict[str, Any]:
        result = envoy_fuzz(
            "coverage", "cov_user", "--targets", str(targets_file), "--corpus", str(corpus),
            "--json", cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return _files(json.loads(result.stdout))["parser_under_test.py"]

    one_input, two_inputs = measured(few), measured(more)  # (paths: relative to the cwd)
    # def lines ran at import (coverage started first); "ABCDE" takes both ifs' true arms
    assert one_input["num_statements"] == 5
    assert one_input["covered_lines"] == 4  # the last `return` is not reached
    assert one_input["covered_branches"] == 2
    assert one_input["num_partial_branches"] == 2
    # "xyz" takes the first if's false arm as well: one branch and one line more
    assert two_inputs["covered_lines"] == 5
    assert two_inputs["covered_branches"] == 3
    assert two_inputs["percent"] > one_input["percent"]


def test_table_output_and_user_mistakes(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    result = envoy_fuzz("coverage", "base64", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "harness/util/base64.py" in result.stdout
    assert "TOTAL" in result.stdout
    assert "base64: replayed 7 files (7 ok, 0 skipped, 0 findings)" in result.stdout
    for args, message in (
        (["coverage", "no_such"], "unknown target 'no_such'"),
        (["coverage", "base64", "--corpus", "/no/such/dir"], "corpus dir not found"),
        (["coverage", "--json"], "the following arguments are required"),
        (["coverage", "base64", "--html", "afile"], "--html: not a directory: afile"),
    ):
        bad = envoy_fuzz(*args, cwd=tmp_path)
        assert bad.returncode == 2
        assert bad.stderr.startswith("envoy-fuzz: ") and len(bad.stderr.splitlines()) == 1
        assert message in bad.stderr


def test_measure_is_the_library_call_ci_uses(tmp_path: Path) -> None:
    """``measure(targets, corpus_dirs, html_dir)`` as ``ci run --mode coverage`` calls it: the
    JSON shape, and a replay that runs in a child (this interpreter's tracer is untouched)."""
    import sys

    import harness
    from harness import targets
    from harness.errors import UserError
    from harness.report.coverage import measure

    tracer = sys.gettrace()
    seeds = targets.get("path_utility").corpus
    report = measure([targets.get("path_utility")], corpus_dirs=[seeds]).to_json()
    assert sys.gettrace() is tracer
    assert set(report) >= {"files", "totals"}
    path = _files(report)["harness/util/path.py"]
    assert set(path) >= {"path", "covered_lines", "num_statements", "percent", "num_branches"}
    assert report["replayed"]["path_utility"]["files"] == sum(
        1 for p in seeds.rglob("*") if p.is_file()
    )
    empty = measure(["path_utility"], corpus_dirs=[]).to_json()  # nothing replayed
    assert empty["replayed"]["path_utility"]["files"] == 0
    assert empty["files"] == []  # not even imported: only what the replay imported is listed

    in_process = harness.register("cov_in_process", lambda data: None)
    with pytest.raises(UserError, match="registered in this process"):
        measure([in_process])
