"""The sockets a config binds (sans-IO): validate mode's duplicate-address and upstream
bind-config rules, and what ``--envoy-mode serve`` adds to validate mode's verdict.

``upstream_bind_configs`` is a row of the validation server's checks too: the source
addresses a cluster binds its upstream connections to (observed on 1.40, every message).

``duplicate_listener_addresses`` is a row of the validation server's checks
(``harness.config.startup``): a listener sharing an address with an earlier one is refused,
unless the address is a port-0 one (observed on 1.40: ``tests/data/config_cases``).

Serve mode (``harness.envoy.serve``) starts a config in a private network whose only
interface is loopback. Validate mode binds nothing, so a config it accepts can still fail
there when a socket is bound. ``check_binds`` replays Envoy 1.40's binds in its order - the
admin address first (it listens at once), then each built listener's address and additional
addresses (unless ``bind_to_port: false``) - against ``BIND_RULES``: a table of (what the
kernel refuses, the errno text Envoy reports). Every row was observed
(``tests/data/serve_cases``); listeners among themselves do not collide (Envoy binds them all
before any listens, with SO_REUSEADDR), so only the admin's address is a collision.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.config import tree
from harness.config.pgv import Violation

_UDP = 1
_Ip = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Bind:
    """One socket Envoy binds: where it came from and what it asks for."""

    path: str
    udp: bool = False
    ip: _Ip | None = None  # None: a pipe
    port: int = 0
    ipv4_compat: bool = False
    pipe: str = ""

    def show(self) -> str:
        """The address as Envoy's error prints it."""
        if self.ip is None:
            return self.pipe
        if isinstance(self.ip, ipaddress.IPv4Address):
            return f"{self.ip}:{self.port}"
        mapped = self.ip.ipv4_mapped  # inet_ntop writes its IPv4 part dotted
        return f"[{f'::ffff:{mapped}' if mapped else self.ip}]:{self.port}"


def _v4_mapped_on_a_v6_only_socket(b: Bind, admin: Bind | None) -> bool:
    # Envoy sets IPV6_V6ONLY unless ipv4_compat: a v4-mapped address is then EINVAL
    return (
        isinstance(b.ip, ipaddress.IPv6Address)
        and b.ip.ipv4_mapped is not None
        and not b.ipv4_compat
    )


def _not_local(b: Bind, admin: Bind | None) -> bool:
    # only loopback is up: 127.0.0.0/8 and ::1 are local (a v4-mapped one on a dual-stack
    # socket too), and the wildcards bind
    if b.ip is None:
        return False
    ip = (b.ip.ipv4_mapped if isinstance(b.ip, ipaddress.IPv6Address) else None) or b.ip
    return not (ip.is_loopback or ip.is_unspecified)


def _overlaps(a: Bind, b: Bind) -> bool:
    if a.ip is None or b.ip is None:
        return a.ip is None and b.ip is None and a.pipe == b.pipe and a.pipe.startswith("@")
    return (
        a.udp == b.udp
        and a.port == b.port != 0
        and a.ip.version == b.ip.version
        and (a.ip == b.ip or a.ip.is_unspecified or b.ip.is_unspecified)
    )


def _taken_by_the_admin(b: Bind, admin: Bind | None) -> bool:
    # the admin listens before listeners bind; a socket file path is unlinked and rebound
    return admin is not None and b is not admin and _overlaps(admin, b)


BindRule = Callable[[Bind, "Bind | None"], bool]
BIND_RULES: tuple[tuple[str, BindRule, str], ...] = (
    ("serve.bind.v4_mapped", _v4_mapped_on_a_v6_only_socket, "Invalid argument"),
    ("serve.bind.not_local", _not_local, "Cannot assign requested address"),
    ("serve.bind.in_use", _taken_by_the_admin, "Address already in use"),
)


def check_binds(bootstrap: Any) -> Violation | None:
    """The first bind serve mode's Envoy would fail, as Envoy reports it; None if none."""
    admin = _bind(bootstrap.admin.address, "admin.address") if bootstrap.HasField("admin") else None
    for bind in _binds(bootstrap, admin):
        for rule, refused, reason in BIND_RULES:
            if refused(bind, admin):
                return Violation(bind.path, rule, f"cannot bind '{bind.show()}': {reason}")
    return None


def _binds(bootstrap: Any, admin: Bind | None) -> Iterator[Bind]:
    if admin is not None:
        yield admin
    for i, listener in tree.listeners(bootstrap):
        if not listener.HasField("bind_to_port") or listener.bind_to_port.value:
            yield from listener_binds(listener, f"static_resources.listeners[{i}]")


def listener_binds(listener: Any, at: str) -> list[Bind]:
    """The sockets of ``listener`` (at path ``at``): its address, then additional addresses."""
    found = [_bind(listener.address, f"{at}.address")]
    found += [
        _bind(extra.address, f"{at}.additional_addresses[{j}].address")
        for j, extra in enumerate(listener.additional_addresses)
    ]
    return [bind for bind in found if bind is not None]


def duplicate_listener_addresses(b: Any) -> Violation | None:
    """A built listener with an address (not a port-0 one) an earlier listener has, of the
    same socket type: Envoy's listener manager refuses it, naming all its addresses."""
    built = tree.listeners(b)
    if len(built) < 2:
        return None  # no earlier listener to share an address with
    seen: set[tuple[bool, str]] = set()
    for i, listener in built:
        binds = listener_binds(listener, f"static_resources.listeners[{i}]")
        keys = {(bind.udp, bind.show()) for bind in binds if bind.ip is None or bind.port}
        if keys & seen:
            shown = ",".join(bind.show() for bind in binds)
            return Violation(
                f"static_resources.listeners[{i}].address",
                "listener.duplicate_address",
                f"error adding listener: '{listener.name}' has duplicate address '{shown}' as "
                "existing listener, to check if the listener has duplicated addresses with "
                "other listeners or 'enable_reuse_port' is set to 'false' for the listener",
            )
        seen |= keys
    return None


def _bind(address: Any, path: str) -> Bind | None:
    kind = address.WhichOneof("address")
    if kind == "pipe":
        return Bind(path, pipe=address.pipe.path)
    if kind != "socket_address":
        return None  # an internal listener, or no address: nothing is bound
    sa = address.socket_address
    try:
        ip = ipaddress.ip_address(sa.address)
    except ValueError:
        return None  # validate mode rejects it first
    return Bind(path, sa.protocol == _UDP, ip, sa.port_value, sa.ipv4_compat)


def upstream_bind_configs(b: Any) -> Violation | None:
    """Each cluster's upstream bind config (its own, else the cluster manager's, which is
    only read for a cluster that has none): at most one extra source address, of the other
    IP version than ``source_address``, which it needs (Envoy's parseBindConfig, in order)."""
    fallback = b.cluster_manager.upstream_bind_config
    has_fallback = b.cluster_manager.HasField("upstream_bind_config")
    for i, cluster in enumerate(b.static_resources.clusters):
        if cluster.HasField("upstream_bind_config"):
            config, owner = cluster.upstream_bind_config, f"Cluster {cluster.name}'s"
            path = f"static_resources.clusters[{i}].upstream_bind_config"
        elif has_fallback:
            config, owner = fallback, "Bootstrap's"
            path = "cluster_manager.upstream_bind_config"
        else:
            continue
        found = _bind_config(config, owner)
        if found is not None:
            return Violation(path, found[0], found[1])
    return None


def _bind_config(config: Any, owner: str) -> tuple[str, str] | None:
    extra = [e.address for e in config.extra_source_addresses]
    additional = list(config.additional_source_addresses)
    if extra and additional:
        return (
            "bind_config.both",
            "Can't specify both `extra_source_addresses` and `additional_source_addresses` "
            f"in the {owner} upstream binding config",
        )
    others = extra or additional
    if len(others) > 1:
        return (
            "bind_config.many",
            f"{owner} upstream binding config has more than one extra/additional source "
            "addresses. Only one extra/additional source can be supported in BindConfig's "
            "extra_source_addresses/additional_source_addresses field",
        )
    if others and not config.HasField("source_address"):
        return (
            "bind_config.no_source",
            f"{owner} upstream binding config has extra/additional source addresses but no "
            "source_address. Extra/additional addresses cannot be specified if source_address "
            "is not set.",
        )
    if others and _ip_version(others[0]) == _ip_version(config.source_address) is not None:
        return (
            "bind_config.same_version",
            f"{owner} upstream binding config has two same IP version source addresses. Only "
            "two different IP version source addresses can be supported in BindConfig's "
            "source_address and extra_source_addresses/additional_source_addresses fields",
        )
    return None


def _ip_version(socket_address: Any) -> int | None:
    try:
        return ipaddress.ip_address(socket_address.address).version
    except ValueError:
        return None  # not an IP: the address rules reject it first
