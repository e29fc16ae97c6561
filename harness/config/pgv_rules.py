"""protoc-gen-validate's rules as a table: rule name -> a factory of checkers.

A factory takes the rule's value (and the whole rules message, for rules that combine such as
``gt`` with ``lt``) and returns a checker: value -> the violation in PGV's wording, or None.
``harness.config.pgv`` compiles each rule-carrying field of a descriptor into its checkers
once and runs them on every message.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

import re2

Checker = Callable[[Any], "str | None"]
Factory = Callable[[Any, Any], "Checker | None"]

_QUIET = re2.Options()
_QUIET.log_errors = False
# PGV's well-known regexes (validate.proto, KnownRegex), strict and loose. They are one
# character class each, which Python's re reads as RE2 does (code points); re's fullmatch
# of the class (\Z, not $: re's $ also matches before a final newline) is ~8x faster here
# than a call through the RE2 wrapper
_HEADER_PATTERNS = {
    "name": r"^:?[0-9a-zA-Z!#$%&'*+-.^_|~\x60]+$",
    "value": r"^[^\x00-\x08\x0A-\x1F\x7F]*$",
    "loose": r"^[^\x00\x0A\x0D]*$",
}
_HEADER_CHECKS = {
    kind: (re.compile(p.removeprefix("^").removesuffix("$") + r"\Z").match, p)
    for kind, p in _HEADER_PATTERNS.items()
}


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _when(ok: Callable[[Any], bool], message: str) -> Checker:
    return lambda v: None if ok(v) else message


def _range(
    r: Any, fmt: Callable[[Any], str] = _fmt, key: Callable[[Any], Any] = lambda x: x
) -> Checker | None:
    """gt/gte/lt/lte together, as PGV words them (inside/outside a range, or one bound)."""
    lo_name = "gt" if r.HasField("gt") else "gte" if r.HasField("gte") else None
    hi_name = "lt" if r.HasField("lt") else "lte" if r.HasField("lte") else None
    if lo_name is None and hi_name is None:
        return None
    lo: Any = key(getattr(r, lo_name)) if lo_name else None
    hi: Any = key(getattr(r, hi_name)) if hi_name else None
    lo_ok: Callable[[Any], bool] = (
        (lambda v: True) if lo_name is None else (lambda v: v > lo) if lo_name == "gt"
        else (lambda v: v >= lo)
    )  # fmt: skip
    hi_ok: Callable[[Any], bool] = (
        (lambda v: True) if hi_name is None else (lambda v: v < hi) if hi_name == "lt"
        else (lambda v: v <= hi)
    )  # fmt: skip
    if lo_name and hi_name:
        left = "(" if lo_name == "gt" else "["
        right = ")" if hi_name == "lt" else "]"
        lo_s, hi_s = fmt(getattr(r, lo_name)), fmt(getattr(r, hi_name))
        if hi > lo:
            return _when(
                lambda v: lo_ok(key(v)) and hi_ok(key(v)),
                f"value must be inside range {left}{lo_s}, {hi_s}{right}",
            )
        # an exclusive range: outside [hi, lo]
        left, right = ("(" if hi_name == "lte" else "["), (")" if lo_name == "gte" else "]")
        return _when(
            lambda v: lo_ok(key(v)) or hi_ok(key(v)),
            f"value must be outside range {left}{hi_s}, {lo_s}{right}",
        )
    if lo_name is not None:
        word = "greater than" if lo_name == "gt" else "greater than or equal to"
        return _when(lambda v: lo_ok(key(v)), f"value must be {word} {fmt(getattr(r, lo_name))}")
    assert hi_name is not None
    word = "less than" if hi_name == "lt" else "less than or equal to"
    return _when(lambda v: hi_ok(key(v)), f"value must be {word} {fmt(getattr(r, hi_name))}")


def _list(values: Any, fmt: Callable[[Any], str] = _fmt) -> str:
    return "[" + " ".join(fmt(v) for v in values) + "]"


def _in(values: Any, _r: Any) -> Checker:
    allowed = frozenset(values)
    return _when(lambda v: v in allowed, f"value must be in list {_list(values)}")


def _not_in(values: Any, _r: Any) -> Checker:
    banned = frozenset(values)
    return _when(lambda v: v not in banned, f"value must not be in list {_list(values)}")


def _const(value: Any, _r: Any) -> Checker:
    shown = ("true" if value else "false") if isinstance(value, bool) else _fmt(value)
    return _when(lambda v: v == value, f"value must equal {shown}")


NUMBER: dict[str, Factory] = {
    "const": _const,
    "lt": lambda _v, r: _range(r),  # one checker for the bounds: lt/lte/gt/gte combine
    "in": _in,
    "not_in": _not_in,
}
_BOUNDS = ("lt", "lte", "gt", "gte")


def is_hostname(host: str) -> bool:
    """PGV's hostname rule: at most 253 characters, dot-separated labels of 1-63 letters,
    digits and hyphens, no label starting or ending with a hyphen (a trailing dot allowed)."""
    if len(host) > 253:
        return False
    for part in host.removesuffix(".").split("."):
        if not 0 < len(part) <= 63 or part[0] == "-" or part[-1] == "-":
            return False
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in part):
            return False
    return True


def _ip(value: str | bytes, version: int | None) -> bool:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return version is None or addr.version == version


def _well_known(kind: int, r: Any) -> Checker | None:
    strict = not r.HasField("strict") or r.strict
    if kind == 1:  # HTTP_HEADER_NAME
        match, pattern = _HEADER_CHECKS["name" if strict else "loose"]
    elif kind == 2:  # HTTP_HEADER_VALUE
        match, pattern = _HEADER_CHECKS["value" if strict else "loose"]
    else:
        return None
    return _when(lambda v: match(v) is not None, f'value does not match regex pattern "{pattern}"')


def _pattern(p: str, _r: Any) -> Checker:
    compiled = re2.compile(p, _QUIET)
    # RE2 matches UTF-8 either way; given bytes, the wrapper skips mapping byte offsets back
    # to characters (the match's position is not wanted), ~2.5x faster
    return _when(
        lambda v: compiled.search(v.encode()) is not None,
        f'value does not match regex pattern "{p}"',
    )


def _flag(ok: Callable[[Any], bool], message: str) -> Factory:
    return lambda on, _r: _when(ok, message) if on else None


STRING: dict[str, Factory] = {
    "const": _const,
    "len": lambda n, _r: _when(lambda v: len(v) == n, f"value length must be {n} characters"),
    "min_len": lambda n, _r: _when(
        lambda v: len(v) >= n, f"value length must be at least {n} characters"
    ),
    "max_len": lambda n, _r: _when(
        lambda v: len(v) <= n, f"value length must be at most {n} characters"
    ),
    "len_bytes": lambda n, _r: _when(
        lambda v: len(v.encode()) == n, f"value length must be {n} bytes"
    ),
    "min_bytes": lambda n, _r: _when(
        lambda v: len(v.encode()) >= n, f"value length must be at least {n} bytes"
    ),
    "max_bytes": lambda n, _r: _when(
        lambda v: len(v.encode()) <= n, f"value length must be at most {n} bytes"
    ),
    "pattern": _pattern,
    "prefix": lambda p, _r: _when(lambda v: v.startswith(p), f'value does not have prefix "{p}"'),
    "suffix": lambda s, _r: _when(lambda v: v.endswith(s), f'value does not have suffix "{s}"'),
    "contains": lambda s, _r: _when(lambda v: s in v, f'value does not contain substring "{s}"'),
    "not_contains": lambda s, _r: _when(lambda v: s not in v, f'value contains substring "{s}"'),
    "in": _in,
    "not_in": _not_in,
    "hostname": _flag(is_hostname, "value must be a valid hostname"),
    "ip": _flag(lambda v: _ip(v, None), "value must be a valid IP address"),
    "ipv4": _flag(lambda v: _ip(v, 4), "value must be a valid IPv4 address"),
    "ipv6": _flag(lambda v: _ip(v, 6), "value must be a valid IPv6 address"),
    "address": _flag(
        lambda v: _ip(v, None) or is_hostname(v), "value must be a valid hostname, or ip address"
    ),
    "well_known_regex": _well_known,
}

BYTES: dict[str, Factory] = {
    "const": _const,
    "len": lambda n, _r: _when(lambda v: len(v) == n, f"value length must be {n} bytes"),
    "min_len": lambda n, _r: _when(
        lambda v: len(v) >= n, f"value length must be at least {n} bytes"
    ),
    "max_len": lambda n, _r: _when(
        lambda v: len(v) <= n, f"value length must be at most {n} bytes"
    ),
    "prefix": lambda p, _r: _when(lambda v: v.startswith(p), f"value does not have prefix {p!r}"),
    "suffix": lambda s, _r: _when(lambda v: v.endswith(s), f"value does not have suffix {s!r}"),
    "contains": lambda s, _r: _when(lambda v: s in v, f"value does not contain {s!r}"),
    "in": _in,
    "not_in": _not_in,
    "ip": _flag(lambda v: len(v) in (4, 16), "value must be a valid IP address"),
    "ipv4": _flag(lambda v: len(v) == 4, "value must be a valid IPv4 address"),
    "ipv6": _flag(lambda v: len(v) == 16, "value must be a valid IPv6 address"),
}


def _enum_defined(on: bool, r: Any) -> Checker | None:
    return None  # bound per field in pgv (it needs the enum's values); listed to be known


ENUM: dict[str, Factory] = {
    "const": _const,
    "defined_only": _enum_defined,
    "in": _in,
    "not_in": _not_in,
}


def duration_key(d: Any) -> int:
    return int(d.seconds) * 1_000_000_000 + int(d.nanos)


def duration_text(d: Any) -> str:
    nanos = duration_key(d)
    if nanos % 1_000_000_000 == 0:
        return f"{nanos // 1_000_000_000}s"
    return f"{nanos / 1e9:g}s"


DURATION: dict[str, Factory] = {
    "const": lambda c, _r: _when(
        lambda v: duration_key(v) == duration_key(c), f"value must equal {duration_text(c)}"
    ),
    "lt": lambda _v, r: _range(r, duration_text, duration_key),
    "in": lambda vs, _r: _when(
        lambda v: duration_key(v) in {duration_key(x) for x in vs},
        f"value must be in list {_list(vs, duration_text)}",
    ),
    "not_in": lambda vs, _r: _when(
        lambda v: duration_key(v) not in {duration_key(x) for x in vs},
        f"value must not be in list {_list(vs, duration_text)}",
    ),
}

TIMESTAMP: dict[str, Factory] = {
    "const": lambda c, _r: _when(
        lambda v: duration_key(v) == duration_key(c), "value must equal the timestamp"
    ),
    "lt": lambda _v, r: _range(r, duration_text, duration_key),
}

ANY: dict[str, Factory] = {
    "in": lambda urls, _r: _when(
        lambda v: v.type_url in set(urls), f"type URL must be in list {_list(urls)}"
    ),
    "not_in": lambda urls, _r: _when(
        lambda v: v.type_url not in set(urls), f"type URL must not be in list {_list(urls)}"
    ),
}

REPEATED: dict[str, Factory] = {
    "min_items": lambda n, _r: _when(
        lambda v: len(v) >= n, f"value must contain at least {n} item(s)"
    ),
    "max_items": lambda n, _r: _when(
        lambda v: len(v) <= n, f"value must contain no more than {n} item(s)"
    ),
    "unique": _flag(lambda v: len(set(v)) == len(v), "repeated value must contain unique items"),
}

MAP: dict[str, Factory] = {
    "min_pairs": lambda n, _r: _when(
        lambda v: len(v) >= n, f"value must contain at least {n} pair(s)"
    ),
    "max_pairs": lambda n, _r: _when(
        lambda v: len(v) <= n, f"value must contain no more than {n} pair(s)"
    ),
}

# FieldRules' case -> the table of its rules; numbers share one
TABLES: dict[str, dict[str, Factory]] = {
    **{
        kind: NUMBER
        for kind in (
            "float",
            "double",
            "int32",
            "int64",
            "uint32",
            "uint64",
            "sint32",
            "sint64",
            "fixed32",
            "fixed64",
            "sfixed32",
            "sfixed64",
        )
    },
    "bool": {"const": _const},
    "string": STRING,
    "bytes": BYTES,
    "enum": ENUM,
    "duration": DURATION,
    "timestamp": TIMESTAMP,
    "any": ANY,
    "repeated": REPEATED,
    "map": MAP,
}
# rules handled by the engine itself (they are about presence or recurse), not by a checker
STRUCTURAL = frozenset({"required", "items", "keys", "values", "ignore_empty", "no_sparse"})
# rules that shape another rule rather than check by themselves
MODIFIERS = frozenset({"strict", "lte", "gt", "gte"})


def compile_rules(kind: str, rules: Any) -> list[tuple[str, Checker]]:
    """The checkers of one field's ``FieldRules.<kind>`` message, as (rule id, checker)."""
    table = TABLES.get(kind, {})
    out: list[tuple[str, Checker]] = []
    bounds_done = False
    for fd, value in rules.ListFields():
        name = fd.name
        if name in STRUCTURAL or name == "strict":
            continue
        if name in _BOUNDS:
            if bounds_done:
                continue
            bounds_done, name = True, "lt"
        factory = table.get(name)
        if factory is None:
            continue  # a rule Envoy's API does not use (email, uri, uuid, lt_now, ...)
        checker = factory(value, rules)
        if checker is not None:
            out.append((f"{kind}.{fd.name}", checker))
    return out
