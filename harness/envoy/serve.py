"""``--envoy-mode serve``: a config started for real, briefly, instead of ``--mode validate``.

Validate mode skips part of Envoy's start-up: it binds no listener socket, starts no worker,
initialises no cluster for real. Serve mode runs ``envoy --mode serve`` on the config in the
sandbox (``harness.envoy.sandbox``) with a private network of its own (loopback only, so
nothing the config connects to leaves it, and only loopback addresses can be bound), waits
for Envoy's "starting main dispatch loop", lets it serve ``SERVE_HOLD`` seconds, then stops it
with SIGTERM. The verdict reads like validate mode's (``EnvoyVerdict``):

* exit before the main loop starts: invalid, with Envoy's reason (e.g. ``cannot bind
  '192.0.2.1:0': Cannot assign requested address``, which validate mode accepts);
* still serving after the hold, and a clean exit on SIGTERM: valid;
* death by a signal at any point (start-up, serving, shutdown): a crash;
* no main loop within ``timeout``, or no exit within ``STOP_SECONDS`` of SIGTERM: a hang.

One worker thread (``--concurrency 1``): a worker per core would only repeat the same start.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from harness.envoy.sandbox import Sandbox, require_private_network
from harness.envoy.validate import (
    DEFAULT_TIMEOUT,
    EnvoyVerdict,
    envoy_reason,
    log_tail,
    start_envoy,
)

SERVE_HOLD = 0.5
STOP_SECONDS = 10.0
_READY = b"starting main dispatch loop"
_MODE = "serve"


def serve_bytes(
    data: bytes, fmt: str, timeout: float = DEFAULT_TIMEOUT, hold: float = SERVE_HOLD
) -> EnvoyVerdict:
    """Start Envoy on ``data`` in format ``fmt`` (yaml, json, text) in a sandbox with a private
    network, let it serve ``hold`` seconds, stop it. UserError where the machine gives no
    namespace for the private network."""
    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-serve-") as tmp:
        box = Sandbox(Path(tmp))
        require_private_network()  # before any work
        data, fmt = box.confine(data, fmt, served=True)
        proc = start_envoy(
            box, data, fmt, "serve", "--concurrency", "1",
            "-l", "critical", "--component-log-level", "main:info", private_network=True,
        )  # fmt: skip
        try:
            return _verdict(proc, timeout, hold)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()


def _verdict(proc: subprocess.Popen[bytes], timeout: float, hold: float) -> EnvoyVerdict:
    log = _Log(proc)
    ready = log.wait_for(_READY, time.monotonic() + timeout)
    if not ready and not log.ended:  # neither the main loop nor an exit in time: a hang
        proc.kill()
        proc.wait()
        log.drain(time.monotonic() + 1.0)
        return EnvoyVerdict(False, None, proc.returncode, True, log.tail(), _MODE)
    if ready:
        log.wait_for(None, time.monotonic() + hold)  # serve; an exit ends the wait
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            if not log.wait_for(None, time.monotonic() + STOP_SECONDS, until_exit=True):
                proc.kill()
                proc.wait()
                return EnvoyVerdict(False, None, proc.returncode, True, log.tail(), _MODE)
    log.drain(time.monotonic() + 1.0)
    rc = proc.wait()
    if rc == 0 and ready:
        return EnvoyVerdict(True, None, 0, log_tail=log.tail(), mode=_MODE)
    return EnvoyVerdict(False, envoy_reason(log.text()), rc, log_tail=log.tail(), mode=_MODE)


class _Log:
    """Envoy's output, read as it comes (so that the pipe never fills and an exit is seen)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._proc = proc
        self._fd = proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)
        self._out = bytearray()
        self._eof = False

    def wait_for(self, marker: bytes | None, deadline: float, until_exit: bool = False) -> bool:
        """Read until ``marker`` appears (True), the output ends or ``deadline`` passes
        (False); with ``marker`` None, until the output ends (True with ``until_exit``:
        the process has exited) or the deadline."""
        while not self._eof:
            if marker is not None and marker in self._out:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._selector.select(left):
                self._read()
        if marker is not None:
            return marker in self._out
        if until_exit:
            try:
                self._proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return False
        return True

    @property
    def ended(self) -> bool:
        """Whether the output has ended (Envoy exited)."""
        return self._eof

    def drain(self, deadline: float) -> None:
        self.wait_for(None, deadline)

    def _read(self) -> None:
        try:
            chunk = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        if chunk:
            self._out += chunk
        else:
            self._eof = True
            self._selector.close()

    def text(self) -> str:
        return bytes(self._out).decode("utf-8", "replace")

    def tail(self) -> str:
        return log_tail(bytes(self._out))
