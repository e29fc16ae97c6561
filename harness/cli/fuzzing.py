"""The core subcommands: targets, fuzz, campaign, replay, import-envoy."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import targets
from harness.cli.args import (
    apply_envoy_mode,
    envoy_mode_flag,
    load_user_targets,
    non_negative_int,
    positive_float,
    positive_int,
    targets_flag,
)
from harness.cli.args import short_path as _short
from harness.cli.report import report_flag, report_line, write_run_report
from harness.engine import corpus
from harness.engine.launch import FuzzOptions, FuzzResult, fuzz
from harness.engine.progress import Stats
from harness.engine.runner import FEEDBACKS
from harness.errors import UserError, reported_in
from harness.triage.replay import DEFAULT_RSS_LIMIT_MB as REPLAY_RSS_LIMIT_MB
from harness.triage.replay import DEFAULT_TIMEOUT as REPLAY_TIMEOUT


def register_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("targets", help="list fuzz targets")
    p.add_argument("--json", action="store_true", help="print JSON")
    targets_flag(p)
    p.set_defaults(handler=cmd_targets)

    p = sub.add_parser(
        "fuzz",
        help="fuzz one target under atheris",
        description="Fuzz TARGET under atheris/libFuzzer. Flags after `--` go to libFuzzer.",
    )
    p.add_argument("target")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--time", type=positive_float, metavar="S", help="seconds to fuzz")
    budget.add_argument("--runs", type=positive_int, metavar="N", help="inputs to run")
    p.add_argument(
        "--jobs",
        type=positive_int,
        metavar="N",
        help="parallel workers: libFuzzer's -fork=N on in-process planes (default 1); "
        "N fuzzers with an Envoy each on the envoy plane (default: one per core, up to 2)",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        metavar="DIR",
        help="working corpus, written to (default .envoy-fuzz/corpus/TARGET)",
    )
    p.add_argument(
        "--artifacts", type=Path, metavar="DIR", help="where crashers go (default artifacts/TARGET)"
    )
    p.add_argument(
        "--plane",
        choices=targets.PLANES,
        help="model (in-process), envoy (a real Envoy) or differential (both, compared)",
    )
    p.add_argument(
        "--differential",
        action="store_true",
        help="fuzz the model; replay every new corpus input and crasher on a real Envoy too "
        "(a mismatch is a divergence finding)",
    )
    p.add_argument(
        "--mutator",
        choices=("auto", "bytes"),
        default="auto",
        help="auto: structure-aware for proto targets; bytes: libFuzzer's only",
    )
    p.add_argument(
        "--feedback",
        choices=FEEDBACKS,
        help="envoy plane: stats (default): Envoy's stat counters are coverage too; "
        "visible: only what Envoy visibly did",
    )
    envoy_mode_flag(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    report_flag(p)
    _end_of_run_triage_flags(p)
    targets_flag(p)
    p.set_defaults(handler=cmd_fuzz, accepts_extra=True)

    p = sub.add_parser("campaign", help="fuzz every in-process target in turn")
    p.add_argument(
        "--time",
        type=positive_float,
        default=120.0,
        metavar="S",
        help="total seconds, shared evenly by the targets (default 120)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    report_flag(p)
    _end_of_run_triage_flags(p)
    targets_flag(p)
    p.set_defaults(handler=cmd_campaign)

    p = sub.add_parser("replay", help="run corpus files once each")
    p.add_argument(
        "items",
        nargs="*",
        metavar="TARGET|PATH",
        help="target names and/or files/dirs (default: every target's corpus)",
    )
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--plane", choices=targets.PLANES, help="plane to replay on (default model)")
    envoy_mode_flag(p)
    p.add_argument("--json", action="store_true", help="one JSON line per file")
    p.add_argument(
        "--timeout",
        type=positive_float,
        default=REPLAY_TIMEOUT,
        metavar="S",
        help=f"per file; longer is a 'timeout' finding (default {REPLAY_TIMEOUT:g})",
    )
    p.add_argument(
        "--rss-limit-mb",
        type=non_negative_int,
        default=REPLAY_RSS_LIMIT_MB,
        metavar="MB",
        help="memory a file may allocate; more is an 'oom' finding; 0: no limit "
        f"(default {REPLAY_RSS_LIMIT_MB}, libFuzzer's)",
    )
    targets_flag(p)
    p.set_defaults(handler=cmd_replay)

    p = sub.add_parser("import-envoy", help="copy Envoy's corpora into corpora/<target>/envoy/")
    p.add_argument("checkout", type=Path, metavar="ENVOY_CHECKOUT")
    targets_flag(p)
    p.set_defaults(handler=cmd_import_envoy)


# --- targets ----------------------------------------------------------------------------------


def _target_row(t: targets.Target) -> dict[str, Any]:
    return {
        "name": t.name,
        "planes": list(t.planes),
        "input": t.input,
        "corpus": str(t.corpus),
        "corpus_files": corpus.count_files(t.corpus),
        "dictionary": str(t.dictionary) if t.dictionary else None,
        "source": t.source,
        "summary": t.summary,
    }


def cmd_targets(args: argparse.Namespace) -> int:
    load_user_targets(args)
    if args.json:
        json.dump([_target_row(t) for t in targets.all_targets()], sys.stdout, indent=2)
        print()
        return 0
    from rich.table import Table

    table = Table("target", "planes", "input", "corpus", "files", "dictionary", box=None)
    for t in targets.all_targets():
        table.add_row(
            t.name,
            ",".join(t.planes),
            t.input,
            _short(str(t.corpus)),
            str(corpus.count_files(t.corpus)),
            _short(str(t.dictionary)) if t.dictionary else "-",
        )
    _console().print(table)
    return 0


def _console() -> Any:
    from rich.console import Console

    # piped output (CI logs, `| less`) keeps whole rows instead of wrapping at 80 columns
    return Console() if sys.stdout.isatty() else Console(width=160)


# --- fuzz and campaign ------------------------------------------------------------------------


def _live_display(
    name: str, budget: str, quiet: bool
) -> tuple[Callable[[Stats, float], None], Callable[[], None]]:
    """A progress callback: one updating line on a terminal; otherwise a line every 10 s, at
    once when the findings count changes, and a last one when the run ends."""
    stream = sys.stderr
    tty = stream.isatty()
    last = {"printed_at": -10.0, "findings": 0}
    pending: list[str] = []  # the newest line, when it was not printed

    def show(stats: Stats, elapsed: float) -> None:
        if quiet:
            return
        line = (
            f"{name}: {elapsed:5.0f}s{budget}  runs {stats.runs:>9,}"
            f"  exec/s {stats.exec_per_sec:>6,}"
            f"  cov {stats.cov:>5}  ft {stats.ft:>6}  corpus {stats.corpus_units:>5}"
            f"  findings {stats.findings}"
        )
        if tty:
            stream.write("\r\x1b[2K" + line)
            stream.flush()
            return
        pending[:] = [line]
        if elapsed - last["printed_at"] >= 10 or stats.findings != last["findings"]:
            last["printed_at"], last["findings"] = elapsed, stats.findings
            stream.write(line + "\n")
            stream.flush()
            pending.clear()

    def finish() -> None:
        if quiet:
            return
        if tty:
            stream.write("\n")
        elif pending:
            stream.write(pending[0] + "\n")
        stream.flush()

    return show, finish


def _run_one(options: FuzzOptions) -> FuzzResult:
    budget = (
        f"/{options.time:.0f}s"
        if options.time
        else (f" of {options.runs:,} runs" if options.runs else "")
    )
    show, finish = _live_display(options.target.name, budget, options.quiet)
    try:
        return fuzz(options, display=show)
    finally:
        finish()


def _summary_table(results: list[FuzzResult], title: str) -> None:
    from rich.table import Table

    table = Table(
        "target",
        "plane",
        "runs",
        "exec/s",
        "cov",
        "ft",
        "corpus",
        "new",
        "findings",
        "time",
        title=title,
    )
    for r in results:
        table.add_row(
            r.target,
            r.plane,
            f"{r.stats.runs:,}",
            f"{r.exec_per_sec:,.0f}",
            str(r.stats.cov),
            str(r.stats.ft),
            str(r.corpus_files),
            str(r.stats.new_units),
            str(len(r.findings)) if not r.findings else f"[bold red]{len(r.findings)}[/]",
            f"{r.seconds:.0f}s" + (" (stopped)" if r.interrupted else ""),
        )
    console = _console()
    console.print(table)
    for r in results:
        for f in r.findings:
            console.print(f"[red]finding[/] {r.target}: {_short(str(f))}")
        if not r.findings and r.exit_code not in (0, 130, -2) and not r.interrupted:
            console.print(
                f"[yellow]{r.target}: fuzzer exited {r.exit_code}; log: {_short(str(r.log))}[/]"
            )


def _options(args: argparse.Namespace, target: targets.Target, **overrides: Any) -> FuzzOptions:
    plane = args.plane or target.default_plane()
    if plane not in target.planes:
        raise UserError(
            f"target {target.name!r} has no {plane!r} plane (it has: {', '.join(target.planes)})"
        )
    extra = [a for a in args.extra if a != "--"]
    bad = [a for a in extra if not a.startswith("-") or a.startswith("--")]
    if bad:
        raise UserError(f"unrecognized arguments: {' '.join(bad)} (libFuzzer flags go after --)")
    values: dict[str, Any] = dict(
        target=target,
        plane=plane,
        time=args.time,
        runs=args.runs,
        jobs=args.jobs,
        corpus_dir=args.corpus,
        artifacts_dir=args.artifacts,
        libfuzzer_flags=extra,
        mutator=args.mutator,
        quiet=args.json,
    )
    feedback = getattr(args, "feedback", None)
    if feedback is not None:
        if plane != "envoy":
            raise UserError("--feedback is for the envoy plane (--plane envoy)")
        values["feedback"] = feedback
    if getattr(args, "differential", False):
        if "differential" not in target.planes:
            raise UserError(f"target {target.name!r} has no differential plane (no Envoy model)")
        if plane != "model":
            raise UserError("--differential fuzzes the model plane: leave --plane out")
        from harness.model.differential import EnvoyReplay

        values["side_replay"] = EnvoyReplay
    apply_envoy_mode(
        args,
        [target.name],
        "differential" if getattr(args, "differential", False) else plane,
        command="fuzz",
    )
    values.update(overrides)
    return FuzzOptions(**values)


# The end of a run triages at most this many crash files (the smallest), so that a run that
# found hundreds still ends within about a minute; `envoy-fuzz triage` has no limit.
TRIAGE_MAX_FILES = 20


def _end_of_run_triage_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--triage-max-files",
        type=positive_int,
        default=TRIAGE_MAX_FILES,
        metavar="N",
        help=f"crash files the end-of-run triage takes, smallest first ({TRIAGE_MAX_FILES})",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="name every file the triage left out"
    )


def _triage(result: FuzzResult, target: targets.Target, max_files: int) -> Any:
    """Group and minimize what the run found (bounded), so a run leaves triaged findings."""
    from harness.triage import summarize_run

    # A differential run's findings reproduce on the differential plane (model crashers too).
    plane = "differential" if result.differential is not None else result.plane
    return summarize_run(target, result.artifacts_dir, plane=plane, max_files=max_files)


def _print_triage(triage: Any, name: str, args: argparse.Namespace, artifacts: Path) -> None:
    from harness.triage.report import print_triage

    print_triage(
        triage,
        title=f"{name}: findings, grouped and minimized",
        verbose=args.verbose,
        raise_limit=f"--triage-max-files N, or `envoy-fuzz triage {_short(str(artifacts))}` "
        "(no limit),",
    )


def cmd_fuzz(args: argparse.Namespace) -> int:
    load_user_targets(args)
    target = targets.get(args.target)
    result = _run_one(_options(args, target))
    summary = result.as_dict()
    triage = _triage(result, target, args.triage_max_files) if result.findings else None
    page = write_run_report(
        args,
        [(result, triage)],
        result.artifacts_dir.parent / f"report-{target.name}",
        f"envoy-fuzz fuzz {target.name}",
        target=target.name,
        plane=result.plane,
        time=args.time,
        runs=args.runs,
        jobs=args.jobs,
        mutator=args.mutator,
        differential=args.differential,
        libfuzzer_flags=[a for a in args.extra if a != "--"],
    )
    summary["report"] = str(page)
    if args.json:
        if triage is not None:
            summary["triage"] = triage.to_json()
        print(json.dumps(summary))
    else:
        _summary_table([result], f"envoy-fuzz fuzz {target.name}")
        if triage is not None:
            _print_triage(triage, target.name, args, result.artifacts_dir)
        print(report_line(page))
    if result.findings:
        return 1
    if result.interrupted:
        return 130
    if result.exit_code not in (0, 130) and result.stats.runs == 0:
        told = reported_in(result.log.read_text(errors="replace")) if result.log else None
        raise UserError(
            told or f"the fuzzer for {target.name} failed to start; see {_short(str(result.log))}"
        )
    return 0


def cmd_campaign(args: argparse.Namespace) -> int:
    load_user_targets(args)
    selected = [t for t in targets.all_targets() if "model" in t.planes]
    if not selected:
        raise UserError("no in-process targets to fuzz")
    share = max(1.0, args.time / len(selected))
    results: list[FuzzResult] = []
    ns = argparse.Namespace(
        plane="model",
        time=share,
        runs=None,
        jobs=1,
        corpus=None,
        artifacts=None,
        extra=[],
        mutator="auto",
        json=args.json,
    )
    for target in selected:
        result = _run_one(_options(ns, target))
        results.append(result)
        if result.interrupted:
            break
    triaged = {
        r.target: (_triage(r, targets.get(r.target), args.triage_max_files), r.artifacts_dir)
        for r in results
        if r.findings
    }
    page = write_run_report(
        args,
        [(r, triaged[r.target][0] if r.target in triaged else None) for r in results],
        Path("artifacts") / "report",
        f"envoy-fuzz campaign ({args.time:.0f}s)",
        targets=" ".join(t.name for t in selected),
        time=args.time,
        time_per_target=round(share, 2),
        plane="model",
    )
    if args.json:
        rows = [r.as_dict() for r in results]
        for row in rows:
            row["report"] = str(page)
            if row["target"] in triaged:
                row["triage"] = triaged[row["target"]][0].to_json()
        print(json.dumps(rows))
    else:
        _summary_table(results, f"envoy-fuzz campaign ({args.time:.0f}s)")
        for name, (triage, artifacts) in triaged.items():
            _print_triage(triage, name, args, artifacts)
        print(report_line(page))
    if any(r.findings for r in results):
        return 1
    return 130 if any(r.interrupted for r in results) else 0


# --- replay -----------------------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    from harness.triage import replay

    load_user_targets(args)
    named: list[targets.Target] = []
    paths: list[Path] = []
    for item in args.items:
        path = Path(item)
        if path.exists():
            paths.append(path)
        elif "/" in item or "." in item:
            raise UserError(f"no such file or directory: {item}")
        else:
            named.append(targets.get(item))
    groups: list[tuple[targets.Target, list[Path]]] = []
    if named:
        groups = [(t, paths) for t in named]
    elif paths:
        for path in paths:
            owner = replay.infer_target(path)
            if owner is None:
                raise UserError(f"cannot tell which target {path} is for; name the target first")
            groups.append((owner, [path]))
    else:
        groups = [(t, []) for t in targets.all_targets() if "model" in t.planes]
    apply_envoy_mode(args, [t.name for t, _ in groups], args.plane or "model", command="replay")
    explicit_files = {p for p in paths if p.is_file()}
    outcomes = []
    for target, target_paths in groups:
        plane = args.plane or target.default_plane()
        for case in replay.cases([target], target_paths):
            outcome = replay.run_case(
                case,
                plane,
                strict=case.path in explicit_files,
                timeout=args.timeout,
                rss_limit_mb=args.rss_limit_mb,
            )
            outcomes.append(outcome)
            if args.json:
                print(
                    json.dumps(
                        {
                            "id": case.id,
                            "status": outcome.status,
                            "kind": outcome.kind,
                            "signature": outcome.signature,
                            "message": outcome.message,
                        }
                    )
                )
            elif outcome.status == "finding":
                print(f"FINDING {case.id}: {outcome.kind}: {outcome.message.splitlines()[0]}")
    if args.junit:
        replay.write_junit(outcomes, args.junit)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "skipped", "finding")}
    if not args.json:
        unreadable = [o for o in outcomes if o.message.startswith("unreadable")]
        for o in unreadable:
            print(f"skipped {o.case.id}: {o.message}")
        why = "not parsable"
        if unreadable:
            why = (
                f"{counts['skipped'] - len(unreadable)} not parsable, {len(unreadable)} unreadable"
            )
        print(
            f"replayed {len(outcomes)} files: {counts['ok']} ok, {counts['skipped']} skipped "
            f"({why}), {counts['finding']} findings"
        )
    return 1 if counts["finding"] else 0


# --- import-envoy -----------------------------------------------------------------------------


def cmd_import_envoy(args: argparse.Namespace) -> int:
    from harness.engine.importer import import_envoy

    load_user_targets(args)
    for item in import_envoy(args.checkout):
        print(f"{item.folder} -> corpora/{item.target}/envoy/: {item.files} files ({item.new} new)")
    return 0
