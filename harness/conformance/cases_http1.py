"""HTTP/1.1 message framing (RFC 9112) and semantics (RFC 9110) cases."""

from __future__ import annotations

from harness.conformance.case import Case

CASES: list[Case] = []
