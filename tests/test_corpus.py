"""The corpus store: libprotobuf-mutator-like parsing, content addressing, atomic writes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.engine import corpus
from harness.proto import common_pb2, message_class


def test_text_proto_parses_partial_messages_and_skips_unknown_fields() -> None:
    data = b'headers { key: "a" value: "b" } no_such_field: 3 other { nested: "x" }'
    msg = corpus.parse_text_proto(common_pb2.Headers, data)
    assert msg is not None
    assert [(h.key, h.value) for h in msg.headers] == [("a", "b")]


@pytest.mark.parametrize("data", [b"headers {", b"\xff\xfe", b"headers { key: 3 }", b"}}"])
def test_unparsable_text_is_none_not_an_exception(data: bytes) -> None:
    assert corpus.parse_text_proto(common_pb2.Headers, data) is None


def test_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    first = corpus.store(tmp_path, b"GET / HTTP/1.1\r\n\r\n")
    again = corpus.store(tmp_path, b"GET / HTTP/1.1\r\n\r\n")
    assert first == again
    assert first.name == corpus.sha1(b"GET / HTTP/1.1\r\n\r\n")
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


def test_write_atomic_leaves_no_temp_file_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(corpus.os, "fsync", disk_full)
    with pytest.raises(OSError):
        corpus.write_atomic(tmp_path / "x", b"abc")
    assert list(tmp_path.iterdir()) == []


def test_iter_files_skips_sidecars_notes_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "regressions").mkdir()
    (tmp_path / "regressions" / "crash-1").write_bytes(b"x")
    (tmp_path / "regressions" / "crash-1.json").write_text("{}")
    (tmp_path / ".tmp-123").write_bytes(b"partial")
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "seed").write_bytes(b"y")
    names = [p.relative_to(tmp_path).as_posix() for p in corpus.iter_files(tmp_path)]
    assert names == ["seed", "regressions/crash-1"]


def targets_with_readers() -> list[Any]:
    from harness import targets

    return [t for t in targets.all_targets() if t.reads_input]


def test_parsed_cache_hands_out_copies() -> None:
    cache = corpus.ParsedCache(common_pb2.Headers)
    data = b'headers { key: "a" value: "b" }'
    first = cache.parse(data)
    assert first is not None
    first.headers[0].key = "changed"
    second = cache.parse(data)
    assert second is not None and second.headers[0].key == "a"


def test_a_worker_hands_a_target_that_only_reads_its_input_the_cached_message() -> None:
    from harness import targets
    from harness.engine import runner

    target = targets.get("h2_capture")
    assert "model" in target.reads_input and "envoy" not in target.reads_input
    data = b"events { downstream_send_event { h2_frames { settings { } } } }"
    shared = corpus.Decoder(target, shared=True)
    assert shared.decode(data) is shared.decode(data)
    own = corpus.Decoder(target)
    assert own.decode(data) is not own.decode(data)
    seen: list[object] = []
    spy = replace(target, _functions={"model": seen.append, "envoy": seen.append})
    runner.test_one_input(spy, None)(data)
    runner.test_one_input(spy, None)(data)
    assert seen[0] is seen[1]  # the model plane: the cached message itself
    runner.test_one_input(spy, "envoy")(data)
    assert seen[2] is not seen[0] and seen[2] == seen[0]  # the envoy plane: a copy


@pytest.mark.parametrize(
    "name", [t.name for t in targets_with_readers()], ids=lambda name: str(name)
)
def test_a_target_said_to_only_read_its_input_leaves_it_as_it_was(name: str) -> None:
    """Each plane in ``reads_input`` (handed the parse cache's own message) on every seed:
    the message is unchanged afterwards."""
    from harness import targets

    target = targets.get(name)
    for plane in target.reads_input:
        run = target.run_function(plane)
        for path in corpus.iter_files(target.corpus):
            msg = corpus.Decoder(target, cached=False).decode(path.read_bytes())
            if msg is None:
                continue
            before = msg.SerializeToString(deterministic=True)
            try:
                run(msg)
            except Exception:  # a finding kept under regressions/: still read only
                pass
            assert msg.SerializeToString(deterministic=True) == before, path


def test_a_process_that_runs_each_input_once_fills_no_parse_cache() -> None:
    """The differential replay and triage reproduce each file once: their decoding must not
    keep it (the cache's 1024 parsed captures were most of a fuzz command's RSS growth)."""
    from harness import targets
    from harness.triage.reproduce import Reproducer

    target = targets.get("h1_capture")
    cache = corpus.parsed_cache(message_class(target.proto_name or ""))
    data = b'events { downstream_send_bytes: "GET / HTTP/1.1\\r\\nhost: a\\r\\n\\r\\n" }'
    assert data not in cache._entries
    uncached = corpus.Decoder(target, cached=False).decode(data)
    assert uncached is not None and uncached == corpus.Decoder(target).decode(data)
    cache._entries.clear()
    Reproducer(target, "model").run(data)
    assert data not in cache._entries and len(cache._entries) == 0
    corpus.Decoder(target).decode(data)  # a fuzzing worker's decoder still caches
    assert data in cache._entries


@given(st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=8))
def test_text_round_trip(pairs: list[tuple[str, str]]) -> None:
    cls = message_class("test.fuzz.Headers")
    msg = cls()
    for k, v in pairs:
        h = msg.headers.add()
        h.key, h.value = k, v
    assert corpus.parse_text_proto(cls, corpus.to_text(msg)) == msg


def test_to_text_of_edited_messages_matches_protobufs_own_printer() -> None:
    """to_text caches sub-message texts by their bytes: after edits, every print still says
    what protobuf's own printer says (parsed back, equal)."""
    from google.protobuf import text_format

    cls = message_class("test.integration.CaptureFuzzTestCase")
    msg = cls()
    for i in range(20):
        msg.events.add().downstream_send_bytes = b"GET /%d HTTP/1.1\r\n\x00\xff\"'\\" % i
    for step in range(40):
        event = msg.events[step % 20]
        if step % 3 == 0:
            event.upstream_send_bytes = b"x" * step
        elif step % 3 == 1:
            event.downstream_recv_bytes.SetInParent()
        else:
            del msg.events[step % len(msg.events)]
            msg.events.add().downstream_send_bytes = b"\r\n" * step
        ours = corpus.parse_text_proto(cls, corpus.to_text(msg))
        theirs = corpus.parse_text_proto(cls, text_format.MessageToString(msg).encode())
        assert ours == theirs == msg
