"""A fast path for ``json_format.ParseDict`` on the configs Envoy users write.

``json_format`` is pure Python under every protobuf backend and rebuilds each message type's
JSON-name table on every message it converts; YAML and JSON configs spend most of their
check-config time there. ``parse_dict`` converts the common shapes (messages, lists, string
maps, scalars of their exact JSON type, enum names, ``@type`` Any of plain messages, Duration
strings, wrappers) with per-type tables built once, and gives up (``Unsupported``) on
anything else: nulls, bytes, unusual numbers, unknown names, a field or oneof given twice,
well-known types it does not build itself are handed to ``json_format`` whole. A caller that
catches ``Unsupported`` runs ``json_format.ParseDict`` on the document, so the outcome
(message or error text) is always json_format's; ``tests/test_config_dictproto.py`` holds
the two equal on the table and corpus configs.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import descriptor, json_format, message

from harness.errors import UserError
from harness.proto import message_class

FD = descriptor.FieldDescriptor
MAX_DEPTH = 90  # json_format stops at 100 nested messages; leave that error to it
_INTS = frozenset(
    {FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
     FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64}
)  # fmt: skip
_FLOAT32_MAX = 3.4028234663852886e38
GENERIC = frozenset({"google.protobuf.Duration"})  # FromJsonString on a string
DELEGATED = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
     "google.protobuf.Timestamp", "google.protobuf.FieldMask"}
)  # fmt: skip
WRAPPERS = frozenset(
    f"google.protobuf.{n}"
    for n in ("DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value",
              "UInt32Value", "BoolValue", "StringValue", "BytesValue")
)  # fmt: skip


# json_format reads these from an Any's "value" key (wrappers too, handled here); other
# google.protobuf types (Empty) take the Any's other keys as their fields, like any message
ANY_VALUE_FORMS = GENERIC | DELEGATED | {"google.protobuf.Any"}


class Unsupported(Exception):
    """The document has a shape the fast path leaves to json_format."""


_names: dict[str, dict[str, descriptor.FieldDescriptor]] = {}


def json_fields(desc: descriptor.Descriptor) -> dict[str, descriptor.FieldDescriptor]:
    """JSON names and proto names to fields, as json_format looks them up (JSON first)."""
    table = _names.get(desc.full_name)
    if table is None:
        table = {f.name: f for f in desc.fields}
        table.update((f.json_name, f) for f in desc.fields)
        _names[desc.full_name] = table
    return table


def parse_dict(value: Any, msg: message.Message) -> None:
    """Fill ``msg`` from ``value`` as ``json_format.ParseDict`` would, or raise Unsupported."""
    _message(value, msg, 0)


def parse_value(value: Any, msg: message.Message, depth: int) -> None:
    """``parse_dict`` for a message ``depth`` messages down (json_format's depth limit)."""
    _message(value, msg, depth)


def _message(value: Any, msg: message.Message, depth: int) -> None:
    desc = msg.DESCRIPTOR
    full_name = desc.full_name
    if depth > MAX_DEPTH:
        raise Unsupported
    if full_name in WRAPPERS:
        wrapped(value, msg)
        return
    if full_name in GENERIC:
        if not isinstance(value, str):
            raise Unsupported
        try:
            msg.FromJsonString(value)
        except ValueError:
            raise Unsupported from None
        return
    if full_name in DELEGATED:
        try:
            json_format.ParseDict(value, msg)
        except json_format.ParseError:
            raise Unsupported from None
        return
    if not isinstance(value, dict):
        raise Unsupported
    if full_name == "google.protobuf.Any":
        _any(value, msg, depth)
        return
    fields = json_fields(desc)
    seen: set[str] = set()
    oneofs: set[str] = set()
    for name, item in value.items():
        fd = fields.get(name) if isinstance(name, str) else None
        if fd is None or item is None or fd.name in seen:
            raise Unsupported
        seen.add(fd.name)
        oneof = fd.containing_oneof
        if oneof is not None:
            if oneof.name in oneofs:
                raise Unsupported
            oneofs.add(oneof.name)
        _field(item, msg, fd, depth)


def _field(item: Any, msg: message.Message, fd: descriptor.FieldDescriptor, depth: int) -> None:
    if fd.type == FD.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        _map(item, getattr(msg, fd.name), fd, depth)
    elif fd.is_repeated:
        if not isinstance(item, list):
            raise Unsupported
        container = getattr(msg, fd.name)
        if fd.type == FD.TYPE_MESSAGE:
            for element in item:
                if element is None:
                    raise Unsupported
                sub = container.add()
                sub.SetInParent()
                _message(element, sub, depth + 1)
        else:
            try:
                container.extend([scalar(element, fd) for element in item])
            except (ValueError, TypeError):
                raise Unsupported from None
    elif fd.type == FD.TYPE_MESSAGE:
        sub = getattr(msg, fd.name)
        sub.SetInParent()
        _message(item, sub, depth + 1)
    else:
        try:
            setattr(msg, fd.name, scalar(item, fd))
        except (ValueError, TypeError):
            raise Unsupported from None


def _map(item: Any, container: Any, fd: descriptor.FieldDescriptor, depth: int) -> None:
    key_fd = fd.message_type.fields_by_name["key"]
    value_fd = fd.message_type.fields_by_name["value"]
    if not isinstance(item, dict) or key_fd.type != FD.TYPE_STRING:
        raise Unsupported
    for key, element in item.items():
        if not isinstance(key, str) or element is None:
            raise Unsupported
        if value_fd.type == FD.TYPE_MESSAGE:
            _message(element, container[key], depth + 1)
        else:
            try:
                container[key] = scalar(element, value_fd)
            except (ValueError, TypeError):
                raise Unsupported from None


def _any(value: dict[str, Any], msg: Any, depth: int) -> None:
    if not value:
        return
    type_url = value.get("@type")
    if not isinstance(type_url, str):
        raise Unsupported
    name = type_url.rpartition("/")[2]
    if name in ANY_VALUE_FORMS:
        raise Unsupported  # json_format's "value" forms of the well-known types
    try:
        inner = message_class(name)()  # imports the type's xds-protos module if need be
    except UserError:
        raise Unsupported from None
    if name in WRAPPERS:
        if value.keys() != {"@type", "value"}:
            raise Unsupported  # json_format reads "value" alone
        wrapped(value["value"], inner)
    else:
        _message({k: v for k, v in value.items() if k != "@type"}, inner, depth + 1)
    msg.value = inner.SerializeToString()
    msg.type_url = type_url


def wrapped(value: Any, msg: Any) -> None:
    """Set a wrapper message (``google.protobuf.StringValue``, ...) from its JSON value."""
    try:
        msg.value = scalar(value, msg.DESCRIPTOR.fields_by_name["value"])
    except (ValueError, TypeError):
        raise Unsupported from None


def scalar(value: Any, fd: descriptor.FieldDescriptor) -> Any:
    kind = fd.type
    if kind == FD.TYPE_STRING:
        if type(value) is not str:
            raise Unsupported
        return value
    if kind == FD.TYPE_BOOL:
        if type(value) is not bool:
            raise Unsupported
        return value
    if kind in _INTS:
        if type(value) is not int:
            raise Unsupported
        return value
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        if type(value) not in (int, float) or not math.isfinite(value):
            raise Unsupported
        if kind == FD.TYPE_FLOAT and abs(value) > _FLOAT32_MAX:
            raise Unsupported
        return float(value)
    if kind == FD.TYPE_ENUM:
        enum = fd.enum_type
        if enum.full_name == "google.protobuf.NullValue":
            raise Unsupported
        if type(value) is str:
            found = enum.values_by_name.get(value)
            if found is None:
                raise Unsupported
            return found.number
        if type(value) is int and (value in enum.values_by_number or not enum.is_closed):
            return value
        raise Unsupported
    raise Unsupported  # bytes (base64) and anything else
