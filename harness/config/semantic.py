"""The semantic checks of Envoy's validation server that PGV does not express, as a table.

Each row is (what Envoy checks, function of the Bootstrap -> ``Violation`` or None), in the
order Envoy's start-up meets them: bootstrap-wide (durations), the cluster manager (each
cluster), then listeners and their filter chains. Every row was seen rejecting a config on
Envoy 1.40 (its message is Envoy's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import re2
from google.protobuf import descriptor

from harness.config import startup, tree
from harness.config.binds import upstream_bind_configs
from harness.config.pgv import UNBUILT_EXTENSIONS, UNBUILT_PATHS, Violation
from harness.config.startup import STARTUP_CHECKS

ROUTER = "envoy.extensions.filters.http.router.v3.Router"
# HTTP filters that end a chain (Envoy: isTerminalFilterByProto)
TERMINAL_HTTP_FILTERS = frozenset({ROUTER})
# Cluster enums (envoy.config.cluster.v3.Cluster)
STATIC, STRICT_DNS, LOGICAL_DNS, EDS = 0, 1, 2, 3
CLUSTER_PROVIDED = 6  # Cluster.LbPolicy
USE_CONFIGURED_PROTOCOL = 0  # Cluster.ClusterProtocolSelection, the default
RING_HASH, MAGLEV, LB_POLICY_CONFIG = 2, 5, 7
MAX_DURATION_SECONDS = 315_576_000_000  # protobuf's Duration range
# Envoy's own bound, everywhere (9223372036 s, int64 nanoseconds, is already rejected)
MAX_ENVOY_DURATION_SECONDS = 9_223_372_035
_FD = descriptor.FieldDescriptor
_QUIET = re2.Options()
_QUIET.log_errors = False  # RE2 logs every bad pattern to stderr otherwise


def run(bootstrap: Any) -> Violation | None:
    """The first semantic check ``bootstrap`` fails, in table order."""
    tree.begin(bootstrap)
    try:
        for _name, semantic in SEMANTIC_CHECKS:
            found = semantic(bootstrap)
            if found is not None:
                return found
        return None
    finally:
        tree.end()


def _duplicate_clusters(b: Any) -> Violation | None:
    seen: set[str] = set()
    for i, cluster in enumerate(b.static_resources.clusters):
        if cluster.name in seen:
            return Violation(
                f"static_resources.clusters[{i}].name",
                "cluster.duplicate",
                f"cluster manager: duplicate cluster '{cluster.name}'",
            )
        seen.add(cluster.name)
    return None


def _listener_filter_chains(b: Any) -> Violation | None:
    for i, listener in tree.listeners(b):
        if not listener.filter_chains and not listener.HasField("default_filter_chain"):
            if listener.HasField("api_listener") or startup.is_udp(listener):
                continue  # UDP listeners take listener filters, not filter chains
            if listener.HasField("fcds_config"):
                continue  # FCDS brings the filter chains
            return Violation(
                f"static_resources.listeners[{i}].filter_chains",
                "listener.filter_chains",
                "no filter chains specified",
            )
    return None


def _http_filter_order(b: Any) -> Violation | None:
    for path, hcm in tree.hcms(b):
        filters = hcm.http_filters
        for j, f in enumerate(filters):
            terminal = tree.type_name(f.typed_config.type_url) in TERMINAL_HTTP_FILTERS
            last = j == len(filters) - 1
            if terminal and not last:
                return Violation(
                    f"{path}.http_filters[{j}]",
                    "http_filters.terminal_not_last",
                    f"Error: terminal filter named {f.name} of type {f.name} must be the last "
                    "filter in a http filter chain.",
                )
            if last and not terminal:
                return Violation(
                    f"{path}.http_filters[{j}]",
                    "http_filters.last_not_terminal",
                    f"Error: non-terminal filter named {f.name} of type {f.name} is the last "
                    "filter in a http filter chain.",
                )
    return None


# Network filters by typed_config type -> (factory name, terminal), those observed on 1.40;
# a type not listed is not judged (the full terminal list is Envoy's, per factory)
NETWORK_FILTERS = {
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager": (
        "envoy.filters.network.http_connection_manager",
        True,
    ),
    "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy": (
        "envoy.filters.network.tcp_proxy",
        True,
    ),
    "envoy.extensions.filters.network.rbac.v3.RBAC": ("envoy.filters.network.rbac", False),
}


def _network_filter_order(b: Any) -> Violation | None:
    """A terminal network filter (HCM, TCP proxy) must end its chain; a non-terminal one
    may not (Envoy's validateTerminalFilters, per filter as the chain is built)."""
    for i, listener in tree.listeners(b):
        chains = [(f"filter_chains[{k}]", c) for k, c in enumerate(listener.filter_chains)]
        if listener.HasField("default_filter_chain"):
            chains.append(("default_filter_chain", listener.default_filter_chain))
        for where, chain in chains:
            filters = chain.filters
            for j, f in enumerate(filters):
                known = NETWORK_FILTERS.get(tree.type_name(f.typed_config.type_url))
                if known is None:
                    continue
                factory, terminal = known
                last = j == len(filters) - 1
                if terminal != last:
                    state = "must be the last" if terminal else "is the last"
                    kind = "terminal" if terminal else "non-terminal"
                    return Violation(
                        f"static_resources.listeners[{i}].{where}.filters[{j}]",
                        "network_filters.terminal_order",
                        f"Error: {kind} filter named {f.name} of type {factory} {state} "
                        "filter in a network filter chain.",
                    )
    return None


def _regexes(b: Any) -> Violation | None:
    """Every RE2 regex compiles (Envoy compiles safe_regex with RE2 at config load)."""
    for path, msg in tree.nodes(b, tree.REGEXES):
        if not tree.ignored(b, path):
            try:
                re2.compile(msg.regex, _QUIET)
            except re2.error as e:
                reason = e.args[0].decode() if isinstance(e.args[0], bytes) else str(e)
                return Violation(f"{path}.regex", "regex.re2", reason)
    return None


def _listeners(b: Any) -> Violation | None:
    for i, listener in tree.listeners(b):
        if not listener.HasField("address") and not listener.HasField("api_listener"):
            return Violation(
                f"static_resources.listeners[{i}].address",
                "listener.address",
                f"error adding listener named '{listener.name}': address is necessary",
            )
    return None


def _route_configs(b: Any) -> Violation | None:
    """Static route tables: unique domains, one wildcard, clusters that exist."""
    clusters = {c.name for c in b.static_resources.clusters}
    for path, hcm in tree.hcms(b):
        if not hcm.HasField("route_config"):
            continue
        rc = hcm.route_config
        here = f"{path}.route_config"
        seen: set[str] = set()
        for v, vhost in enumerate(rc.virtual_hosts):
            for domain in vhost.domains:
                if domain in seen:
                    message = (
                        f"Only a single wildcard domain is permitted in route {rc.name}"
                        if domain == "*"
                        else f"Only unique values for domains are permitted. Duplicate entry of "
                        f"domain {domain} in route {rc.name}"
                    )
                    return Violation(f"{here}.virtual_hosts[{v}].domains", "route.domains", message)
                seen.add(domain)
        validate = not rc.HasField("validate_clusters") or rc.validate_clusters.value
        if not validate:
            continue
        for v, vhost in enumerate(rc.virtual_hosts):
            for r, route in enumerate(vhost.routes):
                if route.WhichOneof("action") != "route":
                    continue
                action = route.route
                names = (
                    [action.cluster]
                    if action.WhichOneof("cluster_specifier") == "cluster"
                    else [w.name for w in action.weighted_clusters.clusters]
                    if action.WhichOneof("cluster_specifier") == "weighted_clusters"
                    else []
                )
                for name in names:
                    if name not in clusters:
                        return Violation(
                            f"{here}.virtual_hosts[{v}].routes[{r}].route",
                            "route.cluster",
                            f"route: unknown cluster '{name}'",
                        )
                for m, mirror in enumerate(action.request_mirror_policies):
                    if mirror.cluster and mirror.cluster not in clusters:
                        return Violation(
                            f"{here}.virtual_hosts[{v}].routes[{r}].route"
                            f".request_mirror_policies[{m}].cluster",
                            "route.cluster",
                            f"route: unknown shadow cluster '{mirror.cluster}'",
                        )
    return None


def _durations(b: Any) -> Violation | None:
    """Envoy's validateDurationFields: every Duration non-negative and within range."""
    for path, msg in tree.nodes(b, tree.DURATIONS):
        seconds, nanos = msg.seconds, msg.nanos
        if seconds < 0 or nanos < 0:
            return Violation(
                path, "duration.negative", "Invalid duration: Expected positive duration"
            )
        if seconds > MAX_DURATION_SECONDS or nanos > 999_999_999:
            return Violation(
                path,
                "duration.range",
                "Invalid duration: Duration out-of-range according to Protobuf",
            )
        if seconds > MAX_ENVOY_DURATION_SECONDS:
            return Violation(path, "duration.range", "Invalid duration: Duration out-of-range")
    return None


# Extensions Envoy builds at start-up by their typed_config's type (a name alone finds no
# factory in 1.40): without a typed_config they fail. (Seen on Envoy 1.40; not here because
# seen passing: OverloadAction, which needs none, and gRPC call-credential plugins.)
BUILT_EXTENSIONS = frozenset(
    {
        "envoy.config.accesslog.v3.AccessLog",
        "envoy.config.accesslog.v3.ExtensionFilter",
        "envoy.config.cluster.v3.Filter",
        "envoy.config.core.v3.HealthCheck.CustomHealthCheck",
        "envoy.config.core.v3.TransportSocket",
        "envoy.config.listener.v3.Filter",
        "envoy.config.listener.v3.ListenerFilter",
        "envoy.config.metrics.v3.StatsSink",
        "envoy.config.overload.v3.ResourceMonitor",
        "envoy.config.route.v3.RetryPolicy.RetryHostPredicate",
        "envoy.config.route.v3.RetryPolicy.RetryPriority",
        "envoy.config.trace.v3.Tracing.Http",
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
    }
)


def _empty_typed_configs(b: Any) -> Violation | None:
    """An extension whose typed_config names no type: a built extension without one, or any
    extension whose typed_config is set but empty (Envoy: no factory), unless validate mode
    never builds it (``pgv.UNBUILT_EXTENSIONS``)."""
    for path, msg in tree.nodes(b, tree.EXTENSIONS):
        built = msg.DESCRIPTOR.full_name in BUILT_EXTENSIONS
        discovered = "config_type" in msg.DESCRIPTOR.oneofs_by_name and msg.WhichOneof(
            "config_type"
        ) not in (None, "typed_config")
        if built and discovered:
            continue  # config_discovery: fetched later
        if msg.DESCRIPTOR.full_name in UNBUILT_EXTENSIONS or path.startswith(UNBUILT_PATHS):
            continue
        if tree.ignored(b, path):
            continue
        if (built or msg.HasField("typed_config")) and not msg.typed_config.type_url:
            return Violation(
                f"{path}.typed_config" if path else "typed_config",
                "typed_config.empty",
                f"Didn't find a registered implementation for '{msg.name}' with type URL: ''",
            )
    return None


_WITNESSES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)


def _is_prime(n: int) -> bool:
    """Miller-Rabin with the first 12 primes as witnesses: exact below 3.3e24 (a table size
    is a uint32); trial division took ~0.5 ms for a large prime."""
    if n < 2:
        return False
    for p in _WITNESSES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _clusters(b: Any) -> Violation | None:
    """Per-cluster checks of Envoy's cluster manager (load balancer and discovery type)."""
    for i, c in enumerate(b.static_resources.clusters):
        here = f"static_resources.clusters[{i}]"
        if c.HasField("load_balancing_policy") and c.HasField("lb_subset_config"):
            return Violation(
                f"{here}.load_balancing_policy",
                "cluster.lb_subset",
                "cluster: load_balancing_policy cannot be combined with lb_subset_config",
            )
        if c.lb_subset_config.locality_weight_aware and not c.common_lb_config.HasField(
            "locality_weighted_lb_config"
        ):
            return Violation(
                f"{here}.lb_subset_config.locality_weight_aware",
                "cluster.lb_subset_locality",
                "Locality weight aware subset LB requires that a locality_weighted_lb_config be "
                f"set in {c.name}",
            )
        legacy_both = c.HasField("http_protocol_options") and c.HasField("http2_protocol_options")
        if legacy_both and c.protocol_selection == USE_CONFIGURED_PROTOCOL:
            return Violation(
                f"{here}.http2_protocol_options",
                "cluster.protocol_options",
                "cluster: Both HTTP1 and HTTP2 options may only be configured with non-default "
                "'protocol_selection' values",
            )
        if c.type == EDS and not c.HasField("eds_cluster_config"):
            return Violation(
                f"{here}.eds_cluster_config",
                "cluster.eds",
                "cannot create an EDS cluster without an EDS config",
            )
        ring = c.ring_hash_lb_config
        if (
            c.lb_policy == RING_HASH
            and ring.HasField("minimum_ring_size")
            and ring.HasField("maximum_ring_size")
            and ring.minimum_ring_size.value > ring.maximum_ring_size.value
        ):
            return Violation(
                f"{here}.ring_hash_lb_config",
                "cluster.ring_hash",
                f"ring hash: minimum_ring_size ({ring.minimum_ring_size.value}) > "
                f"maximum_ring_size ({ring.maximum_ring_size.value})",
            )
        if c.lb_policy == LB_POLICY_CONFIG and not c.HasField("load_balancing_policy"):
            return Violation(
                f"{here}.load_balancing_policy",
                "cluster.lb_policy",
                "cluster: field load_balancing_policy need to be set",
            )
        if c.lb_policy == MAGLEV and c.HasField("maglev_lb_config"):  # MAGLEV
            size = c.maglev_lb_config.table_size
            if c.maglev_lb_config.HasField("table_size") and not _is_prime(size.value):
                return Violation(
                    f"{here}.maglev_lb_config.table_size",
                    "cluster.maglev",
                    "The table size of maglev must be prime number",
                )
        if c.type == LOGICAL_DNS:
            hosts = sum(len(e.lb_endpoints) for e in c.load_assignment.endpoints)
            if hosts != 1 or len(c.load_assignment.endpoints) != 1:
                return Violation(
                    f"{here}.load_assignment",
                    "cluster.logical_dns",
                    "LOGICAL_DNS clusters must have a single host",
                )
    return None


def _cluster_provided_lb(b: Any) -> Violation | None:
    """``CLUSTER_PROVIDED`` on a built-in type that provides no load balancer (ORIGINAL_DST
    does): the cluster manager refuses it once the cluster is built."""
    for i, c in enumerate(b.static_resources.clusters):
        no_lb = c.WhichOneof("cluster_discovery_type") != "cluster_type" and c.type in (
            STATIC, STRICT_DNS, LOGICAL_DNS, EDS,
        )  # fmt: skip
        if c.lb_policy == CLUSTER_PROVIDED and no_lb:
            return Violation(
                f"static_resources.clusters[{i}].lb_policy",
                "cluster.cluster_provided_lb",
                f"cluster manager: cluster provided LB specified but cluster '{c.name}' did "
                "not provide one. Check cluster documentation.",
            )
    return None


STARTUP = {name: (name, check) for name, check in STARTUP_CHECKS}
SEMANTIC_CHECKS: tuple[tuple[str, Callable[[Any], Violation | None]], ...] = (
    ("durations are non-negative and in range", _durations),
    ("an extension config names its type", _empty_typed_configs),
    ("regexes compile with RE2", _regexes),
    (STARTUP["runtime layers: unique names, one admin layer, disk roots"]),
    (STARTUP["secrets have a type; one watchdog field; stats eviction fits the flush"]),
    (STARTUP["xDS subscriptions need the node's id and cluster"]),
    (STARTUP["xDS config sources: API types, services, backing clusters"]),
    ("duplicate cluster names", _duplicate_clusters),
    ("cluster load balancer and discovery rules", _clusters),
    (STARTUP["cluster circuit breakers, health checks, EDS settings"]),
    ("upstream bind configs: one extra source, of the other IP version", upstream_bind_configs),
    ("CLUSTER_PROVIDED only where the cluster type provides a balancer", _cluster_provided_lb),
    (STARTUP["the local cluster is defined"]),
    (STARTUP["resolved addresses: pipes, ports, resolvers, namespaces"]),
    ("listeners have an address", _listeners),
    (STARTUP["listener kinds: internal, API, FCDS, UDP, MPTCP"]),
    ("listeners need a filter chain", _listener_filter_chains),
    (STARTUP["filter chain matches: CIDRs are IPs, no two alike"]),
    ("the router ends an HTTP filter chain", _http_filter_order),
    ("a terminal network filter ends its chain", _network_filter_order),
    ("static route tables: domains and clusters", _route_configs),
    (STARTUP["HTTP routes: mirror policies; HTTP/3 only on QUIC listeners"]),
    (STARTUP["no listener shares an address with an earlier one"]),
    (STARTUP["RTDS layers: the node, their config sources"]),
)
