"""`envoy-fuzz triage`, `minimize` and `merge`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness import targets
from harness.cli.args import (
    apply_envoy_mode,
    envoy_mode_flag,
    load_user_targets,
    positive_float,
    positive_int,
    targets_flag,
)
from harness.errors import UserError


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "triage",
        help="reproduce, group and report crash files",
        description=(
            "Reproduce each crash file under DIR (default artifacts/), group them by "
            "signature and print a table. Exit status 1 when a reproducible finding remains."
        ),
    )
    p.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="files or directories")
    p.add_argument("--json", action="store_true", help='print {"groups": [...]}')
    p.add_argument("--sarif", type=Path, metavar="FILE", help="write a SARIF 2.1.0 report")
    p.add_argument(
        "--promote",
        action="store_true",
        help="write each group's minimized reproducer to corpora/<target>/regressions/",
    )
    p.add_argument("--target", metavar="NAME", help="the target of every file (default: inferred)")
    p.add_argument("--plane", choices=targets.PLANES, help="plane to reproduce on")
    envoy_mode_flag(p)
    p.add_argument("--tries", type=positive_int, default=3, metavar="N", help="replays per file")
    p.add_argument("--timeout", type=positive_float, default=5.0, metavar="S", help="per replay")
    p.add_argument(
        "--budget",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="minimization time per group",
    )
    p.add_argument(
        "--max-files",
        type=positive_int,
        metavar="N",
        help="triage only the N smallest crash files (default: all)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="name every file left out")
    targets_flag(p)
    p.set_defaults(handler=cmd_triage)

    p = sub.add_parser(
        "minimize",
        help="shrink a crasher, keeping its signature",
        description="Shrink FILE while TARGET still fails on it with the same signature.",
    )
    p.add_argument("target")
    p.add_argument("file", type=Path)
    p.add_argument(
        "-o", "--output", type=Path, metavar="OUT", help="default: minimized-<sha1> beside FILE"
    )
    p.add_argument("--time", type=positive_float, default=60.0, metavar="S", help="total budget")
    p.add_argument("--timeout", type=positive_float, default=5.0, metavar="S", help="per attempt")
    p.add_argument("--plane", choices=targets.PLANES)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    targets_flag(p)
    p.set_defaults(handler=cmd_minimize)

    p = sub.add_parser(
        "merge",
        help="coverage-preserving corpus minimization",
        description=(
            "Pick the fewest SRC files that keep all the coverage of TARGET (greedy set cover); "
            "with --into, write them there (content-addressed). Crashing inputs are left out."
        ),
    )
    p.add_argument("target")
    p.add_argument("sources", nargs="+", type=Path, metavar="SRC")
    p.add_argument("--into", type=Path, metavar="DIR", help="write the chosen files here")
    p.add_argument(
        "--engine",
        choices=("python", "libfuzzer"),
        default="python",
        help="python: set cover over bytecode edges measured here (default); "
        "libfuzzer: atheris' -set_cover_merge=1 (needs --into)",
    )
    p.add_argument(
        "--libfuzzer-cov",
        action="store_true",
        help="also print libFuzzer's cov/ft for the sources and the result (slower)",
    )
    p.add_argument("--timeout", type=positive_float, default=5.0, metavar="S", help="per input")
    p.add_argument("--plane", choices=targets.PLANES)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    targets_flag(p)
    p.set_defaults(handler=cmd_merge)


def _target(name: str, plane: str | None) -> targets.Target:
    target = targets.get(name)
    if plane is not None and plane not in target.planes:
        raise UserError(
            f"target {name!r} has no {plane!r} plane (it has: {', '.join(target.planes)})"
        )
    return target


def cmd_triage(args: argparse.Namespace) -> int:
    from harness.triage import pipeline, report

    load_user_targets(args)
    target = _target(args.target, args.plane) if args.target else None
    apply_envoy_mode(args, [target.name] if target else [], args.plane, command="triage")
    dirs = list(args.dirs)
    if not dirs:
        if not Path("artifacts").is_dir():
            raise UserError("no artifacts/ directory here: name the crash files or directories")
        dirs = [Path("artifacts")]
    result = pipeline.triage(
        dirs,
        target=target,
        plane=args.plane,
        tries=args.tries,
        timeout=args.timeout,
        max_files=args.max_files,
    )
    if args.promote:
        pipeline.promote(result, plane=args.plane, budget=args.budget, timeout=args.timeout)
    if args.sarif is not None:
        from harness.triage.sarif import write_sarif

        write_sarif(result.groups, args.sarif)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        report.print_triage(result, verbose=args.verbose, raise_limit="--max-files N")
        if args.sarif is not None:
            print(f"SARIF: {args.sarif}")
    return 1 if any(g.reproducible for g in result.groups) else 0


def cmd_minimize(args: argparse.Namespace) -> int:
    from harness.engine import corpus
    from harness.triage.minimize import minimize
    from harness.triage.reproduce import Reproducer

    load_user_targets(args)
    target = _target(args.target, args.plane)
    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {args.file}: {e.strerror}") from None
    reproducer = Reproducer(target, args.plane, args.timeout)
    result = minimize(reproducer, data, budget=args.time)
    if args.output is not None:
        out = corpus.write_atomic(args.output, result.data)
    else:
        out = corpus.store(args.file.parent, result.data, prefix="minimized-")
    summary = {
        "input": str(args.file),
        "output": str(out),
        "size_before": result.original_size,
        "size_after": len(result.data),
        "signature": result.signature,
        "attempts": result.attempts,
        "seconds": round(result.seconds, 3),
        "finished": result.finished,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        note = "" if result.finished else " (time budget ran out: smallest so far)"
        print(
            f"{args.file}: {result.original_size} -> {len(result.data)} bytes in "
            f"{result.attempts} attempts, {result.seconds:.1f}s{note}\n"
            f"signature kept: {result.signature}\nwritten: {out}"
        )
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from harness.engine import corpus
    from harness.triage import merge as m

    load_user_targets(args)
    target = _target(args.target, args.plane)
    for src in args.sources:
        if not src.exists():
            raise UserError(f"not a file or directory: {src}")
    out: dict[str, Any]
    if args.engine == "libfuzzer":
        if args.into is None:
            raise UserError("--engine libfuzzer writes its result: give --into DIR")
        before = sum(corpus.count_files(s) for s in args.sources)
        code = m.libfuzzer_merge(target, args.sources, args.into, plane=args.plane)
        if code != 0:
            raise UserError(f"libFuzzer's merge exited {code} (a crashing input stops it)")
        out = {"files_before": before, "files_after": corpus.count_files(args.into)}
    else:
        result = m.merge(
            target, args.sources, into=args.into, plane=args.plane, timeout=args.timeout
        )
        out = result.to_json()
    if args.libfuzzer_cov:
        after_dirs = [args.into] if args.into is not None else None
        cov_before = m.engine_coverage(target, args.sources, plane=args.plane)
        cov_after = m.engine_coverage(target, after_dirs, plane=args.plane) if after_dirs else None
        out["libfuzzer_cov_before"] = cov_before
        out["libfuzzer_cov_after"] = cov_after
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"files:    {out['files_before']} -> {out['files_after']}")
    if "coverage_before" in out:
        print(f"coverage: {out['coverage_before']} -> {out['coverage_after']} edges")
        print(f"features: {out['features_before']} -> {out['features_after']}")
    for key in ("libfuzzer_cov_before", "libfuzzer_cov_after"):
        if key in out:
            cov = out[key]
            figure = f"cov {cov[0]} ft {cov[1]}" if cov else "n/a (libFuzzer stopped)"
            print(f"libFuzzer {key.rsplit('_', 1)[1]}: {figure}")
    for why, paths in sorted(out.get("left_out", {}).items()):
        print(f"left out ({why}): {len(paths)} file(s), e.g. {paths[0]}")
    if args.into is not None and args.engine == "python":
        print(f"written to {args.into}: {len(out['written'])} file(s)")
    return 0
