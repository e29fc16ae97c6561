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
    requests: list[UpstreamRequest],
    sent: bytes,
    http2: bool,
    client_ids: list[bytes] | None = None,
) -> list[UpstreamRequest]:
    """Envoy's generated x-request-ids in ``requests`` as ``GENERATED_ID`` (``sent``: the
    client's bytes). HTTP/1 looks for each id in the bytes sent (the name may appear in a
    body or a broken line); HPACK may hide a client's id, so for HTTP/2 the caller decodes the
    client's header blocks (``harness.codec.http2.client_request_ids``) and passes the ids it
    sent as ``client_ids``; None (they did not decode) keeps every id when the name appears in
    the bytes at all."""
    if not http2:
        return [_without_generated_id(r, sent) for r in requests]
    if client_ids is None:
        if b"x-request-id" in sent.lower():
            return requests
        client_ids = []
    sent_ids = b"\n".join(client_ids)  # once, not per request
    return [_without_generated_id(r, sent_ids) for r in requests]
