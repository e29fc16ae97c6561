"""RFC 9113 rules h2spec lacks (it follows RFC 7540: summerwind/h2spec#128)."""

from __future__ import annotations

from harness.conformance.case import Case

CASES: list[Case] = []
