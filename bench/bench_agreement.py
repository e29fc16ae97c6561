"""Model-vs-Envoy agreement: ``harness.model.predict`` against ``EnvoyLane.observe``.

Inputs: the hand-written edge-case suites (bench/agreement/http1_cases.py, http2_cases.py)
plus fuzz-generated inputs: seeded libFuzzer-style mutations (byte flips, inserts, erases,
dictionary tokens, crossover) of the HTTP/1 suite, so the same run gives the same inputs.
A case agrees when statuses and forwarded requests are equal (the issue's criterion);
``closed`` is reported separately (not counting the HTTP/2 cases where Envoy's 1 s
delayed close races the lane's wait, which the model flags). HTTP/2 mutants keep the client
preface (a mutated preface is simply not HTTP/2 and tells nothing about the HTTP/2 model).
Every divergence is listed with its first differing field.

python -m bench.bench_agreement [--generated N] [--show]  prints the divergences.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.agreement.generated import generated_inputs
from bench.report import Report
from harness.config.proxy import ProxyConfig
from harness.envoy.lane import EnvoyLane
from harness.model import predict_with_races
from harness.model.differential import warm_pool
from harness.observation import Observation, diff


@dataclass
class Tally:
    total: int = 0
    agree: int = 0
    closed_differs: int = 0
    divergences: list[tuple[str, str, Observation, Observation]] = field(default_factory=list)


def compare(lane: EnvoyLane, config: ProxyConfig, inputs: Iterable[tuple[str, bytes]]) -> Tally:
    tally = Tally()
    for name, data in inputs:
        model, closed_is_a_race = predict_with_races(data, config)
        if config.speaks_http2(data):
            warm_pool(lane)  # the pool state the HTTP/2 model assumes (see differential.py)
        envoy = lane.observe(data)
        tally.total += 1
        paths = [p for p in diff(model, envoy) if p != "closed"]
        if not paths:
            tally.agree += 1
        else:
            tally.divergences.append((name, paths[0], model, envoy))
        if model.closed != envoy.closed and not closed_is_a_race:
            tally.closed_differs += 1
    return tally


# Mutants of the corpora and suites (bench/agreement/generated.py), HTTP/1 and HTTP/2, on top
# of the suite mutants above: with the default 300 + 150 of those, 2,450 generated inputs.
CORPUS_MUTANTS = 2000


def suites(
    generated: int, corpus_mutants: int = CORPUS_MUTANTS
) -> list[tuple[str, str, ProxyConfig, list[tuple[str, bytes]]]]:
    from bench.agreement import http1_cases

    h1 = http1_cases.cases()
    rows = [
        ("http1 edge cases", "http1", ProxyConfig(downstream="http1"), h1),
        (
            "http1 fuzz-generated",
            "http1",
            ProxyConfig(downstream="http1"),
            generated_inputs([d for _, d in h1], generated),
        ),
    ]
    try:
        import harness.model.http2  # noqa: F401
        from bench.agreement import http2_build, http2_cases
    except ImportError:
        return rows
    h2 = http2_cases.CASES
    rows.append(("http2 edge cases", "http2", ProxyConfig(downstream="http2"), h2))
    generated_h2 = [
        (name, http2_build.PREFACE + data[len(http2_build.PREFACE) :])
        for name, data in generated_inputs([d for _, d in h2], generated // 2, seed=2)
    ]
    rows.append(("http2 fuzz-generated", "http2", ProxyConfig(downstream="http2"), generated_h2))
    if corpus_mutants:
        from bench.agreement import generated as mutants

        h1_count = corpus_mutants * 3 // 5
        rows += [
            (
                "http1 corpus mutants",
                "http1",
                ProxyConfig(downstream="http1"),
                mutants.http1_inputs(h1_count),
            ),
            (
                "http2 frame mutants",
                "http2",
                ProxyConfig(downstream="http2"),
                mutants.http2_inputs(corpus_mutants - h1_count),
            ),
        ]
    return rows


def measure(generated: int, corpus_mutants: int = CORPUS_MUTANTS) -> list[tuple[str, Tally, float]]:
    results = []
    lanes: dict[str, EnvoyLane] = {}
    try:
        for title, key, config, inputs in suites(generated, corpus_mutants):
            lane = lanes.get(key)
            if lane is None:
                lane = lanes[key] = EnvoyLane(config)
                lane.start()
            started = time.perf_counter()
            results.append((title, compare(lane, config, inputs), time.perf_counter() - started))
    finally:
        for lane in lanes.values():
            lane.stop()
    return results


def run(report: Report, generated: int = 300) -> None:
    results = measure(generated)
    rows: list[tuple[object, ...]] = []
    total = agree = 0
    for title, tally, _ in results:
        total += tally.total
        agree += tally.agree
        rows.append(
            (title, tally.total, tally.agree, f"{100 * tally.agree / max(tally.total, 1):.1f}%",
             tally.closed_differs)
        )  # fmt: skip
    rows.append(("**all**", total, agree, f"**{100 * agree / max(total, 1):.1f}%**", ""))
    report.table(
        "Model vs real Envoy: agreement (statuses and forwarded requests)",
        ["inputs", "count", "agree", "agreement", "`closed` differs"],
        rows,
        note="Each input is sent on a fresh connection to Envoy 1.40 (EnvoyLane.observe) and "
        "given to the model (harness.model.predict) under the same ProxyConfig. Remaining "
        "divergences and their causes: docs/divergences.md.",
    )
    listed = [
        (title, name, field)
        for title, tally, _ in results
        for name, field, _, _ in tally.divergences
    ]
    if listed:
        report.table(
            "Divergences in this run (causes: docs/divergences.md)",
            ["inputs", "case", "first differing field"],
            listed,
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_agreement")
    parser.add_argument("--generated", type=int, default=300)
    parser.add_argument("--corpus-mutants", type=int, default=CORPUS_MUTANTS)
    parser.add_argument("--show", action="store_true", help="print every divergence")
    args = parser.parse_args()
    for title, tally, seconds in measure(args.generated, args.corpus_mutants):
        print(
            f"{title}: {tally.agree}/{tally.total} agree, "
            f"closed differs {tally.closed_differs} ({seconds:.1f} s)"
        )
        if args.show:
            for name, path, model, envoy in tally.divergences:
                print(
                    f"  {name}: {path}\n    model {model.to_json(name)}\n"
                    f"    envoy {envoy.to_json(name)}"
                )


if __name__ == "__main__":
    main()
