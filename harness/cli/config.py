"""``envoy-fuzz check-config``: Envoy bootstrap configs through the model of
``envoy --mode validate``, or (``--envoy``) through the real Envoy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.cli.args import ENVOY_MODES, apply_envoy_mode, positive_int
from harness.errors import UserError


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "check-config",
        help="validate Envoy bootstrap configs (a model of envoy --mode validate)",
        description=(
            "Check each FILE as an envoy.config.bootstrap.v3.Bootstrap the way "
            "`envoy --mode validate` does: YAML (.yaml/.yml), JSON (.json), otherwise text "
            "proto. The model applies the protoc-gen-validate rules of Envoy's API (typed_config "
            "of known types included) and the semantic checks Envoy's validation server makes. "
            "Exit status 0 when every file is valid, 1 when any is invalid, 2 for a usage "
            "mistake."
        ),
    )
    p.add_argument("files", metavar="FILE", type=Path, nargs="+")
    p.add_argument("--envoy", action="store_true", help="ask the real Envoy (validate mode)")
    p.add_argument(
        "--envoy-mode",
        choices=ENVOY_MODES,
        help="with --envoy: validate (default): envoy --mode validate; serve: start each "
        "config for a moment in a private network (it binds its listeners, starts workers)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='one JSON object per line: {"name", "valid", "error", "field"}',
    )
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="Envoy processes at a time with --envoy (default: one per core)",
    )
    p.set_defaults(handler=cmd_check_config)


def cmd_check_config(args: argparse.Namespace) -> int:
    if args.envoy_mode is not None and not args.envoy:
        raise UserError("check-config: --envoy-mode asks the real Envoy: add --envoy")
    apply_envoy_mode(args, ["server"], None, command="check-config")
    contents: list[tuple[Path, bytes]] = []
    for path in args.files:
        if not path.is_file():
            raise UserError(f"check-config: no such file: {path}")
        try:
            contents.append((path, path.read_bytes()))
        except OSError as e:
            raise UserError(f"check-config: cannot read {path}: {e.strerror}") from None
    results = _envoy(contents, args.jobs, args.envoy_mode) if args.envoy else _model(contents)
    invalid = 0
    for (path, _), result in zip(contents, results, strict=True):
        invalid += not result["valid"]
        if args.json:
            print(json.dumps(result), flush=True)
        elif result["valid"]:
            print(f"{path}: valid", flush=True)
        else:
            where = f"{result['field']}: " if result["field"] else ""
            print(f"{path}: invalid: {where}{result['error']}", flush=True)
    return 1 if invalid else 0


def _model(contents: list[tuple[Path, bytes]]) -> list[dict[str, object]]:
    from harness.config.validation import check_bytes

    return [check_bytes(data, path.name).to_json(path.name) for path, data in contents]


def _envoy(
    contents: list[tuple[Path, bytes]], jobs: int | None, mode: str | None
) -> list[dict[str, object]]:
    from harness.config.load import config_format
    from harness.envoy.serve import serve_bytes
    from harness.envoy.validate import DEFAULT_TIMEOUT, validate_bytes, validate_many

    configs = [(data, config_format(path.name)) for path, data in contents]
    run = serve_bytes if mode == "serve" else validate_bytes
    verdicts = validate_many(configs, jobs, DEFAULT_TIMEOUT, run)
    return [
        {
            "name": path.name,
            "valid": v.valid,
            "error": None
            if v.valid
            else (v.error if not (v.crashed or v.timed_out) else v.describe()),
            "field": None,
        }
        for (path, _), v in zip(contents, verdicts, strict=True)
    ]
