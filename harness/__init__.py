"""envoy-fuzz: an Envoy-compatible fuzzing and protocol test harness.

The public API for users' own targets is small: ``register`` a run function, and raise
``InvariantViolation`` (or call ``check``) when an oracle fails.
"""

from harness.oracle import Divergence, InvariantViolation, check
from harness.targets import Target, register

__all__ = ["Divergence", "InvariantViolation", "Target", "check", "register"]
__version__ = "0.1.0"
