"""``envoy --mode validate`` on config files: one process per config, several at a time.

Each config is written to a private temp file named so that Envoy picks the right parser
(``.yaml``, ``.json``, ``.pb_text``). Exit status 0 is valid, 1 invalid (the reason is
Envoy's critical log line); death by a signal or an abort is a crash, no answer within
``timeout`` seconds a hang (the process is killed). Every run is sandboxed
(``harness.envoy.sandbox``): the files the config makes Envoy write go to its private
directory, and where the machine allows, nothing outside that directory is writable.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.engine.launch import die_with_parent
from harness.envoy.process import envoy_binary
from harness.envoy.sandbox import Sandbox

DEFAULT_TIMEOUT = 30.0
SUFFIX = {"yaml": ".yaml", "json": ".json", "text": ".pb_text"}
_ERROR_LINE = re.compile(r"error initializing configuration '[^']*': (.*)")
_PGV = re.compile(r"Proto constraint validation failed \((.*)\)")


@dataclass(frozen=True)
class EnvoyVerdict:
    """What one ``envoy --mode validate`` run said."""

    valid: bool
    error: str | None
    returncode: int
    timed_out: bool = False
    log_tail: str = ""
    mode: str = "validate"  # or serve (harness.envoy.serve)

    @property
    def crashed(self) -> bool:
        return self.returncode < 0 or self.returncode in (134, 139)

    def describe(self) -> str:
        if self.timed_out:
            return f"envoy --mode {self.mode} did not answer"
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            return f"envoy --mode {self.mode} died ({name})"
        return "valid" if self.valid else f"invalid: {self.error}"


_JSON_NEAR = re.compile(r",? near \d+:\d+ \(offset \d+\)")
_JSON_DUMP = re.compile(r"\): \{.*$")
_DEBUG_DUMP = re.compile(r":?\s*goo\.gle/debug\w*.*", re.S)


def envoy_reason(log: str) -> str:
    """Envoy's reason for rejecting a config, one line, from its log (without the proto dump
    Envoy appends, whose ``goo.gle/debug...`` marker protobuf varies from run to run, and
    with runs of spaces made one: protobuf's error texts vary their spacing too)."""
    reason = " ".join(_DEBUG_DUMP.sub("", _reason(log)).split())
    # JSON errors: where in Envoy's YAML-to-JSON text (its key order varies), and that text
    return _JSON_DUMP.sub(")", _JSON_NEAR.sub("", reason))


def _reason(log: str) -> str:
    pgv = _PGV.search(log)
    if pgv:
        return pgv.group(1).split(" | caused by ")[-1]
    for line in log.splitlines():
        found = _ERROR_LINE.search(line)
        if found:
            return found.group(1).strip()
    lines = [line for line in log.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "rejected"


def validate_bytes(data: bytes, fmt: str, timeout: float = DEFAULT_TIMEOUT) -> EnvoyVerdict:
    """Run ``envoy --mode validate`` on ``data`` in format ``fmt`` (yaml, json, text), in a
    sandbox (``harness.envoy.sandbox``): it writes nowhere outside its private directory."""
    with tempfile.TemporaryDirectory(prefix="envoy-fuzz-validate-") as tmp:
        box = Sandbox(Path(tmp))
        data, fmt = box.confine(data, fmt)
        return _run(start_envoy(box, data, fmt, "validate", "-l", "critical"), timeout)


def start_envoy(
    box: Sandbox, data: bytes, fmt: str, mode: str, *flags: str, private_network: bool = False
) -> subprocess.Popen[bytes]:
    """Envoy in ``mode`` on the (confined) config ``data``, written into the sandbox's
    directory, started there inside the sandbox; its log on the pipe ``stdout``."""
    preexec = box.preexec(die_with_parent(), private_network)
    path = box.root / f"config{SUFFIX[fmt]}"
    path.write_bytes(data)
    cmd = [
        str(envoy_binary()), "--mode", mode, "-c", str(path), *flags,
        "--disable-hot-restart", "--base-id-path", str(box.root / "base-id"),
    ]  # fmt: skip
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=box.root,
        preexec_fn=preexec,
    )


def _run(proc: subprocess.Popen[bytes], timeout: float) -> EnvoyVerdict:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        return EnvoyVerdict(False, None, proc.returncode, True, log_tail(out))
    log = out.decode("utf-8", "replace")
    rc = proc.returncode
    if rc == 0:
        return EnvoyVerdict(True, None, 0, log_tail=log_tail(out))
    return EnvoyVerdict(False, envoy_reason(log), rc, log_tail=log_tail(out))


def log_tail(out: bytes) -> str:
    return "\n".join(out.decode("utf-8", "replace").splitlines()[-20:])


RunConfig = Callable[[bytes, str, float], EnvoyVerdict]


def validate_many(
    configs: Iterable[tuple[bytes, str]],
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    run: RunConfig = validate_bytes,
) -> list[EnvoyVerdict]:
    """``run`` (``validate_bytes``, or ``serve.serve_bytes``) on each (data, format), ``jobs``
    at a time (default: one per core)."""
    items = list(configs)
    jobs = jobs or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda item: run(item[0], item[1], timeout), items))


def envoy_version() -> str:
    """The Envoy binary's version number (``1.40.0``), from ``envoy --version``."""
    out = subprocess.run(
        [str(envoy_binary()), "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    found = re.search(r"/(\d+\.\d+\.\d+)/", out)
    return found.group(1) if found else out.strip()
