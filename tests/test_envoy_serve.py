"""``--envoy-mode serve`` (``harness.envoy.serve``): configs started for real, for a moment, in
a private network.

Validate mode binds no listener; serve mode does, so an address the machine does not have is
valid to the one and invalid to the other. Serve mode's Envoy must reach nothing outside its
network namespace: a health check aimed at a socket listening on this machine's loopback never
arrives (and does without the namespace, which shows the test can fail).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from harness.config.load import parse_config
from harness.engine.corpus import to_text
from harness.engine.runner import ENV_ENVOY_MODE
from harness.envoy import sandbox, server
from harness.envoy.errors import EnvoyCrash
from harness.envoy.process import envoy_binary
from harness.envoy.serve import serve_bytes
from harness.envoy.validate import validate_bytes
from tests.conftest import envoy_fuzz

DATA = Path(__file__).parent / "data"
BASE = (DATA / "config_cases" / "valid_base.yaml").read_bytes()
# TEST-NET-1 (RFC 5737): no machine has it, so only a listener that really binds notices
UNBOUND = BASE.replace(b"127.0.0.1\n        port_value: 0", b"192.0.2.1\n        port_value: 0", 1)

BAD_SOCKET_OPTION = BASE.replace(
    b"    filter_chains:",
    b"    socket_options: [{level: 1, name: 99999, int_value: 1}]\n    filter_chains:",
    1,
)

pytestmark = [
    pytest.mark.envoy,
    pytest.mark.skipif(
        not sandbox.namespace_available(), reason="no unprivileged user namespace here"
    ),
]


def _health_checked(port: int) -> bytes:
    """A config whose only cluster health-checks 127.0.0.1:``port`` over TCP every 20 ms."""
    return f"""
static_resources:
  clusters:
  - name: c0
    connect_timeout: 1s
    type: STATIC
    load_assignment:
      cluster_name: c0
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{address: 127.0.0.1, port_value: {port}}}
    health_checks:
    - timeout: 1s
      interval: 0.02s
      unhealthy_threshold: 1
      healthy_threshold: 1
      tcp_health_check: {{}}
""".encode()


def test_serve_binds_the_listeners_validate_mode_only_reads() -> None:
    assert UNBOUND != BASE
    assert validate_bytes(UNBOUND, "yaml").valid
    served = serve_bytes(UNBOUND, "yaml")
    assert not served.valid and not served.crashed and not served.timed_out
    assert served.error == "cannot bind '192.0.2.1:0': Cannot assign requested address"
    assert served.mode == "serve"
    ok = serve_bytes(BASE, "yaml")
    assert ok.valid and ok.returncode == 0, ok.log_tail


def test_serve_reports_a_rejected_config_with_envoys_reason() -> None:
    served = serve_bytes(b"static_resources: {listeners: [{name: x}]}", "yaml")
    assert not served.valid and served.returncode == 1
    assert served.error == "error adding listener named 'x': address is necessary"


def test_serve_mode_binds_unix_sockets_inside_its_private_directory() -> None:
    outside = Path("/tmp") / f"envoy-fuzz-serve-test-{uuid.uuid4().hex}.sock"
    config = (
        BASE.replace(
            b"  - name: l0\n    address:\n      socket_address:\n        address: 127.0.0.1\n"
            b"        port_value: 0\n",
            f"  - name: l0\n    address:\n      pipe: {{path: {outside}}}\n".encode(),
        )
        + b"admin:\n  address:\n    pipe: {path: relative.sock}\n"
    )
    assert str(outside).encode() in config
    served = serve_bytes(config, "yaml")
    assert served.valid, served.describe() + served.log_tail
    assert not outside.exists()
    abstract = BASE + b"admin:\n  address:\n    pipe: {path: '@envoy-fuzz-abstract'}\n"
    assert serve_bytes(abstract, "yaml").valid
    # a path Envoy rejects must keep its verdict (found by the serve-mode differential)
    for bad, reason in ((f"{outside}\\0x", "embedded null"), ("/" + "x" * 120, "exceeds maximum")):
        config = BASE + f'admin:\n  address:\n    pipe: {{path: "{bad}"}}\n'.encode()
        served = serve_bytes(config, "yaml")
        assert not served.valid and reason in (served.error or ""), served.describe()
        assert not validate_bytes(config, "yaml").valid


def test_serve_mode_crash_is_an_envoy_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (DATA / "envoy_crash_additional_address_unset.pb_text").read_bytes()
    case = parse_config(data, "text")
    monkeypatch.setenv(ENV_ENVOY_MODE, "serve")
    with pytest.raises(EnvoyCrash, match=r"envoy --mode serve died \(SIGABRT\)"):
        server.server(case)


def test_serve_mode_finds_a_crash_validate_mode_cannot() -> None:
    # Envoy 1.40.0: an admin address that is an internal address passes validate mode, and
    # starting the admin server on it aborts (panic: not implemented,
    # socket_interface_impl.cc:108); found by the serve-mode differential
    data = (DATA / "envoy_crash_serve_admin_internal_address.pb_text").read_bytes()
    assert validate_bytes(data, "text").valid
    served = serve_bytes(data, "text")
    assert served.crashed and served.returncode == -6, served.describe()
    assert "panic: not implemented" in served.log_tail


def test_serve_mode_reaches_nothing_outside_its_network(tmp_path: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        listening.setblocking(False)
        config = _health_checked(listening.getsockname()[1])
        served = serve_bytes(config, "yaml", hold=0.5)
        assert served.valid, served.log_tail
        with pytest.raises(BlockingIOError):
            listening.accept()
        # the control: the same config outside the namespace does connect
        path = tmp_path / "c.yaml"
        path.write_bytes(config)
        envoy = subprocess.Popen(
            [str(envoy_binary()), "-c", str(path), "-l", "critical", "--disable-hot-restart",
             "--base-id-path", str(tmp_path / "id")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    listening.accept()[0].close()
                    break
                except BlockingIOError:
                    time.sleep(0.02)
            else:
                pytest.fail("the health check never came, even outside the namespace")
        finally:
            envoy.kill()
            envoy.wait()


def test_check_config_envoy_mode_serve(tmp_path: Path) -> None:
    (tmp_path / "unbound.yaml").write_bytes(UNBOUND)
    (tmp_path / "base.yaml").write_bytes(BASE)
    files = [str(tmp_path / "unbound.yaml"), str(tmp_path / "base.yaml")]
    validate = envoy_fuzz("check-config", "--envoy", "--json", *files)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    out = envoy_fuzz("check-config", "--envoy", "--envoy-mode", "serve", "--json", *files)
    assert out.returncode == 1, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(g["name"], g["valid"]) for g in got] == [("unbound.yaml", False), ("base.yaml", True)]
    assert "cannot bind" in got[0]["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check-config", "--envoy-mode", "serve", "x.yaml"), "add --envoy"),
        (("fuzz", "h1_capture", "--envoy-mode", "serve", "--runs", "1"), "takes no --envoy-mode"),
        (("fuzz", "server", "--envoy-mode", "serve", "--runs", "1"), "envoy and differential"),
    ],
)
def test_envoy_mode_misuse_is_a_one_line_usage_error(args: tuple[str, ...], message: str) -> None:
    out = envoy_fuzz(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_replay_and_fuzz_pass_serve_mode_to_what_they_start(tmp_path: Path) -> None:
    # a divergence only serve mode has: socket options are set when a listener binds (an
    # unknown one fails), validate mode and the model never set them
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    seed = seeds / "unbound"
    seed.write_bytes(to_text(parse_config(BAD_SOCKET_OPTION, "yaml")))
    plain = envoy_fuzz("replay", "server", str(seed), "--plane", "differential", "--json")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    served = envoy_fuzz(
        "replay", "server", str(seed), "--plane", "differential", "--envoy-mode", "serve",
        "--json",
    )  # fmt: skip
    assert served.returncode == 1, served.stdout + served.stderr
    assert "divergence" in served.stdout and "Setting socket options failed" in served.stdout
    out = envoy_fuzz(
        "fuzz", "server", "--plane", "differential", "--envoy-mode", "serve", "--runs", "2",
        "--corpus", str(seeds), "--json", cwd=tmp_path,
    )  # fmt: skip
    summary = json.loads(out.stdout)
    assert len(summary["findings"]) == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert os.environ.get(ENV_ENVOY_MODE) is None  # the command set its own, not ours
