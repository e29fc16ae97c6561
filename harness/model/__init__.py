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

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def speaks_http2(data: bytes, config: ProxyConfig) -> bool:
    """The codec Envoy picks: ``auto`` chooses HTTP/2 on the client preface."""
    if config.downstream == "auto":
        return data.startswith(H2_PREFACE)
    return config.downstream == "http2"


def predict(data: bytes, config: ProxyConfig | None = None) -> Observation:
    """What Envoy does with ``data`` sent on a fresh connection (which then stays open)."""
    config = config or ProxyConfig()
    if speaks_http2(data, config):
        from harness.model.http2 import predict_http2

        return predict_http2(data, config)
    from harness.model.http1 import predict_http1

    return predict_http1(data, config)
