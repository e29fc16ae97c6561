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
(``tests/test_config_dictproto.py`` holds the two equal). One error is the fast path's own:
a field name the message lacks (old corpora name deprecated fields) raises text_format's
``ParseError``, with its words and line:column, since everything before it parsed alike.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, NamedTuple

from google.protobuf import descriptor, message, message_factory, text_encoding, text_format

from harness.errors import UserError
from harness.proto import message_class

FD = descriptor.FieldDescriptor
# One token after whitespace and comments, or the end (""). findall tokenizes in one C
# call. Repetitions are possessive (no shorter match could succeed) and punctuation, the
# commonest token, is tried first (the kinds' first characters differ): re does ~1.6x less
# work per character than with backtracking. Where no token starts, the rest of the text is
# one last "token" that is no token (``_tokens`` tells by ``_ONE_TOKEN``).
_TOKEN_KINDS = r"""
      [{}<>:\[\],;/.]
    | [A-Za-z_][A-Za-z0-9_]*+
    | "(?:[^"\\\n]++|\\.)*+"|'(?:[^'\\\n]++|\\.)*+'
    | -?(?:0[xX][0-9a-fA-F]++|(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][-+]?[0-9]++)?)
      (?![A-Za-z0-9_.])
"""
_TOKEN = re.compile(rf"\s*+(?:\#[^\n]*+\s*+)*+(?:({_TOKEN_KINDS}|.[\s\S]*+)|\Z)", re.X)
_ONE_TOKEN = re.compile(rf"(?:{_TOKEN_KINDS})\Z", re.X)
_INTS = frozenset(
    {FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32,
     FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64}
)  # fmt: skip
_BOOLS = {"true": True, "True": True, "t": True, "1": True,
          "false": False, "False": False, "f": False, "0": False}  # fmt: skip
_CLOSE = {"{": "}", "<": ">"}
_SEPARATORS = (",", ";")
_QUOTES = "\"'"
_NUMBER_START = frozenset("-0123456789")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_HEX = re.compile(r"-?0[xX][0-9a-fA-F]+\Z")
# text_format's Any URL: three identifiers (type.googleapis.com), "/", a dotted type name
_ANY_URL = re.compile(
    r"([A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)/([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\Z"
)
MAX_DEPTH = 90  # text_format stops at 100 nested messages: leave that error to it


class Unsupported(Exception):
    """The text has a shape the fast path leaves to text_format."""


def _tokens(text: str) -> list[str]:
    """Every token's text (its kind is its first character's); Unsupported on a character
    no token starts with."""
    found = _TOKEN.findall(text)
    while found and not found[-1]:  # the empty match(es) at the end
        found.pop()
    if found and not _ONE_TOKEN.match(found[-1]):
        raise Unsupported  # the rest of the text from a character no token starts with
    return found


def _is_ident(token: str) -> bool:
    return token[0].isalpha() or token[0] == "_"


def _is_number(token: str) -> bool:
    return token[0] in _NUMBER_START


class _Reader:
    __slots__ = ("at", "size", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.size = len(self.tokens)
        self.at = 0

    def next(self) -> str:
        at = self.at
        if at >= self.size:
            raise Unsupported
        self.at = at + 1
        return self.tokens[at]

    def take(self, punct: str) -> bool:
        at = self.at
        if at < self.size and self.tokens[at] == punct:
            self.at = at + 1
            return True
        return False

    def unknown_field(self, desc: descriptor.Descriptor, at: int) -> text_format.ParseError:
        """text_format's error for token ``at``, a name ``desc`` has no field of."""
        name = self.tokens[at]
        if not _is_ident(name) or name.lower() in desc.fields_by_name:
            raise Unsupported  # not a name, or maybe a group's: text_format decides
        found = next(itertools.islice(_TOKEN.finditer(self.text), at, None))
        start, end = found.span(1)
        if self.text[end : end + 1] in ("+", "-"):
            raise Unsupported  # text_format's identifiers run on over these
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        return text_format.ParseError(
            f'Message type "{desc.full_name}" has no field named "{name}".', line, column
        )


def parse_text(text: str, msg: message.Message) -> None:
    """Fill ``msg`` from ``text`` as ``text_format.Parse`` would, or raise Unsupported (or
    text_format's ParseError for an unknown field name)."""
    reader = _Reader(text)
    _fields(reader, msg, None, 0)
    if reader.at < reader.size:
        raise Unsupported


# what a field takes (from its descriptor, once per message type)
_SCALAR, _GROUP, _MESSAGE, _MAP = range(4)


class _Field(NamedTuple):
    fd: descriptor.FieldDescriptor
    name: str
    repeated: bool
    oneof: str | None
    kind: int


_Table = tuple[dict[str, _Field], bool]  # by name; whether the message is an Any
_tables: dict[descriptor.Descriptor, _Table] = {}


def _table(desc: descriptor.Descriptor) -> _Table:
    fields = {}
    for fd in desc.fields:
        kind = (
            _GROUP if fd.type == FD.TYPE_GROUP
            else _SCALAR if fd.type != FD.TYPE_MESSAGE
            else _MAP if fd.message_type.GetOptions().map_entry
            else _MESSAGE
        )  # fmt: skip
        oneof = fd.containing_oneof
        fields[fd.name] = _Field(fd, fd.name, fd.is_repeated, oneof and oneof.name, kind)
    table = _tables[desc] = (fields, desc.full_name == "google.protobuf.Any")
    return table


def _fields(reader: _Reader, msg: message.Message, close: str | None, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise Unsupported
    desc = msg.DESCRIPTOR
    by_name, is_any = _tables.get(desc) or _table(desc)
    seen: set[str] = set()
    oneofs: set[str] = set()
    tokens, size = reader.tokens, reader.size
    while True:
        at = reader.at
        if at >= size:
            if close is not None:
                raise Unsupported
            return
        text = tokens[at]
        at += 1
        if text == close:
            reader.at = at
            return
        field = by_name.get(text)
        if field is not None:
            if not field.repeated:
                if text in seen:
                    raise Unsupported  # text_format: "should not have multiple"
                oneof = field.oneof
                if oneof is not None:
                    if oneof in oneofs:
                        raise Unsupported
                    oneofs.add(oneof)
            seen.add(text)
            kind = field.kind
            if kind >= _MESSAGE:  # ":" optional, then "{" or "<", or a list in "[]"
                if at < size and tokens[at] == ":":
                    at += 1
                if at < size and tokens[at] == "[":
                    reader.at = at + 1
                    _messages(reader, msg, field, depth)
                else:
                    sub_close = _CLOSE.get(tokens[at]) if at < size else None
                    if sub_close is None:
                        raise Unsupported
                    reader.at = at + 1
                    _one_message(reader, msg, field, sub_close, depth)
            else:
                if kind == _GROUP or at >= size or tokens[at] != ":":
                    raise Unsupported
                reader.at = at + 1
                _scalars(reader, msg, field)
        elif text == "[" and is_any and not seen:
            reader.at = at
            _expanded_any(reader, msg, depth)
            seen.add("type_url")
            seen.add("value")
        else:
            raise reader.unknown_field(desc, at - 1)
        at = reader.at
        if at < size and tokens[at] in _SEPARATORS:
            reader.at = at + 1


def _messages(reader: _Reader, msg: message.Message, field: _Field, depth: int) -> None:
    """A list of messages, after its "[" (text_format's shorthand for a repeated field)."""
    if not field.repeated:
        raise Unsupported
    if reader.take("]"):
        return
    while True:
        _one_message(reader, msg, field, _open(reader), depth)
        if reader.take("]"):
            return
        if not reader.take(","):
            raise Unsupported


def _scalars(reader: _Reader, msg: message.Message, field: _Field) -> None:
    """A scalar field's value, or list of values in "[]", after its ":"."""
    fd = field.fd
    if reader.take("["):
        if not field.repeated:
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
            getattr(msg, field.name).extend(values)
        except (ValueError, TypeError):
            raise Unsupported from None
        return
    value = _value(reader, fd)
    try:
        if field.repeated:
            getattr(msg, field.name).append(value)
        else:
            setattr(msg, field.name, value)
    except (ValueError, TypeError):
        raise Unsupported from None


def _open(reader: _Reader) -> str:
    close = _CLOSE.get(reader.next())
    if close is None:
        raise Unsupported
    return close


def _one_message(reader: _Reader, msg: Any, field: _Field, close: str, depth: int) -> None:
    """One message's fields, after its opening "{" or "<"."""
    if field.kind == _MAP:
        fd = field.fd
        entry = message_factory.GetMessageClass(fd.message_type)()
        _fields(reader, entry, close, depth + 1)
        container = getattr(msg, field.name)
        if fd.message_type.fields_by_name["value"].type == FD.TYPE_MESSAGE:
            container[entry.key].CopyFrom(entry.value)
        else:
            container[entry.key] = entry.value
        return
    if field.repeated:
        sub = getattr(msg, field.name).add()
    else:
        sub = getattr(msg, field.name)
        sub.SetInParent()
    _fields(reader, sub, close, depth + 1)


def _expanded_any(reader: _Reader, msg: Any, depth: int) -> None:
    parts: list[str] = []
    while True:
        text = reader.next()
        if text == "]":
            break
        if text[0] in _QUOTES or _is_number(text) or text in "{}<>:[,;":
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
    text = reader.next()
    ftype = fd.type
    if ftype in (FD.TYPE_STRING, FD.TYPE_BYTES):
        if text[0] not in _QUOTES:
            raise Unsupported
        chunks = [text]
        tokens = reader.tokens
        while reader.at < reader.size and tokens[reader.at][0] in _QUOTES:
            chunks.append(tokens[reader.at])
            reader.at += 1
        if len(chunks) == 1 and "\\" not in text:
            # no escapes: CUnescape gives the text's UTF-8 (it is Python: ~3 us a string)
            return text[1:-1] if ftype == FD.TYPE_STRING else text[1:-1].encode("utf-8")
        try:
            raw = b"".join(text_encoding.CUnescape(c[1:-1]) for c in chunks)
            return raw.decode("utf-8") if ftype == FD.TYPE_STRING else raw
        except (ValueError, UnicodeDecodeError):
            raise Unsupported from None
    if ftype == FD.TYPE_BOOL:
        if text in _BOOLS:  # names and digits only: a quoted "t" is not a key
            return _BOOLS[text]
        raise Unsupported
    if ftype in _INTS:
        if _DECIMAL.match(text):
            return int(text)
        if _HEX.match(text):
            return int(text, 16)
        raise Unsupported
    if ftype in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        if not _is_number(text) or _HEX.match(text):
            raise Unsupported
        return float(text)
    if ftype == FD.TYPE_ENUM:
        enum = fd.enum_type
        if _is_ident(text):
            found = enum.values_by_name.get(text)
            if found is None:
                raise Unsupported
            return found.number
        if _DECIMAL.match(text):
            number = int(text)
            if number in enum.values_by_number or not enum.is_closed:
                return number
        raise Unsupported
    raise Unsupported
