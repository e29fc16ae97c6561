"""A finding: what one crash file shows, and its JSON sidecar (``<file>.json`` beside it).

Corpus loading skips ``*.json``, so a sidecar never replays as a testcase.
"""

from __future__ import annotations

import json
import os
import shlex
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.engine.corpus import sha1, write_atomic
from harness.triage import signature as sig

SIDECAR_SUFFIX = ".json"
SIDECAR_VERSION = 1


@dataclass
class Finding:
    target: str
    kind: str
    state: tuple[str, ...]
    security: bool = False
    severity: str | None = None
    input: str = ""  # path of the crash file
    size: int = 0
    sha1: str = ""
    plane: str = "model"
    exception: str = ""  # "ValueError: message" (first line)
    traceback: str = ""
    observations: dict[str, Any] = field(default_factory=dict)
    frames: list[dict[str, Any]] = field(default_factory=list)  # innermost first
    reproducible: bool | None = None
    flaky: bool = False
    reproduce: str = ""
    targets_file: str | None = None

    @property
    def signature(self) -> str:
        return sig.make_signature(self.kind, self.state)

    def location(self) -> sig.Frame | None:
        """The first frame in the code under test (SARIF's result location)."""
        frames = [
            sig.Frame(str(f["file"]), int(f["line"]), str(f["function"])) for f in self.frames
        ]
        return sig.first_frame_under_test(frames)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = list(self.state)
        data["signature"] = self.signature
        data["version"] = SIDECAR_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["state"] = tuple(known.get("state") or ())
        return cls(**known)


def security_marker(finding: Finding) -> str | None:
    """ClusterFuzz's override marker, printed when a security finding ends a run."""
    if not finding.security:
        return None
    return f"FuzzerSecurityIssue{finding.severity or sig.severity(finding.kind)}"


def from_exception(
    exc: BaseException,
    *,
    target: str,
    data: bytes,
    path: Path | None = None,
    plane: str = "model",
    targets_file: str | None = None,
) -> Finding:
    kind = sig.kind_of_exception(exc)
    state = sig.state_of_exception(exc, target)
    security = sig.is_security(kind, state, exc)
    observations = getattr(exc, "observations", None)
    if not isinstance(observations, dict):
        observations = {}
    if kind == "divergence":
        observations = {
            "field": getattr(exc, "field", None),
            "model": repr(getattr(exc, "model", None)),
            "envoy": repr(getattr(exc, "envoy", None)),
            **observations,
        }
    finding = Finding(
        target=target,
        kind=kind,
        state=state,
        security=security,
        severity=sig.severity(kind) if security else None,
        size=len(data),
        sha1=sha1(data),
        plane=plane,
        exception=_first_line(f"{type(exc).__name__}: {exc}"),
        traceback="".join(traceback.format_exception(exc)),
        observations={k: _jsonable(v) for k, v in observations.items()},
        frames=[f.to_json() for f in sig.frames_of_exception(exc)],
        targets_file=targets_file,
    )
    if path is not None:
        set_input(finding, path)
    return finding


def set_input(finding: Finding, path: Path) -> None:
    finding.input = str(path)
    finding.reproduce = reproduce_command(
        finding.target, path, plane=finding.plane, targets_file=finding.targets_file
    )


def reproduce_command(
    target: str, path: Path, *, plane: str = "model", targets_file: str | None = None
) -> str:
    cmd = ["python", "-m", "harness.triage.reproduce", target, _display(str(path))]
    if plane != "model":
        cmd += ["--plane", plane]
    if targets_file:
        cmd += ["--targets", _display(targets_file)]
    return shlex.join(cmd)


def _display(path: str) -> str:
    """Relative to the working directory when below it (no local paths in sidecars)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def write_sidecar(finding: Finding, path: Path) -> Path:
    text = json.dumps(finding.to_json(), indent=2, sort_keys=True) + "\n"
    return write_atomic(sidecar_path(path), text.encode("utf-8"))


def read_sidecar(path: Path) -> Finding | None:
    """The finding stored beside ``path``; None when there is none or it is unreadable."""
    try:
        data = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Finding.from_json(data)
    except TypeError:
        return None


def _first_line(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 300 else line[:297] + "..."


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
