"""``conform --model``: the cases through the in-process Envoy model (``harness.model``).

The model predicts an ``Observation`` (statuses answered downstream, whether Envoy closes), so
the HTTP/1 cases, whose pass rules read exactly that, run on it with the same judge as on the
network. HTTP/2 cases judge frames (GOAWAY and RST_STREAM codes, PING and SETTINGS ACKs) that
the model does not predict: they are reported skipped, with that reason, never guessed.
"""

from __future__ import annotations

from harness.conformance.case import Case, H1Expect
from harness.conformance.envoy import CONFIG
from harness.conformance.h1run import Read, expected_text, passes
from harness.conformance.net import Outcome, Result
from harness.conformance.runner import Runner

NOT_MODELED = "the Envoy model predicts statuses and closes, not HTTP/2 frames"


def model_runner() -> Runner:
    from harness.model import predict

    def run(case: Case) -> Outcome:
        if not isinstance(case.expect, H1Expect):
            return Outcome("skipped", [], [NOT_MODELED])
        obs = predict(b"".join(case.writes), CONFIG)
        read = Read(list(obs.statuses), obs.closed, not obs.closed)
        result: Result = "passed" if passes(case.expect, read) else "failed"
        return Outcome(result, expected_text(case.expect), read.describe())

    return run
