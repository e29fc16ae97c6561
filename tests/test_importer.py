"""`envoy-fuzz import-envoy`: Envoy's corpus folders -> corpora/<target>/envoy/, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import targets
from harness.engine.importer import NOTICE, import_envoy
from harness.errors import UserError


@pytest.fixture
def fake_checkout(tmp_path: Path) -> Path:
    folder = tmp_path / "envoy" / "test" / "common" / "http" / "fake_corpus"
    folder.mkdir(parents=True)
    (folder / "case000").write_bytes(b"GET / HTTP/1.1\r\n\r\n")
    (folder / "clusterfuzz-testcase-1.fuzz").write_bytes(b"\x00\xff raw")
    return tmp_path / "envoy"


def test_import_copies_files_keeping_names_and_bytes(fake_checkout: Path, tmp_path: Path) -> None:
    file = tmp_path / "importing_targets.py"
    file.write_text(
        "import harness\n"
        "harness.register('importing', lambda d: None,"
        " envoy_corpora=['test/common/http/fake_corpus'])\n"
    )
    targets.load_file(file)
    out = tmp_path / "corpora"
    [item] = [i for i in import_envoy(fake_checkout, out) if i.target == "importing"]
    assert (item.files, item.new) == (2, 2)
    dest = out / "importing" / "envoy"
    assert (dest / "case000").read_bytes() == b"GET / HTTP/1.1\r\n\r\n"
    assert (dest / "clusterfuzz-testcase-1.fuzz").read_bytes() == b"\x00\xff raw"
    notice = (out / NOTICE).read_text()
    assert "Apache License 2.0" in notice and "`test/common/http/fake_corpus`" in notice
    # a second import finds nothing new
    [again] = [i for i in import_envoy(fake_checkout, out) if i.target == "importing"]
    assert again.new == 0


def test_import_from_a_tree_without_known_folders_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="none of the corpus folders"):
        import_envoy(tmp_path, tmp_path / "corpora")
