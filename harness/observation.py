"""What a proxy visibly did with one input: downstream statuses, upstream requests, close.

Both planes produce an ``Observation``; ``diff`` names the differing fields as paths
(``statuses``, ``upstream[0].headers``, ...) that become divergence signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

# What an x-request-id Envoy generated (a random UUID) reads as in observations.
GENERATED_ID: Final = "<generated-uuid>"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class UpstreamRequest:
    """One request as the upstream saw it; header names lower-case as sent, body = its length."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: int

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": self.target,
            "headers": [[n, v] for n, v in self.headers],
            "body": self.body,
        }


@dataclass(frozen=True)
class Observation:
    statuses: list[int] = field(default_factory=list)
    upstream: list[UpstreamRequest] = field(default_factory=list)
    closed: bool = False

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Observation:
        """The observation in a ``to_json`` row (what ``predict``/``observe --json`` print)."""
        upstream = [
            UpstreamRequest(
                r["method"], r["target"], [(n, v) for n, v in r["headers"]], int(r["body"])
            )
            for r in row["upstream"]
        ]
        return cls([int(s) for s in row["statuses"]], upstream, bool(row["closed"]))

    def to_json(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "statuses": list(self.statuses),
            "upstream": [r.to_json() for r in self.upstream],
            "closed": self.closed,
        }


_REQUEST_FIELDS = ("method", "target", "headers", "body")


def diff(a: Observation, b: Observation) -> list[str]:
    """Paths of the fields where ``a`` and ``b`` differ (empty when they agree).

    One race inside Envoy is not a difference: when a connection ends in an error answer, a
    request Envoy reset part-way may or may not have reached the upstream first (it does when
    a pooled upstream connection happened to be ready). Then only the requests that were
    answered with a 200 are compared.
    """
    paths: list[str] = []
    if a.statuses != b.statuses:
        paths.append("statuses")
    ua, ub = a.upstream, b.upstream
    if a.statuses == b.statuses and a.statuses and a.statuses[-1] >= 400:
        answered = a.statuses.count(200)
        if answered < max(len(ua), len(ub)) and abs(len(ua) - len(ub)) <= 1:
            ua, ub = ua[:answered], ub[:answered]
    if len(ua) != len(ub):
        paths.append("upstream")
    for i, (ra, rb) in enumerate(zip(ua, ub, strict=False)):
        paths.extend(
            f"upstream[{i}].{name}"
            for name in _REQUEST_FIELDS
            if getattr(ra, name) != getattr(rb, name)
        )
    if a.closed != b.closed:
        paths.append("closed")
    return paths


def _without_generated_id(request: UpstreamRequest, sent: bytes) -> UpstreamRequest:
    """Envoy's random x-request-id becomes GENERATED_ID, so observations are deterministic;
    a UUID the client ``sent`` itself (Envoy keeps it) stays."""
    headers = [
        (
            n,
            GENERATED_ID
            if n == "x-request-id" and _UUID.fullmatch(v) and v.encode() not in sent
            else v,
        )
        for n, v in request.headers
    ]
    return UpstreamRequest(request.method, request.target, headers, request.body)


def without_generated_ids(
    requests: list[UpstreamRequest], sent: bytes, http2: bool
) -> list[UpstreamRequest]:
    """Envoy's generated x-request-ids in ``requests`` as ``GENERATED_ID`` (``sent``: the
    client's bytes). HTTP/1 looks for each id in the bytes sent (the name may appear in a
    body or a broken line); HPACK may hide a client's id, so HTTP/2 decodes the client's
    header blocks for the ids it sent (when they do not decode, every id stays if the name
    appears in the bytes at all)."""
    if not http2:
        return [_without_generated_id(r, sent) for r in requests]
    if not requests:
        return requests
    ids = client_request_ids_h2(sent)
    if ids is None:  # the client's blocks do not all decode: guess from the name's presence
        return (
            requests
            if b"x-request-id" in sent.lower()
            else [_without_generated_id(r, b"") for r in requests]
        )
    return [_without_generated_id(r, b"\n".join(ids)) for r in requests]


def client_request_ids_h2(sent: bytes) -> list[bytes] | None:
    """The x-request-id values in the header blocks of an HTTP/2 client's bytes (one HPACK
    context, as the server decodes them), or None when a block does not decode."""
    from hpack import Decoder
    from hpack.exceptions import HPACKError

    from harness.codec import http2

    frames, _ = http2.split_frames(
        sent, len(http2.PREFACE) if sent.startswith(http2.PREFACE) else 0
    )
    decoder = Decoder(max_header_list_size=1 << 30)
    ids: list[bytes] = []
    block = b""
    for frame in frames:
        if frame.type == http2.HEADERS:
            pad = frame.padding_length()
            if pad < 0:
                return None
            skip = (1 if pad else 0) + (5 if frame.flags & http2.FLAG_PRIORITY else 0)
            block = frame.payload[skip : len(frame.payload) - (pad - 1 if pad else 0)]
        elif frame.type == http2.CONTINUATION:
            block += frame.payload
        else:
            continue
        if frame.flags & http2.FLAG_END_HEADERS:
            try:
                fields = decoder.decode(block, raw=True)
            except (HPACKError, ValueError, IndexError):
                return None
            ids += [bytes(v) for n, v in fields if bytes(n).lower() == b"x-request-id"]
            block = b""
    return ids
