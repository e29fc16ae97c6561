"""Differential oracle: the Envoy model's prediction against a real Envoy's observation.

The ``differential`` plane's run functions send one capture's downstream bytes to both (the
comparable view of ``envoy-fuzz predict`` / ``observe``: a fresh connection, an upstream that
answers every complete request with 200) and raise ``Divergence`` at the first differing
field (``statuses``, ``upstream[0].headers``, ...), carrying both observations.

``EnvoyReplay`` is what ``envoy-fuzz fuzz T --differential`` runs beside the fuzzer: atheris
fuzzes the model plane in its child process (fast, coverage-guided), and every input the
fuzzer adds to the corpus, and every crasher, is replayed here through the differential run
function; a divergence (or an Envoy crash or hang) becomes a crash file in the artifacts
directory with its sidecar, so triage groups it like any finding.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from harness import targets
from harness.codec.h2_frames import EMPTY_SETTINGS_FRAME, PREFACE, get_request_frame
from harness.config.proxy import ProxyConfig
from harness.engine import corpus
from harness.model import predict_with_races
from harness.model.fuzz import H1, H1_DIRECT, H2, H2_DIRECT, h1_capture_bytes, h2_capture_bytes
from harness.model.http2 import WARM_POOL_CONNECTIONS
from harness.observation import diff
from harness.oracle import Divergence

if TYPE_CHECKING:
    from harness.envoy.lane import EnvoyLane

# The model plane's configs: the comparable view, an answering HTTP/1 upstream.
_LANE_NAMES: Final = {
    H1: "diff-h1",
    H1_DIRECT: "diff-h1-direct",
    H2: "diff-h2",
    H2_DIRECT: "diff-h2-direct",
}


# HTTP/2: the model assumes, as in an Envoy that has been serving for a while, a dozen idle
# upstream connections (a request decoded in the same read as a reset reaches the upstream only
# on one of them). The pool is emptied, then a dozen GETs on one connection leave that many.
POOL_STREAMS: Final = WARM_POOL_CONNECTIONS
WARM_POOL: Final = (
    PREFACE
    + EMPTY_SETTINGS_FRAME
    + b"".join(get_request_frame(2 * i + 1, "warm", f"/warm{i}") for i in range(POOL_STREAMS))
)


def warm_pool(lane: EnvoyLane) -> None:
    """Leave exactly ``POOL_STREAMS`` idle upstream connections pooled in ``lane``'s Envoy.

    On a loaded machine the lane may stop waiting before every warm-up request was answered;
    one still on its way would show up in the next observation, so the pool is emptied and
    warmed again until all ``POOL_STREAMS`` answers came (three tries)."""
    for _ in range(3):
        lane.drain_upstream()
        if lane.observe(WARM_POOL).statuses == [200] * POOL_STREAMS:
            return


def compare(data: bytes, config: ProxyConfig) -> None:
    """Raise ``Divergence`` when the model and the real Envoy disagree on ``data``."""
    from harness.envoy.lanes import lane

    running = lane(_LANE_NAMES[config], config)
    if config.speaks_http2(data):
        warm_pool(running)
    envoy = running.observe(data)  # first: an Envoy crash wins
    model, closed_is_a_race = predict_with_races(data, config)
    paths = diff(model, envoy)
    if "closed" in paths and closed_is_a_race:
        paths.remove("closed")
    if paths:
        error = Divergence(paths[0], model, envoy)
        error.observations = {  # type: ignore[attr-defined]
            "fields": paths,
            "model": model.to_json("input"),
            "envoy": envoy.to_json("input"),
        }
        raise error


def h1_capture(case: Any) -> None:
    compare(h1_capture_bytes(case)[0], H1)


def h1_capture_direct_response(case: Any) -> None:
    compare(h1_capture_bytes(case)[0], H1_DIRECT)


def h2_capture(case: Any) -> None:
    compare(h2_capture_bytes(case)[0], H2)


def h2_capture_direct_response(case: Any) -> None:
    compare(h2_capture_bytes(case)[0], H2_DIRECT)


@dataclass
class EnvoyReplay:
    """Replays files through ``target``'s differential plane; findings go to ``artifacts``."""

    target: targets.Target
    artifacts: Path
    replayed: int = 0
    findings: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    _seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        from harness.triage.reproduce import Reproducer

        self._reproducer = Reproducer(self.target, "differential", timeout=30.0)

    def replay(self, paths: list[Path]) -> None:
        from harness.triage.finding import set_input, write_sidecar

        started = time.monotonic()
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            digest = corpus.sha1(data)
            if digest in self._seen:
                continue
            self._seen.add(digest)
            self.replayed += 1
            finding = self._reproducer.run(data)
            if finding is None:
                continue
            saved = corpus.store(self.artifacts, data, prefix="crash-")
            set_input(finding, saved)
            write_sidecar(finding, saved)
            self.findings.append(saved)
        self.seconds += time.monotonic() - started

    def close(self) -> None:
        from harness.envoy.lanes import stop_lanes

        stop_lanes()
