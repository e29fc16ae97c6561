"""exec/s of the ``http1_connection`` target vs h11 on the same request+response parse.

Each input of the target's seed corpus (Envoy's 56 files included) is parsed as a request
stream and as a response stream, by h11 and by our codec, interleaved sweep by sweep so the
load of a shared machine hits all alike (CPU time of this process is what is counted).

* ``h11``: a server and a client ``h11.Connection`` each take the whole input and EOF, then
  read events until the first message ends or h11 raises. h11 cannot read a pipelined stream
  without answering it, so it does less work than our codec: the ratio is a lower bound.
* ``parse``: our codec alone, both roles, every message of the stream, then EOF.
* ``http1_connection``: the whole fuzz target (parse, split re-parse, serializer round trip).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h11

from harness.codec.fuzz_http1 import FUZZ_OPTIONS, http1_connection
from harness.codec.http1 import Parser, normalize
from harness.engine.corpus import iter_files

CORPUS = Path(__file__).resolve().parent.parent / "corpora" / "http1_connection"
_STOP = (h11.EndOfMessage, h11.ConnectionClosed)


def h11_parse(data: bytes) -> None:
    for role in (h11.SERVER, h11.CLIENT):
        conn = h11.Connection(role)
        if role is h11.CLIENT:  # a client reads a response only after sending a request
            conn.send(h11.Request(method="GET", target="/", headers=[("host", "a")]))
            conn.send(h11.EndOfMessage())
        conn.receive_data(data)
        conn.receive_data(b"")
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, _STOP):
                    break
        except h11.RemoteProtocolError:
            pass


def codec_parse(data: bytes) -> None:
    for role in ("request", "response"):
        parser = Parser(role, FUZZ_OPTIONS)
        normalize(parser.feed(data) + parser.close())


def _sweep(fn: Callable[[bytes], None], inputs: list[bytes]) -> float:
    start = time.process_time()
    for data in inputs:
        fn(data)
    return time.process_time() - start


def run(report: Any = None, seconds: float = 6.0) -> dict[str, Any]:
    """Measure the three in the same run; figures go to ``report`` (a Report or a callable)."""
    inputs = [p.read_bytes() for p in iter_files(CORPUS)]
    if not inputs:
        raise RuntimeError(f"no seed corpus in {CORPUS}")
    fns: dict[str, Callable[[bytes], None]] = {
        "h11": h11_parse,
        "parse": codec_parse,
        "http1_connection": http1_connection,
    }
    spent = dict.fromkeys(fns, 0.0)
    sweeps = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or sweeps < 3:
        for name, fn in fns.items():
            spent[name] += _sweep(fn, inputs)
        sweeps += 1
    rate = {k: sweeps * len(inputs) / v for k, v in spent.items()}
    result: dict[str, Any] = {
        "inputs": len(inputs),
        "h11_execs_per_s": round(rate["h11"]),
        "parse_execs_per_s": round(rate["parse"]),
        "http1_connection_execs_per_s": round(rate["http1_connection"]),
        "ratio": round(rate["http1_connection"] / rate["h11"], 2),
        "parse_ratio": round(rate["parse"] / rate["h11"], 2),
    }
    if hasattr(report, "table"):
        report.table(
            "HTTP/1: http1_connection vs h11 (request+response parse, same corpus, same run)",
            ["what", "exec/s", "vs h11"],
            [
                ["h11 (first message per role)", result["h11_execs_per_s"], "1.00"],
                ["our codec, parse only", result["parse_execs_per_s"], result["parse_ratio"]],
                [
                    "http1_connection target",
                    result["http1_connection_execs_per_s"],
                    result["ratio"],
                ],
            ],
            note=f"{len(inputs)} inputs (seeds + Envoy's http1_connection_corpus), "
            f"{sweeps} sweeps, CPU time of this process; the target also re-parses a split "
            "copy and round-trips through the serializer.",
        )
    elif callable(report):
        report("http1.h11", result["h11_execs_per_s"], "exec/s")
        report("http1.parse", result["parse_execs_per_s"], "exec/s")
        report("http1.http1_connection", result["http1_connection_execs_per_s"], "exec/s")
        report("http1.http1_connection_vs_h11", result["ratio"], "x")
    return result


if __name__ == "__main__":
    print(run())
