"""The structure-aware proto mutator: every output is a valid testcase, and it really mutates."""

from __future__ import annotations

import random
from itertools import accumulate

from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.engine.corpus import parse_text_proto, to_text
from harness.engine.mutate import ProtoMutator, python_byte_mutator
from harness.proto import message_class

HEADERS = message_class("test.fuzz.Headers")
METADATA = message_class("test.fuzz.Metadata")
DATA_SOURCE = message_class("envoy.config.core.v3.DataSource")
TWO_HEADERS = b'headers { key: ":method" value: "GET" } headers { key: ":path" value: "/" }'


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), max_size=st.integers(64, 4096))
def test_mutations_always_parse_and_fit(seed: int, max_size: int) -> None:
    for cls, data in (
        (HEADERS, TWO_HEADERS),
        (METADATA, b'metadata { key: "k" value: "v" }'),
        (DATA_SOURCE, b'inline_string: "x"'),
    ):
        out = ProtoMutator(cls).mutate(data, max_size, seed)
        assert len(out) <= max_size
        assert parse_text_proto(cls, out) is not None


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), junk=st.binary(max_size=64))
def test_unparsable_input_still_yields_a_valid_testcase(seed: int, junk: bytes) -> None:
    out = ProtoMutator(HEADERS).mutate(junk, 4096, seed)
    assert parse_text_proto(HEADERS, out) is not None


def test_structural_mutations_happen() -> None:
    mutator = ProtoMutator(HEADERS)
    counts = set()
    changed_values = 0
    for seed in range(300):
        msg = parse_text_proto(HEADERS, mutator.mutate(TWO_HEADERS, 4096, seed))
        assert msg is not None
        counts.add(len(msg.headers))
        changed_values += any(h.key not in (":method", ":path") for h in msg.headers)
    assert {1, 2, 3} <= counts  # deletions and insertions/duplications
    assert changed_values > 20  # scalar (string) mutations


def test_oneof_case_switches() -> None:
    mutator = ProtoMutator(DATA_SOURCE)
    cases = set()
    for seed in range(200):
        msg = parse_text_proto(DATA_SOURCE, mutator.mutate(b'inline_string: "x"', 4096, seed))
        assert msg is not None
        cases.add(msg.WhichOneof("specifier"))
    assert len(cases) >= 3


def test_crossover_takes_parts_of_the_other_testcase() -> None:
    mutator = ProtoMutator(HEADERS)
    other = b'headers { key: "x-from-other" value: "1" }'
    hits = 0
    for seed in range(100):
        out = mutator.crossover(TWO_HEADERS, other, 4096, seed)
        msg = parse_text_proto(HEADERS, out)
        assert msg is not None
        hits += any(h.key == "x-from-other" for h in msg.headers)
    assert hits > 30


def test_outputs_are_deterministic_per_seed() -> None:
    a = ProtoMutator(HEADERS, byte_mutator=lambda d, n: d[::-1][:n])
    b = ProtoMutator(HEADERS, byte_mutator=lambda d, n: d[::-1][:n])
    assert [a.mutate(TWO_HEADERS, 4096, s) for s in range(50)] == [
        b.mutate(TWO_HEADERS, 4096, s) for s in range(50)
    ]


def test_too_large_outputs_are_trimmed_structurally() -> None:
    msg = HEADERS()
    for i in range(50):
        h = msg.headers.add()
        h.key, h.value = f"k{i}", "v" * 40
    data = to_text(msg)
    out = ProtoMutator(HEADERS).mutate(data, 600, 1)
    assert len(out) <= 600
    assert parse_text_proto(HEADERS, out) is not None


@given(st.binary(max_size=100), st.integers(1, 200), st.integers(0, 1000))
def test_python_byte_mutator_respects_max_size(data: bytes, max_size: int, seed: int) -> None:
    import random

    assert len(python_byte_mutator(data, max_size, random.Random(seed))) <= max_size


_MUTATE_A_MAP = """
import hashlib
from harness.engine.mutate import ProtoMutator
from harness.proto import message_class
data = b"".join(b'metadata { key: "k%d" value: "v%d" } ' % (i, i) for i in range(12))
m = ProtoMutator(message_class("test.fuzz.Metadata"), byte_mutator=lambda d, n: d[::-1][:n])
print(hashlib.sha1(b"".join(m.mutate(data, 4096, s) for s in range(200))).hexdigest())
"""


def test_outputs_are_deterministic_across_processes() -> None:
    """upb orders map entries differently per process (address-seeded hashing): a seed must
    still give the same output, or `-seed=N` would not reproduce a run."""
    import subprocess
    import sys

    digests = {
        subprocess.run(
            [sys.executable, "-c", _MUTATE_A_MAP], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(4)
    }
    assert len(digests) == 1


def test_repeated_field_edits_keep_every_other_element() -> None:
    """Swaps and inserts move or copy elements; nothing else in the field changes."""
    mutator = ProtoMutator(HEADERS, byte_mutator=lambda d, n: d)
    data = b"".join(b'headers { key: "k%d" value: "v" } ' % i for i in range(6))
    original = [f"k{i}" for i in range(6)]
    seen_orders = set()
    for seed in range(400):
        msg = parse_text_proto(HEADERS, mutator.mutate(data, 4096, seed))
        assert msg is not None
        keys = [h.key for h in msg.headers]
        if len(keys) == 6 and sorted(keys) == original:
            seen_orders.add(tuple(keys))
        assert set(keys) <= {*original, ""}  # copies and fresh elements only
    assert any(order != tuple(original) for order in seen_orders)  # swaps happened
    for order in seen_orders:  # a swap exchanges two elements, nothing more
        assert sum(a != b for a, b in zip(order, original, strict=True)) in (0, 2)


def _proto_targets_with_seeds() -> list[tuple[type[Message], list[bytes]]]:
    from harness import targets
    from harness.engine.corpus import iter_files

    found = []
    for target in targets.all_targets():
        if target.source != "builtin" or target.proto_name is None:
            continue
        cls = message_class(target.proto_name)
        seeds = [p.read_bytes() for p in iter_files(target.corpus)][:12]
        found.append((cls, [s for s in seeds if parse_text_proto(cls, s) is not None]))
    return found


def test_the_site_index_finds_what_a_walk_of_the_copy_finds() -> None:
    """Mutations and crossovers take sites from an index of the testcase, found again in a
    fresh copy: it must point at the messages a walk of that copy finds, for every target's
    seeds (maps, oneofs, Any payloads, deep nesting)."""
    from harness.engine import mutate

    for cls, seeds in _proto_targets_with_seeds():
        for data in seeds:
            parsed = parse_text_proto(cls, data)
            assert parsed is not None
            index = mutate._SiteIndex(parsed)
            copy = index.copy()
            walked, weights = mutate._sites(copy)
            resolved = [index.site(copy, number) for number in index.sites]
            assert [m.SerializeToString() for m in resolved] == [
                m.SerializeToString() for m in walked
            ]
            assert [m.DESCRIPTOR for m in resolved] == [m.DESCRIPTOR for m in walked]
            assert list(accumulate(weights)) == index.cum_weights
            slot_types = {
                fd.message_type.full_name
                for m in walked
                for fd in mutate._shape(m.DESCRIPTOR).slots
            }
            for name in slot_types:
                want = [
                    (m.SerializeToString(), fd.full_name)
                    for m in walked
                    for fd in mutate._shape(m.DESCRIPTOR).slots
                    if fd.message_type.full_name == name
                ]
                got = [
                    (index.site(copy, number).SerializeToString(), fd.full_name)
                    for number, fd in index.slots(name)
                ]
                assert got == want


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_mutation_through_the_index_is_the_one_a_walk_makes(seed: int) -> None:
    from harness.engine import mutate

    for cls, seeds in _proto_targets_with_seeds():
        for data in seeds[:2]:
            # one mutator each: the byte mutator of a mutator has a random state of its own
            by_walk, by_index = ProtoMutator(cls), ProtoMutator(cls)
            parsed = parse_text_proto(cls, data)
            assert parsed is not None
            index = mutate._SiteIndex(parsed)
            walked, indexed = index.copy(), index.copy()
            by_walk.mutate_message(walked, random.Random(seed))
            by_index.mutate_message(indexed, random.Random(seed), index)
            assert to_text(indexed) == to_text(walked)
            walked, indexed = index.copy(), index.copy()
            found = by_walk.mutate_any(walked, random.Random(seed))
            assert by_index.mutate_any(indexed, random.Random(seed), index) == found
            assert to_text(indexed) == to_text(walked)
            assert mutate._holds_any(cls.DESCRIPTOR) or not any(
                m.DESCRIPTOR.full_name == "google.protobuf.Any" for m in index.messages
            )


def test_a_testcase_is_indexed_from_its_second_mutation_on() -> None:
    """libFuzzer stacks mutations: a mutant seen once is not worth indexing; a corpus entry,
    mutated again and again, is (and its index stays unchanged by the mutations)."""
    mutator = ProtoMutator(HEADERS)
    assert mutator._index(TWO_HEADERS) is None
    index = mutator._index(TWO_HEADERS)
    assert index is not None and mutator._index(TWO_HEADERS) is index
    for seed in range(20):
        mutator.mutate(TWO_HEADERS, 4096, seed)
        mutator.crossover(TWO_HEADERS, TWO_HEADERS, 4096, seed)
    assert to_text(index.root) == to_text(parse_text_proto(HEADERS, TWO_HEADERS))
