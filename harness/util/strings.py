"""Envoy's ``StringUtil`` (source/common/common/utility.cc) on bytes, with Envoy's edge cases.

Everything works on ``bytes`` because Envoy's functions see raw ``char`` data: the whitespace
set is C's (`` \\t\\f\\v\\n\\r``), case mapping is ASCII-only, and ``atoull`` goes through
``strtoull`` on a NUL-terminated copy (so it stops at the first NUL, accepts leading
whitespace and a sign, and wraps negative numbers modulo 2^64 as C does).
"""

from __future__ import annotations

WHITESPACE = b" \t\f\v\n\r"  # StringUtil::WhitespaceChars; also C isspace() in the C locale
UINT64_MAX = (1 << 64) - 1

_DIGITS = {c: i for i, c in enumerate(b"0123456789abcdefghijklmnopqrstuvwxyz")}
_DIGITS.update({c: i + 10 for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")})


def strtoull(data: bytes, base: int = 10) -> tuple[int, int] | None:
    """``StringUtil::strtoull``: (value, index of the first unparsed byte), or None.

    None when the C string is empty, no digit was read, or the value overflowed (ERANGE).
    """
    nul = data.find(0)
    s = data if nul < 0 else data[:nul]
    if not s:
        return None
    i, n = 0, len(s)
    while i < n and s[i] in WHITESPACE:
        i += 1
    negative = False
    if i < n and s[i] in b"+-":
        negative = s[i] == 0x2D
        i += 1
    if base in (0, 16) and s[i : i + 2] in (b"0x", b"0X") and i + 2 < n and _digit(s[i + 2]) < 16:
        i += 2
        base = 16
    elif base == 0:
        base = 8 if s[i : i + 1] == b"0" else 10
    start = i
    value = 0
    while i < n and _digit(s[i]) < base:
        value = value * base + _digit(s[i])
        i += 1
    if i == start:
        return None  # strtoull sets end_ptr = str: nothing parsed
    if value > UINT64_MAX:
        return None  # ULLONG_MAX with ERANGE
    if negative:
        value = (-value) & UINT64_MAX  # C applies unary minus in the unsigned type
    return value, i


def _digit(c: int) -> int:
    return _DIGITS.get(c, 99)


def atoull(data: bytes, base: int = 10) -> int | None:
    """``StringUtil::atoull``: the value when the whole C string is one number, else None."""
    parsed = strtoull(data, base)
    if parsed is None:
        return None
    value, end = parsed
    nul = data.find(0)
    length = len(data) if nul < 0 else nul
    return value if end == length else None


def escape(source: bytes) -> bytes:
    """``StringUtil::escape``: \\r, \\n, \\t and \" become two-character escapes."""
    # The replacements never create a byte that a later one rewrites ('"' goes last).
    return (
        source.replace(b"\r", b"\\r")
        .replace(b"\n", b"\\n")
        .replace(b"\t", b"\\t")
        .replace(b'"', b'\\"')
    )


def to_upper(s: bytes) -> bytes:
    return s.upper()  # bytes.upper() is ASCII-only, like absl::ascii_toupper


def ltrim(source: bytes) -> bytes:
    return source.lstrip(WHITESPACE)


def rtrim(source: bytes) -> bytes:
    return source.rstrip(WHITESPACE)


def trim(source: bytes) -> bytes:
    return source.strip(WHITESPACE)


def crop_right(source: bytes, delimiter: bytes) -> bytes:
    """Everything before the first ``delimiter`` (all of ``source`` when absent)."""
    pos = source.find(delimiter)
    return source if pos < 0 else source[:pos]


def crop_left(source: bytes, delimiter: bytes) -> bytes:
    """Everything after the first ``delimiter`` (all of ``source`` when absent)."""
    pos = source.find(delimiter)
    return source if pos < 0 else source[pos + len(delimiter) :]


def ends_with(source: bytes, suffix: bytes) -> bool:
    return source.endswith(suffix)


def case_compare(lhs: bytes, rhs: bytes) -> bool:
    """absl::EqualsIgnoreCase: equal length and equal after ASCII lower-casing."""
    return len(lhs) == len(rhs) and lhs.lower() == rhs.lower()


def split_by_any_char(source: bytes, delimiters: bytes) -> list[bytes]:
    """absl::StrSplit(source, absl::ByAnyChar(delimiters)), empty pieces kept.

    absl special-cases an empty delimiter set: it splits between every character, and an
    empty text gives one empty piece.
    """
    if not delimiters:
        return [source[i : i + 1] for i in range(len(source))] if source else [b""]
    if len(delimiters) == 1:
        return source.split(delimiters)
    pieces: list[bytes] = []
    start = 0
    for i, c in enumerate(source):
        if c in delimiters:
            pieces.append(source[start:i])
            start = i + 1
    pieces.append(source[start:])
    return pieces


def split_token(
    source: bytes,
    delimiters: bytes,
    keep_empty_string: bool = True,
    trim_whitespace: bool = False,
) -> list[bytes]:
    """``StringUtil::splitToken``."""
    pieces = split_by_any_char(source, delimiters)
    if not keep_empty_string:
        if trim_whitespace:
            pieces = [p for p in pieces if p.strip(WHITESPACE)]  # absl::SkipWhitespace
        else:
            pieces = [p for p in pieces if p]  # absl::SkipEmpty
    if trim_whitespace:
        pieces = [trim(p) for p in pieces]
    return pieces


def find_token(
    source: bytes, delimiters: bytes, key_token: bytes, trim_whitespace: bool = True
) -> bool:
    """``StringUtil::findToken``.

    Envoy passes ``trim_whitespace`` positionally as splitToken's ``keep_empty_string``, so
    with trimming empty tokens are kept (and compared after trim); without, they are skipped.
    """
    tokens = split_token(source, delimiters, trim_whitespace)
    if trim_whitespace:
        return any(trim(t) == key_token for t in tokens)
    return key_token in tokens


def case_find_token(
    source: bytes, delimiters: bytes, key_token: bytes, trim_whitespace: bool = True
) -> bool:
    """``StringUtil::caseFindToken``: findToken with absl::EqualsIgnoreCase."""
    tokens = split_token(source, delimiters, trim_whitespace)
    if trim_whitespace:
        return any(case_compare(key_token, trim(t)) for t in tokens)
    return any(case_compare(key_token, t) for t in tokens)
