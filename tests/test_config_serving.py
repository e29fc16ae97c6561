"""The model of ``--envoy-mode serve`` (validate mode's verdict, then ``harness.config.binds``
's binds) against verdicts observed on Envoy 1.40 in serve mode.

``tests/data/serve_cases/`` holds configs validate mode accepts or rejects and serve mode may
not (addresses the private network does not have, v4-mapped addresses, collisions with the
admin's address, listeners that share one); ``serve_verdicts.json`` records what Envoy said
of each. The re-observe test (``envoy``; it needs the private network namespace) runs them
again; ``ENVOY_FUZZ_REOBSERVE=write`` rewrites the file from Envoy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.config.load import read_config
from harness.config.validation import check

CASES_DIR = Path(__file__).parent / "data" / "serve_cases"
VERDICTS = CASES_DIR.parent / "serve_verdicts.json"
RECORDED = json.loads(VERDICTS.read_text())
CASES = sorted(RECORDED["cases"])


def test_table_covers_every_bind_rule_and_both_verdicts() -> None:
    from harness.config.binds import BIND_RULES

    assert sorted(p.name for p in CASES_DIR.iterdir()) == CASES
    errors = [RECORDED["cases"][n]["envoy_error"] or "" for n in CASES]
    for _, _, reason in BIND_RULES:
        assert any(reason in e for e in errors), reason
    valid = sum(RECORDED["cases"][n]["valid"] for n in CASES)
    assert 0 < valid < len(CASES)


@pytest.mark.parametrize("name", CASES)
def test_serve_model_agrees_with_observed_envoy(name: str) -> None:
    observed = RECORDED["cases"][name]
    verdict = check(read_config(CASES_DIR / name), serve=True)
    assert verdict.valid == observed["valid"], (name, verdict, observed)
    if not verdict.valid and (verdict.rule or "").startswith("serve."):
        assert verdict.error == observed["envoy_error"]


@pytest.mark.envoy
def test_reobserve_serve_verdicts() -> None:
    from harness.envoy import sandbox
    from harness.envoy.serve import serve_bytes
    from harness.envoy.validate import envoy_version, validate_many

    if not sandbox.namespace_available():
        pytest.skip("serve mode needs a user namespace: " + sandbox.layers())
    writing = os.environ.get("ENVOY_FUZZ_REOBSERVE") == "write"
    if not writing:
        assert envoy_version() == RECORDED["envoy"]
    names = sorted(p.name for p in CASES_DIR.iterdir()) if writing else CASES
    verdicts = validate_many(
        [((CASES_DIR / n).read_bytes(), "yaml") for n in names], run=serve_bytes
    )
    seen = {
        n: {"valid": v.valid, "envoy_error": v.error} for n, v in zip(names, verdicts, strict=True)
    }
    if writing:
        text = json.dumps({"envoy": envoy_version(), "cases": seen}, indent=1, sort_keys=True)
        VERDICTS.write_text(text + "\n")
        return
    drifted = {n: (RECORDED["cases"][n], seen[n]) for n in CASES if RECORDED["cases"][n] != seen[n]}
    assert not drifted, drifted
