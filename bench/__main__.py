"""`make bench`: run the benchmarks and write bench/RESULTS.md (date and machine included).

python -m bench [--only NAME ...] [--quick]
Each benchmark measures its baseline in the same run, so ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import engine
from bench.report import Report

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

# name -> (function taking a Report); area benchmarks live in bench/bench_<area>.py with run(report)
BENCHMARKS: dict[str, Callable[[Report], None]] = {
    "exec": engine.exec_per_sec,
    "mutator": engine.mutator_coverage,
}
AREA_MODULES = (
    "bench_http1",
    "bench_http2",
    "bench_envoy",
    "bench_model",
    "bench_agreement",
    "bench_minimize",
    "bench_coverage",
    "bench_ci",
    "bench_config",
    "bench_codec",
    "bench_envoy_stats",
)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def _previous_sections() -> dict[str, str]:
    """Sections of the existing RESULTS.md by benchmark, so `--only` updates just its own."""
    if not RESULTS.exists():
        return {}
    parts = re.split(r"(?m)^(?=<!-- bench:)", RESULTS.read_text())
    found = {}
    for part in parts[1:]:
        m = re.match(r"<!-- bench:(\S+)", part)
        if m:
            found[m.group(1)] = part.rstrip() + "\n"
    return found


def update_section(name: str, body: str, seconds: float) -> None:
    """Put ``body`` into RESULTS.md as ``name``'s section, in place of an older one or at the
    end: for figures measured outside `make bench` (`make soak`'s), which a full `make bench`
    keeps as they are."""
    stamp = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
    section = f"<!-- bench:{name} measured {stamp} in {seconds:.0f} s -->\n{body.rstrip()}\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    parts = re.split(r"(?m)^(?=<!-- bench:)", text)
    found = [
        i for i, part in enumerate(parts) if re.match(rf"<!-- bench:{re.escape(name)}\s", part)
    ]
    if found:
        parts[found[0]] = section + ("\n" if found[0] < len(parts) - 1 else "")
    else:
        parts.append(("\n" if not parts[-1].endswith("\n\n") else "") + section)
    RESULTS.write_text("".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    benchmarks = dict(BENCHMARKS)
    for name in AREA_MODULES:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            continue
        benchmarks[name.removeprefix("bench_")] = module.run
    previous = _previous_sections()
    started = time.monotonic()
    done: dict[str, str] = {}
    for name, run in benchmarks.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        report = Report()
        bench_started = time.monotonic()
        returned = run(report)
        report.flush_figures(f"{name}: figures")
        if not report.sections and isinstance(returned, dict):
            report.section(f"{name}: figures", "```\n" + json.dumps(returned, indent=2) + "\n```")
        stamp = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC"
        done[name] = (
            f"<!-- bench:{name} measured {stamp} in {time.monotonic() - bench_started:.0f} s -->\n"
            + "\n".join(report.sections)
        )
    header = (
        "# Benchmark results\n\n"
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {_machine()}\n"
        f"- command: `make bench` ({time.monotonic() - started:.0f} s)"
        + (
            f", only {', '.join(args.only)} (other sections kept from earlier runs)"
            if args.only
            else ""
        )
        + "\n- this machine is shared and noisy: compare ratios measured in the same run, not "
        "absolute figures across runs. Each section says when it was measured.\n\n"
    )
    # a full run replaces every benchmark's section; sections of figures it does not measure
    # (the soak's) stay
    kept = previous if args.only else {n: t for n, t in previous.items() if n not in benchmarks}
    sections = {**kept, **done}
    order = [n for n in benchmarks if n in sections] + [n for n in sections if n not in benchmarks]
    RESULTS.write_text(header + "\n".join(sections[n] for n in order))
    print(f"\nwrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
