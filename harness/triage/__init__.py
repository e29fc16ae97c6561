"""Crash triage: ClusterFuzz-style signatures, dedup, minimization, corpus merge, reports.

The names below are what the rest of the harness uses; they import their modules on first
use, so ``import harness.triage`` stays cheap inside an instrumented fuzzer process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.triage.signature import kind_of_exception, signature_of_exception

if TYPE_CHECKING:
    from harness.targets import Target
    from harness.triage.finding import Finding
    from harness.triage.pipeline import TriageResult

__all__ = [
    "kind_of_exception",
    "security_marker",
    "signature_of_exception",
    "summarize_run",
]


def security_marker(finding: Finding) -> str | None:
    """``FuzzerSecurityIssue<Severity>`` for a security finding, else None."""
    from harness.triage.finding import security_marker as marker

    return marker(finding)


def summarize_run(
    target: Target, artifacts_dir: Path, *, plane: str | None = None, max_files: int = 20
) -> TriageResult:
    """Triage what a fuzz run left in ``artifacts_dir`` (bounded: a few tries, short budgets,
    the ``max_files`` smallest files). Print it with ``harness.triage.report.print_triage``.
    """
    from harness.triage.pipeline import summarize_run as run

    return run(target, artifacts_dir, plane=plane, max_files=max_files)
