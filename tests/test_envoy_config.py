"""ProxyConfig -> bootstrap: every knob renders to a bootstrap Envoy itself accepts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.config.proxy import ProxyConfig, render_bootstrap

KNOBS = {
    "defaults": ProxyConfig(),
    "downstream_http1": ProxyConfig(downstream="http1"),
    "downstream_http2": ProxyConfig(downstream="http2"),
    "upstream_http2": ProxyConfig(upstream="http2"),
    "direct_response": ProxyConfig(direct_response=True),
    "allow_metadata": ProxyConfig(downstream="http2", upstream="http2", allow_metadata=True),
    "allow_absolute_url": ProxyConfig(allow_absolute_url=False),
    "accept_http_10": ProxyConfig(accept_http_10=True, default_host_for_http_10="localhost"),
    "allow_chunked_length": ProxyConfig(allow_chunked_length=True),
    "enable_trailers": ProxyConfig(enable_trailers=True),
    "underscores_reject": ProxyConfig(headers_with_underscores_action="REJECT_REQUEST"),
    "underscores_drop": ProxyConfig(headers_with_underscores_action="DROP_HEADER"),
    "max_request_headers_kb": ProxyConfig(max_request_headers_kb=96),
    "max_headers_count": ProxyConfig(max_headers_count=1000),
}


def _hcm(bootstrap: dict[str, Any]) -> dict[str, Any]:
    chain = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]
    return chain["filters"][0]["typed_config"]


def test_defaults_render_only_the_fixed_skeleton() -> None:
    b = render_bootstrap(ProxyConfig(), 0, 4321, 0)
    hcm = _hcm(b)
    assert hcm["stat_prefix"] == "config_test" and hcm["codec_type"] == "AUTO"
    assert (
        not {"http_protocol_options", "common_http_protocol_options", "max_request_headers_kb"}
        & hcm.keys()
    )
    vhost = hcm["route_config"]["virtual_hosts"][0]
    assert vhost["domains"] == ["*"]
    assert vhost["routes"] == [{"match": {"prefix": "/"}, "route": {"cluster": "cluster_0"}}]
    cluster = b["static_resources"]["clusters"][0]
    assert cluster["name"] == "cluster_0" and cluster["type"] == "STATIC"
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    assert endpoint["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 4321}


def test_each_knob_changes_the_bootstrap() -> None:
    base = json.dumps(render_bootstrap(ProxyConfig(), 0, 1, 0), sort_keys=True)
    for name, config in KNOBS.items():
        rendered = json.dumps(render_bootstrap(config, 0, 1, 0), sort_keys=True)
        assert (rendered == base) == (name == "defaults"), name


def test_bad_values_are_refused_at_construction() -> None:
    with pytest.raises(ValueError):
        ProxyConfig(downstream="http3")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ProxyConfig(max_request_headers_kb=0)


def _validate(bootstrap: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    from harness.envoy.process import envoy_binary

    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(bootstrap))
    return subprocess.run(
        [
            str(envoy_binary()),
            "--mode",
            "validate",
            "-c",
            str(path),
            "--use-dynamic-base-id",
            "-l",
            "error",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.envoy
@pytest.mark.parametrize("name", sorted(KNOBS))
def test_envoy_accepts_the_rendered_bootstrap(name: str, tmp_path: Path) -> None:
    result = _validate(render_bootstrap(KNOBS[name], 0, 10000, 0), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.envoy
def test_envoy_validation_does_reject_a_broken_bootstrap(tmp_path: Path) -> None:
    # Proves the check above can fail: an out-of-range value Envoy's PGV rules refuse.
    bootstrap = render_bootstrap(ProxyConfig(), 0, 10000, 0)
    _hcm(bootstrap)["max_request_headers_kb"] = 100_000
    result = _validate(bootstrap, tmp_path)
    assert result.returncode != 0


def test_allow_metadata_renders_on_the_hcm_and_on_cluster_0() -> None:
    b = render_bootstrap(
        ProxyConfig(downstream="http2", upstream="http2", allow_metadata=True), 0, 1, 0
    )
    assert _hcm(b)["http2_protocol_options"] == {"allow_metadata": True}
    options = b["static_resources"]["clusters"][0]["typed_extension_protocol_options"]
    [upstream] = options.values()
    assert upstream["explicit_http_config"]["http2_protocol_options"] == {"allow_metadata": True}
    plain = render_bootstrap(ProxyConfig(downstream="http2", upstream="http2"), 0, 1, 0)
    assert "http2_protocol_options" not in _hcm(plain)


@pytest.mark.envoy
@pytest.mark.parametrize("target", ["h1_capture", "h1_capture_direct_response", "h2_capture",
                                    "h2_capture_direct_response"])  # fmt: skip
def test_envoy_accepts_the_fuzz_lanes_bootstraps(target: str, tmp_path: Path) -> None:
    """What the envoy plane runs: the target's proxy plus the lane's barrier listener."""
    from harness.envoy import lanes
    from harness.envoy.connection import BARRIER_LISTENER
    from harness.envoy.lane import lane_bootstrap

    config = lanes.CAPTURE_CONFIGS[target]
    bootstrap = lane_bootstrap(config, 10000)
    names = [listener["name"] for listener in bootstrap["static_resources"]["listeners"]]
    assert names == ["http", BARRIER_LISTENER]
    result = _validate(bootstrap, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
