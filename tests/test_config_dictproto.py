"""The fast dict-to-proto path gives json_format's message whenever it answers at all.

``harness.config.dictproto.parse_dict`` either fills the message exactly as
``json_format.ParseDict`` would, or raises ``Unsupported`` (then ``load.parse_config`` asks
json_format). Held on the observed table's YAML/JSON configs and on Envoy's server corpus
and its structure-aware mutants turned into dicts, in both JSON and proto field names.
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
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import targets
from harness.config import dictproto
from harness.config.load import ConfigParseError, bootstrap_class, parse_config
from harness.engine.corpus import iter_files, parse_text_proto, to_text
from harness.engine.mutate import ProtoMutator

TABLE = Path(__file__).parent / "data" / "config_cases"


def _table_dicts() -> Iterator[tuple[str, object]]:
    for path in sorted(TABLE.iterdir()):
        if path.suffix in (".yaml", ".json"):
            try:
                loaded = yaml.safe_load(path.read_text())
            except yaml.YAMLError:
                continue
            if isinstance(loaded, dict):
                yield path.name, loaded


def _corpus_dicts(mutants: int) -> Iterator[tuple[str, object]]:
    cls = bootstrap_class()
    seeds = []
    for path in iter_files(targets.get("server").corpus / "envoy"):
        msg = parse_text_proto(cls, path.read_bytes())
        if msg is not None:
            seeds.append((path.name, msg))
    rng = random.Random(3)
    mutator = ProtoMutator(cls)
    for i in range(mutants):
        name, msg = rng.choice(seeds)
        data = mutator.mutate(to_text(msg), 1 << 16, rng.randrange(1 << 30))
        mutant = parse_text_proto(cls, data)
        if mutant is not None:
            seeds.append((f"{name}~{i}", mutant))
    for name, msg in seeds:
        for proto_names in (False, True):
            try:
                d = json_format.MessageToDict(msg, preserving_proto_field_name=proto_names)
            except (TypeError, ValueError, message.Error, json_format.Error):
                continue  # an Any json_format cannot print: no dict to compare
            yield f"{name}{'/proto' if proto_names else ''}", json.loads(json.dumps(d))


def _both(doc: object) -> tuple[message.Message | None, message.Message | None, str | None]:
    cls = bootstrap_class()
    fast: message.Message | None = cls()
    try:
        dictproto.parse_dict(doc, fast)
    except dictproto.Unsupported:
        fast = None
    slow: message.Message | None = cls()
    error = None
    try:
        json_format.ParseDict(doc, slow)
    except (json_format.ParseError, KeyError) as e:  # KeyError: an Any's missing "value"
        slow, error = None, str(e)
    return fast, slow, error


@pytest.mark.parametrize("source", ["table", "corpus"])
def test_fast_path_equals_json_format(source: str) -> None:
    docs = list(_table_dicts() if source == "table" else _corpus_dicts(150))
    answered = 0
    for name, doc in docs:
        fast, slow, error = _both(doc)
        if fast is None:
            continue
        answered += 1
        assert slow is not None, f"{name}: fast path accepted what json_format rejects: {error}"
        assert fast == slow, f"{name}: fast path built a different message"
    # not vacuous: the fast path answers most configs
    assert answered >= 0.6 * len(docs), (answered, len(docs))


def test_shapes_left_to_json_format_get_its_answer() -> None:
    """A field given by both its names (json_format takes both) and a oneof given twice
    (json_format refuses): the fast path gives up, and the answer is json_format's."""
    twice = b'{"static_resources": {"clusters": [{"name": "a"}]}, "staticResources": {}}'
    one_of_twice = (
        b'{"admin": {"address": {"socket_address": {"address": "::", "port_value": 1},'
        b' "pipe": {"path": "/x"}}}}'
    )
    for data in (twice, one_of_twice):
        with pytest.raises(dictproto.Unsupported):
            dictproto.parse_dict(json.loads(data), bootstrap_class()())
    expected = bootstrap_class()()
    json_format.ParseDict(json.loads(twice), expected)
    assert parse_config(twice, "json") == expected
    with pytest.raises(ConfigParseError, match=r"ParseError.*oneof"):
        parse_config(one_of_twice, "json")


_ANY_CASES: list[tuple[str, dict[str, object]]] = [
    ("StringValue", {"value": "fc"}), ("StringValue", {"value": 5}), ("StringValue", {}),
    ("StringValue", {"value": "a", "other": "b"}), ("UInt32Value", {"value": 7}),
    ("BoolValue", {"value": True}), ("Int64Value", {"value": "7"}), ("Empty", {}),
    ("Empty", {"x": 1}), ("Struct", {"value": {"a": 1}}), ("Duration", {"value": "1s"}),
]  # fmt: skip
ANY_DOCS = [
    {"@type": f"type.googleapis.com/google.protobuf.{name}", **rest} for name, rest in _ANY_CASES
]


@pytest.mark.parametrize("any_doc", ANY_DOCS)
def test_well_known_any_payloads_equal_json_format(any_doc: dict[str, object]) -> None:
    """An Any of a wrapper takes its "value" key (the fast path builds it), one of Empty its
    other keys as fields (likewise); Struct, Duration, ... stay json_format's."""
    doc = {
        "static_resources": {
            "listeners": [{"name": "l", "filter_chains": [
                {"filters": [{"name": "f", "typed_config": any_doc}]}
            ]}]
        }
    }  # fmt: skip
    fast, slow, error = _both(doc)
    if fast is not None:
        assert slow is not None, error
        assert fast == slow
    answered = any_doc in ANY_DOCS[:1] + ANY_DOCS[4:6] + ANY_DOCS[7:8]
    assert (fast is not None) == answered


YAML_EDGES = [
    "a: y\nb: N\nc: yes\nd: 0x1f\ne: 1_000\nf: 1:20\ng: .inf\nh: ~\n",
    "when: 2001-12-14\nraw: !!binary aGVsbG8=\n",
    "base: &b {x: 1, y: [1, 2]}\nuse: *b\nmerged:\n  <<: *b\n  z: 3\n",
    "? [1, 2]\n: unhashable\n",
    "a: !custom 1\n",
    "a: !!map x\n",
    "a: [!!seq '', !!set y]\n",
    "k: 1\nk: 2\n",
    "",
    "- 1\n- two\n",
]


@pytest.mark.parametrize("text", YAML_EDGES + [p.read_text() for p in sorted(TABLE.glob("*.yaml"))])
def test_fast_yaml_equals_pyyaml(text: str) -> None:
    """yamlproto.load_yaml builds what PyYAML's constructor builds, or fails as it fails."""
    from harness.config import yamlproto

    try:
        expected: object = yaml.load(text, yamlproto.EnvoyYamlLoader)
    except yaml.YAMLError as e:
        with pytest.raises(yaml.YAMLError) as caught:
            yamlproto.load_yaml(text)
        assert str(caught.value) == str(e)
        return
    assert yamlproto.load_yaml(text) == expected


def _texts(mutants: int) -> list[tuple[str, str]]:
    cls = bootstrap_class()
    out = [(p.name, p.read_text()) for p in sorted(TABLE.glob("*.pb_text"))]
    seeds = [(p.name, p.read_bytes()) for p in iter_files(targets.get("server").corpus / "envoy")]
    out += [(n, d.decode("utf-8", "replace")) for n, d in seeds]
    rng = random.Random(5)
    mutator = ProtoMutator(cls)
    for i in range(mutants):
        name, data = rng.choice(seeds)
        out.append((f"{name}~{i}", mutator.mutate(data, 1 << 16, rng.randrange(1 << 30)).decode()))
    return out


TEXT_EDGES = [
    'node { id: "a" "b" cluster: \'c\\x41\\n\' } stats_flush_interval < seconds: 0x10 >',
    "static_resources: { clusters: [ { name: 'a' }, { name: 'b' } ] }; admin {}",
    "# a comment\nnode { id: 'x' } # and another\n",
    "node { id: 'x' } node { id: 'y' }",
    "stats_flush_interval { seconds: 010 }",
    "watchdog { miss_timeout { seconds: -5 } }",
    "layered_runtime { layers { name: 'a' static_layer { fields { key: 'k' "
    "value { number_value: 1.5e3 } } } } }",
    "enable_dispatcher_stats: t",
    "stats_config { stats_matcher { reject_all: true } }",
    "unknown_field: 1",
    "node {\n  id: 'a'\n\tlocality { zone: 'z' }  hosts { }\n}",
    "static_resources {\n  clusters { name: 'c' } # hosts\n  clusters { tls_context {} } }",
    "node { id: 'a' bogus-name: 1 }",
    "node { id: 'a' Metadata { } }",
    "node { id: '\\xff' }",
]


@pytest.mark.parametrize("text", TEXT_EDGES)
def test_fast_text_edges_equal_text_format(text: str) -> None:
    _check_text("edge", text)


def test_fast_text_equals_text_format_on_corpus_and_mutants() -> None:
    texts = _texts(200)
    answered = sum(_check_text(name, text) for name, text in texts)
    assert answered >= 0.8 * len(texts), (answered, len(texts))


def test_unknown_field_is_the_fast_paths_error() -> None:
    """A name the message lacks: the fast path raises text_format's error itself (line and
    column of the name), where it used to hand the whole text to text_format."""
    from google.protobuf import text_format

    from harness.config import textproto

    text = "node {\n  id: 'a'\n\tlocality { zone: 'z' }  hosts { }\n}"
    with pytest.raises(text_format.ParseError) as caught:
        textproto.parse_text(text, bootstrap_class()())
    assert str(caught.value) == (
        '3:26 : Message type "envoy.config.core.v3.Node" has no field named "hosts".'
    )
    with pytest.raises(ConfigParseError, match=r'^ParseError: 3:26 : Message type "envoy'):
        parse_config(text.encode(), "text")


def _check_text(name: str, text: str) -> bool:
    """Whether the fast path answered; when it did, it equals text_format."""
    from google.protobuf import text_format

    from harness.config import load, textproto

    load._import_named_types(text)  # as parse_config does: text_format needs the types
    cls = bootstrap_class()
    fast = cls()
    fast_error = None
    try:
        textproto.parse_text(text, fast)
    except textproto.Unsupported:
        return False
    except text_format.ParseError as e:  # the fast path's own: an unknown field name
        fast_error = str(e)
    slow = cls()
    try:
        text_format.Parse(text, slow)
    except text_format.ParseError as e:
        assert fast_error is not None, f"{name}: fast path accepted what text_format rejects: {e}"
        assert fast_error == str(e), f"{name}: fast path's error differs"
        return True
    assert fast_error is None, f"{name}: fast path rejected what text_format takes: {fast_error}"
    assert fast == slow, f"{name}: fast path built a different message"
    return True


# The tokenizer before possessive repetitions (a token in group 1, a bad character in 2)
_OLD_TOKEN = re.compile(
    r"""(?:\s|\#[^\n]*)*+(?:
      ( [A-Za-z_][A-Za-z0-9_]*
      | -?(?:0[xX][0-9a-fA-F]+|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
        (?![A-Za-z0-9_.])
      | "(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'
      | [{}<>:\[\],;/.]
      )
    | (.)
    | \Z
    )""",
    re.X,
)


def _old_tokens(text: str) -> list[str] | None:
    found, bad = zip(*_OLD_TOKEN.findall(text), strict=True)
    if any(bad):
        return None
    end = len(found)
    while end and not found[end - 1]:
        end -= 1
    return list(found[:end])


def _new_tokens(text: str) -> list[str] | None:
    from harness.config import textproto

    try:
        return textproto._tokens(text)
    except textproto.Unsupported:
        return None


@settings(max_examples=400)
@given(
    st.text(alphabet=st.sampled_from(list("aZ_09xXeE.+-{}<>:[],;/#\"'\\ \n\t@\x01")), max_size=60)
)
def test_tokenizer_equals_the_backtracking_one(text: str) -> None:
    assert _new_tokens(text) == _old_tokens(text)


def test_tokenizer_equals_the_backtracking_one_on_corpus_and_mutants() -> None:
    texts = [text for _, text in _texts(100)] + TEXT_EDGES
    for text in texts:
        assert _new_tokens(text) == _old_tokens(text), text
    assert sum(_new_tokens(t) is None for t in texts) < len(texts) / 2  # mostly tokenized


@given(st.text().filter(lambda t: "\\" not in t))
def test_text_without_escapes_unescapes_to_its_utf8(text: str) -> None:
    """textproto's shortcut past text_encoding.CUnescape for a string with no backslash."""
    from google.protobuf import text_encoding

    assert text_encoding.CUnescape(text) == text.encode("utf-8")
