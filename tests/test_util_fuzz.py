"""The utility fuzz targets: registry rows, every corpus file (Envoy's included) and
structured random inputs run through the run functions without a finding."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import targets
from harness.engine.corpus import Decoder, iter_files
from harness.oracle import InvariantViolation
from harness.proto import message_class
from harness.util import fuzz

TARGETS = ("string_utility", "base64", "http_utility", "path_utility", "header_map")
# Files of Envoy's corpora that are not text protos at all (libprotobuf-mutator skips them too).
UNPARSABLE = {"percent_decoding_string_0", "valid"}


@pytest.mark.parametrize("name", TARGETS)
def test_corpus_replays_clean(name: str) -> None:
    target = targets.get(name)
    decoder = Decoder(target)
    run = target.run_function()
    files = list(iter_files(target.corpus))
    assert len([f for f in files if "envoy" not in f.parts]) >= 5
    for f in files:
        value = decoder.decode(f.read_bytes())
        if value is None:
            assert f.name in UNPARSABLE, f
            continue
        run(value)


def test_envoy_corpora_copied_unchanged() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "envoy-corpora"
    if not shared.is_dir():
        pytest.skip("no Envoy corpora beside the checkout")
    for name in ("http_utility", "path_utility", "header_map"):
        for folder in targets.get(name).envoy_corpora:
            for src in (shared / folder).iterdir():
                assert (
                    targets.get(name).corpus / "envoy" / src.name
                ).read_bytes() == src.read_bytes()


def test_oracles_can_fail() -> None:
    # A broken header map must be caught by the per-action invariants.
    from harness.util.header_map import HeaderMap

    h = HeaderMap()
    h.add_copy(b"a", b"b")
    h._byte_size += 1
    with pytest.raises(InvariantViolation):
        fuzz._check_header_map(h)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=64))
def test_bytes_targets_never_raise(data: bytes) -> None:
    fuzz.run_string_utility(data)
    fuzz.run_base64(data)


_TEXT = st.text(
    alphabet=st.sampled_from(list('ab/.%2eE?#&=;: "\\,0123456789[]\x00\n~\u00e9')), max_size=16
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [
            "parse_query_string",
            "extract_host_path_from_uri",
            "percent_encoding_string",
            "percent_decoding_string",
            "find_query_string",
            "parse_authority_string",
        ]
    ),
    _TEXT,
)
def test_http_utility_string_cases(field: str, text: str) -> None:
    msg = message_class("test.common.http.UtilityTestCase")()
    setattr(msg, field, text)
    fuzz.run_http_utility(msg)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([":path", ":PATH", "", "x"]), _TEXT), max_size=3), _TEXT)
def test_path_utility_cases(headers: list[tuple[str, str]], text: str) -> None:
    cls = message_class("test.common.http.PathUtilityTestCase")
    for which in ("canonical_path", "merge_slashes"):
        msg = cls()
        for key, value in headers:
            getattr(msg, which).request_headers.headers.add(key=key, value=value)
        getattr(msg, which).SetInParent()
        fuzz.run_path_utility(msg)
    msg = cls()
    msg.remove_query_and_fragment.path = text
    fuzz.run_path_utility(msg)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 12), st.sampled_from([":path", "Cookie", "x-a", "x-A", "te", ""]), _TEXT
        ),
        max_size=30,
    )
)
def test_header_map_action_sequences(actions: list[tuple[int, str, str]]) -> None:
    msg = message_class("test.common.http.HeaderMapImplFuzzTestCase")()
    for kind, key, value in actions:
        a = msg.actions.add()
        if kind == 0:
            a.add_reference.key, a.add_reference.value = key, value
        elif kind == 1:
            a.add_reference_key.key, a.add_reference_key.uint64_value = key, len(value)
        elif kind == 2:
            a.add_copy.key, a.add_copy.string_value = key, value
        elif kind == 3:
            a.set_reference.key, a.set_reference.value = key, value
        elif kind == 4:
            a.set_reference_key.key, a.set_reference_key.value = key, value
        elif kind == 5:
            a.copy.SetInParent()
        elif kind == 6:
            a.remove = key
        elif kind == 7:
            a.remove_prefix = key[:1]
        elif kind == 8:
            a.get.key = key
        elif kind == 9:
            a.mutate_and_move.key, a.mutate_and_move.append = key, value
        elif kind == 10:
            a.mutate_and_move.key, a.mutate_and_move.set_integer = key, len(value)
        elif kind == 11:
            a.append.key, a.append.value = key, value
        else:
            a.lookup = key
    fuzz.run_header_map(msg)
