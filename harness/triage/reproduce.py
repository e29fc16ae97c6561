"""Reproduce a crash file: in-process with a SIGALRM bound, or in a child process for hangs/OOMs.

``python -m harness.triage.reproduce TARGET FILE [--targets F] [--plane P]`` is the
reproduction command written into every sidecar: it prints the signature and traceback and
exits 1 when the file still crashes, 0 when it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from harness import targets
from harness.triage import signature as sig
from harness.triage.finding import Finding, from_exception, read_sidecar, set_input

DEFAULT_TIMEOUT = 5.0  # seconds per attempt; libFuzzer's -timeout for a reproduction
DEFAULT_TRIES = 3
DEFAULT_RSS_LIMIT_MB = 2560  # OSS-Fuzz's -rss_limit_mb

# libFuzzer artifact prefixes and the kind a file of that name is expected to show.
ARTIFACT_KINDS = {"crash": None, "timeout": "timeout", "oom": "oom", "leak": None}
_ARTIFACT = re.compile(r"^(crash|timeout|oom|leak|minimized)-[0-9a-f]{40}$")


class AttemptTimeout(BaseException):
    """Raised into the target by SIGALRM when one attempt exceeds its time budget.

    A BaseException, so that a target's own ``except Exception`` cannot swallow it.
    """

    kind = "timeout"


def is_artifact(path: Path) -> bool:
    return path.is_file() and _ARTIFACT.match(path.name) is not None


def expected_kind(path: Path) -> str | None:
    return ARTIFACT_KINDS.get(path.name.split("-", 1)[0])


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise AttemptTimeout in the main thread after ``seconds`` (no bound off the main thread)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise AttemptTimeout(f"no result after {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Reproducer:
    """Runs one target's inputs in this process and turns what escapes into a Finding."""

    target: targets.Target
    plane: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        from harness.engine.runner import test_one_input

        self.plane_name = self.plane or self.target.default_plane()
        # each input runs once (or a few times): no parse cache to fill
        self._one_input: Callable[[bytes], None] = test_one_input(
            self.target, self.plane_name, cached=False
        )
        self.targets_file = None if self.target.source == "builtin" else self.target.source

    def run(self, data: bytes, timeout: float | None = None) -> Finding | None:
        """The finding ``data`` triggers, or None when the target handles it."""
        try:
            with time_limit(self.timeout if timeout is None else timeout):
                self._one_input(data)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # everything else escaping a target is a finding
            return from_exception(
                exc,
                target=self.target.name,
                data=data,
                plane=self.plane_name,
                targets_file=self.targets_file,
            )
        return None

    def signature(self, data: bytes, timeout: float | None = None) -> str | None:
        finding = self.run(data, timeout)
        return None if finding is None else finding.signature


def reproduce_file(
    reproducer: Reproducer,
    path: Path,
    *,
    tries: int = DEFAULT_TRIES,
    log_text: str | None = None,
) -> Finding:
    """Reproduce ``path`` up to ``tries`` times; timeouts and OOMs go to a child process.

    The result is always a Finding: an unreproducible file keeps what the fuzzer's log (or an
    earlier sidecar) said about it, with ``reproducible=False``.
    """
    data = path.read_bytes()
    expected = expected_kind(path)
    results: list[Finding | None] = []
    in_child = expected in ("timeout", "oom")
    for _ in range(max(1, min(tries, 2) if in_child else tries)):  # a child run is slow
        if in_child:
            result = reproduce_in_child(reproducer, path, expected)
        else:
            result = reproducer.run(data)
        results.append(result)
        if result is None and in_child:
            break  # one clean run settles a non-reproducing hang
    crashed = [r for r in results if r is not None]
    if crashed:
        finding = crashed[0]
        finding.reproducible = True
        finding.flaky = len(crashed) < len(results) or len({r.signature for r in crashed}) > 1
    else:
        finding = _unreproduced(reproducer, path, data, expected, log_text)
    set_input(finding, path)
    return finding


def _unreproduced(
    reproducer: Reproducer, path: Path, data: bytes, expected: str | None, log_text: str | None
) -> Finding:
    earlier = read_sidecar(path)
    if earlier is not None and earlier.target == reproducer.target.name:
        earlier.reproducible = False
        return earlier
    logged = parse_log(log_text).get(path.name) if log_text else None
    from harness.engine.corpus import sha1

    finding = Finding(
        target=reproducer.target.name,
        kind=expected or "uncaught-exception",
        state=("unreproducible",),
        size=len(data),
        sha1=sha1(data),
        plane=reproducer.plane_name,
        reproducible=False,
        targets_file=reproducer.targets_file,
    )
    if logged is not None:
        finding.kind, frames, finding.exception, finding.traceback = logged
        finding.state = sig.crash_state(frames) or (reproducer.target.name,)
        finding.frames = [f.to_json() for f in frames]
    finding.security = sig.is_security(finding.kind, finding.state)
    finding.severity = sig.severity(finding.kind) if finding.security else None
    return finding


# ---- the fuzzer's log: what atheris printed before "Test unit written to <file>" ----

_WRITTEN = re.compile(r"Test unit written to (?P<path>\S+)")
_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(: (?P<msg>.*))?$")
_KIND_BY_EXCEPTION = {
    "InvariantViolation": "invariant",
    "Divergence": "divergence",
    "EnvoyCrash": "envoy-crash",
    "EnvoyHang": "envoy-hang",
    "MemoryError": "oom",
}


def parse_log(text: str | None) -> dict[str, tuple[str, list[sig.Frame], str, str]]:
    """Per artifact file name: (kind, frames innermost first, exception line, raw trace)."""
    found: dict[str, tuple[str, list[sig.Frame], str, str]] = {}
    if not text:
        return found
    start = 0
    for m in _WRITTEN.finditer(text):
        block = text[start : m.start()]
        start = m.end()
        name = Path(m["path"]).name
        frames = sig.frames_from_text(block)
        kind, exception = _kind_from_block(block, name)
        at = max(block.rfind("=== Uncaught Python exception"), block.rfind("=== Timeout"), 0)
        found[name] = (kind, frames, exception, block[at:].strip())
    return found


def _kind_from_block(block: str, name: str) -> tuple[str, str]:
    if name.startswith("timeout-") or "=== Timeout" in block:
        return "timeout", ""
    if name.startswith("oom-") or "out-of-memory" in block:
        return "oom", ""
    marker = block.rfind("=== Uncaught Python exception: ===")
    if marker >= 0:
        lines = block[marker:].splitlines()
        m = _EXC_LINE.match(lines[1].strip()) if len(lines) > 1 else None
        if m is not None:
            short = m["type"].rsplit(".", 1)[-1]
            return _KIND_BY_EXCEPTION.get(short, "uncaught-exception"), lines[1].strip()
    return "uncaught-exception", ""


# ---- child-process reproduction: bounds hangs by wall clock and memory by RLIMIT_AS ----


def reproduce_in_child(
    reproducer: Reproducer,
    path: Path,
    expected: str | None = None,
    *,
    rss_limit_mb: int = DEFAULT_RSS_LIMIT_MB,
) -> Finding | None:
    cmd = [sys.executable, "-m", "harness.triage.reproduce", reproducer.target.name, str(path)]
    cmd += ["--plane", reproducer.plane_name, "--timeout", str(reproducer.timeout), "--json"]
    if reproducer.targets_file:
        cmd += ["--targets", reproducer.targets_file]

    def limit_memory() -> None:
        import resource

        limit = rss_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    data = path.read_bytes()
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            timeout=reproducer.timeout + 30,  # interpreter start-up and imports on top
            preexec_fn=limit_memory if rss_limit_mb else None,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        )
    except subprocess.TimeoutExpired:
        return _plain(reproducer, data, "timeout")
    if proc.returncode == 0:
        return None
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode == 1 and out.startswith("{"):
        return Finding.from_json(json.loads(out))
    if proc.returncode < 0 or expected == "oom":  # killed, or the allocator gave up
        return _plain(reproducer, data, "oom")
    return None


def _plain(reproducer: Reproducer, data: bytes, kind: str) -> Finding:
    from harness.engine.corpus import sha1

    return Finding(
        target=reproducer.target.name,
        kind=kind,
        state=(reproducer.target.name,),
        size=len(data),
        sha1=sha1(data),
        plane=reproducer.plane_name,
        targets_file=reproducer.targets_file,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.triage.reproduce", description="Replay one crash file."
    )
    parser.add_argument("target")
    parser.add_argument("file", type=Path)
    parser.add_argument("--targets", help="a targets file defining TARGET")
    parser.add_argument("--plane")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--json", action="store_true", help="print the finding as JSON")
    args = parser.parse_args(argv)
    from harness.errors import UserError

    try:
        if args.targets:
            targets.load_file(args.targets)
        reproducer = Reproducer(targets.get(args.target), args.plane, args.timeout)
        data = args.file.read_bytes()
    except (UserError, OSError) as e:
        print(f"reproduce: {e}", file=sys.stderr)
        return 2
    finding = reproducer.run(data)
    if finding is None:
        if not args.json:
            print(f"{args.file}: no crash ({args.target})")
        return 0
    set_input(finding, args.file)
    if args.json:
        print(json.dumps(finding.to_json()))
    else:
        print(finding.traceback, file=sys.stderr)
        print(f"{args.file}: {finding.signature}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
