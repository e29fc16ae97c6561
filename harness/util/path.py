"""Envoy's ``Http::PathUtil`` (source/common/http/path_utility.cc) on bytes.

``canonical_path`` is RFC 3986 normalization as Envoy does it: the part before the first
``?`` goes through Chromium's ``url::CanonicalizePath`` (Envoy's snapshot in
source/common/chromium_url/url_canon_path.cc, also LegacyPathCanonicalizer) and the query is
re-attached unchanged:

* ``\\`` becomes ``/``; ``.``/``..`` segments (also written ``%2e``/``%2E``) are resolved and
  never climb above the root; slashes are NOT merged;
* ``%XX`` of an unreserved character (ALPHA, DIGIT, ``-``, ``.``, ``_``, ``~``) is decoded;
  other valid escapes are kept exactly (hex case preserved); ``%00`` makes the path invalid;
* controls, space, ``"``, ``#``, ``%`` (only when not a valid escape it stays as ``%``),
  ``<``, ``>``, backquote, ``{``, ``|``, ``}``, DEL and every byte >= 0x80 are escaped with
  uppercase hex; a raw NUL is escaped and makes the path invalid;
* an invalid escape such as ``%%30`` whose decoding would create a new valid escape gets
  its ``%`` rewritten to ``%25`` (Chromium's nested-escape protection).

The snapshot does not validate UTF-8 (it escapes bytes one by one); newer Envoy builds that
use googleurl directly reject invalid UTF-8 — pass ``validate_utf8=True`` for that variant.
"""

from __future__ import annotations

# kPathCharLookup flags.
_PASS, _SPECIAL, _ESCAPE, _UNESCAPE, _INVALID = 0, 1, 3, 4, 9


def _path_table() -> bytes:
    table = bytearray([_ESCAPE] * 256)  # controls and every high-bit byte are escaped
    table[0] = _INVALID
    for c in b"!$&'()*+,;=@[]:":
        table[c] = _PASS
    table[ord("/")] = _PASS
    for c in b"-_~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        table[c] = _UNESCAPE
    table[ord(".")] = _SPECIAL
    table[ord("\\")] = _ESCAPE  # handled before the escape bit: becomes '/'
    for c in b' "#%<>?^`{|}\x7f':
        table[c] = _ESCAPE
    return bytes(table)


PATH_CHAR_LOOKUP = _path_table()
_HEX_VALUE = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}
_FAST_PASS = frozenset(c for c in range(256) if not PATH_CHAR_LOOKUP[c] & _SPECIAL)


def _is_dot(spec: bytes, i: int, end: int) -> int:
    """IsDot: 1 for '.', 3 for '%2e'/'%2E', else 0."""
    c = spec[i]
    if c == 0x2E:
        return 1
    if c == 0x25 and i + 3 <= end and spec[i + 1] == 0x32 and spec[i + 2] in b"eE":
        return 3
    return 0


def _decode_escaped(spec: bytes | bytearray, i: int, end: int) -> int | None:
    """DecodeEscaped at the '%' at ``i``: the byte value, or None."""
    if i + 3 > end:
        return None
    hi = _HEX_VALUE.get(spec[i + 1])
    lo = _HEX_VALUE.get(spec[i + 2])
    if hi is None or lo is None:
        return None
    return hi * 16 + lo


def _classify_after_dot(spec: bytes, after: int, end: int) -> tuple[int, int]:
    """ClassifyAfterDot: (disposition, consumed); 0 = not a directory, 1 = '.', 2 = '..'."""
    if after == end:
        return 1, 0
    if spec[after] in b"/\\":
        return 1, 1
    second = _is_dot(spec, after, end)
    if second:
        after_second = after + second
        if after_second == end:
            return 2, second
        if spec[after_second] in b"/\\":
            return 2, second + 1
    return 0, 0


def _back_up_to_previous_slash(out: bytearray) -> None:
    i = len(out) - 1
    if i == 0:
        return  # at the first slash: ".." above the root is ignored
    i -= 1
    while out[i] != 0x2F and i > 0:
        i -= 1
    del out[i + 1 :]


def _check_nested_escapes(spec: bytes, next_i: int, end: int, pct: int, out: bytearray) -> None:
    """CheckForNestedEscapes: make "%<unescaped>..." unable to read as a new escape."""
    length = len(out)
    last = out[-1]
    append_next = pct == length - 2
    if append_next:
        if next_i == end or spec[next_i] >= 0x80:
            return
        out.append(spec[next_i])
    if _decode_escaped(out, pct, len(out)) is not None:
        if not append_next:
            out.append(out[pct + 1])
        out[pct + 1] = 0x32
        out[pct + 2] = 0x35
        out.append(last)
    elif append_next:
        del out[length:]


def canonicalize_path(spec: bytes, validate_utf8: bool = False) -> bytes | None:
    """``url::CanonicalizePath`` of a path component (no query); None when it fails."""
    out = bytearray()
    end = len(spec)
    if not end:
        return b"/"
    if spec[0] not in b"/\\":
        out.append(0x2F)
    if validate_utf8 and not _valid_utf8(spec):
        return None
    success = True
    last_invalid_percent = -(1 << 30)
    i = 0
    lookup = PATH_CHAR_LOOKUP
    while i < end:
        c = spec[i]
        flags = lookup[c]
        if not flags & _SPECIAL:
            out.append(c)
        elif dotlen := _is_dot(spec, i, end):
            if out and out[-1] == 0x2F:
                kind, consumed = _classify_after_dot(spec, i + dotlen, end)
                if kind == 0:
                    out.append(0x2E)
                    i += dotlen - 1
                elif kind == 1:
                    i += dotlen + consumed - 1
                else:
                    _back_up_to_previous_slash(out)
                    i += dotlen + consumed - 1
            else:
                out.append(0x2E)
                i += dotlen - 1
        elif c == 0x5C:
            out.append(0x2F)
        elif c == 0x25:
            value = _decode_escaped(spec, i, end)
            if value is not None:
                i += 2
                vflags = lookup[value]
                if vflags & _UNESCAPE:
                    out.append(value)
                    if last_invalid_percent >= len(out) - 3:
                        _check_nested_escapes(spec, i + 1, end, last_invalid_percent, out)
                else:
                    out += spec[i - 2 : i + 1]  # keep the escape exactly, hex case included
                    if vflags & 8:
                        success = False
            else:
                last_invalid_percent = len(out)
                out.append(0x25)
        else:
            out += b"%%%02X" % c
            if flags & 8:
                success = False
        i += 1
    return bytes(out) if success else None


def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def canonical_path(path: bytes, validate_utf8: bool = False) -> bytes | None:
    """``PathTransformer::rfcNormalize``: the normalized :path, or None (Envoy rejects)."""
    query = path.find(b"?")
    if query < 0:
        return canonicalize_path(path, validate_utf8)
    normalized = canonicalize_path(path[:query], validate_utf8)
    return None if normalized is None else normalized + path[query:]


def merge_slashes(path: bytes) -> bytes:
    """``PathTransformer::mergeSlashes``: collapse runs of '/' in the part before '?'."""
    query_start = path.find(b"?")
    if query_start < 0:
        head, query = path, b""
    else:
        head, query = path[:query_start], path[query_start:]
    if b"//" not in head:
        return path
    prefix = b"/" if head.startswith(b"/") else b""
    suffix = b"/" if head.endswith(b"/") else b""
    return prefix + b"/".join(p for p in head.split(b"/") if p) + suffix + query


def remove_query_and_fragment(path: bytes) -> bytes:
    """``PathUtil::removeQueryAndFragment``: everything before the first '?' or '#'."""
    for i, c in enumerate(path):
        if c == 0x3F or c == 0x23:
            return path[:i]
    return path
