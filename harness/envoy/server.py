"""The ``server`` target's envoy and differential planes: a fuzzed Bootstrap through
``envoy --mode validate`` (``harness.envoy.validate``), or with ``--envoy-mode serve``
started for a moment (``harness.envoy.serve``).

Envoy dying on a signal or aborting is ``envoy-crash``; no answer within the bound is
``envoy-hang``. The differential plane compares Envoy's verdict (valid or not) with the
model's (``harness.config.validation``): a mismatch is a ``Divergence`` signed by the field
path that decides it (the model's when it rejects, else Envoy's reason). In serve mode the
model adds the binds (``harness.config.binds``); a divergence there may be another start-up
path validate mode skips.
"""

from __future__ import annotations

import re
from typing import Any

from harness.config.validation import check
from harness.engine.corpus import to_text
from harness.engine.runner import envoy_mode
from harness.envoy.errors import EnvoyCrash, EnvoyHang
from harness.envoy.serve import serve_bytes
from harness.envoy.validate import EnvoyVerdict, validate_bytes
from harness.oracle import Divergence

HANG_SECONDS = 20.0
# quoted names and numbers (an apostrophe inside a word, as in "Didn't", quotes nothing)
_QUOTED = re.compile(r"(?<![A-Za-z])'[^']*'|\"[^\"]*\"|\d+")


def _run(case: Any) -> tuple[bytes, EnvoyVerdict]:
    data = to_text(case)
    run = serve_bytes if envoy_mode() == "serve" else validate_bytes
    verdict = run(data, "text", HANG_SECONDS)
    if verdict.timed_out:
        raise EnvoyHang(verdict.describe(), data)
    if verdict.crashed:
        raise EnvoyCrash(
            f"{verdict.describe()}\n{verdict.log_tail}", data, returncode=verdict.returncode
        )
    return data, verdict


def server(case: Any) -> None:
    """Run a fuzzed Bootstrap through Envoy (validate or serve mode); a crash or hang escapes."""
    _run(case)


def envoy_signature(reason: str) -> str:
    """Envoy's reason without names and numbers: one signature per kind of rejection."""
    return "envoy:" + _QUOTED.sub("_", reason)[:80]


def server_differential(case: Any) -> None:
    """Envoy's verdict against the model's; a mismatch is a ``Divergence``."""
    _, envoy = _run(case)
    model = check(case, serve=envoy_mode() == "serve")
    if model.valid == envoy.valid:
        return
    field = (
        (model.field or model.rule or "model")
        if not model.valid
        else envoy_signature(envoy.error or "")
    )
    error = Divergence(
        field,
        "valid" if model.valid else f"invalid: {model.error}",
        "valid" if envoy.valid else f"invalid: {envoy.error}",
    )
    error.observations = {  # type: ignore[attr-defined]
        "model": {"valid": model.valid, "error": model.error, "field": model.field},
        "envoy": {"valid": envoy.valid, "error": envoy.error},
    }
    raise error
