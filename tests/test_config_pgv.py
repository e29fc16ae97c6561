"""The PGV engine, rule kind by rule kind, and check-config's command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from harness.cli.main import main
from harness.config.load import bootstrap_class, parse_config
from harness.config.pgv import Engine
from harness.config.pgv_rules import TABLES, is_hostname
from harness.config.validation import check, check_bytes

ENGINE = Engine()
ROUTE = "envoy.config.route.v3"


def _violation(yaml_text: str) -> tuple[str | None, str | None]:
    found = ENGINE.validate(parse_config(yaml_text.encode(), "yaml"))
    return (found.path, found.rule) if found else (None, None)


@pytest.mark.parametrize(
    ("config", "path", "rule"),
    [
        ("static_resources: {clusters: [{name: ''}]}", "static_resources.clusters[0].name",
         "string.min_len"),
        ("static_resources: {clusters: [{name: a, lb_policy: 99}]}",
         "static_resources.clusters[0].lb_policy", "enum.defined_only"),
        ("static_resources: {clusters: [{name: a, connect_timeout: 0s}]}",
         "static_resources.clusters[0].connect_timeout", "duration.gt"),
        ("static_resources: {clusters: [{name: a, per_connection_buffer_limit_bytes: 5}]}",
         None, None),
        ("static_resources: {clusters: [{name: a, load_assignment: {cluster_name: a, endpoints: "
         "[{priority: 200}]}}]}", "static_resources.clusters[0].load_assignment.endpoints[0]"
         ".priority", "uint32.lte"),
        ("static_resources: {clusters: [{name: a, common_lb_config: {healthy_panic_threshold: "
         "{value: 150}}}]}", "static_resources.clusters[0].common_lb_config."
         "healthy_panic_threshold.value", "double.lte"),
        ("static_resources: {clusters: [{name: a, load_assignment: {cluster_name: a, endpoints: "
         "[{lb_endpoints: [{endpoint: {address: {socket_address: {address: x}}}}]}]}}]}",
         "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
         "address.socket_address.port_specifier", "oneof.required"),
        ("admin: {address: {pipe: {path: ''}}}", "admin.address.pipe.path", "string.min_len"),
        ("stats_sinks: [{name: s, typed_config: {'@type': type.googleapis.com/google.protobuf."
         "Empty}}]", "stats_sinks[0].typed_config", "typed_config.type"),
    ],
)  # fmt: skip
def test_rule_kinds_name_their_field(config: str, path: str | None, rule: str | None) -> None:
    assert _violation(config) == (path, rule)


def test_typed_config_is_validated_as_its_type() -> None:
    hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    config = (
        "static_resources: {listeners: [{name: l, address: {socket_address: {address: 127.0.0.1,"
        " port_value: 0}}, filter_chains: [{filters: [{name: h, typed_config: {'@type': "
        f"{hcm}HttpConnectionManager, stat_prefix: ''}}}}]}}]}}]}}"
    )
    path, rule = _violation(config)
    assert rule == "string.min_len"
    assert path is not None and path.endswith("HttpConnectionManager].stat_prefix")


def test_every_rule_kind_envoy_uses_has_a_table() -> None:
    messages, rule_fields, kinds = ENGINE.rule_count(bootstrap_class().DESCRIPTOR)
    assert kinds - {"message"} - set(TABLES) == set()
    assert messages >= 250 and rule_fields >= 200


@given(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True))
def test_generated_hostnames_are_hostnames(host: str) -> None:
    assert is_hostname(host)


@given(st.text(min_size=1, max_size=30))
def test_hostnames_never_contain_other_characters(host: str) -> None:
    if is_hostname(host):
        assert all(c.isascii() and (c.isalnum() or c in "-.") for c in host)


def test_unparsable_is_invalid_not_a_traceback() -> None:
    for data, name in ((b"foo: [", "a.yaml"), (b"{", "a.json"), (b"nope {", "a.pb_text"),
                       (b"\xff", "a.yaml"), (b"- 1", "a.yaml")):  # fmt: skip
        verdict = check_bytes(data, name)
        assert not verdict.valid and verdict.rule == "parse"


def test_yaml_cpp_booleans() -> None:
    # Envoy's YAML reader takes a plain y as a bool: a string field rejects it (observed)
    verdict = check_bytes(b"node: {id: y}", "a.yaml")
    assert not verdict.valid
    assert check_bytes(b"node: {id: 'y'}", "a.yaml").valid


def test_empty_config_is_valid() -> None:
    assert check(bootstrap_class()()).valid


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("static_resources: {clusters: [{name: a}]}\n")
    bad = tmp_path / "bad.pb_text"
    bad.write_text('static_resources { clusters { name: "" } }\n')
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["check-config", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"
    assert main(["check-config", "--json", str(good), str(bad), str(broken)]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["good.yaml", "bad.pb_text", "broken.json"]
    assert [r["valid"] for r in rows] == [True, False, False]
    assert rows[1]["field"] == "static_resources.clusters[0].name"
    assert rows[1]["error"] == "value length must be at least 1 characters"
    assert rows[2]["field"] is None and rows[2]["error"].startswith("parse error")
    assert set(rows[0]) == {"name", "valid", "error", "field"}
    assert main(["check-config", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.envoy
def test_check_config_cli_asks_envoy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("static_resources: {clusters: [{name: a}]}\n")
    dup = tmp_path / "dup.yaml"
    dup.write_text("static_resources: {clusters: [{name: a}, {name: a}]}\n")
    assert main(["check-config", "--envoy", "--json", str(good), str(dup)]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["valid"] for r in rows] == [True, False]
    assert rows[1]["error"] == "cluster manager: duplicate cluster 'a'"


def test_mutator_reaches_inside_typed_config() -> None:
    """Mutants change the HCM inside a listener's typed_config and stay parsable."""
    from harness.engine.corpus import parse_text_proto, to_text
    from harness.engine.mutate import ProtoMutator

    seed = Path(__file__).parent / "data" / "config_cases" / "valid_base_text.pb_text"
    cls = bootstrap_class()
    start = parse_config(seed.read_bytes(), "text")
    original = start.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.value
    mutator = ProtoMutator(cls)
    data = to_text(start)
    changed = 0
    for i in range(200):
        out = mutator.mutate(data, 1 << 16, i)
        msg = parse_text_proto(cls, out)
        assert msg is not None
        chains = msg.static_resources.listeners
        if chains and chains[0].filter_chains and chains[0].filter_chains[0].filters:
            value = chains[0].filter_chains[0].filters[0].typed_config.value
            changed += value != original
    assert changed >= 20


@pytest.mark.envoy
def test_envoy_and_differential_planes() -> None:
    """The envoy plane passes a config Envoy accepts; the differential plane raises a
    divergence signed by Envoy's reason where the sans-IO model cannot know (a file Envoy
    reads), and none for a file Envoy would write (the sandbox redirects it)."""
    from harness.envoy.server import server, server_differential
    from harness.oracle import Divergence

    seed = Path(__file__).parent / "data" / "config_cases" / "valid_base_text.pb_text"
    config = parse_config(seed.read_bytes(), "text")
    server(config)
    server_differential(config)
    server_differential(parse_config(b'admin { access_log_path: "/" }', "text"))
    reads_a_missing_file = parse_config(
        b'static_resources { clusters { name: "c" connect_timeout { seconds: 1 } '
        b'transport_socket { name: "t" typed_config { [type.googleapis.com/envoy.extensions.'
        b"transport_sockets.tls.v3.UpstreamTlsContext] { common_tls_context { "
        b'validation_context { trusted_ca { filename: "/nonexistent/ca.pem" } } } } } } } }',
        "text",
    )
    with pytest.raises(Divergence) as caught:
        server_differential(reads_a_missing_file)
    assert caught.value.field == "envoy:Invalid path: /nonexistent/ca.pem"


ENVOY_1_40_CRASHERS = {
    # a listener's additional_addresses entry without an address: "panic: unset oneof" at
    # source/common/network/utility.cc:489, SIGABRT (found by fuzz server --differential)
    "envoy_crash_additional_address_unset.pb_text": "SIGABRT",
    # a filter-chain matcher with an FCDS gRPC config source: SIGSEGV, faulting address 0x18
    # (found while modelling FCDS; an ADS or path source does not crash)
    "envoy_crash_fcds_grpc.pb_text": "SIGSEGV",
}


@pytest.mark.envoy
@pytest.mark.parametrize("name", sorted(ENVOY_1_40_CRASHERS))
def test_envoy_plane_reports_envoy_1_40_crashing_in_validate_mode(name: str) -> None:
    """Configs that make ``envoy --mode validate`` 1.40.0 die: the envoy plane reports each
    as an ``envoy-crash`` finding. (Kept out of the corpus: every envoy-plane run would
    stop on them.)"""
    from harness.envoy.errors import EnvoyCrash
    from harness.envoy.server import server

    crasher = Path(__file__).parent / "data" / name
    with pytest.raises(EnvoyCrash, match=ENVOY_1_40_CRASHERS[name]):
        server(parse_config(crasher.read_bytes(), "text"))


_HEADER_CHARS = st.sampled_from(list("aZ09:-.,`~\x00\x01\x08\t\n\r\x1f \x7f\x80é€"))


@given(st.text(alphabet=_HEADER_CHARS, max_size=8) | st.text(max_size=6))
@example("abc\n")
@example(":path")
def test_header_patterns_match_as_re2_does(text: str) -> None:
    """The well-known header regexes run on Python's re: the same verdict as RE2's."""
    import re2

    from harness.config.pgv_rules import _HEADER_CHECKS

    for match, pattern in _HEADER_CHECKS.values():
        assert (match(text) is not None) == (re2.search(pattern, text.encode()) is not None)
