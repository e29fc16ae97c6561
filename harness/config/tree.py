"""Walking a Bootstrap for the semantic checks: the set sub-messages the checks that look
everywhere want (Durations, RegexMatchers, extensions), by kind, with their field paths
(``typed_config`` payloads of known types unpacked; types that can hold none of them are
not descended into), and the HTTP connection managers of the static listeners. One ``run``
of the checks shares one walk (``begin``/``end``): those checks would otherwise each walk
the whole tree.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _memoized(key: str, b: Any, make: Callable[[Any], Any]) -> Any:
    if _memo.get("bootstrap") is not b:
        return make(b)  # called outside a run
    found = _memo.get(key)
    if found is None:
        found = _memo[key] = make(b)
    return found


# What the checks that look everywhere look for, by kind of node
DURATIONS, REGEXES, EXTENSIONS = range(3)
_DURATION = "google.protobuf.Duration"
_REGEX = "envoy.type.matcher.v3.RegexMatcher"
_ANY = "google.protobuf.Any"


def nodes(b: Any, kind: int) -> list[tuple[str, message.Message]]:
    """The set sub-messages of ``b`` (``b`` too) of one kind, with their paths, in walk
    order: Durations, RegexMatchers, or extensions (a ``name`` beside a ``typed_config``)."""
    found: list[list[tuple[str, message.Message]]] = _memoized("nodes", b, _walk)
    return found[kind]


def _walk(b: Any) -> list[list[tuple[str, message.Message]]]:
    return walk(b, "")


def walk(msg: message.Message, path: str) -> list[list[tuple[str, message.Message]]]:
    """The set sub-messages of ``msg`` (Any payloads unpacked when known) by kind, with their
    paths. Sub-messages of a type that can hold none of the kinds are not visited."""
    out: list[list[tuple[str, message.Message]]] = [[], [], []]
    _collect(msg, path, out)
    return out


def _collect(msg: message.Message, path: str, out: list[list[tuple[str, message.Message]]]) -> None:
    # one list per kind, appended to in walk order (pre-order, fields by number)
    desc = msg.DESCRIPTOR
    kind = _node_kinds.get(desc)
    if kind is None:
        kind = _node_kinds[desc] = _node_kind(desc)
    if kind < _OTHER:
        out[kind].append((path, msg))
    elif kind == _AN_ANY:
        inner = unpack(msg)
        if inner is not None:
            _collect(inner, f"{path}[{inner.DESCRIPTOR.full_name}]", out)
        return
    for fd, value in msg.ListFields():
        field = _fields.get(fd)
        if field is None:
            field = _fields[fd] = (_kind(fd), fd.name)
        shape, name = field
        if shape == _LEAF:
            continue
        here = f"{path}.{name}" if path else name
        if shape == _MESSAGE_MAP:
            for key in sorted(value):
                _collect(value[key], f"{here}[{key!r}]", out)
        elif shape == _REPEATED:  # by index: a upb container's iterator ends by IndexError
            for i in range(len(value)):
                _collect(value[i], f"{here}[{i}]", out)
        else:
            _collect(value, here, out)


_LEAF, _MESSAGE_MAP, _REPEATED, _SINGLE = range(4)
_OTHER, _AN_ANY = 3, 4  # node kinds beside DURATIONS, REGEXES, EXTENSIONS
# per field and message type of the schema, not per input
_fields: dict[descriptor.FieldDescriptor, tuple[int, str]] = {}
_node_kinds: dict[descriptor.Descriptor, int] = {}
_reaches: dict[str, bool] = {}


def _node_kind(desc: descriptor.Descriptor) -> int:
    name, fields = desc.full_name, desc.fields_by_name
    if name == _DURATION:
        return DURATIONS
    if name == _REGEX:
        return REGEXES
    if name == _ANY:
        return _AN_ANY
    return EXTENSIONS if "typed_config" in fields and "name" in fields else _OTHER


def _kind(fd: descriptor.FieldDescriptor) -> int:
    if fd.type != _FD.TYPE_MESSAGE:
        return _LEAF
    sub = fd.message_type
    if sub.GetOptions().map_entry:
        value = sub.fields_by_name["value"]
        if value.type != _FD.TYPE_MESSAGE or not _reach(value.message_type):
            return _LEAF
        return _MESSAGE_MAP
    if not _reach(sub):
        return _LEAF  # nothing the checks look for can be below
    return _REPEATED if fd.is_repeated else _SINGLE


def _reach(desc: descriptor.Descriptor, stack: frozenset[str] = frozenset()) -> bool:
    """Whether a message of this type can be, or hold, a node of some kind (an Any can
    hold anything)."""
    name = desc.full_name
    found = _reaches.get(name)
    if found is not None:
        return found
    if name in stack:
        return True  # a recursive type: assume so
    inner = stack | {name}
    found = _node_kind(desc) != _OTHER or any(
        fd.type == _FD.TYPE_MESSAGE and _reach(fd.message_type, inner) for fd in desc.fields
    )
    _reaches[name] = found  # a True met through recursion may be too cautious, never wrong
    return found


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
    found: list[tuple[str, Any]] = _memoized("hcms", b, _find_hcms)
    return found


def listeners(b: Any) -> list[tuple[int, Any]]:
    """(index, listener) of the static listeners Envoy builds: a listener named like an
    earlier one is ignored in validate mode (seen on 1.40: even a bad address passes)."""
    found: list[tuple[int, Any]] = _memoized("listeners", b, _first_of_each_name)
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
    heads: frozenset[str] = _memoized("ignored", b, _ignored_heads)
    return bool(heads) and path[: path.index("]") + 1] in heads


def _ignored_heads(b: Any) -> frozenset[str]:
    built = {i for i, _ in listeners(b)}
    count = len(b.static_resources.listeners)
    return frozenset(f"static_resources.listeners[{i}]" for i in range(count) if i not in built)


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
