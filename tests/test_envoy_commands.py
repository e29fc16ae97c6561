"""`envoy-fuzz observe` (the handler, through its own argparse registration)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness.cli.views import register_commands
from harness.errors import UserError


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register_commands(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_unreadable_file_is_a_user_error_before_envoy_starts(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        _run(["observe", "--json", str(tmp_path / "missing.http")])


@pytest.mark.envoy
def test_observe_json_prints_one_line_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.http"
    good.write_bytes(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n")
    bad = tmp_path / "bad.http"
    bad.write_bytes(b"GET /x HTTP/1.1\r\n\r\n")
    assert _run(["observe", "--protocol", "http1", "--json", str(good), str(bad)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["name"] for line in lines] == ["good.http", "bad.http"]  # basenames
    assert set(lines[0]) == {"name", "statuses", "upstream", "closed"}
    assert lines[0]["statuses"] == [200] and lines[0]["upstream"][0]["target"] == "/x"
    assert lines[1]["statuses"] == [400] and lines[1]["closed"] is True


@pytest.mark.envoy
def test_observe_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.http"
    good.write_bytes(b"GET /x HTTP/1.1\r\nhost: a\r\n\r\n")
    assert _run(["observe", str(good)]) == 0
    out = capsys.readouterr().out
    assert "GET /x" in out and "200" in out
