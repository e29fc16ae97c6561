"""A real Envoy 1.40 to run the suite against: the proxy plane's bootstrap (AUTO codec, so
prior-knowledge h2c and HTTP/1.1 share the listener) with the route answering itself (200
"Response body", as Envoy's own *_capture_direct_response fuzz tests configure it), so no
upstream is involved and every answer is Envoy's own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.config.proxy import ProxyConfig, render_bootstrap
from harness.envoy.process import EnvoyProcess

CONFIG = ProxyConfig(direct_response=True)
# The cluster is never used by a direct-response route; Envoy still needs an address.
_UNUSED_UPSTREAM_PORT = 9


@contextlib.contextmanager
def running_envoy() -> Iterator[EnvoyProcess]:
    """Envoy started on loopback ephemeral ports, stopped on the way out."""
    proc = EnvoyProcess(render_bootstrap(CONFIG, 0, _UNUSED_UPSTREAM_PORT, 0))
    with proc:  # starts it (readiness included) and stops it
        yield proc
