"""Baseline targets for the benchmarks (registered like a user's own targets)."""

import harness


def empty(data: bytes) -> None:
    """Does nothing: the engine's own cost per input."""


harness.register("bench_empty", empty, input="bytes", corpus="corpora/bench_empty")
