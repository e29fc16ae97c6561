"""A real Envoy 1.40 to run the suite against: the lane's default bootstrap (``ProxyConfig()``:
AUTO codec, so prior-knowledge h2c and HTTP/1.1 share the listener, routed to an HTTP/1
upstream) with the project's fake upstream answering every request ``200 ok``.

Routing to an upstream (rather than a direct-response route) matters for conformance: Envoy
must read a request's whole body to forward it, so framing errors in a body (chunk syntax,
Content-Length) become visible instead of being hidden behind an early answer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from harness.config.proxy import ProxyConfig, render_bootstrap
from harness.envoy.process import EnvoyProcess
from harness.envoy.upstream import FakeUpstream

CONFIG = ProxyConfig()


@contextlib.contextmanager
def running_envoy() -> Iterator[EnvoyProcess]:
    """Envoy and its upstream on loopback ephemeral ports, both stopped on the way out."""
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
            with EnvoyProcess(render_bootstrap(CONFIG, 0, upstream.port, 0)) as proc:
                yield proc
        finally:
            stop.set()
            server.join()
