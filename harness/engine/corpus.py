"""Load and store testcases: text-format protos and raw bytes.

Proto testcases are parsed the way libprotobuf-mutator parses Envoy's corpora: text format,
unknown fields skipped, partial messages allowed; a file that does not parse is skipped (the
caller counts it), never a crash. Writes are content-addressed (sha1 of the bytes, as libFuzzer
names files) and atomic (temp file + fsync + rename), so a killed run leaves no partial file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.protobuf import descriptor, message, text_format

from harness.errors import TestcaseError
from harness.targets import Target

# Files in a corpus tree that are not testcases: triage sidecars and notes.
NOT_TESTCASES = (".json", ".md", ".dict", ".options")


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def is_testcase(path: Path) -> bool:
    return (
        path.is_file() and not path.name.startswith(".") and not path.name.endswith(NOT_TESTCASES)
    )


def iter_files(root: Path) -> Iterator[Path]:
    """Testcase files under ``root`` (recursively, sorted; hidden entries skipped)."""
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if is_testcase(path):
                yield path


def count_files(root: Path) -> int:
    return sum(1 for _ in iter_files(root))


def parse_text_proto(cls: type[message.Message], data: bytes) -> message.Message | None:
    """Parse like libprotobuf-mutator's ParseTextMessage; None when the bytes do not parse."""
    msg = cls()
    try:
        text_format.Parse(
            data.decode("utf-8"),
            msg,
            allow_unknown_field=True,
            allow_unknown_extension=True,
            allow_field_number=True,
        )
    except (text_format.ParseError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return msg


def to_text(msg: message.Message) -> bytes:
    """Text format that ``text_format.Parse`` (and libprotobuf-mutator) read back exactly.

    Written by hand because ``text_format.MessageToString`` is pure Python and generic; the
    proto mutator serializes once per input it makes, so this is on the fuzz loop's hot path.
    Sub-messages are looked up in a cache of their text by their serialized bytes: a mutation
    changes one or two places of a testcase, and the rest prints from the cache (a testcase of
    80 events prints ~5x faster).
    """
    out: list[str] = []
    _print_fields(msg, out, "")
    return "".join(out).encode("utf-8")


_FD = descriptor.FieldDescriptor
# Text format escapes for string fields (ASCII; str.translate leaves other characters as they
# are); bytes fields are escaped by the unicode_escape codec (see _bytes_literal).
_ESCAPE_ASCII = tuple(
    {0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\", 10: "\\n", 13: "\\r", 9: "\\t"}.get(
        i, f"\\{i:03o}" if i < 0x20 or i == 0x7F else chr(i)
    )
    for i in range(0x80)
)
_SUBTEXT_LIMIT = 4096  # cached sub-message texts (the cache is emptied when full)
# (field, indent) -> sub-message bytes -> text; one dict per field and depth spares a key
# tuple per sub-message
_subtext: dict[tuple[descriptor.FieldDescriptor, str], dict[bytes, str]] = {}
_subtext_count = [0]
_map_fields: dict[descriptor.FieldDescriptor, bool] = {}


def is_map_field(fd: descriptor.FieldDescriptor) -> bool:
    """Whether ``fd`` is a map field (cached: descriptor options are slow to read)."""
    found = _map_fields.get(fd)
    if found is None:
        found = _map_fields[fd] = (
            fd.type == _FD.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry
        )
    return found


def _bytes_literal(value: bytes) -> str:
    # unicode_escape over latin-1 writes exactly the escapes text format reads (\xNN, \n, \r,
    # \t, \\) in C, ~20x faster than a translate table; only the quote is left to do.
    escaped = value.decode("latin-1").encode("unicode_escape").decode("ascii")
    return '"' + escaped.replace('"', '\\"') + '"'


def _scalar_text(fd: descriptor.FieldDescriptor, value: object) -> str:
    t = fd.type
    if t == _FD.TYPE_BYTES:
        assert isinstance(value, bytes)
        return _bytes_literal(value)
    if t == _FD.TYPE_STRING:
        assert isinstance(value, str)
        return '"' + value.translate(_ESCAPE_ASCII) + '"'
    if t == _FD.TYPE_BOOL:
        return "true" if value else "false"
    if t == _FD.TYPE_ENUM:
        enum_value = fd.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else str(value)
    if t in (_FD.TYPE_FLOAT, _FD.TYPE_DOUBLE):
        assert isinstance(value, float)
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


_SCALAR, _MESSAGE, _MAP = 0, 1, 2
# field -> (name, kind, repeated): read once (``is_repeated`` is a Python property)
_field_shapes: dict[descriptor.FieldDescriptor, tuple[str, int, bool]] = {}


def _field_shape(fd: descriptor.FieldDescriptor) -> tuple[str, int, bool]:
    kind = _MAP if is_map_field(fd) else _MESSAGE if fd.type == _FD.TYPE_MESSAGE else _SCALAR
    found = _field_shapes[fd] = (fd.name, kind, fd.is_repeated)
    return found


def _print_fields(msg: message.Message, out: list[str], indent: str) -> None:
    inner = indent + "  "
    shapes = _field_shapes
    for fd, value in msg.ListFields():
        name, kind, repeated = shapes.get(fd) or _field_shape(fd)
        if kind == _SCALAR:
            for item in value if repeated else (value,):
                out.append(f"{indent}{name}: {_scalar_text(fd, item)}\n")
        elif kind == _MAP:
            key_fd = fd.message_type.fields_by_name["key"]
            value_fd = fd.message_type.fields_by_name["value"]
            for key in sorted(value):
                out.append(f"{indent}{name} {{\n{inner}key: {_scalar_text(key_fd, key)}\n")
                item = value[key]
                if value_fd.type == _FD.TYPE_MESSAGE:
                    out.append(f"{inner}value {{\n")
                    _print_fields(item, out, inner + "  ")
                    out.append(f"{inner}}}\n")
                else:
                    out.append(f"{inner}value: {_scalar_text(value_fd, item)}\n")
                out.append(f"{indent}}}\n")
        else:
            # A sub-message's text comes from the cache when a message with the same bytes
            # was printed in this field at this depth before (same bytes, same fields).
            texts = _subtext.get((fd, indent))
            if texts is None:
                texts = _subtext[(fd, indent)] = {}
            for sub in value if repeated else (value,):
                # Not deterministic=True (2x slower): bytes that differ only in map order
                # are two keys for one text; one key is never two texts.
                key = sub.SerializePartialToString()
                text = texts.get(key)
                if text is None:
                    parts = [f"{indent}{name} {{\n"]
                    _print_fields(sub, parts, inner)
                    parts.append(f"{indent}}}\n")
                    text = "".join(parts)
                    _subtext_count[0] += 1
                    if _subtext_count[0] > _SUBTEXT_LIMIT:
                        for held in _subtext.values():
                            held.clear()  # (in place: a caller up the stack holds one)
                        _subtext_count[0] = 1
                    texts[key] = text
                out.append(text)


class ParsedCache:
    """Recently parsed (or produced) testcases, keyed by their exact bytes.

    Text-format parsing is pure Python (~100 us for a small message) and libFuzzer hands the
    same corpus entry to the mutator many times, then runs the mutator's output: both the
    mutator and the decoder look here first. Callers get their own copy, unless they only
    read it (``copy=False``).
    """

    def __init__(self, cls: type[message.Message], size: int = 1024) -> None:
        self.cls = cls
        self.size = size
        self._entries: OrderedDict[bytes, message.Message | None] = OrderedDict()

    def parse(self, data: bytes, *, copy: bool = True) -> message.Message | None:
        """The message ``data`` parses to (None when it does not); ``copy=False``: the
        cache's own, which the caller must not change or keep."""
        entries = self._entries
        if data in entries:
            entries.move_to_end(data)
            cached = entries[data]
        else:
            cached = parse_text_proto(self.cls, data)
            self._put(data, cached)
        if cached is None or not copy:
            return cached
        mine = self.cls()
        mine.CopyFrom(cached)
        return mine

    def remember(self, data: bytes, msg: message.Message) -> None:
        """Keep ``msg`` as the parse of ``data``; it is the cache's now (the caller must not
        change it afterwards), which saves a copy per mutant."""
        self._put(data, msg)

    def forget(self, data: bytes) -> None:
        """Drop the parse of ``data``: the message ``remember`` was given is the caller's
        again, to change (``data`` parses afresh from then on)."""
        self._entries.pop(data, None)

    def _put(self, data: bytes, msg: message.Message | None) -> None:
        self._entries[data] = msg
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)


_caches: dict[type[message.Message], ParsedCache] = {}


def parsed_cache(cls: type[message.Message]) -> ParsedCache:
    """The process-wide cache for ``cls`` (shared by the mutator and the decoder)."""
    cache = _caches.get(cls)
    if cache is None:
        cache = _caches[cls] = ParsedCache(cls)
    return cache


class Decoder:
    """Turns a file's bytes into what a target's run function takes (bytes or a message).

    ``cached`` goes through the process-wide ParsedCache, which pays where libFuzzer repeats
    inputs (a fuzzing worker); a process that runs each file once (the differential replay,
    triage, merge) passes False: the cache would only hold up to 1024 parsed messages for
    nothing (~8 MiB of RSS for h1_capture's). ``shared``: the caller only reads the messages
    and keeps none (a run function in the target's ``reads_input``), so a cached decoder
    hands it the cache's own (a copy per input was ~1.5 % of h2_capture's fuzz loop).
    """

    def __init__(self, target: Target, *, cached: bool = True, shared: bool = False) -> None:
        self.target = target
        self.cached = cached
        self.shared = shared
        self.proto_class: type[message.Message] | None = None
        if target.proto_name is not None:
            from harness.proto import message_class

            self.proto_class = message_class(target.proto_name)

    def decode(self, data: bytes) -> Any | None:
        """The run function's input, or None when the file is not a valid testcase."""
        if self.proto_class is None:
            return data
        if not self.cached:
            return parse_text_proto(self.proto_class, data)
        return parsed_cache(self.proto_class).parse(data, copy=not self.shared)

    def decode_file(self, path: Path) -> Any:
        """Like ``decode`` for a file the user named: unreadable or unparsable is an error."""
        try:
            data = path.read_bytes()
        except OSError as e:
            raise TestcaseError(f"cannot read {path}: {e.strerror}") from None
        value = self.decode(data)
        if value is None:
            raise TestcaseError(
                f"{path}: not a text-format {self.target.proto_name} testcase "
                f"(target {self.target.name})"
            )
        return value


# Temp files are written here, outside every corpus tree, then renamed into place; a
# SIGKILL between the two leaves the partial file here, never in a corpus dir.
TMP_DIR = Path(".envoy-fuzz") / "tmp"


def _temp_dir_for(directory: Path) -> Path:
    tmp = TMP_DIR.resolve()
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        if tmp.stat().st_dev == directory.stat().st_dev:
            return tmp
    except OSError:
        pass
    return directory  # another filesystem: rename must stay within it (hidden .tmp- name)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file (fsynced) and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=_temp_dir_for(path.parent), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def store(directory: Path, data: bytes, prefix: str = "") -> Path:
    """Store a testcase content-addressed: ``<directory>/<prefix><sha1>``; idempotent."""
    path = directory / f"{prefix}{sha1(data)}"
    if not path.exists():
        write_atomic(path, data)
    return path


def remove_stale_temps(directory: Path) -> None:
    """Remove temp files a killed writer left behind (they are hidden, never testcases)."""
    if directory.is_dir():
        for tmp in directory.glob(".tmp-*"):
            tmp.unlink(missing_ok=True)
