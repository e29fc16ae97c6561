"""What Envoy's connection manager and router do to a request's headers on the way upstream.

Input: the request's headers as they sit in Envoy's header map after the downstream codec
(``host`` first — it is ``:authority`` there — hop-by-hop headers already gone). Output: the
headers the upstream HTTP/1 codec writes, in order. Every rule here was observed on Envoy 1.40
with the harness's bootstrap (``use_remote_address`` false, no ``internal_address_config``, so
every request is external; router at its defaults; route timeout 15 s).
"""

from __future__ import annotations

from typing import Final

from harness.observation import GENERATED_ID

# x-envoy-* headers Envoy removes from external requests (ConnectionManagerUtility::
# cleanInternalHeaders and the router), wherever they are. Others (x-envoy-decorator-operation,
# x-envoy-attempt-count, x-envoy-original-path, ...) pass through untouched.
STRIPPED_FROM_EXTERNAL: Final = frozenset(
    (
        "x-envoy-expected-rq-timeout-ms",
        "x-envoy-force-trace",
        "x-envoy-hedge-on-per-try-timeout",
        "x-envoy-internal",
        "x-envoy-ip-tags",
        "x-envoy-max-retries",
        "x-envoy-original-url",
        "x-envoy-retriable-header-names",
        "x-envoy-retriable-status-codes",
        "x-envoy-retry-grpc-on",
        "x-envoy-retry-on",
        "x-envoy-upstream-alt-stat-name",
        "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-upstream-rq-timeout-alt-response",
        "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-stream-duration-ms",
    )
)
# The route's timeout (Envoy's default 15 s), which the router announces upstream.
EXPECTED_TIMEOUT: Final = ("x-envoy-expected-rq-timeout-ms", "15000")
# Requests the HTTP/1 encoder sends without a body length when they have no body
# (RFC 7230 §3.3.2); any other method ending at its headers gets ``content-length: 0``.
BODILESS_METHODS: Final = frozenset(("GET", "HEAD", "DELETE", "TRACE", "CONNECT"))


def upstream_headers(headers: list[tuple[str, str]], scheme: str = "http") -> list[tuple[str, str]]:
    """``headers`` after the connection manager and router: stripped, then Envoy's added.

    A client's ``x-forwarded-proto`` and ``x-request-id`` are kept in place (the request is
    not an edge request); otherwise Envoy appends its own (the id is random: it reads as
    ``GENERATED_ID``). The expected-timeout header always goes last.
    """
    out = [(n, v) for n, v in headers if n not in STRIPPED_FROM_EXTERNAL]
    names = {n for n, _ in out}
    if "x-forwarded-proto" not in names:
        out.append(("x-forwarded-proto", scheme))
    if "x-request-id" not in names:
        out.append(("x-request-id", GENERATED_ID))
    out.append(EXPECTED_TIMEOUT)
    return out


def http1_framing(
    headers: list[tuple[str, str]], method: str, ends_at_headers: bool
) -> list[tuple[str, str]]:
    """The body-length header Envoy's HTTP/1 encoder appends, if any.

    A ``content-length`` in the map is written where it stands; without one, a request that
    ended with its headers gets ``content-length: 0`` unless its method is bodiless, and a
    request with a body to come is sent chunked.
    """
    if any(n == "content-length" for n, _ in headers):
        return []
    if ends_at_headers:
        return [] if method in BODILESS_METHODS else [("content-length", "0")]
    return [("transfer-encoding", "chunked")]
