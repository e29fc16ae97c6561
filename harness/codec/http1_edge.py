"""What Envoy's HTTP/1 edge does with a request stream: replies sent and requests forwarded.

The codec (``http1.Parser``) decides framing and codec errors; this adds the connection
manager's request checks that every HTTP/1 request meets (Host, path form, Expect, upgrades,
keep-alive), for the configuration of the Envoy lane: one route, prefix ``/``, to a cluster
whose upstream answers 200, no upgrade configs, no CONNECT matcher. It is what the table test
and the in-process model compare with a real Envoy's ``Observation``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from harness.codec.http1 import (
    DEFAULT_OPTIONS,
    INLINE_HEADERS,
    Data,
    EndOfMessage,
    Error,
    Options,
    Parser,
    RequestHead,
    normalize,
    split_absolute_url,
)

# Headers Envoy does not forward (hop-by-hop) or regenerates when it encodes upstream.
HOP_BY_HOP: Final = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "content-length",
    )
)
# nghttp2_check_authority's characters (Envoy's HeaderUtility::authorityIsValid).
_AUTHORITY: Final = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+")


@dataclass(frozen=True)
class Forwarded:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: int


@dataclass
class EdgeResult:
    statuses: list[int] = field(default_factory=list)
    upstream: list[Forwarded] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def envoy_header_map(headers: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """Envoy's header map: repeated inline headers joined with ',' at the first position."""
    out: list[tuple[bytes, bytes]] = []
    where: dict[bytes, int] = {}
    for name, value in headers:
        if name in INLINE_HEADERS:
            i = where.get(name)
            if i is not None:
                out[i] = (name, out[i][1] + b"," + value)
                continue
            where[name] = len(out)
        out.append((name, value))
    return out


def forwarded_headers(head: RequestHead, host: bytes | None) -> list[tuple[str, str]]:
    """The client's headers as they reach the upstream (without what Envoy adds)."""
    hmap = envoy_header_map(head.headers)
    nominated: set[str] = set()
    for name, value in hmap:
        if name == b"connection":
            nominated.update(t.strip().lower() for t in value.decode("latin-1").split(","))
    out: list[tuple[str, str]] = []
    for name, value in hmap:
        n = name.decode("latin-1")
        if n in HOP_BY_HOP or n in nominated or n == "expect":
            continue
        if n == "te" and value.lower() != b"trailers":
            continue
        if n == "host":
            # Host becomes :authority, a pseudo-header: first in Envoy's map and upstream.
            out.insert(0, (n, (host if host is not None else value).decode("latin-1")))
            continue
        out.append((n, value.decode("latin-1")))
    return out


def _local_reply(head: RequestHead, options: Options) -> tuple[int, str] | tuple[str, bytes | None]:
    """A connection-manager rejection (status, details) or ("forward", host override)."""
    hmap = dict(envoy_header_map(head.headers))
    host = hmap.get(b"host")
    path = head.target
    override: bytes | None = None
    if head.method != b"CONNECT" and path[:1] != b"/" and options.allow_absolute_url:
        url = split_absolute_url(path)
        if url is not None:
            override = host = url[1]
            path = url[2]
    if not host:
        return 400, "missing_host_header"
    if _AUTHORITY.fullmatch(host) is None:
        return 400, "http.invalid_authority"
    if head.method == b"CONNECT":
        return 404, "route_not_found"
    if path[:1] != b"/":
        return 404, "absolute_path_rejected"
    if b"#" in path:
        return 400, "path_normalization_failed"
    conn = hmap.get(b"connection", b"").lower()
    if b"upgrade" in hmap and b"upgrade" in conn:
        return 403, "upgrade_failed"
    return "forward", override


def observe(data: bytes, options: Options = DEFAULT_OPTIONS) -> EdgeResult:
    """Feed ``data`` on one connection, then EOF; what Envoy would answer and forward.

    Envoy streams: a request that passes the connection manager's checks reaches the upstream
    with its head at once and its body as it arrives, even if the client never finishes it;
    the upstream's 200 comes only after the whole request.
    """
    parser = Parser("request", options)
    events = normalize(parser.feed(data) + parser.close())
    result = EdgeResult()
    pending: RequestHead | None = None  # forwarded, body still arriving
    path = b""
    override: bytes | None = None
    body = 0
    for ev in events:
        if isinstance(ev, Data):
            body += len(ev.data)
            continue
        if isinstance(ev, Error):
            if pending is not None:
                result.upstream.append(_forwarded(pending, path, override, body))
                pending = None
            if ev.status:
                result.statuses.append(ev.status)
                result.details.append(ev.details)
            break
        if isinstance(ev, RequestHead):
            verdict = _local_reply(ev, options)
            if isinstance(verdict[0], int):
                result.statuses.append(verdict[0])
                result.details.append(str(verdict[1]))
                break
            override = verdict[1] if isinstance(verdict[1], bytes) else None
            path = ev.target
            if override is not None:
                url = split_absolute_url(path)
                path = url[2] if url else path
            if dict(envoy_header_map(ev.headers)).get(b"expect", b"").lower() == b"100-continue":
                result.statuses.append(100)
                result.details.append("100_continue")
            pending, body = ev, 0
        elif isinstance(ev, EndOfMessage) and pending is not None:
            head = pending
            result.upstream.append(_forwarded(head, path, override, body))
            pending = None
            result.statuses.append(200)
            result.details.append("via_upstream")
            conn = dict(envoy_header_map(head.headers)).get(b"connection", b"").lower()
            if b"close" in conn or (head.version != b"HTTP/1.1" and b"keep-alive" not in conn):
                break
    else:
        if pending is not None:
            result.upstream.append(_forwarded(pending, path, override, body))
    return result


def _forwarded(head: RequestHead, path: bytes, host: bytes | None, body: int) -> Forwarded:
    return Forwarded(
        head.method.decode("latin-1"),
        path.decode("latin-1"),
        forwarded_headers(head, host),
        body,
    )
