"""exec/s of the ``request_header`` target vs bare ``h2`` on the same inputs, in the same run.

Bare h2 = what any h2-based fuzz target must do at least: a new server H2Connection,
``initiate_connection()``, then ``receive_data(preface + input)``, protocol errors caught.
``request_header`` does Envoy's frame_replay: two passes per input (the input, then the input
through fixupHeaders), each with the default SETTINGS and WINDOW_UPDATE first, per-frame flood
tracking and outcome classification. Both run over the target's seed corpus.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.exceptions

from harness.codec import http2
from harness.codec.fuzz_http2 import request_header
from harness.engine.corpus import iter_files

CORPUS = Path(__file__).resolve().parent.parent / "corpora" / "request_header"
_CONFIG = h2.config.H2Configuration(client_side=False, header_encoding=None)


def bare_h2(data: bytes) -> None:
    conn = h2.connection.H2Connection(_CONFIG)
    conn.initiate_connection()
    try:
        conn.receive_data(http2.PREFACE + data)
    except h2.exceptions.ProtocolError:
        pass


def run(report: Callable[..., Any] | None = None, seconds: float = 6.0) -> dict:
    """Measure both; ``report(name, value, unit)`` is called for each figure if given.

    Bare h2 and the target alternate input by input for ``seconds`` in total, timed in CPU
    time of this process (the machine is shared; wall time would count other processes), so
    load falls on both alike. ``ratio`` is over the whole corpus (the exec/s a fuzzer sees on
    it); ``ratio_geomean`` is the geometric mean of the per-input ratios, which one heavy
    input cannot dominate.
    """
    inputs = [p.read_bytes() for p in iter_files(CORPUS)]
    if not inputs:
        raise RuntimeError(f"no seed corpus in {CORPUS}")
    request_header(inputs[0])  # build the target's template connection outside the timing
    clock = time.process_time
    bare = [0.0] * len(inputs)
    target = [0.0] * len(inputs)
    sweeps = 0
    deadline = clock() + seconds
    while clock() < deadline or sweeps < 3:
        for i, data in enumerate(inputs):
            start = clock()
            bare_h2(data)
            middle = clock()
            request_header(data)
            target[i] += clock() - middle
            bare[i] += middle - start
        sweeps += 1
    n = sweeps * len(inputs)
    rate_bare, rate_target = n / sum(bare), n / sum(target)
    geomean = math.exp(
        sum(math.log(b / t) for b, t in zip(bare, target, strict=True)) / len(inputs)
    )
    result = {
        "inputs": len(inputs),
        "sweeps": sweeps,
        "bare_h2_execs_per_s": round(rate_bare),
        "request_header_execs_per_s": round(rate_target),
        "ratio": round(rate_target / rate_bare, 3),
        "ratio_geomean": round(geomean, 3),
    }
    if report is not None:
        report("http2.bare_h2", result["bare_h2_execs_per_s"], "exec/s")
        report("http2.request_header", result["request_header_execs_per_s"], "exec/s")
        report("http2.request_header_vs_bare_h2", result["ratio"], "x")
        report("http2.request_header_vs_bare_h2_geomean", result["ratio_geomean"], "x")
    return result


if __name__ == "__main__":
    print(run())
