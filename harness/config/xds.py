"""The xDS rows of Envoy's start-up checks (``startup.STARTUP_CHECKS``): which subscriptions
validate mode starts, the node they need, and what it accepts in their config sources.

Seen on Envoy 1.40 (``tests/data/config_cases/xds_*``, ``ads_*``, ``config_sources_*``); the
messages are Envoy's. LDS, load stats and HDS are not started in validate mode.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.config import tree
from harness.config.pgv import Violation

_v = Violation
EDS = 3  # Cluster.DiscoveryType
REST, GRPC, DELTA_GRPC, AGGREGATED_GRPC, AGGREGATED_DELTA_GRPC = 1, 2, 3, 5, 6
API_TYPE_NAMES = {
    AGGREGATED_GRPC: "AGGREGATED_GRPC",
    AGGREGATED_DELTA_GRPC: "AGGREGATED_DELTA_GRPC",
}
_GRPC_KEY = re.compile(r"[0-9A-Za-z_.\-]+\Z")  # metadata key characters Envoy's Google gRPC takes
V2 = 1  # ApiVersion
V2_DEPRECATED = "V2 xDS transport protocol version is deprecated in"
NODE_REQUIRED = (
    "node 'id' and 'cluster' are required. Set it either in 'node' config or via "
    "--service-node and --service-cluster options."
)
_URL = "type.googleapis.com/envoy.config."


def _subscriptions(b: Any) -> Iterator[tuple[str, str, Any]]:
    """(path, resource type URL, ConfigSource) of each subscription Envoy starts in validate
    mode: CDS, each EDS cluster's, each static HCM's RDS. (LDS, load stats and HDS are not
    started in validate mode: what they hold is never looked at.)"""
    dyn = b.dynamic_resources
    if dyn.HasField("cds_config"):
        yield "dynamic_resources.cds_config", _URL + "cluster.v3.Cluster", dyn.cds_config
    for i, c in enumerate(b.static_resources.clusters):
        if c.type == EDS and c.eds_cluster_config.HasField("eds_config"):
            where = f"static_resources.clusters[{i}].eds_cluster_config.eds_config"
            yield where, _URL + "endpoint.v3.ClusterLoadAssignment", c.eds_cluster_config.eds_config
    for path, hcm in tree.hcms(b):
        if hcm.WhichOneof("route_specifier") == "rds":
            yield (
                f"{path}.rds.config_source",
                _URL + "route.v3.RouteConfiguration",
                hcm.rds.config_source,
            )


def _discovered_filters(b: Any) -> Iterator[str]:
    """Paths of listener filters configured by discovery (ECDS), which subscribe too."""
    for i, listener in tree.listeners(b):
        for j, f in enumerate(listener.listener_filters):
            if f.WhichOneof("config_type") == "config_discovery":
                yield f"static_resources.listeners[{i}].listener_filters[{j}].config_discovery"


def node_for_xds(b: Any) -> Violation | None:
    """Any subscription (ADS included) needs the node's id and cluster."""
    if b.node.id and b.node.cluster:
        return None
    xdstp = bool(b.config_sources) or b.HasField("default_config_source")
    if b.dynamic_resources.HasField("ads_config") or xdstp:
        return _v("node", "xds.node", f"ads: {NODE_REQUIRED}")
    for _path, url, _source in _subscriptions(b):
        return _v("node", "xds.node", f"{url}: {NODE_REQUIRED}")
    for _path in _discovered_filters(b):
        return _v("node", "xds.node", f"{_URL}core.v3.TypedExtensionConfig: {NODE_REQUIRED}")
    for _, listener in tree.listeners(b):
        # FCDS subscribes when the listener's matcher is built (an empty matcher builds none)
        if listener.HasField("fcds_config") and listener.filter_chain_matcher.ListFields():
            return _v(
                "node",
                "xds.node",
                "cannot create a filter chain matcher: "
                f"{_URL}listener.v3.FilterChain: {NODE_REQUIRED}",
            )
    return None


def runtime_subscriptions(b: Any) -> Violation | None:
    """RTDS layers subscribe once the clusters and listeners are built (seen on 1.40: their
    errors come after those): the node's id and cluster, then each layer's config source."""
    layers = [
        (i, layer.rtds_layer)
        for i, layer in enumerate(b.layered_runtime.layers)
        if layer.WhichOneof("layer_specifier") == "rtds_layer"
    ]
    if not layers:
        return None
    url = "type.googleapis.com/envoy.service.runtime.v3.Runtime"
    if not (b.node.id and b.node.cluster):
        return _v("node", "xds.node", f"{url}: {NODE_REQUIRED}")
    clusters = static_clusters(b)
    for i, rtds in layers:
        path = f"layered_runtime.layers[{i}].rtds_layer.rtds_config"
        if rtds.rtds_config.WhichOneof("config_source_specifier") is None:
            return _v(
                path,
                "xds.specifier",
                "Missing config source specifier in envoy::config::core::v3::ConfigSource",
            )
        found = _config_source(rtds.rtds_config, path, url, clusters)
        if found is not None:
            return found
    return None


def static_clusters(b: Any) -> dict[str, Any]:
    return {c.name: c for c in b.static_resources.clusters}


def _grpc_services(api: Any, path: str) -> Violation | None:
    """Google gRPC clients Envoy builds check their initial metadata keys."""
    for k, service in enumerate(api.grpc_services):
        if service.WhichOneof("target_specifier") != "google_grpc":
            continue
        for entry in service.initial_metadata:
            if not _GRPC_KEY.match(entry.key):
                return _v(
                    f"{path}.grpc_services[{k}].initial_metadata",
                    "grpc.metadata_key",
                    f"Illegal characters in gRPC initial metadata header key: {entry.key}.",
                )
    return None


API_NAMES_MISSING = "API configs must have either a gRPC service or a cluster name defined"


def _grpc_api_names(api: Any, path: str) -> Violation | None:
    """A gRPC ApiConfigSource names exactly one gRPC service and no cluster."""
    name = "envoy.config.core.v3.ApiConfigSource::(AGGREGATED_)(DELTA_)GRPC"
    if not api.grpc_services and not api.cluster_names:
        return _v(path, "xds.api_names", API_NAMES_MISSING)
    if api.cluster_names:
        return _v(
            f"{path}.cluster_names",
            "xds.api_names",
            f"{name} must not have a cluster name specified",
        )
    if len(api.grpc_services) > 1:
        return _v(
            f"{path}.grpc_services",
            "xds.api_names",
            f"{name} must have no more than 1 gRPC services specified",
        )
    return None


def _api_config_source(api: Any, path: str, clusters: dict[str, Any]) -> Violation | None:
    """Envoy's checks of an ApiConfigSource a subscription uses."""
    kind = api.api_type
    if kind in API_TYPE_NAMES:
        return _v(path, "xds.api_type", f"Unsupported config source {API_TYPE_NAMES[kind]}")
    if api.transport_api_version == V2:
        return _v(path, "xds.v2", V2_DEPRECATED)
    name = "envoy.config.core.v3.ApiConfigSource"
    if kind in (GRPC, DELTA_GRPC):
        found = _grpc_api_names(api, path)
        if found is not None:
            return found
        service = api.grpc_services[0]
        backing = (
            service.envoy_grpc.cluster_name
            if service.WhichOneof("target_specifier") == "envoy_grpc"
            else None
        )
    else:
        if not api.grpc_services and not api.cluster_names:
            return _v(path, "xds.api_names", API_NAMES_MISSING)
        if api.grpc_services:
            return _v(
                f"{path}.grpc_services",
                "xds.api_names",
                f"{name}, if not a gRPC type, must not have a gRPC service specified",
            )
        backing = api.cluster_names[0]
    if backing is not None and (backing not in clusters or clusters[backing].type == EDS):
        return _v(
            path,
            "xds.cluster",
            f"{name} must have a statically defined non-EDS cluster: '{backing}' does not "
            "exist, was added via api, or is an EDS cluster",
        )
    return _grpc_services(api, path)


def _config_source(source: Any, path: str, url: str, clusters: dict[str, Any]) -> Violation | None:
    which = source.WhichOneof("config_source_specifier")
    if which == "api_config_source":
        return _api_config_source(source.api_config_source, f"{path}.api_config_source", clusters)
    if which in ("path", "path_config_source"):
        name = source.path if which == "path" else source.path_config_source.path
        return _v(
            f"{path}.{which}",
            "xds.path",
            f"paths must refer to an existing path in the system: '{name}' does not exist",
        )
    if which == "self" and url.endswith("cluster.v3.Cluster"):
        return _v(
            f"{path}.self",
            "xds.specifier",
            "Missing config source specifier in envoy::config::core::v3::ConfigSource",
        )
    return None


def _ads_config(b: Any) -> Violation | None:
    dyn = b.dynamic_resources
    if not dyn.HasField("ads_config"):
        return None
    ads, path = dyn.ads_config, "dynamic_resources.ads_config"
    if ads.transport_api_version == V2:
        return _v(f"{path}.transport_api_version", "xds.v2", V2_DEPRECATED)
    if ads.api_type not in (GRPC, DELTA_GRPC):
        return _v(
            f"{path}.api_type",
            "xds.ads_type",
            "envoy.config.core.v3.ApiConfigSource type must be of non-aggregated gRPC",
        )
    found = _grpc_api_names(ads, path)
    if found is not None:
        return found
    clusters = static_clusters(b)
    for k, service in enumerate(ads.grpc_services):
        if service.WhichOneof("target_specifier") == "envoy_grpc":
            name = service.envoy_grpc.cluster_name
            if name not in clusters:
                return _v(
                    f"{path}.grpc_services[{k}].envoy_grpc.cluster_name",
                    "xds.grpc_cluster",
                    f"Unknown gRPC client cluster '{name}'",
                )
    return _grpc_services(ads, path)


def _cds_locator(b: Any) -> Violation | None:
    """A CDS collection locator: only ``xdstp:`` over ADS or delta gRPC works (``file:``
    names a file, which the model takes not to exist; ``http:`` is not implemented)."""
    dyn = b.dynamic_resources
    locator, path = dyn.cds_resources_locator, "dynamic_resources.cds_resources_locator"
    if not locator:
        return None
    scheme = locator.partition(":")[0] if ":" in locator else None
    if scheme not in ("xdstp", "http", "file"):
        return _v(path, "xds.locator", f"{locator} does not have a xdstp:, http: or file: scheme")
    if scheme == "http":
        return _v(path, "xds.locator", "Unsupported code path")
    if scheme == "file":
        return _v(path, "xds.path", "paths must refer to an existing path in the system")
    source = dyn.cds_config
    which = source.WhichOneof("config_source_specifier")
    if which == "ads" or (
        which == "api_config_source" and source.api_config_source.api_type == DELTA_GRPC
    ):
        return None
    if which == "api_config_source":
        return _v(path, "xds.locator", "Unknown xdstp:// transport API type in")
    return _v(
        path,
        "xds.locator",
        "Missing or not supported config source specifier in "
        "envoy::config::core::v3::ConfigSource for a collection. Only ADS and gRPC in delta-xDS "
        "mode are supported.",
    )


def _xdstp_config_sources(b: Any) -> Violation | None:
    """``config_sources`` and ``default_config_source`` (for xdstp:// names) take only an API
    config source; a non-default one needs an authority."""
    places = [(f"config_sources[{k}]", s, True) for k, s in enumerate(b.config_sources)]
    if b.HasField("default_config_source"):
        places.append(("default_config_source", b.default_config_source, False))
    for path, source, needs_authority in places:
        if source.WhichOneof("config_source_specifier") != "api_config_source":
            return _v(
                path,
                "xds.xdstp_source",
                "Only api_config_source type is currently supported for xdstp-based config "
                "sources.",
            )
        if source.api_config_source.api_type not in API_TYPE_NAMES:
            return _v(
                f"{path}.api_config_source.api_type",
                "xds.xdstp_source",
                "xdstp-based config source authority only supports AGGREGATED_GRPC and "
                "AGGREGATED_DELTA_GRPC types.",
            )
        if source.api_config_source.transport_api_version == V2:
            return _v(f"{path}.api_config_source", "xds.v2", V2_DEPRECATED)
        if needs_authority and not source.authorities:
            return _v(
                f"{path}.authorities",
                "xds.xdstp_source",
                "xdstp-based non-default config source must have at least one authority.",
            )
    return None


def xds_config_sources(b: Any) -> Violation | None:
    found = _ads_config(b) or _xdstp_config_sources(b)
    if found is not None:
        return found
    found = _cds_locator(b)
    if found is not None:
        return found
    clusters = static_clusters(b)
    for path, url, source in _subscriptions(b):
        found = _config_source(source, path, url, clusters)
        if found is not None:
            return found
    for i, listener in tree.listeners(b):
        if listener.HasField("fcds_config") and listener.filter_chain_matcher.ListFields():
            source = listener.fcds_config.config_source
            path = f"static_resources.listeners[{i}].fcds_config.config_source"
            if source.WhichOneof("config_source_specifier") is None:
                return _v(
                    path,
                    "xds.specifier",
                    "cannot create a filter chain matcher: Missing config source specifier in "
                    "envoy::config::core::v3::ConfigSource",
                )
            found = _config_source(source, path, _URL + "listener.v3.FilterChain", clusters)
            if found is not None:
                return found
    return None
