"""`envoy-fuzz predict` (the model's view of raw request files) and `envoy-fuzz diff`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness import views
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
    views.input_files_args(p)
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


def cmd_predict(args: argparse.Namespace) -> int:
    from harness.config.proxy import ProxyConfig
    from harness.model import predict

    config = ProxyConfig(downstream=args.protocol, direct_response=args.direct_response)
    rows: list[dict[str, Any]] = []
    for name, data in views.read_inputs(args.files):
        views.emit(rows, args.json, predict(data, config).to_json(name))
    if not args.json:
        views.print_table(rows, "predicted by the Envoy model")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from harness.observation import Observation, diff

    if str(args.model) == "-" and str(args.envoy) == "-":
        raise UserError("only one of PREDICTED and OBSERVED can be standard input")
    model = views.load_rows(args.model)
    envoy = views.load_rows(args.envoy)
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
