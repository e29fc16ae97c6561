"""The proxy under test, described once for the real-Envoy lane and the in-process model.

``ProxyConfig`` holds only what the harness varies; every field's default is Envoy's own
default, and ``render_bootstrap`` writes a field into the bootstrap only when it differs from
that default, so an unconfigured ``ProxyConfig`` is "Envoy at its defaults".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from harness.codec.http2 import PREFACE as H2_PREFACE

# What Envoy's AUTO codec looks for at the start of a connection (Http2::CLIENT_MAGIC_PREFIX).
AUTO_HTTP2_PREFIX: Final = H2_PREFACE[:12]

DownstreamCodec = Literal["auto", "http1", "http2"]
UpstreamProtocol = Literal["http1", "http2"]
UnderscoresAction = Literal["ALLOW", "REJECT_REQUEST", "DROP_HEADER"]

DIRECT_RESPONSE_BODY = "Response body"
DIRECT_RESPONSE_HEADER = ("x-direct-response-header", "direct-response-enabled")

# Names the bootstrap fixes; stats are named after them (http.<STAT_PREFIX>., cluster.<CLUSTER>.).
STAT_PREFIX = "config_test"
CLUSTER = "cluster_0"
# The proxy's own stats, when its listener is on 127.0.0.1 port 0 (listener stats are named
# after the configured address): listener, connection manager, codecs, cluster.
PROXY_STAT_PREFIXES = (
    "listener.127.0.0.1_0.",
    f"http.{STAT_PREFIX}.",
    "http1.",
    "http2.",
    f"cluster.{CLUSTER}.",
)

# Envoy's defaults (envoy/http/codec.h and HCM): used to decide what to render.
DEFAULT_MAX_REQUEST_HEADERS_KB = 60
DEFAULT_MAX_HEADERS_COUNT = 100

_HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
    "HttpConnectionManager"
)
_ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_UPSTREAM_OPTIONS_TYPE = (
    "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)


@dataclass(frozen=True)
class ProxyConfig:
    """One proxy: downstream codec, upstream protocol, route kind and HTTP/1 parsing knobs."""

    downstream: DownstreamCodec = "auto"
    upstream: UpstreamProtocol = "http1"
    # Route answers 200 "Response body" itself, as Envoy's *_capture_direct_response tests.
    direct_response: bool = False
    # HTTP/2 METADATA frames accepted on both sides, as Envoy's h2_capture_fuzz_test sets.
    allow_metadata: bool = False
    allow_absolute_url: bool = True
    accept_http_10: bool = False
    default_host_for_http_10: str = ""
    allow_chunked_length: bool = False
    enable_trailers: bool = False
    headers_with_underscores_action: UnderscoresAction = "ALLOW"
    max_request_headers_kb: int = DEFAULT_MAX_REQUEST_HEADERS_KB
    max_headers_count: int = DEFAULT_MAX_HEADERS_COUNT

    def __post_init__(self) -> None:
        # A bad value here is a programming error; Envoy would reject it later anyway, but
        # failing at construction points at the caller.
        if self.downstream not in ("auto", "http1", "http2"):
            raise ValueError(f"downstream must be auto, http1 or http2, not {self.downstream!r}")
        if self.upstream not in ("http1", "http2"):
            raise ValueError(f"upstream must be http1 or http2, not {self.upstream!r}")
        if self.headers_with_underscores_action not in ("ALLOW", "REJECT_REQUEST", "DROP_HEADER"):
            raise ValueError(
                f"bad headers_with_underscores_action {self.headers_with_underscores_action!r}"
            )
        if not 1 <= self.max_request_headers_kb <= 8192:
            raise ValueError("max_request_headers_kb must be in 1..8192")
        if self.max_headers_count < 1:
            raise ValueError("max_headers_count must be >= 1")

    def speaks_http2(self, data: bytes) -> bool:
        """The codec Envoy picks for a connection starting with ``data`` (``auto``: HTTP/2 on
        the first 12 bytes of the client preface, Envoy's CLIENT_MAGIC_PREFIX; observed on
        1.40: ``PRI * HTTP/2.1...`` gets the HTTP/2 codec, which rejects its preface)."""
        if self.downstream == "auto":
            return data.startswith(AUTO_HTTP2_PREFIX)
        return self.downstream == "http2"


def _address(port: int) -> dict[str, Any]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def _http1_options(config: ProxyConfig) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if not config.allow_absolute_url:
        options["allow_absolute_url"] = False
    if config.accept_http_10:
        options["accept_http_10"] = True
    if config.default_host_for_http_10:
        options["default_host_for_http_10"] = config.default_host_for_http_10
    if config.allow_chunked_length:
        options["allow_chunked_length"] = True
    if config.enable_trailers:
        options["enable_trailers"] = True
    return options


def _route_config(config: ProxyConfig) -> dict[str, Any]:
    route: dict[str, Any] = {"match": {"prefix": "/"}}
    route_config: dict[str, Any] = {"name": "route_config_0"}
    if config.direct_response:
        route["direct_response"] = {
            "status": 200,
            "body": {"inline_string": DIRECT_RESPONSE_BODY},
        }
        name, value = DIRECT_RESPONSE_HEADER
        route_config["response_headers_to_add"] = [{"header": {"key": name, "value": value}}]
    else:
        route["route"] = {"cluster": CLUSTER}
    route_config["virtual_hosts"] = [{"name": "integration", "domains": ["*"], "routes": [route]}]
    return route_config


def _hcm(config: ProxyConfig) -> dict[str, Any]:
    hcm: dict[str, Any] = {
        "@type": _HCM_TYPE,
        "stat_prefix": STAT_PREFIX,
        "codec_type": config.downstream.upper(),
        "route_config": _route_config(config),
        "http_filters": [
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER_TYPE}}
        ],
    }
    http1 = _http1_options(config)
    if http1:
        hcm["http_protocol_options"] = http1
    common: dict[str, Any] = {}
    if config.headers_with_underscores_action != "ALLOW":
        common["headers_with_underscores_action"] = config.headers_with_underscores_action
    if config.max_headers_count != DEFAULT_MAX_HEADERS_COUNT:
        common["max_headers_count"] = config.max_headers_count
    if common:
        hcm["common_http_protocol_options"] = common
    if config.max_request_headers_kb != DEFAULT_MAX_REQUEST_HEADERS_KB:
        hcm["max_request_headers_kb"] = config.max_request_headers_kb
    if config.allow_metadata:
        hcm["http2_protocol_options"] = {"allow_metadata": True}
    return hcm


def _cluster(config: ProxyConfig, upstream_port: int) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": CLUSTER,
        "type": "STATIC",
        "load_assignment": {
            "cluster_name": CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(upstream_port)}}]}],
        },
    }
    if config.upstream == "http2":
        http2: dict[str, Any] = {"allow_metadata": True} if config.allow_metadata else {}
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _UPSTREAM_OPTIONS_TYPE,
                "explicit_http_config": {"http2_protocol_options": http2},
            }
        }
    return cluster


def render_bootstrap(
    config: ProxyConfig, listener_port: int, upstream_port: int, admin_port: int
) -> dict[str, Any]:
    """The Envoy bootstrap (a JSON/YAML-able dict) for ``config``; port 0 = pick any free port."""
    return {
        "admin": {"address": _address(admin_port)},
        "static_resources": {
            "listeners": [
                {
                    "name": "http",
                    "address": _address(listener_port),
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": _hcm(config),
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [_cluster(config, upstream_port)],
        },
    }
