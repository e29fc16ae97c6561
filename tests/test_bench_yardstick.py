"""The codec benchmark's yardstick is bare h2 receiving the ``request_header`` seeds (issue 17):
its seed corpus must be those files, not a path that silently resolves to nothing (the
launcher passes a seed directory only when it exists, so a wrong path fuzzed from one empty
input, ~5x faster than h2 on the seeds)."""

from __future__ import annotations

from bench.engine import BENCH_TARGETS
from harness import targets


def test_bare_h2_fuzzes_from_the_request_header_seeds() -> None:
    targets.load_file(BENCH_TARGETS)
    seeds = targets.get("bench_bare_h2").corpus
    assert seeds.is_dir(), seeds
    names = {p.name for p in seeds.iterdir() if p.is_file()}
    expected = {p.name for p in targets.get("request_header").corpus.iterdir() if p.is_file()}
    assert len(expected) >= 10 and names == expected


def test_the_old_yardstick_has_no_seeds() -> None:
    targets.load_file(BENCH_TARGETS)
    assert not targets.get("bench_bare_h2_from_empty").corpus.exists()
