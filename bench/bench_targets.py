"""Baseline targets for the benchmarks (registered like a user's own targets)."""

from pathlib import Path

import h2.config
import h2.connection
import h2.exceptions

import harness

# a relative corpus path would resolve beside this file; the seeds live in the repository's
REQUEST_HEADER_SEEDS = Path(__file__).resolve().parent.parent / "corpora" / "request_header"
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_H2_SERVER = h2.config.H2Configuration(client_side=False, header_encoding=None)


def empty(data: bytes) -> None:
    """Does nothing: the engine's own cost per input."""


def bare_h2(data: bytes) -> None:
    """The least any h2-based target does: a new server H2Connection gets preface + input."""
    conn = h2.connection.H2Connection(_H2_SERVER)
    conn.initiate_connection()
    try:
        conn.receive_data(_PREFACE + data)
    except h2.exceptions.ProtocolError:
        pass


harness.register("bench_empty", empty, input="bytes", corpus="corpora/bench_empty")
harness.register(
    "bench_bare_h2",
    bare_h2,
    input="bytes",
    corpus=REQUEST_HEADER_SEEDS,
    instrument=("h2", "hpack", "hyperframe"),
)
# What bench_bare_h2 was until 2026-12-07 (its seed path resolved to nothing): bare h2 from one
# empty input. Kept beside the right yardstick so old and new ratios can be compared.
harness.register(
    "bench_bare_h2_from_empty",
    bare_h2,
    input="bytes",
    corpus="corpora/bench_bare_h2_from_empty",  # absent on purpose: no seeds
    instrument=("h2", "hpack", "hyperframe"),
)
