"""Envoy faults from outside (SIGKILL, SIGSTOP) are restarted and logged, not findings; a
fault the blamed input reproduces on a fresh Envoy stays one (harness.envoy.faults)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.config.proxy import ProxyConfig
from harness.envoy.connection import BARRIER_LISTENER, Barrier
from harness.envoy.errors import EnvoyCrash, EnvoyHang
from harness.envoy.faults import replay_confirmed
from harness.envoy.lane import EnvoyLane
from harness.observation import Observation
from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase
from tests.conftest import default_sigint, sigstop, thread_states
from tests.test_envoy_signals import _alive, _descendants, _is_envoy

pytestmark = pytest.mark.envoy


def _proxied(i: int) -> CaptureFuzzTestCase:
    case = CaptureFuzzTestCase()
    case.events.add().downstream_send_bytes = b"GET /x%d HTTP/1.1\r\nhost: a\r\n\r\n" % i
    case.events.add().upstream_send_bytes = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    return case


def _wait_exited(lane: EnvoyLane) -> None:
    assert lane.process is not None
    deadline = time.monotonic() + 5
    while lane.process.exited() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_envoy_killed_from_outside_is_restarted_and_the_input_replayed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with EnvoyLane(ProxyConfig(downstream="http1"), finish="input") as lane:

        def replay(c: Any) -> Observation:
            return lane.replay_capture(c, settle=False)

        replay_confirmed(lane, replay, _proxied(1))
        assert lane.process is not None and lane.process.pid is not None
        os.kill(lane.process.pid, signal.SIGKILL)
        _wait_exited(lane)
        obs = replay_confirmed(lane, replay, _proxied(2))  # no EnvoyCrash escapes
        assert obs.statuses == [200]
        assert lane.restarts == 1
    assert "does not reproduce it on a fresh Envoy: not a finding" in capsys.readouterr().err


def test_sigstop_returns_once_envoy_no_longer_serves() -> None:
    # Right after os.kill, Envoy's threads were not all stopped in 5 % of stops at idle and
    # 18 % under load, and the worker echoed the barrier after 1-2 %: the tests of a stopped
    # Envoy saw it answer. Over 100 stops that shows almost surely without sigstop's wait.
    with EnvoyLane(max_wait=0.3) as lane:
        assert lane.process is not None and lane.process.pid is not None
        pid = lane.process.pid
        barrier = Barrier(lane.process.listener_ports[BARRIER_LISTENER], 1.0)
        try:
            assert barrier.post() and barrier.wait(1.0) == "ok"
            for _ in range(100):
                sigstop(pid)
                try:
                    assert set(thread_states(pid)) == {"T"}
                    assert barrier.post() and barrier.wait(0.005) == "timeout"
                finally:
                    os.kill(pid, signal.SIGCONT)
                assert barrier.wait(1.0) == "ok"  # the same byte, once Envoy runs again
        finally:
            barrier.close()


def test_envoy_stopped_from_outside_is_not_a_hang_unless_it_reproduces() -> None:
    with EnvoyLane(ProxyConfig(downstream="http1"), finish="input", max_wait=0.3) as lane:

        def replay(c: Any) -> Observation:
            return lane.replay_capture(c, settle=False)

        assert lane.process is not None and lane.process.pid is not None
        pid = lane.process.pid
        sigstop(pid)
        try:
            assert replay_confirmed(lane, replay, _proxied(1)).statuses == [200]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        assert lane.restarts == 1 and not _alive(pid)

        def stopping_replay(c: Any) -> Observation:  # an "input" that stops Envoy every time
            assert lane.process is not None and lane.process.pid is not None
            sigstop(lane.process.pid)
            return lane.replay_capture(c, settle=False)

        with pytest.raises(EnvoyHang):
            replay_confirmed(lane, stopping_replay, _proxied(2))


def test_a_crash_the_input_reproduces_on_a_fresh_envoy_stays_a_finding() -> None:
    with EnvoyLane(ProxyConfig(downstream="http1"), finish="input") as lane:

        def crashing_replay(c: Any) -> Observation:  # an "input" that aborts Envoy every time
            lane.replay_capture(c, settle=False)
            assert lane.process is not None and lane.process.pid is not None
            os.kill(lane.process.pid, signal.SIGABRT)
            _wait_exited(lane)
            return lane.replay_capture(c, settle=False)  # the death, blamed on c

        case = _proxied(1)
        with pytest.raises(EnvoyCrash) as info:
            replay_confirmed(lane, crashing_replay, case)
        assert info.value.data is case and info.value.returncode == -signal.SIGABRT
        assert lane.restarts == 2  # the fault, then its reproduction on the fresh Envoy


def test_fuzz_on_the_envoy_plane_with_envoy_sigkilled_mid_run_exits_0(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    argv = [sys.executable, "-m", "harness.cli", "fuzz", "h1_capture", "--plane", "envoy"]
    with open(tmp_path / "out.txt", "w") as out:
        cli = subprocess.Popen(
            [*argv, "--jobs", "1", "--time", "12"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=default_sigint,
        )
    try:
        killed: list[int] = []
        seen: set[int] = set()
        deadline = time.monotonic() + 60
        while len(killed) < 2 and time.monotonic() < deadline and cli.poll() is None:
            time.sleep(0.05)
            for pid in _descendants(cli.pid):
                seen.add(pid)
                if _is_envoy(pid) and pid not in killed:
                    time.sleep(1.0)  # inputs flowing through it
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
        assert len(killed) == 2, (tmp_path / "out.txt").read_text()[-3000:]
        cli.wait(timeout=120)
        output = (tmp_path / "out.txt").read_text()
        assert cli.returncode == 0, output[-3000:]
        art = tmp_path / "artifacts" / "h1_capture"
        log = (art / "fuzz.log").read_text()
        assert log.count("does not reproduce it on a fresh Envoy: not a finding") >= 2, log[-3000:]
        assert not [
            p for p in art.iterdir() if p.name != "fuzz.log" and not p.name.startswith("fuzz-")
        ]
        seen |= set(_descendants(cli.pid))
        time.sleep(0.5)
        assert not [p for p in seen if _alive(p)], "processes outlived the command"
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def test_nothing_of_envoy_stays_on_disk_when_its_owner_is_sigkilled(tmp_path: Path) -> None:
    """The bootstrap dir goes once Envoy serves and its log is unlinked at spawn: a Python
    process killed by SIGKILL leaves no envoy-fuzz-* directory (and its Envoy dies with it)."""
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    script = (
        "import time\n"
        "from harness.envoy.lane import EnvoyLane\n"
        "lane = EnvoyLane()\n"
        "lane.start()\n"
        "print(lane.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(private_tmp)},
    )
    try:
        assert owner.stdout is not None
        envoy_pid = int(owner.stdout.readline())
        assert _alive(envoy_pid)
        assert list(private_tmp.iterdir()) == []  # while Envoy runs, already
        owner.kill()
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(envoy_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(envoy_pid)
        assert list(private_tmp.iterdir()) == []
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_a_crashed_envoy_still_reports_its_log_tail() -> None:
    with EnvoyLane(ProxyConfig(downstream="http1"), finish="input") as lane:
        lane.replay_capture(_proxied(1), settle=False)
        assert lane.process is not None and lane.process.pid is not None
        os.kill(lane.process.pid, signal.SIGABRT)
        _wait_exited(lane)
        exited = lane.process.exited()
        assert exited is not None and "backtrace" in exited.log_tail  # Envoy's crash handler
