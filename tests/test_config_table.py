"""The model of ``envoy --mode validate`` against verdicts observed on the real Envoy 1.40.

``tests/data/config_cases/`` holds configs (YAML, JSON, text proto) covering every rule kind
the PGV engine checks and the semantic checks of Envoy's validation server;
``config_verdicts.json`` records what Envoy 1.40 said of each. The table test holds the model to
those verdicts; the re-observe test (marked ``envoy``) runs Envoy again so the recorded
verdicts cannot drift. ``ENVOY_FUZZ_REOBSERVE=write`` rewrites the file from Envoy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.config.validation import check_file

CASES_DIR = Path(__file__).parent / "data" / "config_cases"
VERDICTS = CASES_DIR.parent / "config_verdicts.json"
RECORDED = json.loads(VERDICTS.read_text())
CASES = sorted(RECORDED["cases"])
ENVOY_VERSION = RECORDED["envoy"]


def test_table_is_big_and_covers_every_format() -> None:
    assert len(CASES) >= 60
    suffixes = {Path(name).suffix for name in CASES}
    assert {".yaml", ".json", ".pb_text"} <= suffixes
    valid = sum(RECORDED["cases"][n]["valid"] for n in CASES)
    assert 0 < valid < len(CASES)
    assert sorted(p.name for p in CASES_DIR.iterdir()) == CASES


@pytest.mark.parametrize("name", CASES)
def test_model_agrees_with_observed_envoy(name: str) -> None:
    observed = RECORDED["cases"][name]
    verdict = check_file(CASES_DIR / name)
    assert verdict.valid == observed["valid"], (
        f"{name}: model says {'valid' if verdict.valid else verdict.error} "
        f"at {verdict.field}; Envoy {ENVOY_VERSION} said "
        f"{'valid' if observed['valid'] else observed['envoy_error']}"
    )


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("secrets_duplicate_tls_certificate.pb_text", "static_resources.secrets[1].name"),
        ("secrets_duplicate_validation_context.yaml", "static_resources.secrets[1].name"),
        # secrets are added before any cluster
        ("secrets_duplicate_before_clusters.pb_text", "static_resources.secrets[1].name"),
        ("runtime_duplicate_layer_name.pb_text", "layered_runtime.layers[1].name"),
        ("runtime_two_admin_layers.yaml", "layered_runtime.layers[1].admin_layer"),
        ("runtime_disk_root_relative.pb_text", "layered_runtime.layers[0].disk_layer"),
        ("runtime_disk_root_directory_missing.pb_text", "layered_runtime.layers[0].disk_layer"),
        # the runtime loader is built before the secrets are added
        ("runtime_before_secrets.pb_text", "layered_runtime.layers[0].disk_layer"),
        ("rtds_layer_without_node.pb_text", "node"),
        ("rtds_layer_without_config_source.pb_text", "layered_runtime.layers[0].rtds_layer"),
        # RTDS subscribes after the clusters are built
        ("rtds_layer_after_clusters.pb_text", "static_resources.clusters[0]"),
    ],
)
def test_found_by_the_differential_in_envoys_words(name: str, field: str) -> None:
    """Rules the validate differential found (static secrets, the runtime's layers): the
    model's reason is Envoy's, word for word, and names the field (the order among rules is
    what the pairs of rules in one config show)."""
    verdict = check_file(CASES_DIR / name)
    assert verdict.error == RECORDED["cases"][name]["envoy_error"]
    assert verdict.field is not None and verdict.field.startswith(field)


@pytest.mark.envoy
def test_reobserve_envoy_verdicts() -> None:
    """Envoy (the installed wheel) still gives every recorded verdict and reason."""
    from harness.config.load import config_format
    from harness.envoy.validate import envoy_version, validate_many

    writing = os.environ.get("ENVOY_FUZZ_REOBSERVE") == "write"
    if not writing:
        assert envoy_version() == ENVOY_VERSION
    names = sorted(p.name for p in CASES_DIR.iterdir()) if writing else CASES  # new cases too
    paths = [CASES_DIR / name for name in names]
    verdicts = validate_many([(p.read_bytes(), config_format(p.name)) for p in paths])
    seen = {
        p.name: {"valid": v.valid, "envoy_error": v.error}
        for p, v in zip(paths, verdicts, strict=True)
    }
    if writing:
        text = json.dumps({"envoy": envoy_version(), "cases": seen}, indent=1, sort_keys=True)
        VERDICTS.write_text(text + "\n")
        return
    drifted = {
        n: (RECORDED["cases"][n], seen[n])
        for n in CASES
        if _key(RECORDED["cases"][n]) != _key(seen[n])
    }
    assert drifted == {}


def _key(verdict: Mapping[str, object]) -> tuple[object, str]:
    """The verdict and the start of Envoy's reason: JSON parse errors go on to name fields
    in an order that varies between runs (Envoy's YAML-to-JSON map order)."""
    return verdict["valid"], str(verdict["envoy_error"] or "")[:48]


def test_every_startup_rule_is_a_row_of_the_semantic_table() -> None:
    from harness.config.semantic import SEMANTIC_CHECKS
    from harness.config.startup import STARTUP_CHECKS

    rows = [check for _, check in SEMANTIC_CHECKS]
    assert all(rows.count(check) == 1 for _, check in STARTUP_CHECKS)
