"""The conformance suite: its tables, its CLI and reports, and that it can fail - against
servers of our own that are broken on purpose, a second real implementation (hypercorn), the
real Envoy (once per session; its failures must be the ones docs/conformance.md explains) and
the Envoy model."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.codec.http2 import PREFACE
from harness.conformance import report, runner
from harness.conformance.case import H1Expect, H2Expect
from harness.conformance.net import Closed, Timeout
from harness.conformance.runner import CaseResult, all_cases, select
from harness.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "conformance.md"

# h2spec's spec/ tree (summerwind/h2spec, generic/ http2/ hpack/): cases per group.
H2SPEC_GROUPS = {
    "generic/1": 1, "generic/2": 5, "generic/3.1": 3, "generic/3.2": 3, "generic/3.3": 5,
    "generic/3.4": 1, "generic/3.5": 1, "generic/3.7": 1, "generic/3.8": 1, "generic/3.9": 2,
    "generic/3.10": 2, "generic/4": 4, "generic/5": 15,
    "http2/3.5": 2, "http2/4.1": 3, "http2/4.2": 3, "http2/4.3": 3, "http2/5.1": 13,
    "http2/5.1.1": 2, "http2/5.1.2": 1, "http2/5.3.1": 2, "http2/5.4.1": 2, "http2/5.5": 2,
    "http2/6.1": 3, "http2/6.2": 4, "http2/6.3": 2, "http2/6.4": 3, "http2/6.5": 3,
    "http2/6.5.2": 5, "http2/6.5.3": 2, "http2/6.7": 4, "http2/6.8": 1, "http2/6.9": 3,
    "http2/6.9.1": 3, "http2/6.9.2": 3, "http2/6.10": 6, "http2/7": 2, "http2/8.1": 1,
    "http2/8.1.2": 1, "http2/8.1.2.1": 4, "http2/8.1.2.2": 2, "http2/8.1.2.3": 7,
    "http2/8.1.2.6": 2, "http2/8.2": 1,
    "hpack/2.3.3": 2, "hpack/4.2": 1, "hpack/5.2": 3, "hpack/6.1": 1, "hpack/6.3": 1,
}  # fmt: skip


# ---- the tables -------------------------------------------------------------------------


def test_case_tables_have_unique_ids_and_the_promised_sizes() -> None:
    cases = all_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    assert len(cases) >= 250
    by_spec = Counter(c.id.split("/")[0] for c in cases)
    assert by_spec["generic"] + by_spec["http2"] + by_spec["hpack"] == 147
    assert by_spec["rfc9113"] >= 40
    assert by_spec["http1"] >= 60
    for c in cases:
        assert c.section.startswith("RFC "), c.id
        assert c.requirement and c.group, c.id
        assert (c.protocol == "h2") == bool(c.steps) or c.protocol == "h1", c.id


def test_h2spec_cases_sit_under_h2spec_ids() -> None:
    groups = Counter(c.id.rsplit("/", 1)[0] for c in all_cases() if c.protocol == "h2")
    assert {g: n for g, n in groups.items() if not g.startswith("rfc9113")} == H2SPEC_GROUPS
    for c in all_cases():
        n = int(c.id.rsplit("/", 1)[1])
        assert n >= 1


def test_prefixes_select_whole_segments() -> None:
    cases = all_cases()
    chosen = [c.id for c in select(cases, ["http2/6.5"])]
    assert chosen[:3] == ["http2/6.5/1", "http2/6.5/2", "http2/6.5/3"]
    assert len(chosen) == 3 + 5 + 2  # and h2spec's subgroups 6.5.2 and 6.5.3
    assert [c.id for c in select(cases, ["http2/6.5/1"])] == ["http2/6.5/1"]
    assert [c for c in select(cases, ["http1/3"]) if c.id.startswith("http1/3.2/")] != []
    assert len(select(cases, ["http1"])) == sum(c.id.startswith("http1/") for c in cases)
    assert select(cases, []) == cases
    with pytest.raises(UserError, match="no case id starts with 'http2/99'"):
        select(cases, ["http2/99"])


def test_a_prefix_that_selects_nothing_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "127.0.0.1:1", "nothing/here"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("envoy-fuzz: conform: no case id starts with 'nothing/here'")


def test_bad_target_and_flag_mixes_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conform", "--envoy", "127.0.0.1:80", "http1"]) == 2
    assert main(["conform", "--tls", "http1"]) == 2
    assert main(["conform", "--timeout", "0", "127.0.0.1:1"]) == 2
    assert main(["conform", "localhost:99999"]) == 2
    assert "bad target" in capsys.readouterr().err
    # prefixes may follow flags (argparse hands them over as extras); unknown flags may not
    assert main(["conform", "--model", "--json", "http1", "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["conform", "--model", "--json", "nothing/selects"]) == 2
    assert "no case id starts with 'nothing/selects'" in capsys.readouterr().err


# ---- servers broken on purpose ----------------------------------------------------------


@contextlib.contextmanager
def tcp_server(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback server calling ``handle`` per connection, each on its own thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def _silent(conn: socket.socket) -> None:
    """Reads everything, answers nothing, never closes (until the client does)."""
    with conn:
        while conn.recv(65536):
            pass


def _closer(conn: socket.socket) -> None:
    conn.close()


def _run(port: int, prefixes: list[str], timeout: float = 0.3) -> list[CaseResult]:
    cases = select(all_cases(), prefixes)
    run = runner.network_runner("127.0.0.1", port, tls=False, timeout=timeout)
    return runner.run_cases(cases, run)


def test_a_server_that_never_answers_fails_every_case() -> None:
    with tcp_server(_silent) as port:
        results = _run(port, [])
    assert Counter(r.outcome.result for r in results) == {"failed": len(results)}
    assert any("timeout" in a.lower() for a in results[0].outcome.actual)


def test_a_server_that_hangs_up_passes_only_what_a_close_satisfies() -> None:
    """A close is a valid connection error (h2spec's rule), so some cases pass; every case that
    needs an answer (a response, a PING or SETTINGS ACK, a GOAWAY code) fails."""
    with tcp_server(_closer) as port:
        results = _run(port, [])
    for r in results:
        e = r.case.expect
        close_ok = (isinstance(e, H2Expect) and e.kind in ("connection_error", "stream_error",
                    "closed", "ping_or_close", "malformed")) or (
            isinstance(e, H1Expect) and e.kind == "reject")  # fmt: skip
        if not close_ok:
            assert r.outcome.result == "failed", r.case.id
    assert {r.outcome.result for r in results} == {"passed", "failed"}


# ---- reports ----------------------------------------------------------------------------


def _junit_matches_json(results: list[CaseResult], tmp_path: Path) -> None:
    path = tmp_path / "conform.xml"
    report.write_junit(results, path)
    as_json = report.to_json(results)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert int(root.get("tests", "-1")) == as_json["summary"]["total"]
    assert int(root.get("failures", "-1")) == as_json["summary"]["failed"]
    assert int(root.get("skipped", "-1")) == as_json["summary"]["skipped"]
    from_xml = {}
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        for tc in cases:
            kind = "failed" if tc.find("failure") is not None else (
                "skipped" if tc.find("skipped") is not None else "passed")  # fmt: skip
            from_xml[tc.get("name")] = kind
    assert from_xml == {c["id"]: c["result"] for c in as_json["cases"]}


# ---- the real Envoy, once per session ---------------------------------------------------


@pytest.fixture(scope="session")
def envoy_results() -> list[CaseResult]:
    from harness.conformance.envoy import running_envoy

    with running_envoy() as proc:
        run = runner.network_runner("127.0.0.1", proc.listener_port, tls=False, timeout=2.0)
        return runner.run_cases(all_cases(), run)


def documented_failures() -> set[str]:
    """Ids in docs/conformance.md's failure table (rows starting with `| `id` |`)."""
    return set(re.findall(r"^\| `([a-z0-9./]+)` \|", DOC.read_text(), re.M))


@pytest.mark.envoy
def test_every_envoy_failure_is_explained_in_the_docs(envoy_results: list[CaseResult]) -> None:
    failed = {r.case.id for r in envoy_results if r.outcome.result == "failed"}
    assert failed, "Envoy 1.40 fails some cases; none failing means the suite stopped testing"
    assert failed == documented_failures()


@pytest.mark.envoy
def test_envoy_junit_matches_json(envoy_results: list[CaseResult], tmp_path: Path) -> None:
    _junit_matches_json(envoy_results, tmp_path)


@pytest.mark.envoy
def test_model_agrees_with_envoy_where_documented(envoy_results: list[CaseResult]) -> None:
    """Every case, HTTP/2 ones through the model's frames (conformance.model.ModelConnection)."""
    from harness.conformance.model import model_runner

    model = runner.run_cases([r.case for r in envoy_results], model_runner())
    differ = {e.case.id for e, m in zip(envoy_results, model, strict=True)
              if e.outcome.result != m.outcome.result}  # fmt: skip
    section = DOC.read_text().split("## `--envoy` vs `--model`")[1].split("\n## ")[0]
    documented = set(re.findall(r"^- `([a-z0-9./]+)`", section, re.M))
    assert differ == documented
    assert all(m.outcome.result != "skipped" or e.outcome.result == "skipped"
               for e, m in zip(envoy_results, model, strict=True))  # fmt: skip


@pytest.mark.envoy
def test_the_models_handshake_frames_are_envoys() -> None:
    """Re-observes harness.model.http2_wire's facts: Envoy's first SETTINGS, its SETTINGS ACK
    and connection WINDOW_UPDATE, byte for byte, then a request's answer frame by frame."""
    from harness.conformance.envoy import running_envoy
    from harness.conformance.h2run import H2Conn, frame_bytes, request_headers
    from harness.conformance.model import ModelConnection
    from harness.conformance.net import Connection, Wire

    def frames(conn: Wire) -> list[tuple[int, int, int, bytes]]:
        h2 = H2Conn(conn)
        conn.send(PREFACE + frame_bytes(0x4, 0, 0, b""))
        conn.send(frame_bytes(0x1, 0x5, 1, h2.encode(request_headers())))
        seen: list[tuple[int, int, int, bytes]] = []
        deadline = time.monotonic() + 2
        try:
            while len(seen) < 6:
                ev = h2.next_event(deadline)
                payload = b"" if ev.type == 0x1 else ev.payload  # HPACK state differs
                seen.append((ev.type, ev.flags, ev.stream, payload))
        except (Closed, Timeout):
            pass
        return seen

    with running_envoy() as proc:
        real = Connection("127.0.0.1", proc.listener_port)
        try:
            observed = frames(real)
        finally:
            real.close()
    assert len(observed) == 6  # SETTINGS, ACK, WINDOW_UPDATE, HEADERS, DATA, DATA
    assert frames(ModelConnection()) == observed


# ---- a second real implementation: hypercorn (h11 + h2) ---------------------------------

_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


@pytest.fixture(scope="session")
def hypercorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    pytest.importorskip("hypercorn")
    where = tmp_path_factory.mktemp("hypercorn")
    (where / "conform_app.py").write_text(_APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", "conform_app:app"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("hypercorn did not start")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def test_hypercorn_results_differ_from_envoys(
    hypercorn_port: int, envoy_results: list[CaseResult], tmp_path: Path
) -> None:
    prefixes = ["generic", "http2/5.1", "http2/6.5", "http2/8.1.2", "rfc9113/8.2.1", "http1/3",
                "http1/7.1"]  # fmt: skip
    theirs = {r.case.id: r.outcome.result for r in _run(hypercorn_port, prefixes, timeout=1.0)}
    ours = {r.case.id: r.outcome.result for r in envoy_results if r.case.id in theirs}
    assert sum(v == "passed" for v in theirs.values()) > len(theirs) // 2  # a real server
    differ = sorted(i for i in theirs if theirs[i] != ours[i])
    assert differ, "two different implementations gave identical results"
    results = _run(hypercorn_port, ["generic/3"], timeout=1.0)
    _junit_matches_json(results, tmp_path)
    out = json.dumps(report.to_json(results))
    assert '"summary"' in out


# ---- TLS with ALPN (conform HOST:PORT --tls) ----------------------------------------------

TLS_PREFIXES = ["generic/3.5", "http2/6.5", "http2/8.1.2.2", "rfc9113/8.2.2", "http1/3", "http1/7"]


@pytest.fixture(scope="session")
def server_certificate(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A self-signed certificate for 127.0.0.1, made now (openssl CLI: Debian's `openssl`)."""
    from harness.conformance.envoy import ServerCertificate

    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is not installed (Debian package openssl)")
    where = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        cwd=where, check=True, capture_output=True,
    )  # fmt: skip
    return ServerCertificate((where / "cert.pem").read_text(), (where / "key.pem").read_text())


def _negotiated(port: int, offer: str) -> tuple[str | None, str | None]:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.set_alpn_protocols([offer])
    with ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", port), 5), server_hostname="x"
    ) as s:
        return s.selected_alpn_protocol(), s.version()


@pytest.mark.envoy
def test_conform_over_tls_matches_cleartext_against_envoy(
    server_certificate: Any, envoy_results: list[CaseResult], capsys: pytest.CaptureFixture[str]
) -> None:
    """Envoy with a TLS listener (ALPN h2, http/1.1): `conform HOST:PORT --tls` negotiates each
    case's protocol and gets the cleartext run's result for every case, HTTP/2 and HTTP/1."""
    from harness.conformance.envoy import running_envoy

    with running_envoy(tls=server_certificate) as proc:
        port = proc.listener_port
        assert _negotiated(port, "h2")[0] == "h2" and _negotiated(port, "http/1.1")[0] == "http/1.1"
        code = main(["conform", f"127.0.0.1:{port}", "--tls", "--json", *TLS_PREFIXES])
    over_tls = {c["id"]: c["result"] for c in json.loads(capsys.readouterr().out)["cases"]}
    clear = {r.case.id: r.outcome.result for r in envoy_results if r.case.id in over_tls}
    assert {c.protocol for c in select(all_cases(), TLS_PREFIXES)} == {"h1", "h2"}
    assert len(over_tls) == len(select(all_cases(), TLS_PREFIXES)) >= 20
    assert over_tls == clear
    assert code == (1 if "failed" in clear.values() else 0)


def test_conform_tls_to_a_server_without_tls_or_without_h2_is_one_line(
    server_certificate: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text(server_certificate.chain_pem)
    key.write_text(server_certificate.key_pem)
    only_h1 = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    only_h1.load_cert_chain(cert, key)
    only_h1.set_alpn_protocols(["http/1.1"])

    def tls_h1_silent(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            _silent(only_h1.wrap_socket(conn, server_side=True))

    def conform(*args: str) -> tuple[int, str]:
        code = main(["conform", *args])
        return code, capsys.readouterr().err

    with tcp_server(tls_h1_silent) as port:
        code, err = conform(f"127.0.0.1:{port}", "--tls", "http2/6.5")
        assert code == 2 and "chose ALPN none where the cases need h2" in err
        assert err.count("\n") == 1
        # its HTTP/1 cases do run (and fail: it never answers); the timeout bounds the
        # handshake too, so it is generous for a loaded machine
        code, err = conform(f"127.0.0.1:{port}", "--tls", "--timeout", "1", "http1/3.2")
        assert code == 1, err
    with tcp_server(_silent) as port:  # no TLS at all: the handshake times out
        code, err = conform(f"127.0.0.1:{port}", "--tls", "--timeout", "0.5", "http1/3.2")
        assert code == 2 and re.search("TLS handshake with .* failed", err), err
