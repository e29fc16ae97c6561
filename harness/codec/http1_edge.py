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
from harness.util.http import is_grpc_content_type

# Headers Envoy does not forward (hop-by-hop) or regenerates when it encodes upstream.
# ``content-length`` stays in Envoy's header map and is written where it stands.
HOP_BY_HOP: Final = frozenset(
    ("connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade")
)
# nghttp2_check_authority's characters (Envoy's HeaderUtility::authorityIsValid).
_AUTHORITY: Final = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+")


@dataclass(frozen=True)
class Forwarded:
    """A request as the connection manager hands it to the router (before Envoy's headers).

    ``chunked``: the client framed the body with chunked encoding, so the request did not end
    with its headers (the upstream encoder then frames it itself).
    """

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: int
    chunked: bool = False


@dataclass
class EdgeResult:
    statuses: list[int] = field(default_factory=list)
    upstream: list[Forwarded] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    # Envoy closed the connection or announced it would (``connection: close``).
    closed: bool = False
    begun: int = 0  # request heads the codec parsed (each a request the client began)


def envoy_header_map(headers: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """Envoy's header map: repeated inline headers joined with ',' at the first position
    (HeaderMapImpl::appendToHeader: an empty value adds nothing, and no ',' follows an empty
    one)."""
    out: list[tuple[bytes, bytes]] = []
    where: dict[bytes, int] = {}
    for name, value in headers:
        if name in INLINE_HEADERS:
            i = where.get(name)
            if i is not None:
                if value:
                    old = out[i][1]
                    out[i] = (name, old + b"," + value if old else value)
                continue
            where[name] = len(out)
        out.append((name, value))
    return out


def forwarded_headers(hmap: list[tuple[bytes, bytes]], host: bytes | None) -> list[tuple[str, str]]:
    """The client's headers (Envoy's header map of them) as they reach the upstream, without
    what Envoy adds; ``host`` (an absolute-form target's authority) replaces the Host header's
    value, or is the Host header when the client sent none."""
    nominated: set[str] = set()
    for name, value in hmap:
        if name == b"connection":
            nominated.update(t.strip().lower() for t in value.decode("latin-1").split(","))
    out: list[tuple[str, str]] = []
    for name, value in hmap:
        n = name.decode("latin-1")
        if n in HOP_BY_HOP or (n in nominated and n != "te"):
            continue
        if n == "expect" and value.lower() == b"100-continue":
            continue  # answered by Envoy itself
        if n == "te" and (value or n in nominated):
            # sanitizeConnectionHeader keeps a nominated te that lists "trailers" (and drops an
            # empty one); sanitizeTEHeader leaves an empty te alone, else keeps "trailers"
            # (exactly, as one of the list's items) or nothing. Observed on 1.40.
            if b"trailers" not in (t.strip() for t in value.split(b",")):
                continue
            value = b"trailers"
        if n == "host":
            # Host becomes :authority, a pseudo-header: first in Envoy's map and upstream.
            out.insert(0, (n, (host if host is not None else value).decode("latin-1")))
            host = None
            continue
        out.append((n, value.decode("latin-1")))
    if host is not None:  # an absolute-form target without a Host header: its authority
        out.insert(0, ("host", host.decode("latin-1")))
    return out


def _local_reply(
    head: RequestHead, hmap: dict[bytes, bytes], options: Options
) -> tuple[int, str] | tuple[bytes, bytes | None]:
    """A connection-manager rejection (status, details), or the route's (path, host override)
    when the request passes: an absolute-form target gives both."""
    # A CONNECT's request-target is its authority (the codec sets :authority from it).
    host = head.target if head.method == b"CONNECT" else hmap.get(b"host")
    path = head.target
    override: bytes | None = None
    if head.method != b"CONNECT" and path[:1] != b"/" and options.allow_absolute_url:
        url = split_absolute_url(path)
        if url is not None:
            override = host = url[1]
            path = url[2]
    if host is None or (not host and override is not None):
        return 400, "missing_host_header"
    if host and _AUTHORITY.fullmatch(host) is None:
        return 400, "http.invalid_authority"
    if head.method == b"CONNECT":
        return 404, "route_not_found"
    if path[:1] != b"/":
        return 404, "absolute_path_rejected"
    if b"#" in path:
        return 400, "path_normalization_failed"
    # Utility::isUpgrade: an "upgrade" token of connection (observed on 1.40:
    # "connection: upgradex" with an upgrade header is served, no 403)
    if b"upgrade" in hmap and b"upgrade" in _tokens(hmap.get(b"connection", b"")):
        return 403, "upgrade_failed"
    return path, override


def observe(data: bytes, options: Options = DEFAULT_OPTIONS, direct: bool = False) -> EdgeResult:
    """Feed ``data`` on one connection that then stays open; Envoy's answers and forwards.

    Envoy streams: a request that passes the connection manager's checks reaches the upstream
    with its head at once and its body as it arrives, even if the client never finishes it;
    the upstream's 200 comes only after the whole request. ``direct``: the route answers 200
    itself as soon as the head passed the checks (a direct-response route).

    A local reply (a rejection, a direct response) sent before the request ended makes Envoy
    close the connection, as does every 400; a complete request answered locally leaves the
    connection open for the next one. Input that ends mid-message is waited on, not answered
    (the client has not closed), unless the part already seen is wrong.
    """
    parser = Parser("request", options)
    fed = normalize(parser.feed(data))
    events = fed + normalize(parser.close()) if not parser.errored else fed
    at_eof = len(fed)  # events from here on come from the end of input
    result = EdgeResult()
    pending: RequestHead | None = None  # forwarded, body still arriving
    fields: list[tuple[bytes, bytes]] = []  # the pending request's header map
    path = b""
    override: bytes | None = None
    chunked = False
    body = 0
    for i, ev in enumerate(events):
        if isinstance(ev, Data):
            body += len(ev.data)
            continue
        if isinstance(ev, Error):
            # A request whose body turns out bad in the bytes Envoy read with its head is reset
            # before its upstream connection is ready: nothing reaches the upstream. (Had a
            # pooled connection been ready, the head would have gone out first.)
            if pending is not None and i >= at_eof:
                result.upstream.append(_forwarded(pending, fields, path, override, body, chunked))
            pending = None
            if ev.status:
                result.statuses.append(ev.status)
                result.details.append(ev.details)
            result.closed = bool(ev.status) or i < at_eof
            return result
        if isinstance(ev, RequestHead):
            result.begun += 1
            head_fields = envoy_header_map(ev.headers)
            hmap = dict(head_fields)
            # CONNECT and upgrades never end at their head: what follows is tunnelled.
            tunnel = ev.method == b"CONNECT" or (
                b"upgrade" in hmap and b"upgrade" in _tokens(hmap.get(b"connection", b""))
            )
            complete = (
                not tunnel and i + 1 < len(events) and isinstance(events[i + 1], EndOfMessage)
            )
            if hmap.get(b"expect", b"").lower() == b"100-continue":
                result.statuses.append(100)
                result.details.append("100_continue")
            verdict = _local_reply(ev, hmap, options)
            if isinstance(verdict[0], int) or direct:
                status, details = (
                    verdict if isinstance(verdict[0], int) else (200, "direct_response")
                )
                if result.statuses[-1:] == [100] and isinstance(verdict[0], int):
                    result.statuses.pop()  # a rejection comes before the 100-continue
                    result.details.pop()
                # A gRPC client gets a local reply as a 200 carrying grpc-status.
                result.statuses.append(
                    200 if is_grpc_content_type(hmap.get(b"content-type", b"")) else int(status)
                )
                result.details.append(str(details))
                if status == 400 or not complete or _closes(ev, hmap):
                    result.closed = True
                    return result
                continue
            path, override = verdict
            pending, fields, body = ev, head_fields, 0
            chunked = b"chunked" in hmap.get(b"transfer-encoding", b"").lower()
        elif isinstance(ev, EndOfMessage) and pending is not None:
            result.upstream.append(_forwarded(pending, fields, path, override, body, chunked))
            result.statuses.append(200)
            result.details.append("via_upstream")
            head, pending = pending, None
            if _closes(head, dict(fields)):
                result.closed = True
                return result
    if pending is not None:
        result.upstream.append(_forwarded(pending, fields, path, override, body, chunked))
    return result


def _closes(head: RequestHead, hmap: dict[bytes, bytes]) -> bool:
    """The client asked for the connection to end after this request (Envoy's
    HeaderUtility::shouldCloseConnection: whole comma-separated tokens, any case)."""
    conn = _tokens(hmap.get(b"connection", b""))
    if head.version != b"HTTP/1.1":
        return b"keep-alive" not in conn
    return b"close" in conn or b"close" in _tokens(hmap.get(b"proxy-connection", b""))


def _tokens(value: bytes) -> set[bytes]:
    return {t.strip().lower() for t in value.split(b",")}


def _forwarded(
    head: RequestHead,
    fields: list[tuple[bytes, bytes]],
    path: bytes,
    host: bytes | None,
    body: int,
    chunked: bool,
) -> Forwarded:
    return Forwarded(
        head.method.decode("latin-1"),
        path.decode("latin-1"),
        forwarded_headers(fields, host),
        body,
        chunked,
    )
