"""Shared fixtures: the CLI as a subprocess, and the user-targets file the CLI tests load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working directory (the CLI writes .envoy-fuzz/ and artifacts/ under it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
