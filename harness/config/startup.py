"""More of what Envoy's start-up checks in validate mode, as rows for ``semantic.SEMANTIC_CHECKS``:
xDS config sources and the node they need (``harness.config.xds``), the addresses Envoy
resolves (pipes, ports, resolvers, network namespaces, internal listeners), listener
filter-chain rules, cluster circuit-breaker and health-check rules, secrets and stats.

Every rule here was seen on Envoy 1.40 (``tests/data/config_cases/``); the messages are
Envoy's. Where Envoy reads the file system (a ``path`` config source must exist) the model,
which is sans-IO, predicts the usual outcome for a fuzzed path: it does not exist.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from harness.config import tree
from harness.config.binds import duplicate_listener_addresses
from harness.config.pgv import Violation
from harness.config.xds import (
    node_for_xds,
    runtime_subscriptions,
    static_clusters,
    xds_config_sources,
)

STATIC, STRICT_DNS, LOGICAL_DNS, EDS = 0, 1, 2, 3
RING_HASH = 2  # Cluster.LbPolicy
UINT32_MAX = 4_294_967_295
UNIX_PATH_MAX = 108  # sizeof(sockaddr_un.sun_path)
IP_RESOLVERS = frozenset({"", "envoy.ip"})  # resolver names Envoy 1.40 registers for IPs
NAMED_PORT = 4  # SocketAddress.named_port's field number (Envoy's message names it)
DEFAULT_STATS_FLUSH_MS = 5000
# CircuitBreakers.Thresholds fields Envoy rejects in per_host_thresholds
PER_HOST_UNSUPPORTED = (
    "max_pending_requests", "max_requests", "max_retries", "retry_budget", "max_connection_pools",
)  # fmt: skip
# typed_extension_protocol_options keys Envoy 1.40 knows, and the type each takes (other
# filter names are known too, but take no or other options: those configs fail either way)
PROTOCOL_OPTIONS = {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": (
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ),
    "envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions": (
        "envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions"
    ),
    "envoy.filters.network.thrift_proxy": (
        "envoy.extensions.filters.network.thrift_proxy.v3.ThriftProtocolOptions"
    ),
}
UDP = 1  # SocketAddress.Protocol
# cluster_type names Envoy 1.40 has a factory for (seen; the built-in types have names too)
CLUSTER_TYPES = frozenset(
    {
        "envoy.cluster.static", "envoy.cluster.strict_dns", "envoy.cluster.logical_dns",
        "envoy.cluster.original_dst", "envoy.cluster.eds", "envoy.clusters.aggregate",
        "envoy.clusters.dynamic_forward_proxy", "envoy.clusters.redis",
    }
)  # fmt: skip
_HEX_PAYLOAD = re.compile(r"(?:[0-9a-fA-F]{2})+\Z")  # health-check payloads, as hex
SOCKET_ADDRESS = "envoy.config.core.v3.SocketAddress"
# a dotted quad ipaddress.ip_address takes (0-255, no leading zeros): most addresses, ~8x
# faster to recognise than to parse
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
PLAIN_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")


def _v(path: str, rule: str, message: str) -> Violation:
    return Violation(path, rule, message)


# --- addresses ------------------------------------------------------------------------


def _resolved_addresses(b: Any) -> Iterator[tuple[str, Any, Any]]:
    """(path, Address or SocketAddress, the Endpoint or None) of each address Envoy resolves at
    start-up: admin, listeners, upstream bind addresses, DNS clusters' resolvers, STATIC
    clusters' endpoints."""
    if b.admin.HasField("address"):
        yield "admin.address", b.admin.address, None
    for i, listener in tree.listeners(b):
        if listener.HasField("address"):
            yield f"static_resources.listeners[{i}].address", listener.address, None
    bind = b.cluster_manager.upstream_bind_config
    if bind.HasField("source_address"):
        yield "cluster_manager.upstream_bind_config.source_address", bind.source_address, None
    for i, c in enumerate(b.static_resources.clusters):
        here = f"static_resources.clusters[{i}]"
        if c.upstream_bind_config.HasField("source_address"):
            where = f"{here}.upstream_bind_config.source_address"
            yield where, c.upstream_bind_config.source_address, None
        if c.type in (STRICT_DNS, LOGICAL_DNS):  # resolved like the others (observed)
            for r, resolver in enumerate(c.dns_resolvers):
                if resolver.WhichOneof("address") == "socket_address":
                    yield f"{here}.dns_resolvers[{r}]", resolver, None
        custom = c.WhichOneof("cluster_discovery_type") == "cluster_type"
        static = c.cluster_type.name == "envoy.cluster.static" if custom else c.type == STATIC
        if not static:
            continue
        for e, locality in enumerate(c.load_assignment.endpoints):
            for k, lb in enumerate(locality.lb_endpoints):
                where = f"{here}.load_assignment.endpoints[{e}].lb_endpoints[{k}].endpoint"
                yield f"{where}.address", lb.endpoint.address, lb.endpoint


def _socket_address_problem(sa: Any, listening: bool) -> tuple[str, str] | None:
    if sa.resolver_name not in IP_RESOLVERS:
        return "address.resolver", f"Unknown address resolver: {sa.resolver_name}"
    if sa.WhichOneof("port_specifier") == "named_port":
        return "address.named_port", f"IP resolver can't handle port specifier type {NAMED_PORT}"
    if not sa.ipv4_compat and PLAIN_IPV4.match(sa.address):
        return None  # an IPv4 address, and nothing more to check
    try:
        ip = ipaddress.ip_address(sa.address)
    except ValueError:
        return "address.ip", f"malformed IP address: {sa.address}"
    # checked where a listener's socket is made, only: admin, bind and endpoint addresses
    # with ipv4_compat on an IPv4 address pass (observed)
    if (
        listening
        and sa.ipv4_compat
        and not (
            ip.version == 6 and (ip == ipaddress.IPv6Address("::") or ip.ipv4_mapped is not None)
        )
    ):
        shown = f"[{ip}]" if ip.version == 6 else str(ip)
        return (
            "address.ipv4_compat",
            "Only IPv6 address '::' or valid IPv4-mapped IPv6 address can set ipv4_compat: "
            f"{shown}:{sa.port_value}",
        )
    return None


def _pipe_problem(pipe: Any) -> tuple[str, str] | None:
    path = pipe.path
    if len(path.encode()) >= UNIX_PATH_MAX:
        return (
            "address.pipe_length",
            f'Path "{path}" exceeds maximum UNIX domain socket path size of {UNIX_PATH_MAX}.',
        )
    if path.startswith("@"):
        if pipe.mode:
            return "address.pipe_mode", "Cannot set mode for Abstract AF_UNIX sockets"
        return None
    if "\0" in path:
        return "address.pipe_nul", "UNIX domain socket pathname contains embedded null characters"
    return None


def _addresses(b: Any) -> Violation | None:
    """What Envoy's address resolution rejects in the addresses it resolves at start-up."""
    for path, address, endpoint in _resolved_addresses(b):
        if endpoint is not None and not endpoint.HasField("address"):
            return _v(path, "address.required", "Address must be set")
        if address.DESCRIPTOR.full_name == SOCKET_ADDRESS:
            which, sa = "socket_address", address
        else:
            which, sa = address.WhichOneof("address"), address.socket_address
        problem = (
            _socket_address_problem(sa, path.startswith("static_resources.listeners["))
            if which == "socket_address"
            else _pipe_problem(address.pipe)
            if which == "pipe"
            else None
        )
        if problem is not None:
            return _v(path, problem[0], problem[1])
        if endpoint is not None:
            if which == "socket_address" and sa.network_namespace_filepath:
                return _v(
                    path,
                    "address.netns",
                    "Invalid host configuration: hosts cannot specify network namespaces with "
                    "their address",
                )
            if which != "socket_address" and endpoint.health_check_config.port_value:
                return _v(
                    path.rpartition(".")[0] + ".health_check_config.port_value",
                    "address.hc_port",
                    "Invalid host configuration: non-zero port for non-IP address",
                )
    return None


# --- listeners ------------------------------------------------------------------------


def is_udp(listener: Any) -> bool:
    sa = listener.address.socket_address
    return listener.address.WhichOneof("address") == "socket_address" and sa.protocol == UDP


def _listener_kinds(b: Any) -> Violation | None:
    """Internal listeners, API listeners and FCDS: what each kind needs and forbids."""
    for i, listener in tree.listeners(b):
        here = f"static_resources.listeners[{i}]"
        internal = listener.address.WhichOneof("address") == "envoy_internal_address"
        if listener.HasField("internal_listener") and listener.HasField("address"):
            return _v(
                f"{here}.address",
                "listener.internal",
                f"error adding listener '{listener.name}': address should not be used when an "
                "internal listener config is provided",
            )
        if internal and not listener.HasField("internal_listener"):
            return _v(
                f"{here}.address",
                "listener.internal",
                f"error adding listener named '{listener.name}': use internal_listener field "
                "instead of address for internal listeners",
            )
        if listener.HasField("api_listener") and not listener.api_listener.api_listener.type_url:
            return _v(
                f"{here}.api_listener",
                "listener.api_listener",
                f"error adding listener named '{listener.name}': missing the API listener "
                "extension",
            )
        if listener.enable_mptcp and listener.address.WhichOneof("address") != "socket_address":
            return _v(
                f"{here}.enable_mptcp",
                "listener.mptcp",
                f"listener {listener.name}: enable_mptcp can only be used with IP addresses",
            )
        if is_udp(listener) and listener.filter_chains:
            return _v(
                f"{here}.filter_chains",
                "listener.udp",
                f"error adding listener: {len(listener.filter_chains)} filter chain(s) specified "
                "for connection-less UDP listener.",
            )
        if listener.HasField("fcds_config") and not listener.HasField("filter_chain_matcher"):
            return _v(
                f"{here}.fcds_config", "listener.fcds", "FCDS requires a filter chain matcher."
            )
    return None


CIDR_FIELDS = ("prefix_ranges", "direct_source_prefix_ranges", "source_prefix_ranges")


def _filter_chain_matches(b: Any) -> Violation | None:
    """CIDR ranges of filter chain matches are IP addresses; two filter chains of a listener
    with equal ``filter_chain_match`` (unset is ``{}``) are an error."""
    for i, listener in tree.listeners(b):
        for k, chain in enumerate(listener.filter_chains):
            here = f"static_resources.listeners[{i}].filter_chains[{k}]"
            match = chain.filter_chain_match
            matched = chain.HasField("filter_chain_match")  # most chains match anything
            if matched and (match.address_suffix or match.HasField("suffix_len")):
                return _v(
                    f"{here}.filter_chain_match",
                    "listener.unimplemented_match",
                    f"error adding listener: filter chain '{chain.name}' contains unimplemented "
                    "fields",
                )
            if listener.HasField("filter_chain_matcher") and not chain.name:
                return _v(
                    f"{here}.name",
                    "listener.matcher_name",
                    'error adding listener: "name" field is required when using a listener matcher',
                )
            for name in CIDR_FIELDS if matched else ():
                for r, cidr in enumerate(getattr(match, name)):
                    try:
                        ipaddress.ip_address(cidr.address_prefix)
                    except ValueError:
                        return _v(
                            f"{here}.filter_chain_match.{name}[{r}].address_prefix",
                            "address.ip",
                            f"malformed IP address: {cidr.address_prefix}",
                        )
        if listener.HasField("filter_chain_matcher"):
            continue  # chains are picked by the matcher, not by their matches
        seen: dict[bytes, Any] = {}
        for k, chain in enumerate(listener.filter_chains):
            key = chain.filter_chain_match.SerializeToString(deterministic=True)
            if key in seen:
                return _v(
                    f"static_resources.listeners[{i}].filter_chains[{k}].filter_chain_match",
                    "listener.duplicate_match",
                    f"error adding listener: filter chain '{chain.name}' has the same matching "
                    f"rules defined as '{seen[key].name}'",
                )
            seen[key] = chain
    return None


# --- clusters -------------------------------------------------------------------------


def _status_ranges(ranges: Any, path: str) -> Violation | None:
    for r in ranges:
        problem = (
            f"expecting start >= 100, but found start={r.start}"
            if r.start < 100
            else f"expecting end <= 600, but found end={r.end}"
            if r.end > 600
            else f"expecting start < end, but found start={r.start} and end={r.end}"
            if r.start >= r.end
            else None
        )
        if problem is not None:
            return _v(
                path, "health_check.statuses", f"Invalid http expected status range: {problem}"
            )
    return None


def _protocol_options(key: str, value: Any, here: str) -> Violation | None:
    """Envoy finds a protocol-options factory by the map key, then unpacks the value as the
    factory's type."""
    where = f"{here}.typed_extension_protocol_options[{key!r}]"
    expected = PROTOCOL_OPTIONS.get(key)
    if expected is None:
        return _v(
            where,
            "cluster.protocol_options",
            "Didn't find a registered network or http filter or protocol options implementation "
            f"for name: '{key}'",
        )
    if tree.type_name(value.type_url) != expected:
        return _v(where, "cluster.protocol_options", f"Unable to unpack as {expected}")
    return None


_HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def _speaks_http2(cluster: Any) -> bool:
    """Whether the cluster's upstream protocol options include HTTP/2 (the legacy field, or
    HttpProtocolOptions' explicit, downstream-following or automatic config)."""
    if cluster.HasField("http2_protocol_options"):
        return True
    packed = cluster.typed_extension_protocol_options.get(_HTTP_OPTIONS)
    options = tree.unpack(packed) if packed is not None else None
    if options is None:
        return False
    kind = options.WhichOneof("upstream_protocol_options")
    if kind == "auto_config":
        return True
    return kind is not None and getattr(options, kind).HasField("http2_protocol_options")


def _cluster_rules(b: Any) -> Violation | None:
    """Circuit breakers, health checks and EDS settings Envoy's cluster factory rejects."""
    for i, c in enumerate(b.static_resources.clusters):
        here = f"static_resources.clusters[{i}]"
        for t, thresholds in enumerate(c.circuit_breakers.per_host_thresholds):
            if any(thresholds.HasField(name) for name in PER_HOST_UNSUPPORTED):
                return _v(
                    f"{here}.circuit_breakers.per_host_thresholds[{t}]",
                    "cluster.per_host",
                    "Unsupported field in per_host_thresholds",
                )
        for key in sorted(c.typed_extension_protocol_options):
            found = _protocol_options(key, c.typed_extension_protocol_options[key], here)
            if found is not None:
                return found
        if c.type != EDS:
            for e, locality in enumerate(c.load_assignment.endpoints):
                if locality.HasField("leds_cluster_locality_config"):
                    return _v(
                        f"{here}.load_assignment.endpoints[{e}].leds_cluster_locality_config",
                        "cluster.leds",
                        "LEDS is only supported when EDS is used. Static cluster "
                        f"{c.load_assignment.cluster_name} cannot use LEDS.",
                    )
        if c.track_cluster_stats.per_endpoint_stats and b.cluster_manager.HasField(
            "load_stats_config"
        ):
            return _v(
                f"{here}.track_cluster_stats.per_endpoint_stats",
                "cluster.per_endpoint_stats",
                "Only one of cluster per_endpoint_stats and cluster manager load_stats_config "
                "can be specified",
            )
        if c.WhichOneof("cluster_discovery_type") == "cluster_type":
            custom = c.cluster_type
            typed = custom.HasField("typed_config") and tree.unpack(custom.typed_config)
            if not typed and custom.name not in CLUSTER_TYPES:
                return _v(
                    f"{here}.cluster_type.name",
                    "cluster.type",
                    "Didn't find a registered cluster factory implementation for name: "
                    f"'{custom.name}'",
                )
        if c.HasField("eds_cluster_config") and c.type != EDS:
            return _v(
                f"{here}.eds_cluster_config",
                "cluster.eds_config",
                "eds_cluster_config set in a non-EDS cluster",
            )
        if len(c.health_checks) > 1:  # Envoy's HealthCheck.name is newer than our xds-protos
            return _v(
                f"{here}.health_checks[0]",
                "health_check.name",
                "health check at index 0 is missing a name; all health checks must have a name "
                "when multiple health checks are configured",
            )
        for m, match in enumerate(c.transport_socket_matches):
            if not match.HasField("transport_socket"):  # no socket: the empty name's factory
                return _v(
                    f"{here}.transport_socket_matches[{m}].transport_socket",
                    "extension.typed_config",
                    "Didn't find a registered implementation for '' with type URL: ''",
                )
        outlier = c.outlier_detection
        if outlier.HasField("max_ejection_time"):  # unset, it is max(300 s, base): no error
            base = (
                _ms(outlier.base_ejection_time)
                if outlier.HasField("base_ejection_time")
                else 30_000
            )
            if _ms(outlier.max_ejection_time) < base:
                return _v(
                    f"{here}.outlier_detection.max_ejection_time",
                    "cluster.outlier_ejection",
                    "outlier detector's max_ejection_time cannot be smaller than "
                    "base_ejection_time",
                )
        grpc_checked = c.health_checks and c.health_checks[0].HasField("grpc_health_check")
        if grpc_checked and not _speaks_http2(c):
            return _v(
                f"{here}.health_checks[0].grpc_health_check",
                "health_check.grpc_http2",
                f"{c.name} cluster must support HTTP/2 for gRPC healthchecking",
            )
        if c.type in (STRICT_DNS, LOGICAL_DNS):
            for r, resolver in enumerate(c.dns_resolvers):
                if resolver.WhichOneof("address") != "socket_address":
                    shown = resolver.pipe.path if resolver.WhichOneof("address") == "pipe" else ""
                    return _v(
                        f"{here}.dns_resolvers[{r}]",
                        "cluster.dns_resolver",
                        f"DNS resolver '{shown}' is not an IP address",
                    )
        if c.lb_policy == RING_HASH:  # the ring weighs hosts of a priority as one uint32
            totals: dict[int, int] = {}
            for locality in c.load_assignment.endpoints:
                for lb in locality.lb_endpoints:
                    weight = (
                        lb.load_balancing_weight.value
                        if lb.HasField("load_balancing_weight")
                        else 1
                    )
                    totals[locality.priority] = totals.get(locality.priority, 0) + weight
            if any(total > UINT32_MAX for total in totals.values()):
                return _v(
                    f"{here}.load_assignment",
                    "cluster.weights",
                    f"The sum of weights of all upstream hosts in a locality exceeds {UINT32_MAX}",
                )
        if c.HasField("load_balancing_policy") and not c.load_balancing_policy.policies:
            return _v(
                f"{here}.load_balancing_policy",
                "cluster.lb_policy",
                "cluster: didn't find a registered load balancer factory implementation for "
                f"cluster: '{c.name}' with names from []",
            )
        for h, check in enumerate(c.health_checks):
            if check.WhichOneof("health_checker") == "tcp_health_check":
                tcp = check.tcp_health_check
                payloads = ([tcp.send] if tcp.HasField("send") else []) + list(tcp.receive)
                for payload in payloads:
                    text = payload.text if payload.WhichOneof("payload") == "text" else ""
                    if text and not _HEX_PAYLOAD.match(text):
                        return _v(
                            f"{here}.health_checks[{h}].tcp_health_check",
                            "health_check.hex",
                            f"invalid hex string '{text}'",
                        )
            if check.WhichOneof("health_checker") == "http_health_check":
                where = f"{here}.health_checks[{h}].http_health_check"
                http = check.http_health_check
                found = _status_ranges(http.expected_statuses, f"{where}.expected_statuses")
                found = found or _status_ranges(
                    http.retriable_statuses, f"{where}.retriable_statuses"
                )
                if found is not None:
                    return found
    return None


def _local_cluster(b: Any) -> Violation | None:
    name = b.cluster_manager.local_cluster_name
    if name and name not in static_clusters(b):
        return _v(
            "cluster_manager.local_cluster_name",
            "cluster.local",
            f"local cluster '{name}' must be defined",
        )
    return None


# --- HTTP -----------------------------------------------------------------------------

HTTP3 = 3  # HttpConnectionManager.CodecType
_LISTENER_INDEX = re.compile(r"static_resources\.listeners\[(\d+)\]")


def _mirror_policies(policies: Any, path: str) -> Violation | None:
    for m, policy in enumerate(policies):
        where = f"{path}.request_mirror_policies[{m}]"
        if policy.cluster and policy.cluster_header:
            return _v(
                where,
                "route.mirror",
                f"Only one of cluster '{policy.cluster}' or cluster_header "
                f"'{policy.cluster_header}' in request mirror policy can be specified",
            )
        if not policy.cluster and not policy.cluster_header:
            return _v(
                where,
                "route.mirror",
                "Exactly one of cluster or cluster_header in request mirror policy need to be "
                "specified",
            )
    return None


def _http_rules(b: Any) -> Violation | None:
    """Static routes' mirror policies name one cluster source; HTTP/3 needs a QUIC listener."""
    listeners = b.static_resources.listeners
    for path, hcm in tree.hcms(b):
        if hcm.codec_type == HTTP3:
            found = _LISTENER_INDEX.match(path)
            listener = listeners[int(found.group(1))] if found else None
            if listener is not None and not listener.udp_listener_config.HasField("quic_options"):
                return _v(
                    f"{path}.codec_type",
                    "hcm.http3",
                    "HTTP/3 codec configured on non-QUIC listener.",
                )
        for v, vhost in enumerate(hcm.route_config.virtual_hosts):
            here = f"{path}.route_config.virtual_hosts[{v}]"
            found_v = _mirror_policies(vhost.request_mirror_policies, here)
            if found_v is not None:
                return found_v
            for r, route in enumerate(vhost.routes):
                if route.WhichOneof("action") == "route":
                    where = f"{here}.routes[{r}].route"
                    found_v = _mirror_policies(route.route.request_mirror_policies, where)
                    if found_v is not None:
                        return found_v
    return None


# --- bootstrap ------------------------------------------------------------------------


def _ms(d: Any) -> int:
    return int(d.seconds * 1000 + d.nanos // 1_000_000)


# "" is the root ("/x" watches "/")
_HOST_DIRECTORIES = frozenset({"", "/tmp", "/dev", "/etc", "/proc", "/usr", "/var"})


def _runtime_layers(b: Any) -> Violation | None:
    """The runtime loader, built before anything else (seen on 1.40): layer names are
    unique, one admin layer at most, and a disk layer watches its root's directory - a root
    without one is not a path, and a directory that does not exist cannot be watched. The
    model is sans-IO: it takes the directories every Linux host has to exist and any other
    not to (the usual case for a fuzzed path)."""
    names: set[str] = set()
    admin = False
    for i, layer in enumerate(b.layered_runtime.layers):
        at = f"layered_runtime.layers[{i}]"
        if layer.name in names:
            return _v(f"{at}.name", "runtime.layer_name", f"Duplicate layer name: {layer.name}")
        names.add(layer.name)
        which = layer.WhichOneof("layer_specifier")
        if which == "admin_layer":
            if admin:
                return _v(
                    f"{at}.admin_layer",
                    "runtime.admin_layers",
                    "Too many admin layers specified in LayeredRuntime, at most one may be "
                    "specified",
                )
            admin = True
        elif which == "disk_layer":
            root = layer.disk_layer.symlink_root
            directory = root.partition("\0")[0].rpartition("/")[0]  # a C string's
            if "/" not in root.partition("\0")[0]:
                return _v(
                    f"{at}.disk_layer.symlink_root",
                    "runtime.symlink_root",
                    f"invalid file path {root}".rstrip(),
                )
            if directory not in _HOST_DIRECTORIES:
                return _v(
                    f"{at}.disk_layer.symlink_root",
                    "runtime.symlink_root",
                    f"unable to add filesystem watch for file {root}: No such file or directory",
                )
    return None


# Envoy's secret manager keeps one map per kind of static secret: a name may repeat across
# kinds, not within one (seen on 1.40, in its words).
_SECRET_KINDS = {
    "tls_certificate": "TlsCertificate",
    "session_ticket_keys": "TlsSessionTicketKeys",
    "validation_context": "CertificateValidationContext",
    "generic_secret": "GenericSecret",
}


def _bootstrap_rules(b: Any) -> Violation | None:
    """Secrets of no type or named like an earlier one of their kind, both watchdog fields, a
    flush interval with flushing on admin, the stats eviction interval against the flush
    interval."""
    named: set[tuple[str, str]] = set()
    for i, secret in enumerate(b.static_resources.secrets):
        kind = secret.WhichOneof("type")
        if kind is None:
            return _v(
                f"static_resources.secrets[{i}]", "secret.type", "Secret type not implemented"
            )
        if (kind, secret.name) in named:
            return _v(
                f"static_resources.secrets[{i}].name",
                "secret.duplicate",
                f"Duplicate static {_SECRET_KINDS.get(kind, kind)} secret name {secret.name}",
            )
        named.add((kind, secret.name))
    if b.HasField("watchdog") and b.HasField("watchdogs"):
        return _v(
            "watchdogs", "bootstrap.watchdog", "Only one of watchdog or watchdogs should be set!"
        )
    if b.HasField("stats_flush_interval") and b.WhichOneof("stats_flush") is not None:
        return _v(
            "stats_flush_on_admin",
            "bootstrap.stats_flush",
            "Only one of stats_flush_interval or stats_flush_on_admin should be set!",
        )
    if b.HasField("stats_eviction_interval"):
        flush = (
            _ms(b.stats_flush_interval)
            if b.HasField("stats_flush_interval")
            else DEFAULT_STATS_FLUSH_MS
        )
        eviction = _ms(b.stats_eviction_interval)
        if flush and eviction % flush:
            return _v(
                "stats_eviction_interval",
                "stats.eviction",
                "stats_eviction_interval must be a multiple of stats_flush_interval",
            )
    return None


STARTUP_CHECKS: tuple[tuple[str, Callable[[Any], Violation | None]], ...] = (
    ("runtime layers: unique names, one admin layer, disk roots", _runtime_layers),
    ("secrets have a type; one watchdog field; stats eviction fits the flush", _bootstrap_rules),
    ("xDS subscriptions need the node's id and cluster", node_for_xds),
    ("xDS config sources: API types, services, backing clusters", xds_config_sources),
    ("cluster circuit breakers, health checks, EDS settings", _cluster_rules),
    ("the local cluster is defined", _local_cluster),
    ("resolved addresses: pipes, ports, resolvers, namespaces", _addresses),
    ("listener kinds: internal, API, FCDS, UDP, MPTCP", _listener_kinds),
    ("filter chain matches: CIDRs are IPs, no two alike", _filter_chain_matches),
    ("HTTP routes: mirror policies; HTTP/3 only on QUIC listeners", _http_rules),
    ("no listener shares an address with an earlier one", duplicate_listener_addresses),
    ("RTDS layers: the node, their config sources", runtime_subscriptions),
)
