"""Differential fuzzing: model vs real Envoy, divergences saved as findings with both views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import targets
from harness.config.proxy import ProxyConfig
from harness.engine import corpus
from harness.envoy.lanes import stop_lanes
from harness.model import differential
from harness.observation import Observation
from harness.oracle import Divergence
from tests.conftest import envoy_fuzz

CAPTURE = b'events { downstream_send_bytes: "GET /a HTTP/1.1\\r\\nhost: x\\r\\n\\r\\n" }\n'


@pytest.fixture
def wrong_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that forgets the headers Envoy adds (a planted model bug)."""
    real = differential.predict_with_races

    def predict(data: bytes, config: ProxyConfig | None = None) -> tuple[Observation, bool]:
        got, race = real(data, config)
        for request in got.upstream:
            del request.headers[1:]
        return got, race

    monkeypatch.setattr(differential, "predict_with_races", predict)


def test_agreeing_input_passes() -> None:
    try:
        case = corpus.Decoder(targets.get("h1_capture")).decode(CAPTURE)
        differential.h1_capture(case)
    finally:
        stop_lanes()


@pytest.mark.usefixtures("wrong_model")
def test_divergence_names_first_differing_field_and_keeps_both_views(tmp_path: Path) -> None:
    target = targets.get("h1_capture")
    case = corpus.Decoder(target).decode(CAPTURE)
    replay = differential.EnvoyReplay(target, tmp_path)
    try:
        with pytest.raises(Divergence) as caught:
            differential.h1_capture(case)
        assert caught.value.field == "upstream[0].headers"
        source = corpus.store(tmp_path, CAPTURE)
        replay.replay([source, source])  # the same input twice is replayed once
    finally:
        replay.close()
    assert replay.replayed == 1
    [found] = replay.findings
    assert found.name == "crash-" + corpus.sha1(CAPTURE)
    sidecar = json.loads(Path(f"{found}.json").read_text())
    assert sidecar["kind"] == "divergence"
    assert sidecar["signature"] == "divergence: upstream[0].headers"
    views = sidecar["observations"]
    assert views["model"]["upstream"][0]["headers"] == [["host", "x"]]
    assert ["x-forwarded-proto", "http"] in views["envoy"]["upstream"][0]["headers"]


def test_fuzz_differential_replays_new_inputs_on_envoy(tmp_path: Path) -> None:
    run = envoy_fuzz(
        "fuzz", "h1_capture", "--differential", "--runs", "1500", "--json",
        "--corpus", str(tmp_path), "--artifacts", str(tmp_path / "art"),
        "--", "-seed=3",
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    summary = json.loads(run.stdout)
    assert summary["differential"]["replayed"] > 0
    for finding in summary["findings"]:  # any divergence found is saved with its sidecar
        assert Path(f"{finding}.json").exists()


def test_differential_needs_a_model_target() -> None:
    run = envoy_fuzz("fuzz", "base64", "--differential", "--runs", "10")
    assert run.returncode == 2
    assert "no differential plane" in run.stderr
