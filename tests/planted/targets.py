"""Targets with planted bugs for the triage tests (loaded with ``harness.targets.load_file``).

planted_bytes has four bugs, each reached by a distinct, known trigger:
  * ``BUGA`` anywhere -> KeyError in _decode_header (reached through _parse or _parse_alt);
  * ``\\xff\\xfe`` + 2 bytes at the start -> InvariantViolation in _check_frame;
  * ``SMUG`` at the start -> a smuggling-class Divergence (security);
  * ``OOMX`` at the start -> an allocation that cannot succeed in _grow (an OOM);
  * ``HANG`` at the start -> an endless loop in _spin (a timeout).
planted_proto (test.fuzz.Headers) raises ValueError in _lookup for a header ``x-bug`` whose
value contains ``boom``. planted_flaky crashes on every other call. planted_tokens needs
``GET ``, ``HTTP/1.1``, ``te:`` and ``chunked`` in that order (minimization benchmark).
"""

from __future__ import annotations

from typing import Any

import harness
from harness.proto import common_pb2  # noqa: F401 - registers test.fuzz.Headers


def _decode_header(data: bytes) -> None:
    table: dict[bytes, int] = {}
    if b"BUGA" in data:
        table[b"missing"] += 1  # KeyError: the planted bug


def _parse(data: bytes) -> None:
    _decode_header(data)


def _parse_alt(data: bytes) -> None:
    _decode_header(data)


def _check_frame(data: bytes) -> None:
    harness.check(not (data[:2] == b"\xff\xfe" and len(data) >= 4), "frame length underflow")


def _compare(data: bytes) -> None:
    if data.startswith(b"SMUG"):
        raise harness.Divergence("upstream_requests", 1, 2)


def _spin(data: bytes) -> None:
    n = 0
    while data.startswith(b"HANG"):
        n += 1


def _grow(data: bytes) -> None:
    if data.startswith(b"OOMX"):
        bytearray(1 << 44)  # 16 TiB: MemoryError at once, nothing is really allocated


def planted_bytes(data: bytes) -> None:
    """Raw target with planted bugs."""
    if data[:1] == b"#":
        _parse_alt(data)
    else:
        _parse(data)
    _check_frame(data)
    _compare(data)
    _grow(data)
    _spin(data)


def _lookup(key: str, value: str) -> None:
    if key == "x-bug" and "boom" in value:
        raise ValueError(f"bad header value {value!r}")


def planted_proto(msg: Any) -> None:
    """Proto target with a planted bug."""
    for header in msg.headers:
        _lookup(header.key, header.value)


_TOKENS = (b"GET ", b"HTTP/1.1", b"te:", b"chunked")


def _scan_tokens(data: bytes) -> None:
    at = 0
    for token in _TOKENS:
        at = data.find(token, at)
        if at < 0:
            return
        at += len(token)
    raise OverflowError("chunked body after a te: header")  # the planted bug


def planted_tokens(data: bytes) -> None:
    """Raw target whose bug needs four tokens in order (the smallest trigger is 22 bytes)."""
    _scan_tokens(data)


_calls = [0]


def planted_flaky(data: bytes) -> None:
    """Crashes on every other call, whatever the input (a flaky bug)."""
    _calls[0] += 1
    if data and _calls[0] % 2:
        raise RuntimeError("flaky")


harness.register("planted_bytes", planted_bytes, input="bytes")
harness.register("planted_proto", planted_proto, input="proto:test.fuzz.Headers")
harness.register("planted_flaky", planted_flaky, input="bytes")
harness.register("planted_tokens", planted_tokens, input="bytes")
