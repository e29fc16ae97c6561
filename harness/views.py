"""Comparable views for the command line: raw input files in, observation rows out.

``observe`` (real Envoy) and ``predict`` (the model) print the same rows, so ``diff`` can
compare their outputs: one JSON object per input file, ``{"name": <file basename>,
"statuses": [...], "upstream": [...], "closed": bool}`` (or ``"error"`` and ``"message"``
when the proxy failed on that input).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.errors import UserError


def input_files_args(p: argparse.ArgumentParser) -> None:
    """FILE... of raw downstream bytes, ``--protocol``, ``--direct-response`` and ``--json``."""
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "--protocol",
        choices=("http1", "http2"),
        default="http1",
        help="downstream codec the proxy speaks (default http1)",
    )
    p.add_argument(
        "--direct-response",
        action="store_true",
        help="the route answers 200 itself instead of proxying",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per file")


def read_inputs(files: list[Path]) -> list[tuple[str, bytes]]:
    """(basename, bytes) of each file; all are read before any proxy starts."""
    inputs = []
    for path in files:
        try:
            inputs.append((path.name, path.read_bytes()))
        except OSError as e:
            raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    return inputs


def emit(rows: list[dict[str, Any]], as_json: bool, row: dict[str, Any]) -> None:
    """With ``--json`` print ``row`` now (streaming); else keep it for ``print_table``."""
    if as_json:
        print(json.dumps(row), flush=True)
    else:
        rows.append(row)


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("file", "statuses", "upstream requests", "closed", title=title)
    for result in rows:
        if "error" in result:
            table.add_row(result["name"], f"[red]{result['error']}[/red]", result["message"], "")
            continue
        upstream = "\n".join(
            f"{r['method']} {r['target']} ({len(r['headers'])} headers, body {r['body']})"
            for r in result["upstream"]
        )
        table.add_row(
            result["name"],
            " ".join(map(str, result["statuses"])) or "-",
            upstream or "-",
            "yes" if result["closed"] else "no",
        )
    Console(file=sys.stdout).print(table)


def load_rows(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of a ``--json`` output file ('-': standard input), by name."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    rows: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            name = row["name"]
        except (ValueError, TypeError, KeyError):
            raise UserError(
                f"{path}:{number}: not a row of `predict --json` / `observe --json` output"
            ) from None
        rows[str(name)] = row
    return rows
