"""Real-Envoy lane throughput: ``EnvoyLane.observe`` vs a naive loop, in the same run.

Naive = what a harness without the lane's tricks does: Envoy proxying to Python's
``http.server`` (threaded, keep-alive) and, per input, a fresh connection whose response is
read with ``http.client``. ``observe`` does more per input (parses the upstream requests, Envoy's
answers, checks Envoy is alive) yet stops as soon as the input's answers are in. Both run over
the same small HTTP/1 requests, alternating in sweeps so machine load hits both alike. Also
measured: inputs that need the settle path (incomplete request, Envoy's 400) and replay of
Envoy's h1_corpus captures.

The acceptance command itself, ``envoy-fuzz fuzz h1_capture --plane envoy --runs 3000`` (a
fresh working corpus each time, Envoy's h1_corpus as seeds), timed from the outside: inputs/s
with start-up included, against the naive loop measured in the same run.

Capture replay as the fuzz plane runs it (``settle=False``, the barrier instead of the 10 ms
upstream wait, ``finish="input"``) against the same replay with Envoy's literal timed wait
and a full sync after each case (the baseline), over Envoy's h1/h2 corpora and mutations of
them, alternating.
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.config.proxy import ProxyConfig, render_bootstrap
from harness.engine.corpus import parse_text_proto
from harness.envoy.lane import EnvoyLane
from harness.envoy.process import EnvoyProcess

ROOT = Path(__file__).resolve().parent.parent
H1_CORPUS = ROOT / "corpora" / "h1_capture" / "envoy"
H2_CORPUS = ROOT / "corpora" / "h2_capture" / "envoy"

SMALL_REQUESTS = [
    b"GET / HTTP/1.1\r\nhost: example\r\n\r\n",
    b"GET /a/b?c=d HTTP/1.1\r\nhost: example\r\nuser-agent: bench\r\naccept: */*\r\n\r\n",
    b"POST /submit HTTP/1.1\r\nhost: example\r\ncontent-length: 11\r\n\r\nhello world",
    b"DELETE /item/7 HTTP/1.1\r\nhost: example\r\nx-trace: 1\r\n\r\n",
]
SETTLE_INPUTS = [
    b"GET / HTTP/1.1\r\nhost: example\r\n",  # incomplete: Envoy waits for more
    b"GET / HTTP/1.1\r\n\r\n",  # no host: 400 + close
    b"\x16\x03\x01garbage\r\n\r\n",  # not HTTP: 400 + close
]


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK cost 40 ms a response

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _naive(port: int) -> Callable[[bytes], int]:
    def send(data: bytes) -> int:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        try:
            sock.sendall(data)
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read()
            return response.status
        finally:
            sock.close()

    return send


def _sweep(fn: Callable[[bytes], Any], inputs: list[bytes], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for data in inputs:
            fn(data)
    return time.perf_counter() - start


def run(report: Callable[..., Any] | None = None, seconds: float = 6.0) -> dict:
    """Measure; ``report(name, value, unit)`` is called for each figure if given."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    naive_envoy = EnvoyProcess(render_bootstrap(ProxyConfig(), 0, server.server_address[1], 0))
    try:
        with naive_envoy, EnvoyLane() as lane:
            naive = _naive(naive_envoy.listener_port)
            for data in SMALL_REQUESTS:  # warm both: upstream connections, first-use costs
                assert naive(data) == 200 and lane.observe(data).statuses == [200]
            spent = {"observe": 0.0, "naive": 0.0}
            count = 0
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or count == 0:
                spent["observe"] += _sweep(lane.observe, SMALL_REQUESTS, 25)
                spent["naive"] += _sweep(naive, SMALL_REQUESTS, 25)
                count += 25 * len(SMALL_REQUESTS)
            settle_rounds = 30
            settle_time = _sweep(lane.observe, SETTLE_INPUTS, settle_rounds)
            cases = [
                c
                for c in (parse_text_proto(_capture_class(), p.read_bytes())
                          for p in sorted(H1_CORPUS.iterdir()))
                if c is not None
            ]  # fmt: skip
            replay_start = time.perf_counter()
            for _ in range(5):
                for case in cases:
                    lane.replay_capture(case)
            replay_time = time.perf_counter() - replay_start
            restarts = lane.restarts
    finally:
        server.shutdown()
        server.server_close()
    rate = {k: count / v for k, v in spent.items()}
    result: dict[str, Any] = {
        "inputs": count,
        "observe_per_s": round(rate["observe"]),
        "naive_per_s": round(rate["naive"]),
        "ratio": round(rate["observe"] / rate["naive"], 2),
        "settle_path_per_s": round(settle_rounds * len(SETTLE_INPUTS) / settle_time),
        "h1_corpus_replays_per_s": round(5 * len(cases) / replay_time, 1),
        "h1_corpus_files": len(cases),
        "restarts": restarts,
    }
    walls = _fuzz_command(FUZZ_RUNS, repeats=3)
    for jobs, key in ((None, "fuzz_command"), (1, "fuzz_command_one_worker")):
        result[f"{key}_seconds"] = [round(w, 2) for w in walls[jobs]]
        result[f"{key}_per_s"] = round(FUZZ_RUNS / statistics.median(walls[jobs]))
    for target in ("h1_capture", "h2_capture"):
        fast, timed, count = _capture_replay(target, seconds / 3)
        result[f"{target}_fuzz_plane_per_s"] = round(fast)
        result[f"{target}_timed_wait_per_s"] = round(timed)
        result[f"{target}_cases"] = count
    if report is not None:
        report("envoy.observe_small_http1", result["observe_per_s"], "inputs/s")
        report("envoy.naive_http_server_loop", result["naive_per_s"], "inputs/s")
        report("envoy.observe_vs_naive", result["ratio"], "x")
        report("envoy.observe_settle_path", result["settle_path_per_s"], "inputs/s")
        report("envoy.h1_corpus_replay", result["h1_corpus_replays_per_s"], "cases/s")
        report(
            f"envoy.fuzz_h1_capture_plane_envoy_runs_{FUZZ_RUNS}",
            result["fuzz_command_per_s"],
            "inputs/s (start-up included, median of 3; default workers)",
        )
        report(
            f"envoy.fuzz_h1_capture_plane_envoy_runs_{FUZZ_RUNS}_jobs_1",
            result["fuzz_command_one_worker_per_s"],
            "inputs/s (start-up included, median of 3; one worker)",
        )
        report(
            "envoy.fuzz_command_vs_naive",
            round(result["fuzz_command_per_s"] / result["naive_per_s"], 2),
            "x",
        )
        for target in ("h1_capture", "h2_capture"):
            fast, timed = result[f"{target}_fuzz_plane_per_s"], result[f"{target}_timed_wait_per_s"]
            report(f"envoy.{target}_replay_fuzz_plane", fast, "cases/s")
            report(f"envoy.{target}_replay_timed_wait", timed, "cases/s")
            report(f"envoy.{target}_fuzz_plane_vs_timed", round(fast / timed, 2), "x")
    return result


FUZZ_RUNS = 3000


def _fuzz_command(runs: int, repeats: int) -> dict[int | None, list[float]]:
    """Wall seconds of ``envoy-fuzz fuzz h1_capture --plane envoy --runs N``, start to exit,
    with the default workers (key None) and with ``--jobs 1``, taking turns."""
    script = Path(sys.executable).with_name("envoy-fuzz")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "harness.cli"]
    walls: dict[int | None, list[float]] = {None: [], 1: []}
    for _ in range(repeats):
        for jobs, spent in walls.items():
            with tempfile.TemporaryDirectory(prefix="bench-envoy-fuzz-") as tmp:
                start = time.perf_counter()
                done = subprocess.run(
                    [*command, "fuzz", "h1_capture", "--plane", "envoy", "--runs", str(runs),
                     *(["--jobs", str(jobs)] if jobs else []),
                     "--json", "--corpus", tmp, "--artifacts", f"{tmp}/artifacts"],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                )  # fmt: skip
                spent.append(time.perf_counter() - start)
                summary = json.loads(done.stdout)
                assert summary["runs"] >= runs and not summary["findings"], summary
    return walls


def _capture_cases(target: str, count: int = 150) -> list[Any]:
    """Envoy's corpus for ``target`` plus ``count`` mutations of it (fixed seed)."""
    import random

    from harness import proto, targets
    from harness.engine import corpus, mutate

    cls = proto.message_class(targets.get(target).proto_name or "")
    seeds = [p.read_bytes() for p in corpus.iter_files(H2_CORPUS if "h2" in target else H1_CORPUS)]
    mutator = mutate.ProtoMutator(cls)
    rng = random.Random(1)
    texts = seeds + [
        mutator.mutate(rng.choice(seeds), 4096, rng.randrange(1 << 30)) for _ in range(count)
    ]
    return [c for c in (parse_text_proto(cls, t) for t in texts) if c is not None]


def _capture_replay(target: str, seconds: float) -> tuple[float, float, int]:
    """Cases/s of the fuzz plane's replay and of the timed-wait baseline, alternating."""
    from harness.envoy import lanes

    cases = _capture_cases(target)
    h2 = target.startswith("h2")
    config = lanes.H2 if h2 else lanes.H1
    with (
        EnvoyLane(config, finish="input") as fast,
        EnvoyLane(config, upstream_wait_mode="timed", finish="sync") as timed,
    ):
        spent = {"fast": 0.0, "timed": 0.0}
        sweeps = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or sweeps == 0:
            for name, lane in (("fast", fast), ("timed", timed)):
                play = lane.replay_h2_capture if h2 else lane.replay_capture
                start = time.perf_counter()
                for case in cases:
                    play(case, settle=False)
                spent[name] += time.perf_counter() - start
            sweeps += 1
        assert fast.restarts == 0 and timed.restarts == 0
    done = sweeps * len(cases)
    return done / spent["fast"], done / spent["timed"], len(cases)


def _capture_class() -> Any:
    from harness.proto.capture_fuzz_pb2 import CaptureFuzzTestCase

    return CaptureFuzzTestCase


if __name__ == "__main__":
    print(run())
