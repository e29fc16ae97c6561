"""A real Envoy 1.40 to run the suite against: the lane's default bootstrap (``ProxyConfig()``:
AUTO codec, so prior-knowledge h2c and HTTP/1.1 share the listener, routed to an HTTP/1
upstream) with the project's fake upstream answering every request ``200 ok``.

Routing to an upstream (rather than a direct-response route) matters for conformance: Envoy
must read a request's whole body to forward it, so framing errors in a body (chunk syntax,
Content-Length) become visible instead of being hidden behind an early answer.

Given a certificate, the listener speaks TLS offering ALPN h2 and http/1.1 (the AUTO codec
then follows the negotiated protocol), for ``conform HOST:PORT --tls``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.config.proxy import ProxyConfig, render_bootstrap
from harness.envoy.process import EnvoyProcess
from harness.envoy.upstream import FakeUpstream

CONFIG = ProxyConfig()
ALPN = ["h2", "http/1.1"]


@dataclass(frozen=True)
class ServerCertificate:
    """A PEM certificate chain and its private key, for a TLS listener."""

    chain_pem: str
    key_pem: str


def tls_transport_socket(cert: ServerCertificate) -> dict[str, Any]:
    """A listener's transport socket: TLS with ``cert``, offering ALPN h2 then http/1.1."""
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/"
            "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ALPN,
                "tls_certificates": [
                    {
                        "certificate_chain": {"inline_string": cert.chain_pem},
                        "private_key": {"inline_string": cert.key_pem},
                    }
                ],
            },
        },
    }


@contextlib.contextmanager
def running_envoy(tls: ServerCertificate | None = None) -> Iterator[EnvoyProcess]:
    """Envoy and its upstream on loopback ephemeral ports, both stopped on the way out; with
    ``tls``, the listener speaks TLS (ALPN h2, http/1.1)."""
    upstream = FakeUpstream()
    stop = threading.Event()

    def serve() -> None:  # FakeUpstream has no thread of its own: pump it here
        while not stop.is_set():
            upstream.pump(0.05)
            upstream.clear()  # the suite reads Envoy's answers, not the upstream's records

    with upstream:
        server = threading.Thread(target=serve, name="conform-upstream", daemon=True)
        server.start()
        try:
            bootstrap = render_bootstrap(CONFIG, 0, upstream.port, 0)
            if tls is not None:
                (chain,) = bootstrap["static_resources"]["listeners"][0]["filter_chains"]
                chain["transport_socket"] = tls_transport_socket(tls)
            with EnvoyProcess(bootstrap) as proc:
                yield proc
        finally:
            stop.set()
            server.join()
