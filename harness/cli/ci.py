"""`envoy-fuzz ci build`, `ci check-build` and `ci run`: OSS-Fuzz / ClusterFuzzLite, locally."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.cli.args import positive_int, targets_flag


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "ci",
        help="build, check and run the OSS-Fuzz fuzzers locally (no Docker)",
        description="The OSS-Fuzz / ClusterFuzzLite integration on this machine (ci/README.md).",
    )
    ci_sub = p.add_subparsers(dest="ci_command", metavar="COMMAND", parser_class=type(p))
    ci_sub.required = True

    b = ci_sub.add_parser(
        "build",
        help="run ci/oss-fuzz/build.sh: frozen fuzzers, seed zips, dicts, options",
        description=(
            "Run ci/oss-fuzz/build.sh as OSS-Fuzz's compile does, into --out: fuzz_<t> "
            "(wrapper), fuzz_<t>.pkg (pyinstaller --onefile), fuzz_<t>_seed_corpus.zip, "
            "fuzz_<t>.dict, fuzz_<t>.options. Default: every in-process built-in target, or "
            "the targets of the --targets files."
        ),
    )
    b.add_argument("names", nargs="*", metavar="TARGET", help="targets to build")
    b.add_argument("--out", type=Path, help="output directory (default build/out/envoy-fuzz)")
    b.add_argument(
        "--sanitizer",
        default="address",
        choices=("address", "undefined", "coverage", "none"),
        help="as OSS-Fuzz's SANITIZER (default address)",
    )
    b.add_argument("--jobs", type=positive_int, metavar="N", help="builds at once (default: cores)")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    targets_flag(b)
    b.set_defaults(handler=cmd_build)

    c = ci_sub.add_parser(
        "check-build",
        help="OSS-Fuzz's check_build: each target -seed=1337 -runs=4 from a moved copy",
        description=(
            "Copy DIR elsewhere and run each fuzz target in it with a bare environment, "
            "-seed=1337 -runs=4; a target is broken unless it prints 'Done 4 runs' (and its "
            ".pkg is x86-64). Fails (exit 1) when more than 10 % are broken."
        ),
    )
    c.add_argument("out", type=Path, metavar="DIR", help="a `ci build` output directory")
    c.add_argument("--jobs", type=positive_int, default=2, metavar="N", help="targets at once")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(handler=cmd_check_build)

    from harness.ci import run as ci_run

    r = ci_sub.add_parser(
        "run",
        help="run the built fuzzers as ClusterFuzzLite's run_fuzzers does",
        description=(
            "Run every fuzz target in DIR as ClusterFuzzLite's run_fuzzers: seed zips "
            "unpacked, options applied, crashes reproduced before they are reported, SARIF "
            "written. Exit 2 when a bug was found."
        ),
    )
    r.add_argument("out", type=Path, metavar="DIR", help="a `ci build` output directory")
    r.add_argument("--mode", choices=ci_run.MODES, default="code-change")
    r.add_argument(
        "--fuzz-seconds",
        type=positive_int,
        default=ci_run.DEFAULT_FUZZ_SECONDS,
        metavar="N",
        help="total fuzzing time, shared out between the targets (default 600)",
    )
    r.add_argument(
        "--workspace",
        type=Path,
        help="corpora, artifacts and SARIF (default: DIR's sibling <DIR>.cifuzz)",
    )
    r.add_argument(
        "--no-sarif", action="store_true", help="do not write cifuzz-sarif/results.sarif"
    )
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.set_defaults(handler=cmd_run)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_build(args: argparse.Namespace) -> int:
    from harness.ci import build

    result = build.build(
        args.out or build.DEFAULT_OUT,
        args.names,
        args.targets,
        sanitizer=args.sanitizer,
        jobs=args.jobs,
        progress=None if args.json else _say,
    )
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(f"built {len(result.fuzzers)} fuzzer(s) in {result.seconds:.0f} s into {result.out}")
    return 0


def cmd_check_build(args: argparse.Namespace) -> int:
    from harness.ci import check

    def show(one: check.TargetCheck) -> None:
        _say(f"{'BROKEN' if one.broken else 'ok':6} {one.fuzzer}: {one.reason}")

    result = check.check_build(args.out, args.jobs, progress=None if args.json else show)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        verdict = "passed" if result.passed else "FAILED"
        print(
            f"check-build {verdict}: {len(result.broken)} of {len(result.checks)} target(s) "
            f"broken ({result.broken_percentage:.0f} %, allowed "
            f"{check.ALLOWED_BROKEN_TARGETS_PERCENTAGE} %)"
        )
    return 0 if result.passed else 1


def cmd_run(args: argparse.Namespace) -> int:
    from harness.ci import run as ci_run

    result = ci_run.run(
        args.out,
        args.mode,
        args.fuzz_seconds,
        workspace=args.workspace,
        sarif=not args.no_sarif,
        progress=None if args.json else _say,
    )
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(result.summary())
    return ci_run.BUG_EXIT if result.bugs else 0
