"""Config validation: check-config (the model of ``envoy --mode validate``) against Envoy.

* per-config cost: the model (parse + PGV + semantic checks, start-up amortised) against
  ``envoy --mode validate`` one config at a time, on the same configs, same run;
* the ``server`` target's exec/s on the model plane (libFuzzer runs on the imported corpus);
* agreement of the model's verdict with Envoy's on generated configs: seeded structure-aware
  mutants (``harness.engine.mutate``, Any payloads included) of the observed table and of
  Envoy's server_corpus; every disagreement counted by Envoy's reason.

python -m bench.bench_config [--mutants N] [--show]
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from bench import engine
from bench.report import Report
from harness import targets
from harness.config.load import bootstrap_class, config_format, parse_config
from harness.config.validation import check, check_bytes
from harness.engine.corpus import iter_files, parse_text_proto, to_text
from harness.engine.mutate import ProtoMutator
from harness.envoy.server import envoy_signature
from harness.envoy.validate import validate_bytes, validate_many

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "data" / "config_cases"


def _configs() -> list[tuple[str, bytes]]:
    """(file name, bytes) of the table and of the imported corpus (text protos)."""
    out = [(p.name, p.read_bytes()) for p in sorted(TABLE.iterdir())]
    corpus = targets.get("server").corpus / "envoy"
    out += [(p.name + ".pb_text", p.read_bytes()) for p in iter_files(corpus)]
    return out


def _seeds() -> list[bytes]:
    cls = bootstrap_class()
    seeds = []
    for name, data in _configs():
        try:
            msg = parse_config(data, config_format(name))
        except ValueError:
            msg = parse_text_proto(cls, data)
        if msg is not None:
            seeds.append(to_text(msg))
    return seeds


def mutants(count: int, seed: int = 7) -> list[bytes]:
    """``count`` distinct mutants of the seeds, 1-3 mutations each, deterministic."""
    import random

    rng = random.Random(seed)
    seeds = _seeds()
    mutator = ProtoMutator(bootstrap_class())
    out: list[bytes] = []
    seen: set[bytes] = set()
    while len(out) < count:
        data = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            data = mutator.mutate(data, 1 << 16, rng.randrange(1 << 30))
        if data not in seen:
            seen.add(data)
            out.append(data)
    return out


def cost(report: Report, envoy_configs: int = 40) -> None:
    configs = _configs()
    for name, data in configs:  # warm: plans compiled, modules imported (amortised start-up)
        check_bytes(data, name)
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for name, data in configs:
            check_bytes(data, name)
    model = (time.perf_counter() - started) / (rounds * len(configs))
    subset = configs[:: max(1, len(configs) // envoy_configs)][:envoy_configs]
    started = time.perf_counter()
    for name, data in subset:
        validate_bytes(data, config_format(name))
    envoy = (time.perf_counter() - started) / len(subset)
    report(f"check-config (model) per config, {len(configs)} configs x {rounds}", model * 1e3, "ms")
    report(f"envoy --mode validate per config, {len(subset)} configs, serial", envoy * 1e3, "ms")
    report("check-config speed-up over envoy --mode validate", envoy / model, "x")


def exec_per_sec(report: Report, runs: int = 10000) -> None:
    result = engine._run(targets.get("server"), runs=runs)
    report(f"server model plane exec/s ({runs:,} runs, seed 1)", result.exec_per_sec, "exec/s")


def agreement(report: Report, count: int = 300, show: bool = False) -> None:
    cls = bootstrap_class()
    inputs = mutants(count)
    started = time.perf_counter()
    verdicts = validate_many([(data, "text") for data in inputs])
    seconds = time.perf_counter() - started
    agree = 0
    reasons: collections.Counter[str] = collections.Counter()
    for data, envoy in zip(inputs, verdicts, strict=True):
        msg = parse_text_proto(cls, data)
        assert msg is not None
        model = check(msg)
        if model.valid == envoy.valid:
            agree += 1
            continue
        key = envoy_signature(envoy.error or "") if model.valid else f"model:{model.rule}"
        reasons[key] += 1
        if show:
            print(f"--- {key}\n{data.decode()[:600]}")
    valid = sum(v.valid for v in verdicts)
    report(f"generated configs (mutants of table + corpus), Envoy said valid: {valid}", count, "")
    report("agreement of check-config with envoy --mode validate", 100.0 * agree / count, "%")
    report("envoy --mode validate wall time for them (parallel, one per core)", seconds, "s")
    if reasons:
        report.table(
            "config disagreements by reason",
            ["reason (envoy: Envoy rejects, model valid; model: the reverse)", "count"],
            reasons.most_common(15),
        )


def run(report: Report) -> None:
    cost(report)
    exec_per_sec(report)
    agreement(report)
    report.flush_figures("config validation: check-config vs envoy --mode validate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_config")
    parser.add_argument("--mutants", type=int, default=300)
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    rep = Report()
    agreement(rep, args.mutants, args.show)
    rep.flush_figures("config agreement")
