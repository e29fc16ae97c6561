"""YAML configs built straight from libyaml's nodes give what the document path gives.

``yamlproto.parse_yaml`` fills the message from the node tree, resolving tags as it reads
them; the reference is the path it replaced: ``yamlproto.load_yaml`` (PyYAML's document),
then ``dictproto``/``json_format``. Both run through ``parse_config`` and must agree on the
message or on the error's words, on the observed table, YAML edge cases, the table with its
scalars swapped for tricky YAML ones, and Envoy's corpus and its mutants dumped as YAML.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format, message
from hypothesis import given
from hypothesis import strategies as st

from harness import targets
from harness.config import yamlproto
from harness.config.load import ConfigParseError, bootstrap_class, parse_config
from harness.engine.corpus import iter_files, parse_text_proto, to_text
from harness.engine.mutate import ProtoMutator

TABLE = Path(__file__).parent / "data" / "config_cases"
# scalars PyYAML resolves to something other than a string, or nearly does
TRICKY = [
    "y", "N", "yes", "Off", "~", "null", "", "0x1f", "0o17", "017", "1_000", "1:20", "-1",
    "+1", ".inf", "-.Inf", ".nan", "1e3", "1.5", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "'y'", '"1"', "!!str 5", "!!int '7'", "!!binary aGVsbG8=", "!custom x", "[]", "{}",
    "[a, b]", "{a: 1}", "= ", "<<", "true", "TRUE", "tRuE", "0", "1s", "'1s'", "10.5s",
]  # fmt: skip
EDGES = [
    "admin: {address: {socket_address: {address: '::', port_value: 1}}}\n",
    "node: {id: y}\n",
    "node: {id: 'y', cluster: n}\n",
    "node: {id: a}\nnode: {id: b}\n",
    "node: {id: a, id: b}\n",
    "node: &n {id: a}\ndynamic_resources: {}\nadmin: *n\n",
    "base: &b {id: a}\nnode:\n  <<: *b\n",
    "node: ~\n",
    "node:\n",
    "stats_flush_interval: 5s\n",
    "stats_flush_interval: 5\n",
    "stats_flush_interval: !!str 5s\n",
    "layered_runtime: {layers: [{name: a, static_layer: {k: [1, y, ~, {x: 2001-12-14}]}}]}\n",
    "layered_runtime: {layers: [{name: a, static_layer: &s {k: *s}}]}\n",
    "node: {metadata: {a: 1}, user_agent_build_version: {version: {major_number: y}}}\n",
    "static_resources: {clusters: [{name: c, typed_extension_protocol_options: "
    "{a: {'@type': type.googleapis.com/google.protobuf.Struct}}}]}\n",
    "static_resources: {clusters: [{name: c, metadata: {filter_metadata: {a: {}, a: {x: 1}}}}]}\n",
    "static_resources: {listeners: [{name: l, filter_chains: [{filters: [{name: f, "
    "typed_config: {'@type': a, '@type': b}}]}]}]}\n",
    "!!map {node: {id: a}}\n",
    "!custom {node: {id: a}}\n",
    "node: {id: !!map x}\n",
    "watchdog: {miss_timeout: 2001-13-45}\n",
    "- node\n",
    "plain\n",
    "",
    "node: {id: a}\n---\nnode: {id: b}\n",
    "node: {id: [a]}\n",
    "node: {locality: [{zone: a}]}\n",
    "overload_manager: {actions: [~]}\n",
    "static_resources: {clusters: [{name: c, type: .inf}]}\n",  # json_format: OverflowError
] + [
    "static_resources: {listeners: [{name: l, filter_chains: [{filters: [{name: f, "
    f"typed_config: {{'@type': type.googleapis.com/google.protobuf.{any_value}}}}}]}}]}}]}}\n"
    for any_value in (
        "StringValue, value: fc",
        "StringValue, value: 5",
        "StringValue",
        "StringValue, value: ~",
        "StringValue, value: a, other: b",
        "UInt32Value, value: 5",
        "BoolValue, value: y",
        "Empty",
        "Empty, x: 1",
        "Struct, value: {a: 1}",
        "Duration, value: 1s",
    )
]


def _outcome(text: str) -> message.Message | str:
    try:
        return parse_config(text.encode(), "yaml")
    except ConfigParseError as e:
        return f"error: {e}"


def _fast(text: str, monkeypatch: pytest.MonkeyPatch) -> message.Message | str:
    with monkeypatch.context():  # as deep in the stack as _reference: RecursionError's words
        return _outcome(text)  # depend on where the limit is met


def _reference(text: str, monkeypatch: pytest.MonkeyPatch) -> message.Message | str:
    """What parse_config gave before the node path: the document, then dictproto."""
    with monkeypatch.context() as m:
        m.setattr(yamlproto, "parse_yaml", lambda t, _msg: (False, yamlproto.load_yaml(t)))
        return _outcome(text)


def _swapped(texts: list[str], count: int) -> Iterator[str]:
    """The table's YAML with random plain scalars after ``key:`` replaced by tricky ones."""
    rng = random.Random(11)
    value = re.compile(r"^(\s*-?\s*[\w@\"']+: )(\S.*)$", re.M)
    for _ in range(count):
        text = rng.choice(texts)
        spots = list(value.finditer(text))
        if not spots:
            continue
        for _ in range(rng.randint(1, 3)):
            if not spots:  # a swap can end the last match (flow-style maps)
                break
            spot = rng.choice(spots)
            text = text[: spot.start(2)] + rng.choice(TRICKY) + text[spot.end(2) :]
            spots = list(value.finditer(text))
        yield text


def _corpus_yaml(mutants: int) -> Iterator[str]:
    cls = bootstrap_class()
    seeds = [
        m for p in iter_files(targets.get("server").corpus / "envoy")
        if (m := parse_text_proto(cls, p.read_bytes())) is not None
    ]  # fmt: skip
    rng = random.Random(4)
    mutator = ProtoMutator(cls)
    msgs = list(seeds)
    for _ in range(mutants):
        data = mutator.mutate(to_text(rng.choice(seeds)), 1 << 16, rng.randrange(1 << 30))
        if (mutant := parse_text_proto(cls, data)) is not None:
            msgs.append(mutant)
    for i, msg in enumerate(msgs):
        try:
            d = json_format.MessageToDict(msg, preserving_proto_field_name=bool(i % 2))
        except (TypeError, ValueError, message.Error, json_format.Error):
            continue
        yield yaml.safe_dump(json.loads(json.dumps(d)))


def _table() -> list[str]:
    return [p.read_text() for p in sorted(TABLE.glob("*.yaml"))]


@pytest.mark.parametrize("text", EDGES)
def test_edges_equal_the_document_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _fast(text, monkeypatch) == _reference(text, monkeypatch)


def test_table_swapped_and_corpus_equal_the_document_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = _table()
    plain = table + list(_corpus_yaml(150))
    swapped = list(_swapped(table, 400))
    fast = {"plain": 0, "swapped": 0}
    for kind, texts in (("plain", plain), ("swapped", swapped)):
        for text in texts:
            try:
                fast[kind] += yamlproto.parse_yaml(text, bootstrap_class()())[0]
            except yaml.YAMLError:
                pass  # the document path's error (the comparison below sees it)
            assert _fast(text, monkeypatch) == _reference(text, monkeypatch), text
    # not vacuous: the node path answers most plain configs, and gives up on some swapped
    assert fast["plain"] >= 0.8 * len(plain), (fast, len(plain))
    assert 0 < fast["swapped"] < len(swapped), (fast, len(swapped))


def test_deferred_tags_resolve_as_pyyaml_does() -> None:
    """Every node's tag, resolved late, is the one PyYAML's composer gives it."""
    for text in _table() + EDGES[:17] + [f"k: {t}\n" for t in TRICKY if t != "<<"]:
        try:
            eager = yaml.compose(text, yamlproto.EnvoyYamlLoader)
        except yaml.YAMLError:
            continue
        loader = yamlproto._DeferredLoader(text)
        try:
            late = loader.get_single_node()
        finally:
            loader.dispose()
        if eager is None:
            assert late is None
            continue
        yamlproto._resolve_all(late, loader)
        assert _tags(late) == _tags(eager), text


def _tags(node: yaml.Node, depth: int = 0) -> object:
    if depth > 20:
        return "..."
    if isinstance(node, yaml.ScalarNode):
        return (node.tag, node.value)
    if isinstance(node, yaml.SequenceNode):
        return (node.tag, [_tags(n, depth + 1) for n in node.value])
    return (node.tag, [(_tags(k, depth + 1), _tags(v, depth + 1)) for k, v in node.value])


@given(st.from_regex(r"[0-9_]{1,8}|0[0-9]{0,3}|[1-9][0-9]{0,20}", fullmatch=True))
def test_plain_digits_are_what_pyyaml_makes_them(digits: str) -> None:
    """_scalar's shortcut for plain decimal ints gives PyYAML's value (and leaves octal,
    underscores and the like to PyYAML's resolvers)."""
    loader = yamlproto._DeferredLoader(f"k: {digits}\n")
    try:
        node = loader.get_single_node()
        assert node is not None
        value = yamlproto._scalar(node.value[0][1], loader)
    finally:
        loader.dispose()
    assert value == yaml.load(f"k: {digits}\n", yamlproto.EnvoyYamlLoader)["k"]
    assert type(value) is type(yaml.load(f"k: {digits}\n", yamlproto.EnvoyYamlLoader)["k"])
