"""A fast path for ``text_format.Parse`` on the text protos Envoy configs and corpora use.

protobuf's text parser is pure Python under every backend and tokenizes line by line; a
config's text spends most of check-config's time there. ``parse_text`` tokenizes the whole
text with one regular expression and builds the message directly, for the common shapes:
fields by name, sub-messages in ``{}``/``<>``, lists in ``[]``, maps, expanded Any
(``[type.googleapis.com/x.Y] {...}``), strings (C escapes, adjacent ones joined), decimal
and hex integers, plain floats, booleans, enum names and numbers. Anything else - a field
or oneof given twice, unknown names, extensions, octal or ``inf``/``nan`` numbers, groups,
a value out of range - raises ``Unsupported`` and the caller asks ``text_format`` for the
whole text, so the outcome (message or error) is always text_format's
(``tests/test_config_dictproto.py`` holds the two equal).
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import descriptor, message, message_factory, text_encoding

from harness.errors import UserError
from harness.proto import message_class

FD = descriptor.FieldDescriptor
_TOKEN = re.compile(
    r"""(?:\s|\#[^\n]*)*(?:
      (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<num>-?(?:0[xX][0-9a-fA-F]+|(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?))
      (?![A-Za-z0-9_.])
    | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<punct>[{}<>:\[\],;/.])
    | (?P<end>\Z)
    )""",
    re.X,
)
_INTS = frozenset(
    {FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
     FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64}
)  # fmt: skip
_BOOLS = {"true": True, "True": True, "t": True, "1": True,
          "false": False, "False": False, "f": False, "0": False}  # fmt: skip
_CLOSE = {"{": "}", "<": ">"}
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_HEX = re.compile(r"-?0[xX][0-9a-fA-F]+\Z")
# text_format's Any URL: three identifiers (type.googleapis.com), "/", a dotted type name
_ANY_URL = re.compile(
    r"([A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)/([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\Z"
)
MAX_DEPTH = 90  # text_format stops at 100 nested messages: leave that error to it


class Unsupported(Exception):
    """The text has a shape the fast path leaves to text_format."""


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) of every token; Unsupported on a character no token starts with."""
    out: list[tuple[str, str]] = []
    pos, size = 0, len(text)
    match = _TOKEN.match
    while True:
        found = match(text, pos)
        if found is None:
            raise Unsupported
        kind = found.lastgroup
        if kind == "end":
            return out
        assert kind is not None
        out.append((kind, found.group(kind)))
        pos = found.end()
        if pos >= size:
            return out


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise Unsupported
        token = self.tokens[self.at]
        self.at += 1
        return token

    def take(self, punct: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "punct" and token[1] == punct:
            self.at += 1
            return True
        return False


def parse_text(text: str, msg: message.Message) -> None:
    """Fill ``msg`` from ``text`` as ``text_format.Parse`` would, or raise Unsupported."""
    reader = _Reader(_tokens(text))
    _fields(reader, msg, None, 0)
    if reader.peek() is not None:
        raise Unsupported


def _fields(reader: _Reader, msg: message.Message, close: str | None, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Unsupported
    desc = msg.DESCRIPTOR
    by_name = desc.fields_by_name
    seen: set[str] = set()
    oneofs: set[str] = set()
    is_any = desc.full_name == "google.protobuf.Any"
    while True:
        token = reader.peek()
        if token is None:
            if close is not None:
                raise Unsupported
            return
        kind, text = token
        if kind == "punct" and text == close:
            reader.at += 1
            return
        reader.at += 1
        if kind == "punct" and text == "[" and is_any and not seen:
            _expanded_any(reader, msg, depth)
            seen.add("type_url")
            seen.add("value")
        elif kind == "ident" and text in by_name:
            fd = by_name[text]
            if not fd.is_repeated:
                if fd.name in seen:
                    raise Unsupported  # text_format: "should not have multiple"
                oneof = fd.containing_oneof
                if oneof is not None:
                    if oneof.name in oneofs:
                        raise Unsupported
                    oneofs.add(oneof.name)
            seen.add(fd.name)
            _field(reader, msg, fd, depth)
        else:
            raise Unsupported
        if not reader.take(","):
            reader.take(";")


def _field(
    reader: _Reader, msg: message.Message, fd: descriptor.FieldDescriptor, depth: int
) -> None:
    if fd.type == FD.TYPE_MESSAGE:
        reader.take(":")
        if reader.take("["):
            if not fd.is_repeated:
                raise Unsupported
            if reader.take("]"):
                return
            while True:
                _one_message(reader, msg, fd, depth)
                if reader.take("]"):
                    return
                if not reader.take(","):
                    raise Unsupported
        _one_message(reader, msg, fd, depth)
        return
    if fd.type == FD.TYPE_GROUP or not reader.take(":"):
        raise Unsupported
    if reader.take("["):
        if not fd.is_repeated:
            raise Unsupported
        values: list[Any] = []
        if not reader.take("]"):
            while True:
                values.append(_value(reader, fd))
                if reader.take("]"):
                    break
                if not reader.take(","):
                    raise Unsupported
        try:
            getattr(msg, fd.name).extend(values)
        except (ValueError, TypeError):
            raise Unsupported from None
        return
    value = _value(reader, fd)
    try:
        if fd.is_repeated:
            getattr(msg, fd.name).append(value)
        else:
            setattr(msg, fd.name, value)
    except (ValueError, TypeError):
        raise Unsupported from None


def _open(reader: _Reader) -> str:
    kind, text = reader.next()
    if kind != "punct" or text not in _CLOSE:
        raise Unsupported
    return _CLOSE[text]


def _one_message(reader: _Reader, msg: Any, fd: descriptor.FieldDescriptor, depth: int) -> None:
    close = _open(reader)
    if fd.message_type.GetOptions().map_entry:
        entry = message_factory.GetMessageClass(fd.message_type)()
        _fields(reader, entry, close, depth + 1)
        container = getattr(msg, fd.name)
        if fd.message_type.fields_by_name["value"].type == FD.TYPE_MESSAGE:
            container[entry.key].CopyFrom(entry.value)
        else:
            container[entry.key] = entry.value
        return
    if fd.is_repeated:
        sub = getattr(msg, fd.name).add()
    else:
        sub = getattr(msg, fd.name)
        sub.SetInParent()
    _fields(reader, sub, close, depth + 1)


def _expanded_any(reader: _Reader, msg: Any, depth: int) -> None:
    parts: list[str] = []
    while True:
        kind, text = reader.next()
        if kind == "punct" and text == "]":
            break
        if kind not in ("ident", "punct") or text in "{}<>:[,;":
            raise Unsupported
        parts.append(text)
    url = _ANY_URL.match("".join(parts))
    if url is None:
        raise Unsupported
    prefix, name = url.groups()
    reader.take(":")
    try:
        inner = message_class(name)()
    except UserError:
        raise Unsupported from None
    _fields(reader, inner, _open(reader), depth + 1)
    msg.Pack(inner, type_url_prefix=prefix + "/")


def _value(reader: _Reader, fd: descriptor.FieldDescriptor) -> Any:
    kind, text = reader.next()
    ftype = fd.type
    if ftype in (FD.TYPE_STRING, FD.TYPE_BYTES):
        if kind != "str":
            raise Unsupported
        chunks = [text]
        while (token := reader.peek()) is not None and token[0] == "str":
            chunks.append(token[1])
            reader.at += 1
        try:
            raw = b"".join(text_encoding.CUnescape(c[1:-1]) for c in chunks)
            return raw.decode("utf-8") if ftype == FD.TYPE_STRING else raw
        except (ValueError, UnicodeDecodeError):
            raise Unsupported from None
    if ftype == FD.TYPE_BOOL:
        if text in _BOOLS and kind in ("ident", "num"):
            return _BOOLS[text]
        raise Unsupported
    if ftype in _INTS:
        if kind != "num":
            raise Unsupported
        if _DECIMAL.match(text):
            return int(text)
        if _HEX.match(text):
            return int(text, 16)
        raise Unsupported
    if ftype in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        if kind != "num" or _HEX.match(text):
            raise Unsupported
        return float(text)
    if ftype == FD.TYPE_ENUM:
        enum = fd.enum_type
        if kind == "ident":
            found = enum.values_by_name.get(text)
            if found is None:
                raise Unsupported
            return found.number
        if kind == "num" and _DECIMAL.match(text):
            number = int(text)
            if number in enum.values_by_number or not enum.is_closed:
                return number
        raise Unsupported
    raise Unsupported
