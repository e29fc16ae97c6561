"""Shared fixtures: the CLI as a subprocess, and the user-targets file the CLI tests load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
USER_TARGETS = FIXTURES / "user_targets.py"


def envoy_fuzz(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 240,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `envoy-fuzz ARGS` the way a user does (a child process, output captured)."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def default_sigint() -> None:
    """preexec_fn for children a test interrupts: a shell running a job in the background
    starts it with SIGINT ignored, and children inherit that; Ctrl-C must behave as usual."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def proc_state(stat: Path) -> str:
    """The state letter (R, S, T, Z, ...) in a /proc ``stat`` file; OSError when it is gone."""
    return stat.read_text().rsplit(")", 1)[1].split()[0]


def thread_states(pid: int) -> list[str]:
    """The state letter of each thread of ``pid``, from /proc."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(proc_state(stat))
        except OSError:
            pass  # a thread that has just exited
    return states


def sigstop(pid: int, timeout: float = 5.0) -> None:
    """SIGSTOP ``pid`` and return once every one of its threads is stopped.

    ``os.kill`` returns as soon as the signal is queued: the kernel wakes one thread (Envoy's
    main thread, idle in epoll), and only when that thread runs does it stop the others. On a
    busy machine that takes milliseconds, and meanwhile Envoy's worker still serves: a whole
    proxied exchange, barrier included, can complete. A test of a stopped Envoy must wait.
    """
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while not all(state in "TtZX" for state in thread_states(pid)):  # stopped, traced, gone
        if time.monotonic() >= deadline:
            raise AssertionError(f"pid {pid} not stopped {timeout} s after SIGSTOP")
        time.sleep(0.0005)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory (the CLI writes .envoy-fuzz/ and artifacts/ under it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
