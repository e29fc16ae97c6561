"""Signatures: frame filtering, normalization, kinds, security flags, fuzzy similarity."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import harness
from harness import targets
from harness.triage import kind_of_exception, security_marker, signature_of_exception
from harness.triage import signature as sig
from harness.triage.finding import Finding, from_exception, read_sidecar, write_sidecar

PLANTED = Path(__file__).parent / "planted" / "targets.py"

# What atheris printed for planted_bytes on b"xxBUGAyy" (trimmed log of a real run).
ATHERIS_LOG = """\
INFO: seed corpus: files: 2 min: 6b max: 8b total: 14b rss: 82Mb

 === Uncaught Python exception: ===
KeyError: b'missing'
Traceback (most recent call last):
  File "/src/harness/engine/runner.py", line 44, in one_input
    run(value)
  File "/src/tests/planted/targets.py", line 54, in planted_bytes
    _parse(data)
  File "/src/tests/planted/targets.py", line 27, in _parse
    _decode_header(data)
  File "/src/tests/planted/targets.py", line 23, in _decode_header
    table[b"missing"] += 1  # KeyError: the planted bug
    ~~~~~^^^^^^^^^^^^
KeyError: b'missing'

==9418== ERROR: libFuzzer: fuzz target exited
artifact_prefix='a/'; Test unit written to a/crash-690a2d3bb7ddb945e8afdce08cc22881e7196dd3
"""

TIMEOUT_LOG = """\
 === Timeout: 2s elapsed, timeout=1s ===
Current thread 0x00007f4b6f7c1b80 (most recent call first):
  File "/src/tests/planted/targets.py", line 45 in _spin
  File "/src/tests/planted/targets.py", line 57 in planted_bytes
  File "/src/fuzzers/fuzz_planted.py", line 11 in <module>
"""


@pytest.fixture(scope="module")
def planted() -> targets.Target:
    targets.load_file(PLANTED)
    return targets.get("planted_bytes")


def _raise(target: targets.Target, data: bytes) -> BaseException:
    """The exception ``data`` raises, with this helper's frame cut off the traceback."""
    try:
        target.run_function()(data)
    except BaseException as exc:
        assert exc.__traceback__ is not None
        return exc.with_traceback(exc.__traceback__.tb_next)
    raise AssertionError("the planted input did not crash")


def test_regression_replay_reports_the_same_signature(
    tmp_path: Path, planted: targets.Target
) -> None:
    from harness.triage import replay

    (tmp_path / "crash-x").write_bytes(b"zBUGA")
    outcome = replay.run_case(replay.Case(planted, tmp_path / "crash-x"))
    assert outcome.status == "finding"
    assert outcome.signature == "uncaught-exception: _decode_header < _parse < planted_bytes"


def test_atheris_traceback_parses_innermost_first_without_harness_frames() -> None:
    frames = sig.frames_from_text(ATHERIS_LOG)
    assert [f.function for f in frames][:3] == ["_decode_header", "_parse", "planted_bytes"]
    assert sig.crash_state(frames) == ("_decode_header", "_parse", "planted_bytes")


def test_timeout_dump_parses_and_drops_module_frame() -> None:
    frames = sig.frames_from_text(TIMEOUT_LOG)
    assert sig.crash_state(frames) == ("_spin", "planted_bytes")


def test_in_process_signature_equals_the_one_parsed_from_atheris_output(
    planted: targets.Target,
) -> None:
    exc = _raise(planted, b"xxBUGAyy")
    assert signature_of_exception(exc, "planted_bytes") == sig.make_signature(
        "uncaught-exception", sig.crash_state(sig.frames_from_text(ATHERIS_LOG))
    )


def test_check_frames_from_oracle_are_dropped(planted: targets.Target) -> None:
    exc = _raise(planted, b"\xff\xfe12")
    assert kind_of_exception(exc) == "invariant"
    assert signature_of_exception(exc, "planted_bytes") == "invariant: _check_frame < planted_bytes"


def test_divergence_signature_is_its_field(planted: targets.Target) -> None:
    exc = _raise(planted, b"SMUG")
    assert signature_of_exception(exc, "planted_bytes") == "divergence: upstream_requests"


def test_kinds() -> None:
    from harness.envoy.errors import EnvoyCrash, EnvoyHang

    assert kind_of_exception(harness.InvariantViolation("x")) == "invariant"
    assert kind_of_exception(harness.Divergence("status", 200, 400)) == "divergence"
    assert kind_of_exception(EnvoyCrash("died")) == "envoy-crash"
    assert kind_of_exception(EnvoyHang("stuck")) == "envoy-hang"
    assert kind_of_exception(MemoryError()) == "oom"
    assert kind_of_exception(AssertionError("plain")) == "uncaught-exception"
    assert kind_of_exception(ValueError()) == "uncaught-exception"


def test_empty_state_falls_back_to_the_target_name() -> None:
    assert signature_of_exception(ValueError("no traceback"), "t1") == "uncaught-exception: t1"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("parse_0x7ffe12345678", "parse_ADDRESS"),
        ("lambda_123456", "lambda_NUMBER"),
        ("h2_frame", "h2_frame"),
    ],
)
def test_normalization_folds_addresses_and_long_numbers(name: str, expected: str) -> None:
    assert sig.normalize_function(name) == expected


@given(st.text(max_size=40))
def test_normalization_is_idempotent(name: str) -> None:
    once = sig.normalize_function(name)
    assert sig.normalize_function(once) == once


def test_similarity_is_clusterfuzz_like() -> None:
    assert sig.similar(("a", "b", "c"), ("a", "b", "c"))
    assert sig.similar(("a", "b", "c"), ("a", "x", "c"))  # 2 frames in order
    assert not sig.similar(("a", "b", "c"), ("c", "b", "x"))  # in order, only 1 shared
    assert not sig.similar(("a", "b", "c"), ("a", "x", "y"))
    assert not sig.similar(("a",), ("a", "b"))


@given(
    st.lists(st.sampled_from("abcde"), max_size=3).map(tuple),
    st.lists(st.sampled_from("abcde"), max_size=3).map(tuple),
)
def test_similarity_is_symmetric(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert sig.similar(a, b) == sig.similar(b, a)


def test_security_flags_and_markers() -> None:
    from harness.envoy.errors import EnvoyCrash, EnvoyHang

    crash = from_exception(EnvoyCrash("signal 11"), target="t", data=b"x")
    hang = from_exception(EnvoyHang("no /ready"), target="t", data=b"x")
    smuggle = from_exception(harness.Divergence("content_length", 1, 2), target="t", data=b"x")
    cosmetic = from_exception(harness.Divergence("headers.server", "a", "b"), target="t", data=b"x")
    flagged = from_exception(harness.Divergence("x", 1, 2, security=True), target="t", data=b"x")
    plain = from_exception(ValueError(), target="t", data=b"x")
    assert security_marker(crash) == "FuzzerSecurityIssueHigh"
    assert security_marker(hang) == "FuzzerSecurityIssueMedium"
    assert security_marker(smuggle) == "FuzzerSecurityIssueHigh"
    assert security_marker(flagged) == "FuzzerSecurityIssueHigh"
    assert security_marker(cosmetic) is None
    assert security_marker(plain) is None


def test_sidecar_round_trip(tmp_path: Path, planted: targets.Target) -> None:
    exc = _raise(planted, b"SMUG")
    finding = from_exception(exc, target="planted_bytes", data=b"SMUG", path=tmp_path / "crash-1")
    write_sidecar(finding, tmp_path / "crash-1")
    back = read_sidecar(tmp_path / "crash-1")
    assert isinstance(back, Finding)
    assert back.signature == finding.signature == "divergence: upstream_requests"
    assert back.security and back.observations["field"] == "upstream_requests"
    assert "harness.triage.reproduce planted_bytes" in back.reproduce
    assert read_sidecar(tmp_path / "missing") is None


def test_timeout_dump_prefers_the_current_thread() -> None:
    dump = (
        "Thread 0x1 (most recent call first):\n"
        '  File "/x/worker.py", line 3 in idle\n'
        "Current thread 0x2 (most recent call first):\n"
        '  File "/x/t.py", line 9 in spin\n'
        '  File "/x/t.py", line 12 in target\n'
        "Thread 0x3 (most recent call first):\n"
        '  File "/x/other.py", line 1 in wait\n'
    )
    assert sig.crash_state(sig.frames_from_text(dump)) == ("spin", "target")


def test_exception_chain_uses_the_escaping_exception() -> None:
    chained = (
        "Traceback (most recent call last):\n"
        '  File "/x/a.py", line 1, in first\n'
        "KeyError: 1\n\nDuring handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/x/a.py", line 5, in outer\n'
        '  File "/x/a.py", line 7, in second\n'
        "ValueError: 2\n"
    )
    assert sig.crash_state(sig.frames_from_text(chained)) == ("second", "outer")


@pytest.mark.parametrize("root", ["/src/envoy-fuzz/", ""])
def test_engine_frames_are_dropped_from_frozen_relative_paths_too(root: str) -> None:
    """A pyinstaller-frozen fuzzer (OSS-Fuzz) prints paths relative to its bundle: the same
    frames must be dropped as from a script run, so both sign a crash alike."""
    frames = [
        sig.Frame(f"{root}harness/codec/http1.py", 10, "parse"),
        sig.Frame(f"{root}harness/engine/runner.py", 20, "test_one_input"),
        sig.Frame(f"{root}fuzzers/fuzz_http1.py", 5, "main"),
        sig.Frame(f"{root}harness/oracle.py", 7, "check"),
    ]
    assert [f.ignored() for f in frames] == [False, True, True, True]
    assert not sig.Frame("myharness/engine/runner.py", 1, "f").ignored()  # not ours
