"""Validate-mode Envoys write nowhere outside their private directory (``harness.envoy.sandbox``).

A fuzzed config names files Envoy opens for writing (access logs, event logs, key logs);
``envoy --mode validate`` really opens them. These tests hand the real Envoy configs naming
files outside the sandbox and check that the files do not appear, with each layer alone
(paths rewritten; a read-only namespace) and both together.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import text_format

from harness.config import files
from harness.config.load import parse_config
from harness.config.validation import engine
from harness.envoy import sandbox
from harness.envoy.validate import validate_bytes
from harness.errors import UserError

CASES = Path(__file__).parent / "data" / "config_cases"
FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory outside any sandbox (the test's own), and a /tmp name nobody uses."""
    yield tmp_path_factory.mktemp("outside")


def _config(admin_log: str, hcm_log: str) -> bytes:
    """The table's valid base config with an admin access log and a file access log on its
    HTTP connection manager."""
    text = (CASES / "valid_base.yaml").read_text()
    text = text.replace(
        "          stat_prefix: s\n",
        "          stat_prefix: s\n"
        "          access_log:\n"
        "          - name: envoy.access_loggers.file\n"
        "            typed_config:\n"
        f"              '@type': {FILE_LOG}\n"
        f"              path: {hcm_log}\n",
    )
    return (text + f"admin:\n  access_log_path: {admin_log}\n").encode()


def test_written_file_table_names_real_fields() -> None:
    from harness.proto import message_class

    for (name, field), kind in files.WRITTEN_FILES.items():
        assert field in message_class(name).DESCRIPTOR.fields_by_name, (name, field)
        assert kind in (files.FILE, files.DIRECTORY, files.PREFIX)


def test_redirect_reaches_typed_config_payloads(tmp_path: Path) -> None:
    msg = parse_config(_config("/tmp/a.log", "/var/b.log"), "yaml")
    seen: list[tuple[str, str]] = []

    def place(path: str, kind: str) -> str:
        seen.append((path, kind))
        return f"{tmp_path}/{len(seen)}"

    assert files.redirect_written_files(msg, place, engine().message_of_any) == 2
    assert sorted(seen) == [("/tmp/a.log", "file"), ("/var/b.log", "file")]
    text = text_format.MessageToString(msg)
    assert "/tmp/a.log" not in text and f"{tmp_path}/1" in text
    assert "/var/b.log" not in text and f"{tmp_path}/2" in text  # packed back into the Any


def test_unparsable_config_runs_only_when_it_can_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox, "namespace_available", lambda: False)
    box = sandbox.Sandbox(tmp_path)
    harmless = b"static_resources { nonsense: 1 }"
    assert box.confine(harmless, "text") == (harmless, "text")
    with pytest.raises(UserError, match="cannot sandbox"):
        box.confine(b"admin { access_log_path: '/x' nonsense: 1 }", "text")


@pytest.mark.envoy
def test_envoy_writes_no_file_it_is_told_to(outside: Path) -> None:
    """Both layers (as the fuzz planes run): valid, and neither file appears."""
    in_tmp = Path("/tmp") / f"envoy-fuzz-sandbox-test-{uuid.uuid4().hex}"
    elsewhere = outside / "access.log"
    verdict = validate_bytes(_config(str(in_tmp), str(elsewhere)), "yaml")
    assert verdict.valid, verdict.describe()
    assert not in_tmp.exists()
    assert not elsewhere.exists()


@pytest.mark.envoy
def test_paths_layer_alone(outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a namespace (as in a container that forbids one) the rewrite alone holds,
    and the verdict is Envoy's on the config (the files open inside the sandbox)."""
    monkeypatch.setattr(sandbox, "namespace_available", lambda: False)
    target = outside / "admin.log"
    assert validate_bytes(_config(str(target), str(outside / "b.log")), "yaml").valid
    assert not target.exists() and not (outside / "b.log").exists()


@pytest.mark.envoy
def test_read_only_layer_alone(outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A written file the path table does not know: the namespace makes the open fail."""
    if not sandbox.namespace_available():
        pytest.skip("no unprivileged user+mount namespace here: " + sandbox.layers())
    monkeypatch.setattr(files, "WRITTEN_FILES", {})
    monkeypatch.setattr(files, "_BY_MESSAGE", {})
    target = outside / "admin.log"
    verdict = validate_bytes(_config(str(target), str(outside / "b.log")), "yaml")
    assert not verdict.valid
    assert "Read-only file system" in (verdict.error or ""), verdict.describe()
    assert not target.exists() and not (outside / "b.log").exists()


def test_relative_paths_write_inside_the_private_directory(tmp_path: Path) -> None:
    """The child starts in the private directory; inside the namespace a relative path must
    still reach it (through the writable bind, not the read-only mount underneath)."""
    if not sandbox.namespace_available():
        pytest.skip("no unprivileged user+mount namespace here: " + sandbox.layers())
    box = sandbox.Sandbox(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", "open('relative.txt', 'w').write('x')"],
        cwd=tmp_path, preexec_fn=box.preexec(lambda: None), capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "relative.txt").read_text() == "x"
