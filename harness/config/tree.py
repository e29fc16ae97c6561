"""Walking a Bootstrap for the semantic checks: every set sub-message with its field path
(``typed_config`` payloads of known types unpacked), and the HTTP connection managers of the
static listeners. One ``run`` of the checks shares one walk (``begin``/``end``): the checks
that look everywhere would otherwise each walk the whole tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf import descriptor, message

from harness.config.pgv import Engine

HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_FD = descriptor.FieldDescriptor
_engine: Engine | None = None
_memo: dict[str, Any] = {}


def set_engine(engine: Engine) -> None:
    global _engine
    _engine = engine


def begin(bootstrap: Any) -> None:
    """Start one run of checks over ``bootstrap`` (walks made from now on are kept)."""
    _memo.clear()
    _memo["bootstrap"] = bootstrap


def end() -> None:
    _memo.clear()


def _memoized(key: str, b: Any, make: Callable[[], Any]) -> Any:
    if _memo.get("bootstrap") is not b:
        return make()  # called outside a run
    if key not in _memo:
        _memo[key] = make()
    return _memo[key]


def nodes(b: Any) -> list[tuple[str, message.Message]]:
    """Every set sub-message of ``b`` (``b`` too), with its path."""
    found: list[tuple[str, message.Message]] = _memoized("nodes", b, lambda: list(walk(b, "")))
    return found


def walk(msg: message.Message, path: str) -> Iterator[tuple[str, message.Message]]:
    """Every set sub-message of ``msg`` (Any payloads unpacked when known), with its path."""
    out: list[tuple[str, message.Message]] = []
    _collect(msg, path, out)
    return iter(out)


def _collect(msg: message.Message, path: str, out: list[tuple[str, message.Message]]) -> None:
    # one list, appended to in walk order: nested generators cost a resumption per level
    out.append((path, msg))
    if msg.DESCRIPTOR.full_name == "google.protobuf.Any":
        inner = unpack(msg)
        if inner is not None:
            _collect(inner, f"{path}[{inner.DESCRIPTOR.full_name}]", out)
        return
    for fd, value in msg.ListFields():
        kind = _kinds.get(fd)
        if kind is None:
            kind = _kinds[fd] = _kind(fd)
        if kind == _LEAF:
            continue
        here = f"{path}.{fd.name}" if path else fd.name
        if kind == _MESSAGE_MAP:
            for key in sorted(value):
                _collect(value[key], f"{here}[{key!r}]", out)
        elif kind == _REPEATED:
            for i, item in enumerate(value):
                _collect(item, f"{here}[{i}]", out)
        else:
            _collect(value, here, out)


_LEAF, _MESSAGE_MAP, _REPEATED, _SINGLE = range(4)
_kinds: dict[descriptor.FieldDescriptor, int] = {}  # per field of the schema, not per input


def _kind(fd: descriptor.FieldDescriptor) -> int:
    if fd.type != _FD.TYPE_MESSAGE:
        return _LEAF
    if fd.message_type.GetOptions().map_entry:
        value = fd.message_type.fields_by_name["value"]
        return _MESSAGE_MAP if value.type == _FD.TYPE_MESSAGE else _LEAF
    return _REPEATED if fd.is_repeated else _SINGLE


def of_type(b: Any, *full_names: str) -> Iterator[tuple[str, message.Message]]:
    """The sub-messages of ``b`` of the given types, with their paths, in walk order."""
    wanted = frozenset(full_names)
    return ((p, m) for p, m in nodes(b) if m.DESCRIPTOR.full_name in wanted)


def unpack(any_msg: Any) -> message.Message | None:
    cls = _engine.message_of_any(any_msg.type_url) if _engine and any_msg.type_url else None
    if cls is None:
        return None
    inner = cls()
    try:
        inner.ParseFromString(any_msg.value)
    except message.DecodeError:
        return None
    return inner


def type_name(url: str) -> str:
    return url.rpartition("/")[2]


def hcms(b: Any) -> list[tuple[str, Any]]:
    """The HTTP connection managers of the static listeners, with their paths."""
    found: list[tuple[str, Any]] = _memoized("hcms", b, lambda: _find_hcms(b))
    return found


def listeners(b: Any) -> list[tuple[int, Any]]:
    """(index, listener) of the static listeners Envoy builds: a listener named like an
    earlier one is ignored in validate mode (seen on 1.40: even a bad address passes)."""
    found: list[tuple[int, Any]] = _memoized("listeners", b, lambda: _first_of_each_name(b))
    return found


def _first_of_each_name(b: Any) -> list[tuple[int, Any]]:
    seen: set[str] = set()
    out = []
    for i, listener in enumerate(b.static_resources.listeners):
        if listener.name not in seen:
            seen.add(listener.name)
            out.append((i, listener))
    return out


def ignored(b: Any, path: str) -> bool:
    """Whether ``path`` lies in a static listener Envoy ignores (see ``listeners``)."""
    if not path.startswith("static_resources.listeners["):
        return False
    built = {f"static_resources.listeners[{i}]" for i, _ in listeners(b)}
    head = path[: path.index("]") + 1]
    return head not in built


def _find_hcms(b: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    cls = _engine.message_of_any("type.googleapis.com/" + HCM) if _engine else None
    if cls is None:
        return out
    for i, listener in listeners(b):
        chains = [(f"filter_chains[{k}]", c) for k, c in enumerate(listener.filter_chains)]
        if listener.HasField("default_filter_chain"):
            chains.append(("default_filter_chain", listener.default_filter_chain))
        for where, chain in chains:
            for j, f in enumerate(chain.filters):
                if type_name(f.typed_config.type_url) == HCM:
                    hcm = cls()
                    hcm.ParseFromString(f.typed_config.value)
                    out.append(
                        (f"static_resources.listeners[{i}].{where}.filters[{j}].typed_config", hcm)
                    )
    return out
