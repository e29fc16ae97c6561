"""Minimization keeps the signature and reaches the smallest trigger of a planted bug."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import targets
from harness.engine.corpus import parse_text_proto
from harness.proto import common_pb2
from harness.triage.minimize import ddmin, minimize
from harness.triage.reproduce import Reproducer

PLANTED = Path(__file__).parent / "planted" / "targets.py"


@pytest.fixture(scope="module")
def raw() -> Reproducer:
    targets.load_file(PLANTED)
    return Reproducer(targets.get("planted_bytes"), timeout=0.5)


@pytest.fixture(scope="module")
def proto() -> Reproducer:
    targets.load_file(PLANTED)
    return Reproducer(targets.get("planted_proto"), timeout=0.5)


def test_ddmin_is_one_minimal() -> None:
    def test(s: bytes) -> bool:
        return b"a" in s and b"z" in s

    assert ddmin(b"qqqaqqqqqqqzqq", test) == b"az"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=60), st.binary(max_size=60))
def test_raw_minimize_reaches_the_smallest_trigger(raw: Reproducer, a: bytes, b: bytes) -> None:
    data = a.replace(b"#", b"") + b"BUGA" + b
    if raw.signature(data) != raw.signature(b"BUGA"):
        return  # another planted bug fires first (e.g. HANG/SMUG/\xff\xfe prefixes)
    result = minimize(raw, data, budget=30)
    assert result.data == b"BUGA" and result.finished
    assert raw.signature(result.data) == result.signature


def test_signature_is_kept_not_just_the_crash(raw: Reproducer) -> None:
    # "#" routes through _parse_alt: dropping it still crashes, but with another signature.
    result = minimize(raw, b"#" + b"x" * 40 + b"BUGA" + b"y" * 40, budget=30)
    assert result.data == b"#BUGA"
    assert "_parse_alt" in result.signature


def test_attempts_that_hang_are_bounded(raw: Reproducer) -> None:
    # Removing "BUGA" leaves "HANG...": an endless loop that each attempt's timeout must cut.
    started = time.monotonic()
    result = minimize(raw, b"HANGBUGA" + b"." * 20, budget=60)
    assert result.data == b"BUGA"
    assert time.monotonic() - started < 30


def test_budget_returns_the_smallest_crasher_so_far(raw: Reproducer) -> None:
    data = bytes(range(1, 200)) + b"BUGA" + bytes(range(1, 200))
    result = minimize(raw, data, budget=0.002)
    assert not result.finished or result.data == b"BUGA"
    assert len(result.data) <= len(data)
    assert raw.signature(result.data) == result.signature


def test_timeout_findings_minimize_to_a_still_hanging_input(raw: Reproducer) -> None:
    result = minimize(Reproducer(raw.target, timeout=0.1), b"HANG" + b"z" * 6, budget=30)
    assert result.data == b"HANG"
    assert result.signature.startswith("timeout:")


def test_proto_minimize_drops_structure_then_shrinks_strings(proto: Reproducer) -> None:
    text = (
        b'headers { key: "a" value: "b" }\n'
        b'headers { key: "x-bug" value: "xxxxboomyyyy" }\n'
        b'headers { key: "c" value: "dddd" }\n'
        b'headers { key: "x-bug" value: "fine" }\n'
    )
    result = minimize(proto, text, budget=30)
    msg = parse_text_proto(common_pb2.Headers, result.data)
    assert msg is not None and len(msg.headers) == 1
    assert (msg.headers[0].key, msg.headers[0].value) == ("x-bug", "boom")
    assert (
        proto.signature(result.data)
        == result.signature
        == "uncaught-exception: _lookup < planted_proto"
    )
