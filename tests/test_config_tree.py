"""The semantic checks' walk finds, kind by kind, what a walk of every set sub-message finds
(and the checks' other shortcuts agree with the long way).

``tree.walk`` skips sub-messages whose type can hold no Duration, RegexMatcher, extension or
Any; the reference below visits every set sub-message (as the walk did before it kept only
those kinds) and the two must agree, node for node and in order, on the observed table,
Envoy's server corpus and their mutants.
"""

from __future__ import annotations

import ipaddress

from google.protobuf import message
from hypothesis import given
from hypothesis import strategies as st

from harness.config import tree, validation
from tests.test_config_pgv_plans import _mutants, _seeds

Nodes = list[tuple[str, message.Message]]


def _every(msg: message.Message, path: str, out: Nodes) -> None:
    out.append((path, msg))
    if msg.DESCRIPTOR.full_name == "google.protobuf.Any":
        inner = tree.unpack(msg)
        if inner is not None:
            _every(inner, f"{path}[{inner.DESCRIPTOR.full_name}]", out)
        return
    for fd, value in msg.ListFields():
        if fd.type != fd.TYPE_MESSAGE:
            continue
        here = f"{path}.{fd.name}" if path else fd.name
        if fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].type == fd.TYPE_MESSAGE:
                for key in sorted(value):
                    _every(value[key], f"{here}[{key!r}]", out)
        elif fd.is_repeated:
            for i, item in enumerate(value):
                _every(item, f"{here}[{i}]", out)
        else:
            _every(value, here, out)


def _by_kind(every: Nodes) -> list[list[tuple[str, bytes]]]:
    out: list[list[tuple[str, bytes]]] = [[], [], []]
    for path, msg in every:
        desc = msg.DESCRIPTOR
        if desc.full_name == "google.protobuf.Duration":
            kind = tree.DURATIONS
        elif desc.full_name == "envoy.type.matcher.v3.RegexMatcher":
            kind = tree.REGEXES
        elif "typed_config" in desc.fields_by_name and "name" in desc.fields_by_name:
            kind = tree.EXTENSIONS
        else:
            continue
        out[kind].append((path, msg.SerializeToString()))
    return out


def test_walk_keeps_every_node_of_each_kind_in_order() -> None:
    assert tree._engine is validation.engine()  # Any payloads are unpacked
    seeds = _seeds()
    found = [0, 0, 0]
    for msg in seeds + _mutants(seeds, 300):
        every: Nodes = []
        _every(msg, "", every)
        walked = [[(p, m.SerializeToString()) for p, m in kind] for kind in tree.walk(msg, "")]
        assert walked == _by_kind(every)
        found = [n + len(kind) for n, kind in zip(found, walked, strict=True)]
    assert min(found) >= 10, found  # not vacuous: each kind is met


@given(st.from_regex(r"[0-9.]{1,16}|[0-9]{1,3}(\.[0-9]{1,3}){3}", fullmatch=True))
def test_plain_ipv4_is_what_ip_address_takes_as_ipv4(text: str) -> None:
    """startup's shortcut past ipaddress.ip_address: a match is an address it parses."""
    from harness.config.startup import PLAIN_IPV4

    try:
        parsed: object = ipaddress.ip_address(text)
    except ValueError:
        parsed = None
    assert bool(PLAIN_IPV4.match(text)) == isinstance(parsed, ipaddress.IPv4Address)


def _by_trial_division(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


@given(st.integers(min_value=-5, max_value=2_000_000))
def test_maglev_primality_is_trial_division(n: int) -> None:
    from harness.config.semantic import _is_prime

    assert _is_prime(n) == _by_trial_division(n)


def test_maglev_primality_on_large_table_sizes() -> None:
    from harness.config.semantic import _is_prime

    # the largest uint32 primes; Carmichael numbers, a strong pseudoprime to bases 2, 3, 5
    # and 7, 2^32 - 1, a prime's square, and a composite just below 2^32
    for n in (4_294_967_291, 4_294_967_279, 65_537, 2_147_483_647):
        assert _is_prime(n) and _by_trial_division(n)
    for n in (561, 41_041, 3_215_031_751, 4_294_967_295, 65_521 * 65_521, 4_294_967_293):
        assert not _is_prime(n)
        assert not _by_trial_division(n)
