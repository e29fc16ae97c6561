"""The PGV engine's presence-first plans give the first violation the closure engine gave.

``tests/pgv_reference.py`` is the engine before plans (a step per rule-carrying field, set
or not); the plans run only the steps of the fields ``ListFields`` reports and know the
verdict of an unset field in advance. Both must name the same (path, rule, message), or both
none, on the observed table, Envoy's server corpus, and their structure-aware mutants.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from google.protobuf import message

from harness import targets
from harness.config.load import ConfigParseError, bootstrap_class, config_format, parse_config
from harness.config.pgv import Engine, Violation
from harness.engine.corpus import iter_files, parse_text_proto, to_text
from harness.engine.mutate import ProtoMutator
from tests.pgv_reference import ReferenceEngine

TABLE = Path(__file__).parent / "data" / "config_cases"
NEW, OLD = Engine(), ReferenceEngine()


def _key(found: Violation | None) -> tuple[str, str, str] | None:
    return None if found is None else (found.path, found.rule, found.message)


def _seeds() -> list[message.Message]:
    cls = bootstrap_class()
    out = []
    for p in sorted(TABLE.iterdir()):
        try:
            out.append(parse_config(p.read_bytes(), config_format(p.name)))
        except ConfigParseError:
            pass
    for p in iter_files(targets.get("server").corpus / "envoy"):
        if (msg := parse_text_proto(cls, p.read_bytes())) is not None:
            out.append(msg)
    return out


def _mutants(seeds: list[message.Message], count: int) -> list[message.Message]:
    cls = bootstrap_class()
    rng = random.Random(23)
    mutator = ProtoMutator(cls)
    texts = [to_text(s) for s in seeds]
    out: list[message.Message] = []
    while len(out) < count:
        data = rng.choice(texts)
        for _ in range(rng.randint(1, 3)):
            data = mutator.mutate(data, 1 << 16, rng.randrange(1 << 30))
        if (msg := parse_text_proto(cls, data)) is not None:
            out.append(msg)
    return out


def test_plans_agree_with_the_closure_engine() -> None:
    seeds = _seeds()
    inputs = seeds + _mutants(seeds, 600)
    invalid = 0
    for msg in inputs:
        new, old = _key(NEW.validate(msg)), _key(OLD.validate(msg))
        assert new == old, to_text(msg).decode()[:2000]
        invalid += new is not None
    # not vacuous: many inputs break a rule, many do not
    assert 0.1 * len(inputs) < invalid < 0.9 * len(inputs), (invalid, len(inputs))


def test_first_violation_in_declaration_order_not_number_order() -> None:
    # Cluster declares transport_socket_matches (43) before name (1): both are broken here,
    # and PGV reports the declared-first one (ListFields gives them by number)
    config = b"static_resources: {clusters: [{name: '', transport_socket_matches: [{name: ''}]}]}"
    msg = parse_config(config, "yaml")
    found = NEW.validate(msg)
    assert found is not None
    assert found.path == "static_resources.clusters[0].transport_socket_matches[0].name"
    assert _key(found) == _key(OLD.validate(msg))


def test_a_required_oneof_is_checked_before_the_oneofs_after_it() -> None:
    """PGV's C++ template checks each oneof in turn (its set field, else "required"): a
    route with no cluster and a bad host_rewrite_literal (a later oneof) names the
    cluster_specifier, as Envoy 1.40 did (the table's recorded reason)."""
    name = "oneof_required_before_a_later_oneof.yaml"
    recorded = json.loads((TABLE.parent / "config_verdicts.json").read_text())
    observed = recorded["cases"][name]["envoy_error"]
    assert observed == 'field: "cluster_specifier", reason: is required'
    msg = parse_config((TABLE / name).read_bytes(), "yaml")
    found = NEW.validate(msg)
    assert found is not None and found.path.endswith("routes[0].route.cluster_specifier")
    assert found.rule == "oneof.required"
    assert _key(found) == _key(OLD.validate(msg))


@pytest.mark.parametrize(
    ("config", "path"),
    [
        # address (unset, min_len) comes before the port: its verdict wins over the port's
        ("{port_value: 70000}", "address"),
        # protocol (set, not defined) comes before the address: its verdict wins
        ("{protocol: 99, port_value: 1}", "protocol"),
        ("{protocol: 99}", "protocol"),
        ("{address: a}", "port_specifier"),  # a required oneof, none of it set
    ],
)
def test_unset_verdicts_keep_their_place(config: str, path: str) -> None:
    msg = parse_config(f"admin: {{address: {{socket_address: {config}}}}}".encode(), "yaml")
    found = NEW.validate(msg)
    assert found is not None and found.path == f"admin.address.socket_address.{path}"
    assert _key(found) == _key(OLD.validate(msg))


def test_list_fields_reports_by_field_number() -> None:
    """The plans skip sorting when number order is PGV's order: ListFields must keep to it
    whatever order the fields were set in."""
    cluster = bootstrap_class()().static_resources.clusters.add()
    cluster.transport_socket_matches.add(name="m")
    cluster.connect_timeout.seconds = 1
    cluster.name = "c"
    numbers = [fd.number for fd, _ in cluster.ListFields()]
    assert numbers == sorted(numbers) and len(numbers) == 3
