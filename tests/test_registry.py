"""The target registry and user target files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import targets
from harness.errors import UserError
from tests.conftest import USER_TARGETS


def test_user_file_targets_get_corpus_dirs_beside_the_file() -> None:
    loaded = {t.name: t for t in targets.load_file(USER_TARGETS)}
    assert set(loaded) == {"user_kv", "user_headers"}
    kv = loaded["user_kv"]
    assert kv.corpus == USER_TARGETS.parent / "corpora" / "user_kv"
    assert kv.planes == ("model",)
    assert kv.source == str(USER_TARGETS)
    assert targets.get("user_kv") is kv
    # loading twice is harmless
    assert {t.name for t in targets.load_file(USER_TARGETS)} == {"user_kv", "user_headers"}


def test_unknown_target_suggests_a_close_name() -> None:
    targets.load_file(USER_TARGETS)
    with pytest.raises(UserError, match="did you mean 'user_kv'"):
        targets.get("user_kvv")


@pytest.mark.parametrize(
    ("name", "input", "plane", "message"),
    [
        ("Bad-Name", "bytes", "model", "must match"),
        ("ok_name", "text", "model", "input must be"),
        ("ok_name", "bytes", "cloud", "plane must be one of"),
    ],
)
def test_register_validates(name: str, input: str, plane: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        targets.register(name, lambda data: None, input=input, plane=plane)


def test_a_target_can_have_two_planes(tmp_path: Path) -> None:
    file = tmp_path / "two_planes_targets.py"
    file.write_text(
        "import harness\n"
        "harness.register('two_planes', lambda d: None, plane='model')\n"
        "harness.register('two_planes', lambda d: None, plane='envoy')\n"
    )
    [target] = targets.load_file(file)
    assert target.planes == ("model", "envoy")
    assert target.default_plane() == "model"


def test_targets_file_without_targets_is_an_error(tmp_path: Path) -> None:
    file = tmp_path / "empty_targets.py"
    file.write_text("x = 1\n")
    with pytest.raises(UserError, match="registers no targets"):
        targets.load_file(file)


# libFuzzer's dictionary grammar: `name="value"` or `"value"`; inside the quotes, `\\`, `\"`
# and `\xNN` escapes; `#` comments and blank lines. A bad line aborts a run at start-up.
_DICT_LINE = re.compile(r'^(?:[A-Za-z0-9_]+=)?"(?:[^"\\]|\\\\|\\"|\\x[0-9A-Fa-f]{2})*"$')


def test_every_builtin_dictionary_parses_as_libfuzzer_reads_it() -> None:
    dictionaries = [t.dictionary for t in targets.all_targets() if t.dictionary is not None]
    assert {p.name for p in dictionaries} >= {"h1_capture.dict", "h2_capture.dict"}
    for path in dictionaries:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                assert _DICT_LINE.match(line), f"{path.name}:{number}: {line}"
