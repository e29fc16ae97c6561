"""Raw-target crash minimization: our delta debugging vs libFuzzer's -minimize_crash=1.

Both get the same wall-clock budget per case. libFuzzer's minimizer re-executes the fuzzer
script once per shrinking step (each step fuzzes with -max_len=current-1 until it finds a
smaller crasher); we give each step a quarter of the budget, as ClusterFuzz runs it in rounds,
and stop it at the budget, keeping the smallest crasher it wrote by then. Ours runs in-process.
Cases are planted bugs from tests/planted/targets.py inside deterministic noise.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.engine.launch import write_launcher

ROOT = Path(__file__).resolve().parent.parent
PLANTED = ROOT / "tests" / "planted" / "targets.py"


def _noise(rng: random.Random, n: int) -> bytes:
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 :/\r\n"
    return bytes(rng.choice(alphabet) for _ in range(n))


def cases() -> list[tuple[str, str, bytes, int]]:
    """(case, target, crasher, smallest possible size)."""
    rng = random.Random(6)
    tokens = b"".join(
        _noise(rng, n) + t
        for n, t in ((300, b"GET "), (400, b"HTTP/1.1"), (500, b"te:"), (600, b"chunked"))
    )
    return [
        ("tokens_2k", "planted_tokens", tokens + _noise(rng, 300), 22),
        ("buga_1k", "planted_bytes", _noise(rng, 500) + b"BUGA" + _noise(rng, 500), 4),
    ]


def ours(target_name: str, data: bytes, seconds: float) -> tuple[int, float]:
    from harness import targets
    from harness.triage.minimize import minimize
    from harness.triage.reproduce import Reproducer

    targets.load_file(PLANTED)
    result = minimize(Reproducer(targets.get(target_name), timeout=2.0), data, budget=seconds)
    return len(result.data), result.seconds


def libfuzzer(target_name: str, data: bytes, seconds: float) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-min-") as tmp:
        work = Path(tmp)
        # -minimize_crash re-executes argv[0]
        launcher = write_launcher(work / "fuzz_planted.py", target_name)
        crash = work / "crash"
        crash.write_bytes(data)
        out = work / "minimized"
        env = {**os.environ, "ENVOY_FUZZ_TARGETS": str(PLANTED), "PYTHONPATH": str(ROOT)}
        step = max(1, int(seconds / 4))
        proc = subprocess.Popen(
            [
                str(launcher),
                "-minimize_crash=1",
                f"-max_total_time={step}",
                f"-exact_artifact_path={out}",
                str(crash),
            ],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return len(out.read_bytes()) if out.exists() else len(data)


def run(report: Callable[..., Any] | None = None, seconds: float = 30.0) -> dict[str, Any]:
    """Sizes reached in ``seconds`` per case; ``report(name, value, unit)`` for each figure."""
    result: dict[str, Any] = {"budget_s": seconds, "cases": {}}
    for name, target, data, smallest in cases():
        size, took = ours(target, data, seconds)
        theirs = libfuzzer(target, data, seconds)
        result["cases"][name] = {
            "input": len(data),
            "smallest_possible": smallest,
            "ours": size,
            "ours_seconds": round(took, 2),
            "libfuzzer": theirs,
        }
        if report is not None:
            report(f"minimize.{name}.ours", size, "bytes")
            report(f"minimize.{name}.ours_time", took, "s")
            report(f"minimize.{name}.libfuzzer", theirs, "bytes")
    return result


if __name__ == "__main__":
    started = time.monotonic()
    print(
        run(
            lambda n, v, u: print(f"{n}: {v:.6g} {u}"),
            float(sys.argv[1]) if len(sys.argv) > 1 else 30.0,
        )
    )
    print(f"({time.monotonic() - started:.0f}s)")
