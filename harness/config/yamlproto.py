"""YAML configs: PyYAML's safe loading (plus yaml-cpp's ``y``/``n`` booleans), and a fast
path that builds the message straight from libyaml's node tree.

``load_yaml`` is ``yaml.load(text, EnvoyYamlLoader)``, with plain maps, lists and scalars
built from the node tree by ``_construct`` (PyYAML's constructor, in Python, is slower).

``parse_yaml`` skips the document: libyaml composes the nodes with tag resolution deferred,
and each node is resolved (by PyYAML's implicit resolvers, in their order) only as the
message is filled from it - what ``dictproto.parse_dict`` would do with the document. Any
shape it does not take (merge keys, other tags, nulls, a key given twice, deep or recursive
trees, anything ``dictproto`` gives up on) makes it give up; then the tags are resolved
everywhere and the document is built as before, for ``dictproto``/``json_format`` to decide.
``tests/test_config_yamlproto.py`` holds the two ways equal.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, NamedTuple

import yaml
from google.protobuf import descriptor, message

from harness.config import dictproto
from harness.config.dictproto import Unsupported
from harness.errors import UserError
from harness.proto import message_class

FD = descriptor.FieldDescriptor

# libyaml's parser when PyYAML has it (~10x faster than the pure-Python one)
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class EnvoyYamlLoader(_SafeLoader):
    """PyYAML's safe loader, plus yaml-cpp's booleans Envoy's YAML-to-JSON step sees: a plain
    ``y``/``n`` (any case) is a bool there, so a string field given ``y`` is rejected."""


_YAML_CPP_BOOL = re.compile(r"^(?:y|Y|n|N)$")
EnvoyYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _YAML_CPP_BOOL, list("yYnN"))
EnvoyYamlLoader.add_constructor(
    "tag:yaml.org,2002:bool",
    lambda loader, node: loader.construct_scalar(node).lower() in ("y", "yes", "true", "on"),
)


class _DeferredLoader(EnvoyYamlLoader):
    """Composes without resolving. libyaml's composer calls ``resolve(kind, value,
    implicit)`` and the path-resolver hooks for every node, in Python; ``slice`` is a C
    callable that keeps the three arguments as the node's tag, for ``_tag`` to resolve
    later. The path hooks do nothing here: no path resolvers are registered (asserted)."""

    resolve = slice
    descend_resolver = dict[object, object]().get
    ascend_resolver = tuple


assert not EnvoyYamlLoader.yaml_path_resolvers  # what _DeferredLoader's hooks rely on
_STR, _SEQ, _MAP, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("str", "seq", "map", "null"))
_MERGE = "tag:yaml.org,2002:merge"
_MAX_YAML_DEPTH = 400  # deeper (or recursive, through aliases) goes the usual way
assert None not in EnvoyYamlLoader.yaml_implicit_resolvers  # no wildcard resolvers
# PyYAML's implicit resolvers by a plain scalar's first character ("" for an empty one)
_IMPLICIT: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    first: tuple(found) for first, found in EnvoyYamlLoader.yaml_implicit_resolvers.items()
}


# constructors that are generators (collections, filled after the fact): PyYAML's own
# constructor drives them (on a scalar they raise its error, they do not return a value)
_GENERATORS = frozenset(
    tag for tag, make in EnvoyYamlLoader.yaml_constructors.items()
    if inspect.isgeneratorfunction(make)
)  # fmt: skip


class _Slow(Exception):
    """A YAML shape the fast constructor leaves to PyYAML's."""


def load_yaml(text: str) -> object:
    """``yaml.load(text, EnvoyYamlLoader)``, faster: libyaml composes the node tree, and
    plain maps, lists and scalars are built straight from it; merge keys, unknown tags,
    unhashable keys and deep or recursive trees are built by PyYAML's constructor."""
    loader = EnvoyYamlLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _document(node, loader)
    finally:
        loader.dispose()


def parse_yaml(text: str, msg: message.Message) -> tuple[bool, object]:
    """(True, None) with ``msg`` filled as ``dictproto.parse_dict(load_yaml(text))`` would
    fill it, or (False, ``load_yaml(text)``) when the fast path gives up (``msg`` is then
    partly filled: the caller starts again)."""
    loader = _DeferredLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return False, None
        if isinstance(node, yaml.MappingNode):
            try:
                _message(node, loader, msg, 0, 0)
                return True, None
            except (Unsupported, ValueError, TypeError, yaml.YAMLError, RecursionError):
                pass  # the usual way reproduces any error
        _resolve_all(node, loader)
        return False, _document(node, loader)
    finally:
        loader.dispose()


def _document(node: yaml.Node, loader: yaml.SafeLoader) -> object:
    try:
        return _construct(node, loader, 0)
    except _Slow:
        return loader.construct_document(node)


def _construct(node: yaml.Node, loader: yaml.SafeLoader, depth: int) -> object:
    if depth > _MAX_YAML_DEPTH:
        raise _Slow
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == _STR:
            return node.value
        make = loader.yaml_constructors.get(tag)
        if make is None or tag in _GENERATORS:
            raise _Slow
        return make(loader, node)
    if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
        return [_construct(child, loader, depth + 1) for child in node.value]
    if isinstance(node, yaml.MappingNode) and tag == _MAP:
        out: dict[object, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                raise _Slow
            key = _construct(key_node, loader, depth + 1)
            try:
                out[key] = _construct(value_node, loader, depth + 1)
            except TypeError:  # an unhashable key: PyYAML's error
                raise _Slow from None
        return out
    raise _Slow


# --- resolving deferred tags -------------------------------------------------------------


def _tag(node: yaml.Node) -> str:
    """The node's tag as PyYAML's ``Resolver.resolve`` gives it (sets it on the node)."""
    tag = node.tag
    if type(tag) is not slice:
        return tag  # an explicit tag, or resolved already
    kind, value, implicit = tag.start, tag.stop, tag.step
    resolved = _STR
    if kind is yaml.ScalarNode:
        if implicit[0]:
            for candidate, regexp in _IMPLICIT.get(value[:1], ()):
                if regexp.match(value):
                    resolved = candidate
                    break
    else:
        resolved = _SEQ if kind is yaml.SequenceNode else _MAP
    node.tag = resolved
    return resolved


def _resolve_all(root: yaml.Node, loader: yaml.SafeLoader) -> None:
    del loader  # resolution needs only the class's resolvers
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        _tag(node)
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)


# --- filling a message from nodes ----------------------------------------------------------

# what a field takes (from its descriptor, once per message type)
_SCALAR, _STRING, _MESSAGE, _REPEATED_SCALAR, _REPEATED_MESSAGE, _MAP_FIELD = range(6)
_ScalarNode, _SequenceNode, _MappingNode = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode
# what a message type is to dictproto
_PLAIN, _WRAPPER, _WHOLE, _ANY = range(4)


class _Entry(NamedTuple):
    fd: descriptor.FieldDescriptor
    name: str
    oneof: str | None
    kind: int
    plain_key: bool  # whether the key, as a plain scalar, resolves to a string


_Table = tuple[int, dict[str, _Entry]]
_tables: dict[descriptor.Descriptor, _Table] = {}  # per message type of the schema


def _resolves_to_str(plain: str) -> bool:
    return not any(rx.match(plain) for _, rx in _IMPLICIT.get(plain[:1], ()))


def _table(desc: descriptor.Descriptor) -> _Table:
    table = _tables.get(desc)
    if table is not None:
        return table
    name = desc.full_name
    kind = (
        _WRAPPER if name in dictproto.WRAPPERS
        else _WHOLE if name in dictproto.GENERIC or name in dictproto.DELEGATED
        else _ANY if name == "google.protobuf.Any"
        else _PLAIN
    )  # fmt: skip
    entries: dict[str, _Entry] = {}
    for key, fd in dictproto.json_fields(desc).items():
        if fd.type == FD.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
            field_kind = _MAP_FIELD
        elif fd.is_repeated:
            field_kind = _REPEATED_MESSAGE if fd.type == FD.TYPE_MESSAGE else _REPEATED_SCALAR
        else:
            field_kind = (
                _MESSAGE if fd.type == FD.TYPE_MESSAGE
                else _STRING if fd.type == FD.TYPE_STRING
                else _SCALAR
            )  # fmt: skip
        oneof = fd.containing_oneof
        entries[key] = _Entry(
            fd, fd.name, oneof.name if oneof else None, field_kind, _resolves_to_str(key)
        )
    table = _tables[desc] = (kind, entries)
    return table


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """A scalar's value as ``_construct`` builds it; Unsupported for null or a collection."""
    if type(node) is not yaml.ScalarNode:
        raise Unsupported
    tag = node.tag
    if type(tag) is slice:  # deferred: PyYAML's resolve, inline
        value = node.value
        if not tag.step[0]:
            return value  # quoted: a string
        if value.isdigit() and value.isascii() and (value[0] != "0" or len(value) == 1):
            return int(value)  # a decimal int, as PyYAML's int resolver and constructor say
        for candidate, regexp in _IMPLICIT.get(value[:1], ()):
            if regexp.match(value):
                tag = candidate
                break
        else:
            return value
    elif tag == _STR:
        return node.value
    if tag == _NULL:
        raise Unsupported  # dictproto: a null leaves it to json_format
    make = loader.yaml_constructors.get(tag)
    if make is None or tag in _GENERATORS:
        raise Unsupported
    return make(loader, node)


def _pairs(node: yaml.Node, ydepth: int) -> list[tuple[yaml.Node, yaml.Node]]:
    if type(node) is not yaml.MappingNode or ydepth > _MAX_YAML_DEPTH:
        raise Unsupported
    tag = node.tag
    if type(tag) is not slice and tag != _MAP:
        raise Unsupported
    return node.value


def _message(
    node: yaml.Node, loader: yaml.SafeLoader, msg: message.Message, depth: int, ydepth: int
) -> None:
    if depth > dictproto.MAX_DEPTH:
        raise Unsupported
    desc = msg.DESCRIPTOR
    kind, entries = _tables.get(desc) or _table(desc)
    if kind == _PLAIN:
        if type(node) is not _MappingNode or ydepth > _MAX_YAML_DEPTH:
            raise Unsupported  # _pairs, inline: most nodes are plain messages
        tag = node.tag
        if type(tag) is not slice and tag != _MAP:
            raise Unsupported
        _fields(node.value, entries, loader, msg, depth, ydepth)
    elif kind == _WRAPPER:
        dictproto.wrapped(_scalar(node, loader), msg)
    elif kind == _WHOLE:  # Duration, Struct, ...: dictproto on the node's document
        if type(node) is _ScalarNode:
            value = _scalar(node, loader)  # a null: Unsupported, as in dictproto
        else:
            _resolve_all(node, loader)
            try:
                value = _construct(node, loader, ydepth)
            except _Slow:
                raise Unsupported from None
        dictproto.parse_value(value, msg, depth)
    else:
        _any(_pairs(node, ydepth), loader, msg, depth, ydepth)


def _fields(
    pairs: list[tuple[yaml.Node, yaml.Node]],
    entries: dict[str, _Entry],
    loader: yaml.SafeLoader,
    msg: message.Message,
    depth: int,
    ydepth: int,
) -> None:
    seen: set[str] = set()
    oneofs: set[str] = set()
    ydepth += 1
    for key_node, node in pairs:
        if type(key_node) is not _ScalarNode:
            raise Unsupported
        entry = entries.get(key_node.value)
        if entry is None:
            raise Unsupported
        fd, name, oneof, kind, plain_key = entry
        key_tag = key_node.tag
        if type(key_tag) is slice:
            if not plain_key and key_tag.step[0]:
                raise Unsupported  # a plain key PyYAML makes a bool (or a number)
        elif key_tag != _STR:
            raise Unsupported
        if name in seen:
            raise Unsupported
        seen.add(name)
        if oneof is not None:
            if oneof in oneofs:
                raise Unsupported
            oneofs.add(oneof)
        if kind == _STRING and type(node) is _ScalarNode:
            tag = node.tag
            # deferred, and quoted or plain with no resolver for its first character: a
            # string as it stands (what _scalar, then dictproto.scalar, would give)
            if type(tag) is slice and (not tag.step[0] or node.value[:1] not in _IMPLICIT):
                try:
                    setattr(msg, name, node.value)
                except (ValueError, TypeError):
                    raise Unsupported from None
                continue
        if kind <= _STRING:
            try:
                setattr(msg, name, dictproto.scalar(_scalar(node, loader), fd))
            except (ValueError, TypeError):
                raise Unsupported from None
        elif kind == _MESSAGE:
            sub = getattr(msg, name)
            sub.SetInParent()
            _message(node, loader, sub, depth + 1, ydepth)
        elif kind == _MAP_FIELD:
            _map(node, loader, getattr(msg, name), fd, depth, ydepth)
        else:
            if type(node) is not _SequenceNode:
                raise Unsupported
            tag = node.tag
            if type(tag) is not slice and tag != _SEQ:
                raise Unsupported
            container = getattr(msg, name)
            if kind == _REPEATED_MESSAGE:
                for element in node.value:
                    _message(element, loader, container.add(), depth + 1, ydepth + 1)
            else:
                try:
                    container.extend([dictproto.scalar(_scalar(e, loader), fd) for e in node.value])
                except (ValueError, TypeError):
                    raise Unsupported from None


def _map(
    node: yaml.Node,
    loader: yaml.SafeLoader,
    container: Any,
    fd: descriptor.FieldDescriptor,
    depth: int,
    ydepth: int,
) -> None:
    key_fd = fd.message_type.fields_by_name["key"]
    value_fd = fd.message_type.fields_by_name["value"]
    pairs = _pairs(node, ydepth)
    if key_fd.type != FD.TYPE_STRING:
        raise Unsupported
    keys: set[str] = set()
    for key_node, element in pairs:
        key = _scalar(key_node, loader)
        if type(key) is not str or key in keys:
            raise Unsupported  # a key given twice: the document keeps the last one
        keys.add(key)
        if value_fd.type == FD.TYPE_MESSAGE:
            _message(element, loader, container[key], depth + 1, ydepth + 1)
        else:
            try:
                container[key] = dictproto.scalar(_scalar(element, loader), value_fd)
            except (ValueError, TypeError):
                raise Unsupported from None


def _any(
    pairs: list[tuple[yaml.Node, yaml.Node]],
    loader: yaml.SafeLoader,
    msg: Any,
    depth: int,
    ydepth: int,
) -> None:
    if not pairs:
        return
    type_url = None
    rest = []
    for key_node, value_node in pairs:
        if _scalar(key_node, loader) == "@type":
            if type_url is not None:
                raise Unsupported  # given twice: the document keeps the last one
            type_url = _scalar(value_node, loader)
            if type(type_url) is not str:
                raise Unsupported
        else:
            rest.append((key_node, value_node))
    if type_url is None:
        raise Unsupported
    name = type_url.rpartition("/")[2]
    if name in dictproto.ANY_VALUE_FORMS:
        raise Unsupported  # json_format's "value" forms of the well-known types
    try:
        inner = message_class(name)()  # imports the type's xds-protos module if need be
    except UserError:
        raise Unsupported from None
    desc = inner.DESCRIPTOR
    kind, entries = _tables.get(desc) or _table(desc)
    if kind == _WRAPPER:
        if len(rest) != 1 or _scalar(rest[0][0], loader) != "value":
            raise Unsupported  # json_format reads "value" alone
        dictproto.wrapped(_scalar(rest[0][1], loader), inner)
    elif kind == _PLAIN and depth + 1 <= dictproto.MAX_DEPTH:
        _fields(rest, entries, loader, inner, depth + 1, ydepth)
    else:
        raise Unsupported
    msg.value = inner.SerializeToString()
    msg.type_url = type_url
