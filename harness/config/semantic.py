"""The semantic checks of Envoy's validation server that PGV does not express, as a table.

Each row is (what Envoy checks, function of the Bootstrap -> ``Violation`` or None), in the
order Envoy's start-up meets them: bootstrap-wide (durations), the cluster manager (each
cluster), then listeners and their filter chains. Every row was seen rejecting a config on
Envoy 1.40 (its message is Envoy's).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf import descriptor, message

from harness.config.pgv import Engine, Violation

HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "envoy.extensions.filters.http.router.v3.Router"
# HTTP filters that end a chain (Envoy: isTerminalFilterByProto)
TERMINAL_HTTP_FILTERS = frozenset({ROUTER})
MAX_DURATION_SECONDS = 315_576_000_000  # protobuf's Duration range
_FD = descriptor.FieldDescriptor
_engine: Engine | None = None


def set_engine(engine: Engine) -> None:
    global _engine
    _engine = engine


def _walk(msg: message.Message, path: str) -> Iterator[tuple[str, message.Message]]:
    """Every set sub-message of ``msg`` (Any payloads unpacked when known), with its path."""
    yield path, msg
    for fd, value in msg.ListFields():
        if fd.type != _FD.TYPE_MESSAGE:
            continue
        here = f"{path}.{fd.name}" if path else fd.name
        if fd.message_type.GetOptions().map_entry:
            if fd.message_type.fields_by_name["value"].type == _FD.TYPE_MESSAGE:
                for key in sorted(value):
                    yield from _walk(value[key], f"{here}[{key!r}]")
        elif fd.is_repeated:
            for i, item in enumerate(value):
                yield from _walk(item, f"{here}[{i}]")
        else:
            yield from _walk(value, here)


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
    for i, listener in enumerate(b.static_resources.listeners):
        if not listener.filter_chains and not listener.HasField("default_filter_chain"):
            if listener.HasField("api_listener"):
                continue
            return Violation(
                f"static_resources.listeners[{i}].filter_chains",
                "listener.filter_chains",
                "no filter chains specified",
            )
    return None


def _http_filter_order(b: Any) -> Violation | None:
    for path, hcm in _hcms(b):
        filters = hcm.http_filters
        for j, f in enumerate(filters):
            terminal = _type_name(f.typed_config.type_url) in TERMINAL_HTTP_FILTERS
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


def _type_name(url: str) -> str:
    return url.rpartition("/")[2]


def _hcms(b: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    cls = _engine.message_of_any("type.googleapis.com/" + HCM) if _engine else None
    if cls is None:
        return out
    for i, listener in enumerate(b.static_resources.listeners):
        chains = [(f"filter_chains[{k}]", c) for k, c in enumerate(listener.filter_chains)]
        if listener.HasField("default_filter_chain"):
            chains.append(("default_filter_chain", listener.default_filter_chain))
        for where, chain in chains:
            for j, f in enumerate(chain.filters):
                if _type_name(f.typed_config.type_url) == HCM:
                    hcm = cls()
                    hcm.ParseFromString(f.typed_config.value)
                    out.append(
                        (f"static_resources.listeners[{i}].{where}.filters[{j}].typed_config", hcm)
                    )
    return out


def _durations(b: Any) -> Violation | None:
    """Envoy's validateDurationFields: every Duration non-negative and within range."""
    for path, msg in _walk(b, ""):
        if msg.DESCRIPTOR.full_name != "google.protobuf.Duration":
            continue
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
    return None


def _empty_typed_configs(b: Any) -> Violation | None:
    """An extension whose typed_config is set but names no type (Envoy: no factory)."""
    for path, msg in _walk(b, ""):
        fields = msg.DESCRIPTOR.fields_by_name
        if (
            "typed_config" in fields
            and "name" in fields
            and msg.HasField("typed_config")
            and not msg.typed_config.type_url
        ):
            name = msg.name
            return Violation(
                f"{path}.typed_config" if path else "typed_config",
                "typed_config.empty",
                f"Didn't find a registered implementation for '{name}' with type URL: ''",
            )
    return None


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


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
        if c.lb_policy == 6 and not c.HasField("load_balancing_policy"):  # LB_POLICY_CONFIG
            return Violation(
                f"{here}.load_balancing_policy",
                "cluster.lb_policy",
                "cluster: field load_balancing_policy need to be set",
            )
        if c.lb_policy == 4 and c.HasField("maglev_lb_config"):  # MAGLEV
            size = c.maglev_lb_config.table_size
            if c.maglev_lb_config.HasField("table_size") and not _is_prime(size.value):
                return Violation(
                    f"{here}.maglev_lb_config.table_size",
                    "cluster.maglev",
                    "The table size of maglev must be prime number",
                )
        if c.type == 2:  # LOGICAL_DNS
            hosts = sum(len(e.lb_endpoints) for e in c.load_assignment.endpoints)
            if hosts != 1 or len(c.load_assignment.endpoints) != 1:
                return Violation(
                    f"{here}.load_assignment",
                    "cluster.logical_dns",
                    "LOGICAL_DNS clusters must have a single host",
                )
        if c.type == 0:  # STATIC: endpoints must be IP addresses
            for path, msg in _walk(c.load_assignment, f"{here}.load_assignment"):
                if msg.DESCRIPTOR.full_name != "envoy.config.core.v3.SocketAddress":
                    continue
                if msg.resolver_name:
                    continue
                try:
                    ipaddress.ip_address(msg.address)
                except ValueError:
                    return Violation(
                        f"{path}.address",
                        "address.ip",
                        f"malformed IP address: {msg.address}",
                    )
    return None


SEMANTIC_CHECKS: tuple[tuple[str, Callable[[Any], Violation | None]], ...] = (
    ("durations are non-negative and in range", _durations),
    ("an extension config names its type", _empty_typed_configs),
    ("duplicate cluster names", _duplicate_clusters),
    ("cluster load balancer and discovery rules", _clusters),
    ("listeners need a filter chain", _listener_filter_chains),
    ("the router ends an HTTP filter chain", _http_filter_order),
)
