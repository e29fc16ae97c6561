"""SARIF output validates against the official SARIF 2.1.0 schema (shipped in tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness import targets
from harness.engine import corpus
from harness.triage import pipeline
from harness.triage.sarif import rule_id, to_sarif, write_sarif

PLANTED = Path(__file__).parent / "planted" / "targets.py"
SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    data = json.loads(SCHEMA.read_text())
    assert data["id"].endswith("/sarif-schema-2.1.0.json")
    return data


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> pipeline.TriageResult:
    targets.load_file(PLANTED)
    art = tmp_path_factory.mktemp("artifacts") / "planted_bytes"
    for data in (b"BUGA", b"xBUGA", b"SMUG", b"\xff\xfe..", b"HANG"):
        corpus.store(art, data, prefix="timeout-" if data == b"HANG" else "crash-")
    return pipeline.triage([art], timeout=0.5)


def test_sarif_validates_against_the_official_schema(
    tmp_path: Path, schema: dict[str, object], result: pipeline.TriageResult
) -> None:
    write_sarif(result.groups, tmp_path / "out.sarif", root=Path(__file__).parent.parent)
    log = json.loads((tmp_path / "out.sarif").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    (run,) = log["runs"]
    assert len(run["results"]) == len(result.groups) == 4
    assert len({r["ruleId"] for r in run["results"]}) == 4


def test_sarif_location_is_the_first_frame_under_test(result: pipeline.TriageResult) -> None:
    log = to_sarif(result.groups, root=Path(__file__).parent.parent)
    by_rule = {r["ruleId"]: r for r in log["runs"][0]["results"]}
    bug = next(g for g in result.groups if g.kind == "uncaught-exception")
    loc = by_rule[rule_id(bug)]["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"] == "tests/planted/targets.py"
    assert loc["logicalLocations"][0]["name"] == "_decode_header"
    smuggling = next(g for g in result.groups if g.security)
    assert by_rule[rule_id(smuggling)]["level"] == "error"
    assert rule_id(smuggling).startswith("divergence/")


def test_an_invalid_log_is_rejected(schema: dict[str, object]) -> None:
    # The test above can fail: the schema really checks (a result needs a message).
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(bad)
