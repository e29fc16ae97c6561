"""Group findings the way ClusterFuzz's grouper does.

Two findings are one bug when they share target, kind and security flag and their crash
states are similar (equal, or >= 2 frames in common in order). Timeouts and OOMs have no
stable stack, so, as on ClusterFuzz, there is one group of each per target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.triage import signature as sig
from harness.triage.finding import Finding

UNDEDUPLICATED_KINDS = ("timeout", "oom")


@dataclass
class Group:
    findings: list[Finding] = field(default_factory=list)

    @property
    def representative(self) -> Finding:
        """The smallest reproducible member (what gets minimized and promoted)."""
        return min(self.findings, key=lambda f: (not f.reproducible, f.size, f.input))

    @property
    def signature(self) -> str:
        return self.representative.signature

    @property
    def kind(self) -> str:
        return self.representative.kind

    @property
    def target(self) -> str:
        return self.representative.target

    @property
    def security(self) -> bool:
        return self.representative.security

    @property
    def files(self) -> list[str]:
        return sorted(f.input for f in self.findings)

    @property
    def reproducible(self) -> bool:
        return any(f.reproducible for f in self.findings)

    @property
    def flaky(self) -> bool:
        return any(f.flaky for f in self.findings) or not all(f.reproducible for f in self.findings)

    @property
    def smallest(self) -> int:
        return min(f.size for f in self.findings)

    def accepts(self, finding: Finding) -> bool:
        first = self.findings[0]
        if (finding.target, finding.kind, finding.security) != (
            first.target,
            first.kind,
            first.security,
        ):
            return False
        if finding.kind in UNDEDUPLICATED_KINDS:
            return True
        return any(sig.similar(finding.state, f.state) for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {
            "signature": self.signature,
            "kind": self.kind,
            "target": self.target,
            "files": self.files,
            "reproducible": self.reproducible,
            "security": self.security,
        }


def group_findings(findings: list[Finding]) -> list[Group]:
    """Groups in a stable order: security first, then by kind, target and signature."""
    groups: list[Group] = []
    # Reproducible findings first, so a group's first member has a real stack to compare.
    for finding in sorted(findings, key=lambda f: (not f.reproducible, f.size, f.input)):
        for group in groups:
            if group.accepts(finding):
                group.findings.append(finding)
                break
        else:
            groups.append(Group([finding]))
    order = {k: i for i, k in enumerate(sig.KINDS)}
    groups.sort(key=lambda g: (not g.security, order.get(g.kind, 99), g.target, g.signature))
    return groups
