"""Model lane throughput: the Envoy model on the Envoy lane's small HTTP/1 inputs.

Measured in-process, the way the model plane and ``--differential`` use it: ``predict`` (the
comparable view) and the ``h1_capture`` model-plane run function (prediction plus the oracles)
on captures holding the same requests, and on Envoy's h1_corpus captures. The baseline in
the same run is the bare HTTP/1 codec parsing the same bytes, so the ratio says what the
connection manager, router and oracles cost on top of parsing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.bench_envoy import H1_CORPUS, SMALL_REQUESTS
from bench.report import Report
from harness import proto, targets
from harness.codec.http1 import Parser
from harness.config.proxy import ProxyConfig
from harness.engine import corpus
from harness.model import fuzz, predict

CONFIG = ProxyConfig(downstream="http1")


def _rate(fn: Callable[[Any], object], inputs: list[Any], seconds: float = 2.0) -> float:
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for item in inputs:
            fn(item)
        done += len(inputs)
    return done / (time.perf_counter() - started)


def _parse(data: bytes) -> None:
    parser = Parser("request")
    parser.feed(data)
    parser.close()


def run(report: Report) -> None:
    capture_cls = proto.message_class("test.integration.CaptureFuzzTestCase")
    small = []
    for data in SMALL_REQUESTS:
        case = capture_cls()
        case.events.add().downstream_send_bytes = data
        small.append(case)
    decoder = corpus.Decoder(targets.get("h1_capture"))
    envoy_cases = [c for p in corpus.iter_files(H1_CORPUS) if (c := decoder.decode(p.read_bytes()))]
    parse = _rate(_parse, SMALL_REQUESTS)
    rows = [
        ("HTTP/1 codec parse (baseline)", "small requests", parse),
        ("model predict", "small requests", _rate(lambda d: predict(d, CONFIG), SMALL_REQUESTS)),
        ("model-plane h1_capture", "small captures", _rate(fuzz.h1_capture, small)),
        ("model-plane h1_capture", "Envoy h1_corpus", _rate(fuzz.h1_capture, envoy_cases)),
    ]
    report.table(
        "Model lane: inputs/s in-process (target >= 3000)",
        ["what", "inputs", "inputs/s", "ratio to parse"],
        [(w, i, f"{r:,.0f}", f"{r / parse:.2f}") for w, i, r in rows],
        note=f"Small requests: the {len(SMALL_REQUESTS)} inputs of bench_envoy's lane figure; "
        f"h1_corpus: {len(envoy_cases)} Envoy capture files. Under atheris (instrumented, "
        "structure-aware mutator) see the exec table's h1_capture row.",
    )
