"""The structure-aware proto mutator: every output is a valid testcase, and it really mutates."""

from __future__ import annotations

import hashlib
import random
from itertools import accumulate

import pytest
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
    from harness.engine import sites

    for cls, seeds in _proto_targets_with_seeds():
        for data in seeds:
            parsed = parse_text_proto(cls, data)
            assert parsed is not None
            index = sites.SiteIndex(parsed)
            copy = index.copy()
            walked, weights = sites.walk_sites(copy)
            resolved = [index.site(copy, number) for number in index.sites]
            assert [m.SerializeToString() for m in resolved] == [
                m.SerializeToString() for m in walked
            ]
            assert [m.DESCRIPTOR for m in resolved] == [m.DESCRIPTOR for m in walked]
            assert list(accumulate(weights)) == index.cum_weights
            slot_types = {name for m in walked for name in sites.shape_of(m.DESCRIPTOR).slots}
            for name in slot_types:
                want = [
                    (m.SerializeToString(), fd.full_name)
                    for m in walked
                    for fd in m.DESCRIPTOR.fields
                    if fd.type == fd.TYPE_MESSAGE
                    and fd.message_type.full_name == name
                    and not fd.message_type.GetOptions().map_entry
                ]
                got = [
                    (index.site(copy, number).SerializeToString(), fd.full_name)
                    for number, fd in index.slots(name)
                ]
                assert got == want


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_mutation_through_the_index_is_the_one_a_walk_makes(seed: int) -> None:
    from harness.engine import sites

    for cls, seeds in _proto_targets_with_seeds():
        for data in seeds[:2]:
            # one mutator each: the byte mutator of a mutator has a random state of its own
            by_walk, by_index = ProtoMutator(cls), ProtoMutator(cls)
            parsed = parse_text_proto(cls, data)
            assert parsed is not None
            index = sites.SiteIndex(parsed)
            walked, indexed = index.copy(), index.copy()
            by_walk.mutate_message(walked, random.Random(seed))
            by_index.mutate_message(indexed, random.Random(seed), index)
            assert to_text(indexed) == to_text(walked)
            walked, indexed = index.copy(), index.copy()
            found = by_walk.mutate_any(walked, random.Random(seed))
            assert by_index.mutate_any(indexed, random.Random(seed), index) == found
            assert to_text(indexed) == to_text(walked)
            assert sites.holds_any(cls.DESCRIPTOR) or not any(
                m.DESCRIPTOR.full_name == "google.protobuf.Any" for m in index.messages
            )


def test_a_corpus_entry_is_indexed_once_and_its_index_never_changes() -> None:
    """Corpus entries are mutated and crossed over again and again: their sites are found
    once, and mutating copies of them leaves the kept index as it was."""
    mutator = ProtoMutator(HEADERS)
    index = mutator._index(TWO_HEADERS)
    assert mutator._index(TWO_HEADERS) is index
    for seed in range(20):
        mutator.mutate(TWO_HEADERS, 4096, seed)
        mutator.crossover(TWO_HEADERS, TWO_HEADERS, 4096, seed)
    assert to_text(index.root) == to_text(parse_text_proto(HEADERS, TWO_HEADERS))
    assert mutator._index(TWO_HEADERS) is index


def test_the_next_mutation_starts_from_the_last_mutant_without_a_parse() -> None:
    """libFuzzer stacks mutations, each on the last output: that one is not parsed, copied
    or walked again (its message and index are the mutator's), and not kept as an entry."""
    mutator = ProtoMutator(HEADERS)
    out = mutator.mutate(TWO_HEADERS, 4096, 1)
    assert mutator._last is not None and mutator._last[0] == out
    made = mutator._last[1]
    assert mutator._working_copy(out)[0] is made
    assert out not in mutator._indexes
    assert out not in mutator.cache._entries  # the message is the mutator's again
    assert mutator._last is None


def test_a_mutant_libfuzzer_moved_on_from_keeps_its_sites_for_its_next_use() -> None:
    """After new coverage libFuzzer mutates another input, and the mutant is a corpus entry:
    when it is mutated or crossed over later, its sites are those it was made with (no
    parse, copy or walk), the sites a fresh walk of it finds, and the message is as made."""
    from harness.engine import sites

    mutator = ProtoMutator(HEADERS)
    out = mutator.mutate(TWO_HEADERS, 4096, 1)
    assert mutator._last is not None
    made, index = mutator._last[1], mutator._last[2]
    mutator.mutate(TWO_HEADERS, 4096, 2)  # libFuzzer moved on
    assert mutator._index(out) is index and index.root is made
    fresh = sites.SiteIndex(parse_text_proto(HEADERS, out))
    assert [to_text(m) for m in index.messages] == [to_text(m) for m in fresh.messages]
    assert (index.links, index.cum_weights) == (fresh.links, fresh.cum_weights)
    for seed in range(10):
        mutator.mutate(out, 4096, seed)
        mutator.crossover(TWO_HEADERS, out, 4096, seed)
    assert to_text(made) == out and mutator._index(out) is index


def _stacked_stream(mutator: ProtoMutator, corpus: list[bytes], calls: int) -> str:
    """A digest of the outputs of libFuzzer's use of the hooks: from a corpus entry, up to 5
    mutations or crossovers, each on the last output (run by the decoder in between)."""
    rng = random.Random(7)
    corpus = list(corpus)
    digest = hashlib.sha1()
    done = 0
    while done < calls:
        data = rng.choice(corpus)
        for _ in range(5):
            if rng.random() < 0.5:
                out = mutator.mutate(data, 4096, rng.getrandbits(32))
            else:
                out = mutator.crossover(data, rng.choice(corpus), 4096, rng.getrandbits(32))
            done += 1
            digest.update(out + b"|")
            mutator.cache.parse(out)
            if not out:
                break
            data = out
            if rng.random() < 0.05:  # new coverage: a corpus entry, and a fresh start
                corpus.append(out)
                break
    return digest.hexdigest()


def _stream_mutator(cls: type[Message]) -> ProtoMutator:
    byte_rng = random.Random(42)
    return ProtoMutator(cls, byte_mutator=lambda d, n: python_byte_mutator(d, n, byte_rng))


# The digests of `_stacked_stream` (600 calls) over each target's first 12 seeds, made by
# the mutator before its index followed changes (a7e8463): the same random stream must give
# the same mutants.
_STREAM_DIGESTS = {
    "envoy.config.bootstrap.v3.Bootstrap": "e1dea0c1a68fcb9efd890f0e1e6b3af3b64c643e",
    "test.common.http.CodecImplFuzzTestCase": "bde9d813ef5e1636a0aa1ba76a3578b6daf77d94",
    "test.common.http.HeaderMapImplFuzzTestCase": "e5fe33b8763bc27ce2dfde4a0d27a39c18ad7738",
    "test.common.http.PathUtilityTestCase": "298d63aabc7fc5e96ce4abb7aa5cbf1989b2792f",
    "test.common.http.UtilityTestCase": "e4b4c5aa7e5fc6338d7463cd54a190b6c7fac993",
    "test.common.http.http1.Http1CodecImplFuzzTestCase": "457ca4fc6760dd1de136c41b3fbecfac8bd8710e",
    "test.common.http.http2.HpackTestCase": "a6d9e20f5f034944d88eefccd278c35a1a325501",
    "test.common.http.http2.Http2ConnectionFuzzCase": "9fc8264aa8ba5cd4cc0ffbc085d17b9f444d9c5d",
    "test.integration.CaptureFuzzTestCase": "c7b935e58a79ee5b15821624b33158738a7deddb",
    "test.integration.h2.H2CaptureFuzzTestCase": "ac0840dc0673e175f84c67152df0c0b15f2c0ae8",
}


_STREAM = """
import json
from tests.test_mutate import _proto_targets_with_seeds, _stacked_stream, _stream_mutator
print(json.dumps({
    cls.DESCRIPTOR.full_name: _stacked_stream(_stream_mutator(cls), seeds, 600)
    for cls, seeds in _proto_targets_with_seeds() if seeds
}))
"""


def test_the_mutants_of_a_stacked_stream_are_the_ones_the_walking_mutator_made() -> None:
    """In a fresh process: which Any payload types the mutator can unpack depends on the
    schemas a process has loaded (the config tests load more), so a run after other tests
    may mutate Bootstrap's Any payloads where a fresh one leaves them."""
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "-c", _STREAM], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == _STREAM_DIGESTS


def test_an_index_that_follows_changes_is_a_fresh_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index kept up to date through a stream of changes (subtrees walked again, the
    sites after them renumbered) holds what a walk of the testcase finds afresh."""
    from harness.engine import sites

    monkeypatch.setattr(sites, "SMALL", 0)  # small testcases too: no whole re-walks
    for cls, seeds in _proto_targets_with_seeds():
        mutator = _stream_mutator(cls)
        rng = random.Random(3)
        for data in seeds:
            for _ in range(30):
                seed = rng.getrandbits(32)
                if rng.random() < 0.5:
                    data = mutator.mutate(data, 4096, seed)
                else:
                    data = mutator.crossover(data, rng.choice(seeds), 4096, seed)
                last = mutator._last
                if last is None:
                    continue
                _, msg, index = last
                index.sync()
                fresh = sites.SiteIndex(msg)
                assert index.messages == fresh.messages  # the same objects, in order
                assert index.links == fresh.links
                assert index.cum_weights == fresh.cum_weights
                assert index.sizes in (None, sites.subtree_sizes(fresh.links))
