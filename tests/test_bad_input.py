"""Bad input on disk: empty, binary, huge, unreadable files, broken symlinks and symlink loops
in a corpus each get a one-line reason and a count from `replay`, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import USER_TARGETS, envoy_fuzz


@pytest.fixture
def bad_corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpora" / "user_headers"
    root.mkdir(parents=True)
    (root / "empty").write_bytes(b"")
    (root / "binary").write_bytes(bytes(range(256)) * 8)
    (root / "huge").write_bytes(b"headers { key: " + b"a" * (5 * 1024 * 1024 + 1))
    (root / "good").write_bytes(b'headers { key: "a" value: "b" }')
    (root / "broken").symlink_to(tmp_path / "nowhere")
    (root / "loop1").symlink_to(root / "loop2")
    (root / "loop2").symlink_to(root / "loop1")
    (root / "dirloop").symlink_to(root, target_is_directory=True)  # never entered
    return root


def test_replay_of_a_corpus_of_bad_files_counts_each_with_its_reason(bad_corpus: Path) -> None:
    args = ("replay", "user_headers", str(bad_corpus), "--targets", str(USER_TARGETS))
    result = envoy_fuzz(*args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "skipped user_headers/broken: unreadable: a broken symlink" in result.stdout
    assert "skipped user_headers/loop1: unreadable: a symlink loop" in result.stdout
    assert "replayed 7 files: 2 ok, 5 skipped (2 not parsable, 3 unreadable), 0 findings" in (
        result.stdout
    )
    rows = {r["id"]: r for r in map(json.loads, envoy_fuzz(*args, "--json").stdout.splitlines())}
    assert rows["user_headers/huge"]["message"] == "not a text-format test.fuzz.Headers"
    assert rows["user_headers/binary"]["status"] == "skipped"
    assert rows["user_headers/loop2"]["message"] == "unreadable: a symlink loop"
    assert bad_corpus.joinpath("good").read_bytes() == b'headers { key: "a" value: "b" }'


# <linux/prctl.h> and <linux/capability.h>
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SETPCAP = 24, 1, 2, 8


def _has_capability(cap: int) -> bool:
    status = Path("/proc/self/status").read_text()
    effective = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff"))
    return bool(int(effective, 16) >> cap & 1)


def drop_file_permission_override() -> None:
    """preexec_fn: take CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH out of the bounding set, so
    the exec'd root process gets neither and file modes bind it as they bind any owner."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_replay_counts_an_unreadable_file(tmp_path: Path) -> None:
    """A mode-000 file is unreadable to its owner. Root reads it anyway (CAP_DAC_OVERRIDE):
    as root the replay runs without the capabilities that override file modes."""
    root = tmp_path / "corpora" / "user_headers"
    root.mkdir(parents=True)
    (root / "good").write_bytes(b'headers { key: "a" value: "b" }')
    locked = root / "locked"
    locked.write_bytes(b'headers { key: "a" value: "b" }')
    locked.chmod(0)
    args = ("replay", "user_headers", str(root), "--targets", str(USER_TARGETS))
    as_root = os.geteuid() == 0
    if as_root and not _has_capability(CAP_SETPCAP):
        pytest.skip("root without CAP_SETPCAP cannot give up reading a mode-000 file")
    result = envoy_fuzz(*args, preexec_fn=drop_file_permission_override if as_root else None)
    assert "Traceback" not in result.stderr
    assert "skipped user_headers/locked: unreadable: Permission denied" in result.stdout
    assert (
        "replayed 2 files: 1 ok, 1 skipped (0 not parsable, 1 unreadable), 0 findings"
        in result.stdout
    )
    assert result.returncode == 0, result.stderr


PLANTED = Path(__file__).parent / "planted" / "targets.py"


@pytest.mark.parametrize(
    "sidecar",
    [
        b'{"target": "planted_bytes", "kind": "crash", "inp',  # truncated
        b"[1, 2, 3]",  # not an object
        b"\xff\xfe not json",
        b'{"target": "planted_bytes", "size": "many", "state": 7, "frames": "x"}',  # wrong types
        # hand-edited to point elsewhere: nothing may be read or written through it
        b'{"target": "planted_bytes", "kind": "crash", "input": "../../../escaped",'
        b' "sha1": "../../escaped2", "state": ["x"], "size": 1}',
    ],
    ids=["truncated", "not-an-object", "binary", "wrong-types", "dotdot-path"],
)
def test_triage_survives_a_bad_sidecar_and_writes_only_in_the_artifacts_dir(
    tmp_path: Path, sidecar: bytes
) -> None:
    from harness.engine import corpus
    from harness.triage.finding import read_sidecar, sidecar_path

    art = tmp_path / "work" / "artifacts" / "planted_bytes"
    crash = corpus.store(art, b"BUGA1", prefix="crash-")
    sidecar_path(crash).write_bytes(sidecar)
    before = {p for p in tmp_path.rglob("*")}
    result = envoy_fuzz("triage", str(art), "--targets", str(PLANTED), cwd=tmp_path / "work")
    assert result.returncode == 1, result.stderr  # the crash still reproduces
    assert "Traceback" not in result.stderr
    new = {p for p in tmp_path.rglob("*")} - before
    # the only other thing made is the (empty) dir for atomic writes' temp files
    outside = [p for p in new if art not in p.parents and not p.is_dir()]
    assert outside == [], outside
    finding = read_sidecar(crash)
    assert finding is not None and finding.input == str(crash)  # rewritten from the file itself
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()


def test_import_envoy_of_something_that_is_not_a_checkout_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("not envoy")
    for where in (tmp_path, tmp_path / "README", tmp_path / "missing"):
        result = envoy_fuzz("import-envoy", str(where), cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("envoy-fuzz: ") and result.stderr.count("\n") == 1


def test_a_full_disk_while_writing_the_corpus_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC on every corpus write (simulated: no unprivileged way to fill a disk): the staged
    inputs stay, one line says why, and the next run over the corpus adds every one."""
    import errno

    from harness.engine import corpus, launch

    staging_root = tmp_path / "staging"
    staged = staging_root / "user_kv.999999999"  # a pid that is not running
    staged.mkdir(parents=True)
    inputs = [b"a=1", b"b=2", b"c=3"]
    for data in inputs:
        (staged / corpus.sha1(data)).write_bytes(data)
    work_corpus = tmp_path / "corpus"
    work_corpus.mkdir()
    (work_corpus / "already-there").write_bytes(b"old")

    def disk_full(path: Path, data: bytes) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(corpus, "write_atomic", disk_full)
    staging = launch.Staging(staged, work_corpus)
    assert staging.close() == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "envoy-fuzz: 3 new inputs not written to" in err and "No space left on device" in err
    assert sorted(p.name for p in staged.iterdir()) == sorted(corpus.sha1(d) for d in inputs)
    assert [p.name for p in work_corpus.iterdir()] == ["already-there"]

    monkeypatch.undo()  # space again: the next run finishes the job
    launch.recover_stale_staging(staging_root, work_corpus, "user_kv")
    assert sorted(p.read_bytes() for p in work_corpus.iterdir()) == sorted([b"old", *inputs])
    assert not staged.exists()
