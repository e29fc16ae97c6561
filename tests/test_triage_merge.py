"""Corpus merge: fewer files, the same coverage; crashers left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import targets
from harness.engine import corpus
from harness.triage.merge import merge, set_cover

PLANTED = Path(__file__).parent / "planted" / "targets.py"


@pytest.fixture(scope="module")
def planted() -> targets.Target:
    targets.load_file(PLANTED)
    return targets.get("planted_bytes")


def test_set_cover_is_greedy_and_prefers_small_files() -> None:
    a, b, c, d = (Path(x) for x in "abcd")
    chosen = set_cover(
        [
            (a, 10, frozenset({(0, 0, 1, 1), (0, 1, 2, 1)})),
            (b, 5, frozenset({(0, 0, 1, 1), (0, 1, 2, 1)})),  # same features, smaller: wins
            (c, 1, frozenset({(0, 0, 1, 1)})),  # subsumed
            (d, 1, frozenset({(0, 2, 3, 1)})),
        ]
    )
    assert chosen == [b, d]


def test_merge_keeps_coverage_and_cuts_files(tmp_path: Path, planted: targets.Target) -> None:
    src = tmp_path / "src"
    inputs = [b"a", b"bb", b"ccc", b"#1", b"#22", b"\xff", b"\xff\xfe", b"SMU", b"HAN", b"a"]
    for i, data in enumerate(inputs):
        (src / f"{i}").parent.mkdir(exist_ok=True)
        (src / f"{i}").write_bytes(data)
    crash = corpus.store(src / "sub", b"SMUG")  # a crasher in a sub-directory
    result = merge(planted, [src], into=tmp_path / "out")
    assert result.files_before == len(inputs) + 1
    assert 1 < result.files_after < len(inputs)
    assert result.features_after == result.features_before > 0
    assert result.left_out == {"crash": [crash]}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        corpus.sha1(p.read_bytes()) for p in result.selected
    )
    # Merging the merged corpus again changes nothing.
    again = merge(planted, [tmp_path / "out"])
    assert again.files_after == again.files_before == result.files_after
    assert again.features_after == result.features_after


def test_hanging_inputs_are_left_out(tmp_path: Path, planted: targets.Target) -> None:
    (tmp_path / "h").write_bytes(b"HANG")
    (tmp_path / "ok").write_bytes(b"ok")
    result = merge(planted, [tmp_path], timeout=0.2)
    assert result.left_out == {"timeout": [tmp_path / "h"]}
    assert result.selected == [tmp_path / "ok"]


def test_merge_a_builtin_target_corpus_if_any() -> None:
    builtin = [t for t in targets.all_targets() if t.source == "builtin" and "model" in t.planes]
    with_corpus = [t for t in builtin if corpus.count_files(t.corpus) >= 5]
    if not with_corpus:
        pytest.skip("no built-in target with a corpus yet")
    target = min(with_corpus, key=lambda t: corpus.count_files(t.corpus))
    result = merge(target, [target.corpus])
    assert result.features_after == result.features_before
    assert result.files_after <= result.files_before


@pytest.mark.slow
def test_libfuzzer_engine_merge_keeps_libfuzzers_cov(
    tmp_path: Path, planted: targets.Target
) -> None:
    from harness.triage.merge import engine_coverage, libfuzzer_merge

    src = tmp_path / "src"
    src.mkdir()
    for i, data in enumerate([b"a", b"bb", b"#1", b"#22", b"\xff", b"\xff\xfe", b"SMU", b"a!"]):
        (src / str(i)).write_bytes(data)
    out = tmp_path / "out"
    assert libfuzzer_merge(planted, [src], out) == 0
    assert 0 < corpus.count_files(out) < corpus.count_files(src)
    before = engine_coverage(planted, [src])
    after = engine_coverage(planted, [out])
    assert before is not None and after is not None
    assert after[0] == before[0]  # libFuzzer's cov figure kept
