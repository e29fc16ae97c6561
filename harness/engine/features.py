"""Coverage features from outside Python code: a block of atheris's own coverage counters.

A target whose behaviour lives elsewhere (a real Envoy's stat counters) reports it to the
engine as *extra features*: ``hit(key, times)`` increments one of the counters reserved here,
the same 8-bit counters atheris's bytecode instrumentation increments for a Python branch
(``atheris._reserve_counter`` / ``atheris._trace_branch``). libFuzzer reads them after each
input like any edge: a counter hit for the first time, or hit a number of times in a new
hit-count bucket (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+), is a new feature, and the input
that produced it is kept in the corpus.

The block must be reserved before ``atheris.Fuzz()`` (atheris hands libFuzzer the counters
reserved by then); the runner does that when the environment asks for extra features
(``ENVOY_FUZZ_FEEDBACK=stats``, see ``harness.engine.runner``). Outside a fuzz run (replay,
triage, tests without atheris) nothing is reserved and ``hit`` does nothing.

Keys get counters in the order they are first seen; past ``BLOCK`` keys they share (modulo),
as atheris does when it runs out of counters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

BLOCK: Final = 4096
# An 8-bit counter wraps past 255; libFuzzer's last bucket starts at 128.
MAX_HITS: Final = 128

_base = -1
_atheris: Any = None  # the atheris module, once the block is reserved
_trace: Callable[[int], None] | None = None
_slots: dict[object, int] = {}


def reserve() -> None:
    """Reserve the block (idempotent); call before ``atheris.Fuzz()``."""
    global _base, _atheris
    if _atheris is not None:
        return
    import atheris

    _base = atheris._reserve_counter()
    for _ in range(BLOCK - 1):
        atheris._reserve_counter()
    _atheris = atheris


def enabled() -> bool:
    return _atheris is not None


def hit(key: object, times: int = 1) -> None:
    """Count ``key`` ``times`` times (capped at MAX_HITS) in this input's coverage; call it
    while an input runs (inside the fuzz target)."""
    global _trace
    trace = _trace
    if trace is None:
        if _atheris is None:
            return
        # Bound on first use: atheris.Fuzz() replaces the module's pre-fuzzing _trace_branch
        # (a no-op) with the one that counts.
        trace = _trace = _atheris._trace_branch
    if times <= 0:
        return
    slot = _slots.get(key)
    if slot is None:
        slot = _slots[key] = _base + len(_slots) % BLOCK
    for _ in range(min(times, MAX_HITS)):
        trace(slot)
