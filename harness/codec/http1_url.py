"""Envoy's check of an absolute-form request-target's authority (its HTTP/1 handlePath)."""

from __future__ import annotations

import re
from typing import Final

from harness.util.http import decimal_value

# http_parser_parse_url's authority, strict host characters (observed on 1.40: `_`, `~`,
# `!`, `$` and `%` in a host, an empty or non-numeric port and one over 65535 are a 400;
# userinfo before `@` and a bracketed IPv6 literal pass).
_USERINFO: Final = rb"(?:[A-Za-z0-9\-_.!~*'();:&=+$,%]*@)?"
_URL_AUTHORITY: Final = re.compile(
    _USERINFO + rb"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+(?:%[^\]]+)?\])(?::([0-9]+))?"
)


def url_authority_ok(target: bytes) -> bool:
    """Whether an absolute-form target's authority passes Envoy's URL parser."""
    rest = target[target.find(b"://") + 3 :]
    cut = len(rest)
    for ch in (b"/", b"?", b"#"):
        i = rest.find(ch)
        if 0 <= i < cut:
            cut = i
    m = _URL_AUTHORITY.fullmatch(rest[:cut])
    return m is not None and (m.group(1) is None or decimal_value(m.group(1)) <= 65535)
