"""Envoy's handling of an HTTP/1 request asking to upgrade to h2c (cleartext HTTP/2).

Envoy does not do h2c upgrades; rather than refuse the request it drops the upgrade and serves
the request as any other (observed on 1.40, agreement cases ``upgrade_h2c*``).
"""

from __future__ import annotations

from typing import Final

_H2C_CONNECTION_TOKENS: Final = frozenset((b"upgrade", b"http2-settings"))


def strip_h2c_upgrade(fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Observed on 1.40: an upgrade to exactly ``h2c`` (any case) is not an upgrade; Envoy
    drops ``upgrade``, ``http2-settings`` and those tokens of ``connection``, then serves
    the request as any other."""
    upgrade = b",".join(v for n, v in fields if n == b"upgrade")
    if upgrade.strip().lower() != b"h2c":
        return fields
    kept: list[tuple[bytes, bytes]] = []
    for name, value in fields:
        if name in (b"upgrade", b"http2-settings"):
            continue
        if name == b"connection":
            tokens = [
                t for t in value.split(b",") if t.strip().lower() not in _H2C_CONNECTION_TOKENS
            ]
            if not tokens:
                continue
            value = b",".join(tokens).strip()
        kept.append((name, value))
    return kept
