"""The Envoy model: what a real Envoy does with a downstream connection, predicted in-process.

``predict(data, config)`` takes the bytes a client sends on one fresh connection to the proxy
``config`` describes (the same ``ProxyConfig`` the real-Envoy lane renders its bootstrap from)
and returns the ``Observation`` the lane would make: statuses sent downstream, requests
forwarded upstream (with the headers Envoy adds and removes), and whether Envoy closes.
Listener -> connection manager (codec + request checks) -> router -> upstream HTTP/1 encoder:
``http1`` and ``http2`` are the two downstream codecs; ``headers`` holds the router's rules.
"""

from __future__ import annotations

from harness.config.proxy import ProxyConfig
from harness.observation import Observation


def predict(data: bytes, config: ProxyConfig | None = None) -> Observation:
    """What Envoy does with ``data`` sent on a fresh connection (which then stays open)."""
    return predict_with_races(data, config)[0]


def predict_with_races(data: bytes, config: ProxyConfig | None = None) -> tuple[Observation, bool]:
    """``predict``, and whether its ``closed`` is a race the lane cannot settle: over HTTP/2,
    Envoy's silent close after its 1 s delayed-close timer against the lane's own wait for an
    upstream answer that never comes down."""
    config = config or ProxyConfig()
    if config.speaks_http2(data):
        from harness.model.http2 import predict_http2_detail

        detail = predict_http2_detail(data, config)
        return detail.observation, detail.closed_timing_dependent
    from harness.model.http1 import predict_http1

    return predict_http1(data, config), False
