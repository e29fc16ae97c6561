"""The Envoy model for an HTTP/1 downstream connection.

``http1_edge`` gives what the codec and the connection manager do (answers, forwarded requests,
close); this adds what the router and the upstream HTTP/1 encoder do to each forwarded request
(``headers.upstream_headers``, ``headers.http1_framing``). The upstream is the lane's: it answers
every complete request with a 200.
"""

from __future__ import annotations

import functools

from harness.codec import http1_edge
from harness.codec.http1 import ALLOW, DROP_HEADER, REJECT_REQUEST, Options
from harness.config.proxy import ProxyConfig
from harness.model.headers import http1_framing, upstream_headers
from harness.observation import Observation, UpstreamRequest

_UNDERSCORES = {"ALLOW": ALLOW, "REJECT_REQUEST": REJECT_REQUEST, "DROP_HEADER": DROP_HEADER}


@functools.cache
def codec_options(config: ProxyConfig) -> Options:
    """The HTTP/1 codec knobs of ``config`` (the same fields the bootstrap renders)."""
    return Options(
        allow_absolute_url=config.allow_absolute_url,
        accept_http_10=config.accept_http_10,
        default_host_for_http_10=config.default_host_for_http_10.encode("latin-1"),
        allow_chunked_length=config.allow_chunked_length,
        enable_trailers=config.enable_trailers,
        headers_with_underscores_action=_UNDERSCORES[config.headers_with_underscores_action],
        max_request_headers_kb=config.max_request_headers_kb,
        max_headers_count=config.max_headers_count,
    )


def upstream_request(forwarded: http1_edge.Forwarded) -> UpstreamRequest:
    """``forwarded`` as Envoy's HTTP/1 upstream codec writes it."""
    headers = upstream_headers(forwarded.headers)
    ends_at_headers = not forwarded.chunked
    headers += http1_framing(headers, forwarded.method, ends_at_headers)
    return UpstreamRequest(forwarded.method, forwarded.target, headers, forwarded.body)


def predict_http1(data: bytes, config: ProxyConfig) -> Observation:
    """What Envoy does with ``data`` sent on a fresh HTTP/1 connection that stays open."""
    return predict_http1_counted(data, config)[0]


def predict_http1_counted(data: bytes, config: ProxyConfig) -> tuple[Observation, int]:
    """``predict_http1`` and the number of requests the client began (heads parsed)."""
    edge = http1_edge.observe(data, codec_options(config), direct=config.direct_response)
    upstream = [upstream_request(f) for f in edge.upstream]
    return Observation(edge.statuses, upstream, edge.closed), edge.begun
