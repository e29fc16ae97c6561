"""The `envoy-fuzz` command line: listings, user targets, and one-line errors for mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import USER_TARGETS, envoy_fuzz


def test_targets_json_lists_builtin_and_user_targets() -> None:
    result = envoy_fuzz("targets", "--json", "--targets", str(USER_TARGETS))
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["user_kv"]["input"] == "bytes"
    assert rows["user_kv"]["planes"] == ["model"]
    assert rows["user_kv"]["corpus_files"] == 1
    assert rows["user_headers"]["input"] == "proto:test.fuzz.Headers"
    for row in rows.values():
        assert set(row) >= {"name", "planes", "input", "corpus", "corpus_files", "dictionary"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fuzz", "no_such_target"], "unknown target 'no_such_target'"),
        (["fuzz", "user_kv", "--corpus", "/nonexistent/dir"], "corpus dir not found"),
        (["fuzz", "user_kv", "--bogus-flag"], "unrecognized arguments: --bogus-flag"),
        (["fuzz", "user_kv", "--runs", "many"], "not a whole number"),
        (["fuzz", "user_kv", "--plane", "envoy"], "has no 'envoy' plane"),
        (["replay", "user_headers", "CORRUPT"], "not a text-format test.fuzz.Headers testcase"),
        (["replay", "/no/such/file"], "no such file or directory"),
        (["import-envoy", "/no/such/checkout"], "not a directory"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_user_mistakes_get_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.textproto"
    corrupt.write_bytes(b"headers { key: ")
    args = [str(corrupt) if a == "CORRUPT" else a for a in args]
    result = envoy_fuzz(*args, "--targets", str(USER_TARGETS), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("envoy-fuzz: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def _subcommands() -> list[str]:
    import argparse

    from harness.cli.main import build_parser

    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_names_the_program_once_in_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown flag is one line, `envoy-fuzz: <command>: ...`, the program named once."""
    from harness.cli.main import main

    assert main([command, "--no-such-flag"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"envoy-fuzz: {command}: "), err
    assert err.count("envoy-fuzz") == 1, err


def test_an_unknown_command_names_the_program_once(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli.main import main

    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("envoy-fuzz: argument COMMAND: invalid choice: 'no-such-command'"), err
    assert err.count("envoy-fuzz") == 1, err


def test_broken_targets_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad_targets.py"
    bad.write_text("import harness\nharness.register('x', None, input='json')\n")
    result = envoy_fuzz("targets", "--targets", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "input must be 'bytes' or 'proto:<message>'" in result.stderr

    syntax = tmp_path / "syntax_targets.py"
    syntax.write_text("def broken(:\n")
    result = envoy_fuzz("targets", "--targets", str(syntax))
    assert result.returncode == 2 and "syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_replay_of_user_target_runs_every_file_and_reports_findings(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(b"len=12\n")
    crashing = tmp_path / "crash"
    crashing.write_bytes(b"len=7331\n")
    junit = tmp_path / "junit.xml"
    result = envoy_fuzz(
        "replay",
        "user_kv",
        str(good),
        str(crashing),
        "--junit",
        str(junit),
        "--targets",
        str(USER_TARGETS),
    )
    assert result.returncode == 1
    assert (
        "FINDING user_kv/crash: uncaught-exception: ValueError: planted: len == 7331"
        in result.stdout
    )
    assert "replayed 2 files: 1 ok, 0 skipped (not parsable), 1 findings" in result.stdout
    xml = junit.read_text()
    assert 'tests="2"' in xml and 'failures="1"' in xml


def test_replay_without_arguments_covers_the_user_targets_corpus() -> None:
    result = envoy_fuzz("replay", "user_kv", "--json", "--targets", str(USER_TARGETS))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["user_kv/seed1"]
    assert rows[0]["status"] == "ok"
