"""Envoy misbehaving on an input: each becomes a finding (``envoy-crash``, ``envoy-hang``).

They derive from ``AssertionError`` like ``harness.InvariantViolation``: an oracle failed, and
a run function may let them escape. ``data`` is the input that was being processed.
"""

from __future__ import annotations


class EnvoyError(AssertionError):
    kind = "envoy"

    def __init__(self, message: str, data: bytes | object = b"") -> None:
        super().__init__(message)
        self.data = data


class EnvoyCrash(EnvoyError):
    """Envoy exited or died by a signal while (or right after) handling ``data``."""

    kind = "envoy-crash"

    def __init__(self, message: str, data: bytes | object = b"", *, returncode: int | None = None):
        super().__init__(message, data)
        self.returncode = returncode


class EnvoyHang(EnvoyError):
    """Envoy stopped answering (admin /ready timed out) after ``data``."""

    kind = "envoy-hang"
