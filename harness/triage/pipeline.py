"""Crash files in, grouped findings out: find, reproduce, write sidecars, group, promote."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness import targets
from harness.engine import corpus
from harness.engine.launch import LOG_GLOB
from harness.errors import UserError
from harness.triage.finding import Finding, security_marker, set_input, write_sidecar
from harness.triage.group import Group, group_findings
from harness.triage.minimize import minimize
from harness.triage.reproduce import DEFAULT_TRIES, Reproducer, is_artifact, reproduce_file

# Hangs and OOMs have no stable stack and are slow to shrink: they are kept (promoted) as
# found, not minimized. The regression replay bounds every file (triage.replay's --timeout and
# --rss-limit-mb), so a promoted one fails there with its kind instead of stalling the suite.
NOT_MINIMIZED = ("timeout", "oom")


@dataclass
class TriageResult:
    groups: list[Group] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    promoted: list[Path] = field(default_factory=list)
    minimized: list[Path] = field(default_factory=list)
    # A bounded triage (max_files) takes the smallest files; the rest are left as they are.
    limit: int | None = None
    over_limit: list[Path] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        found: dict[str, object] = {"groups": [g.to_json() for g in self.groups]}
        if self.skipped:
            found["skipped"] = [{"file": str(p), "why": why} for p, why in self.skipped]
        if self.over_limit:
            found["over_limit"] = {"limit": self.limit, "files": [str(p) for p in self.over_limit]}
        return found

    def security_markers(self) -> list[str]:
        """``FuzzerSecurityIssue<Severity>`` lines for the security groups, most severe first."""
        markers = {m for g in self.groups if (m := security_marker(g.representative))}
        order = ("Critical", "High", "Medium", "Low")
        return sorted(markers, key=lambda m: next(i for i, s in enumerate(order) if m.endswith(s)))


def find_crash_files(roots: Iterable[Path]) -> Iterator[Path]:
    """libFuzzer artifacts (``crash-<sha1>``, ``timeout-…``, ``oom-…``, ``minimized-…``)."""
    for root in roots:
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            raise UserError(f"not a file or directory: {root}")
        for path in corpus.iter_files(root):
            if is_artifact(path):
                yield path


def target_of(path: Path) -> targets.Target | None:
    """The target a crash file belongs to: its sidecar, else ``artifacts/<target>/``, else the
    corpus directory holding it."""
    from harness.triage.finding import read_sidecar

    known = read_sidecar(path)
    names = [known.target] if known is not None else []
    names += [parent.name for parent in path.resolve().parents]
    registered = {t.name: t for t in targets.all_targets()}
    for name in names:
        if name in registered:
            return registered[name]
    return None


class _Reproducers:
    def __init__(self, plane: str | None, timeout: float) -> None:
        self.plane = plane
        self.timeout = timeout
        self._cache: dict[str, Reproducer] = {}

    def get(self, target: targets.Target) -> Reproducer:
        if target.name not in self._cache:
            plane = self.plane if self.plane in target.planes else None
            self._cache[target.name] = Reproducer(target, plane, self.timeout)
        return self._cache[target.name]


def triage(
    paths: Iterable[Path],
    *,
    target: targets.Target | None = None,
    plane: str | None = None,
    tries: int = DEFAULT_TRIES,
    timeout: float = 5.0,
    write_sidecars: bool = True,
    max_files: int | None = None,
) -> TriageResult:
    """Reproduce every crash file under ``paths`` and group what they show."""
    result = TriageResult()
    reproducers = _Reproducers(plane, timeout)
    logs: dict[Path, str | None] = {}
    files = sorted(set(find_crash_files(paths)), key=lambda p: (p.stat().st_size, str(p)))
    result.limit = max_files
    if max_files is not None and len(files) > max_files:
        result.over_limit = files[max_files:]
        files = files[:max_files]
    for path in files:
        owner = target or target_of(path)
        if owner is None:
            result.skipped.append((path, "no known target (use --targets or a sidecar)"))
            continue
        if path.parent not in logs:
            texts = [log.read_text(errors="replace") for log in sorted(path.parent.glob(LOG_GLOB))]
            logs[path.parent] = "".join(texts) or None
        finding = reproduce_file(
            reproducers.get(owner), path, tries=tries, log_text=logs[path.parent]
        )
        if write_sidecars:
            write_sidecar(finding, path)
        result.findings.append(finding)
    result.groups = group_findings(result.findings)
    return result


def minimize_group(
    group: Group, reproducer: Reproducer, *, budget: float
) -> tuple[bytes, Finding] | None:
    """The group's smallest file, minimized, with the finding it shows (None: not reproducible)."""
    rep = group.representative
    if not rep.reproducible:
        return None
    data = Path(rep.input).read_bytes()
    if rep.kind in NOT_MINIMIZED:
        return data, rep
    result = minimize(reproducer, data, budget=budget)
    found = reproducer.run(result.data)
    if found is None:  # cannot happen with a deterministic target; keep the original then
        return data, rep
    return result.data, found


def promote(
    result: TriageResult,
    *,
    plane: str | None = None,
    budget: float = 30.0,
    timeout: float = 5.0,
    into: Path | None = None,
) -> list[Path]:
    """Write each reproducible group's minimized reproducer to ``corpora/<t>/regressions/``
    as ``crash-<sha1>`` (text format for proto targets) with its sidecar; a timeout or OOM
    group's smallest file goes there as found, as ``timeout-<sha1>`` / ``oom-<sha1>``."""
    reproducers = _Reproducers(plane, timeout)
    written: list[Path] = []
    for group in result.groups:
        target = targets.get(group.target)
        minimized = minimize_group(group, reproducers.get(target), budget=budget)
        if minimized is None:
            continue
        data, finding = minimized
        directory = into / target.name if into is not None else target.regressions
        prefix = f"{group.kind}-" if group.kind in NOT_MINIMIZED else "crash-"
        path = corpus.store(directory, data, prefix=prefix)
        set_input(finding, path)
        finding.reproducible = True
        write_sidecar(finding, path)
        written.append(path)
    result.promoted = written
    return written


def summarize_run(
    target: targets.Target,
    artifacts_dir: Path,
    *,
    plane: str | None = None,
    tries: int = 2,
    max_files: int = 20,
    minimize_budget: float = 10.0,
    total_budget: float = 60.0,
) -> TriageResult:
    """What ``envoy-fuzz fuzz`` prints at the end: the run's crash files, reproduced a
    bounded number of times, grouped, each group's smallest crasher minimized into
    ``artifacts/<target>/minimized-<sha1>`` (with sidecar) while the time budget lasts."""
    started = time.monotonic()
    if not artifacts_dir.is_dir():
        return TriageResult()
    files = [p for p in artifacts_dir.iterdir() if is_artifact(p)]
    result = triage(files, target=target, plane=plane, tries=tries, max_files=max_files)
    reproducers = _Reproducers(plane, 5.0)
    for group in result.groups:
        left = total_budget - (time.monotonic() - started)
        if left <= 1 or group.kind in NOT_MINIMIZED:
            continue
        if any(Path(f).name.startswith("minimized-") for f in group.files):
            continue  # an earlier run already minimized this bug
        minimized = minimize_group(
            group, reproducers.get(target), budget=min(minimize_budget, left)
        )
        if minimized is None:
            continue
        data, finding = minimized
        path = corpus.store(artifacts_dir, data, prefix="minimized-")
        set_input(finding, path)
        finding.reproducible = True
        write_sidecar(finding, path)
        group.findings.append(finding)
        result.findings.append(finding)
        result.minimized.append(path)
    return result
