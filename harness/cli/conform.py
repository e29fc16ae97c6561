"""`envoy-fuzz conform`: the protocol conformance suite (h2spec's cases, RFC 9113, HTTP/1.1)
against a real Envoy, the Envoy model, or any server."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from harness.errors import UserError

_TARGET = re.compile(r"^(\[[0-9a-fA-F:]+\]|[^/\[\]]+):\d+$")


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "conform",
        help="run the protocol conformance suite (h2spec, RFC 9113, HTTP/1.1)",
        description=(
            "Run the conformance cases - every h2spec case under h2spec's id (generic/, "
            "http2/, hpack/), RFC 9113 rules h2spec lacks (rfc9113/) and HTTP/1.1 framing "
            "(http1/) - each on its own connection, concurrently. --envoy starts a real Envoy "
            "(AUTO codec, direct-response route) and stops it; HOST:PORT tests any server "
            "speaking prior-knowledge h2c and HTTP/1.1 on one port (--tls: TLS with ALPN). "
            "ID-PREFIX selects cases by whole id segments (http2/6.5, rfc9113, http1). Exit "
            "status 1 when a case failed."
        ),
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--envoy", action="store_true", help="start a real Envoy 1.40 (default)")
    where.add_argument(
        "--model", action="store_true", help="run the cases through the in-process Envoy model"
    )
    p.add_argument("args", nargs="*", metavar="[HOST:PORT] ID-PREFIX")
    p.add_argument("--tls", action="store_true", help="connect with TLS (ALPN h2 / http/1.1)")
    p.add_argument(
        "--timeout", type=float, default=2.0, metavar="S", help="seconds per case (default 2)"
    )
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML to FILE")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    # accepts_extra: argparse stops a nargs="*" positional at the first option, so the prefixes
    # in `conform HOST:PORT --tls http2` arrive as extras; cmd_conform takes them back
    p.set_defaults(handler=cmd_conform, accepts_extra=True)


def cmd_conform(args: argparse.Namespace) -> int:
    from harness.conformance import report, runner
    from harness.conformance.net import parse_target

    flags = [a for a in args.extra if a.startswith("-")]
    if flags:
        raise UserError(f"conform: unrecognized arguments: {' '.join(flags)}")
    positional = [*args.args, *args.extra]
    target = None
    if positional and _TARGET.match(positional[0]):
        target = parse_target(positional.pop(0))
    if target is not None and (args.envoy or args.model):
        raise UserError("conform: give HOST:PORT or --envoy or --model, not two of them")
    if args.timeout <= 0:
        raise UserError("conform: --timeout must be positive")
    if args.tls and target is None:
        raise UserError("conform: --tls needs HOST:PORT (the started Envoy listens in clear)")
    cases = runner.select(runner.all_cases(), positional)
    started = time.monotonic()
    if args.model:
        from harness.conformance.model import model_runner

        results = runner.run_cases(cases, model_runner())
        where = "model"
    elif target is not None:
        host, port = target
        results = runner.run_cases(
            cases, runner.network_runner(host, port, tls=args.tls, timeout=args.timeout)
        )
        where = f"{host}:{port}"
    else:
        from harness.conformance.envoy import running_envoy

        with running_envoy() as proc:
            results = runner.run_cases(
                cases,
                runner.network_runner(
                    "127.0.0.1", proc.listener_port, tls=False, timeout=args.timeout
                ),
            )
        where = "envoy"
    seconds = round(time.monotonic() - started, 2)
    if args.junit is not None:
        report.write_junit(results, args.junit)
    if args.json:
        print(json.dumps(report.to_json(results, target=where, seconds=seconds), indent=1))
    else:
        for line in report.text_lines(results):
            print(line)
        print(f"Finished in {seconds} seconds", file=sys.stderr)
    return 1 if any(r.outcome.result == "failed" for r in results) else 0
