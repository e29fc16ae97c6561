"""The ``server`` target's model plane: a fuzzed Bootstrap through the model of
``envoy --mode validate`` (PGV rules, then Envoy's semantic checks).

The model must give a verdict on every Bootstrap without raising; an invalid verdict names
its rule and, when the rule is about a field, a path that exists in the message.
"""

from __future__ import annotations

import re
from typing import Any

from harness.config.validation import check
from harness.oracle import check as holds

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\]]*\])*)")


def server(case: Any) -> None:
    """Validate a fuzzed Bootstrap with the model of Envoy's validation server."""
    verdict = check(case)
    if verdict.valid:
        return
    holds(verdict.error and verdict.rule, f"invalid verdict without a reason: {verdict}")
    if verdict.field:
        holds(_resolves(case, verdict.field), f"error path does not exist: {verdict.field}")


def _resolves(msg: Any, path: str) -> bool:
    """Whether the first field of ``path`` names a field of ``msg`` (the path is ours)."""
    found = _STEP.match(path)
    return found is not None and found.group(1) in msg.DESCRIPTOR.fields_by_name
