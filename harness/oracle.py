"""How a target says "this input found a bug" other than by crashing.

Targets raise these; every other exception escaping a target is an uncaught exception.
The triage package turns each into a ``Finding`` of the matching kind.
"""

from __future__ import annotations

from typing import Any


class InvariantViolation(AssertionError):
    """An oracle of the target does not hold (round-trip, limit, smuggling, ...)."""

    kind = "invariant"


class Divergence(AssertionError):
    """The Envoy model and the real Envoy disagree; ``field`` is the first differing path."""

    kind = "divergence"

    def __init__(self, field: str, model: Any, envoy: Any, *, security: bool = False) -> None:
        super().__init__(f"{field}: model={model!r} envoy={envoy!r}")
        self.field = field
        self.model = model
        self.envoy = envoy
        self.security = security


def check(condition: object, message: str) -> None:
    """Raise ``InvariantViolation(message)`` unless ``condition`` holds.

    Unlike ``assert`` this survives ``python -O`` (atheris runs targets that way sometimes).
    """
    if not condition:
        raise InvariantViolation(message)
