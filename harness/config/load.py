"""Read a config file as Envoy does: YAML (``.yaml``/``.yml``), JSON (``.json``), otherwise
text proto (``.pb_text``, ``.textproto``, anything else).

Strict like Envoy's bootstrap loading: an unknown field is an error. A file that does not
parse is a ``ConfigParseError`` carrying the parser's message, never a traceback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from google.protobuf import json_format, message, text_format

from harness.config import dictproto, textproto, yamlproto
from harness.errors import UserError
from harness.proto import message_class

BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap"
YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)


class ConfigParseError(ValueError):
    """The bytes are not a config of the expected type in the file's format."""


def config_format(name: str) -> str:
    """``yaml``, ``json`` or ``text`` by the file name, as Envoy picks its parser."""
    lower = name.lower()
    if lower.endswith(YAML_SUFFIXES):
        return "yaml"
    if lower.endswith(JSON_SUFFIXES):
        return "json"
    return "text"


def bootstrap_class() -> type[message.Message]:
    return message_class(BOOTSTRAP)


def parse_config(
    data: bytes, fmt: str, cls: type[message.Message] | None = None
) -> message.Message:
    cls = cls or bootstrap_class()
    msg = cls()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigParseError(f"not UTF-8: {e}") from None
    _import_named_types(text)
    try:
        if fmt == "text":
            try:
                textproto.parse_text(text, msg)
            except textproto.Unsupported:  # text_format decides: its message, or its error
                msg = cls()
                text_format.Parse(text, msg)
            return msg
        if fmt == "yaml":
            filled, loaded = yamlproto.parse_yaml(text, msg)
            if filled:
                return msg
            msg = cls()
        else:
            loaded = json.loads(text)
        if loaded is None:
            return msg  # an empty document is an empty config
        if not isinstance(loaded, dict):
            raise ConfigParseError(f"expected a mapping at the top, got {type(loaded).__name__}")
        try:
            dictproto.parse_dict(loaded, msg)
        except dictproto.Unsupported:  # json_format decides: its message, or its error
            msg = cls()
            json_format.ParseDict(_jsonable(loaded), msg)
    except ConfigParseError:
        raise
    except (
        text_format.ParseError, json_format.ParseError, yaml.YAMLError, ValueError, TypeError,
        RecursionError, KeyError, AttributeError, OverflowError,
    ) as e:  # fmt: skip
        raise ConfigParseError(f"{type(e).__name__}: {e}".splitlines()[0]) from None
    return msg


_TYPE_URL = re.compile(r"type\.googleapis\.com/([A-Za-z_][\w.]*)")
_imported: set[str] = set()


def _import_named_types(text: str) -> None:
    """Put the messages the config's type URLs name into the descriptor pool (Envoy links
    every extension's types in; we import a type's xds-protos module when a config names it)."""
    for name in set(_TYPE_URL.findall(text)) - _imported:
        try:
            message_class(name)
        except UserError:
            pass  # unknown: the parser or the PGV engine reports it
        # only now: another thread parsing meanwhile must not take the type as imported
        _imported.add(name)


def _jsonable(value: object) -> object:
    """YAML scalars Envoy's YAML-to-JSON step turns into strings (dates, binary)."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return value.decode("latin-1")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read_config(path: Path) -> message.Message:
    """Parse the file at ``path`` by its name; OSError is the caller's to report."""
    return parse_config(path.read_bytes(), config_format(path.name))
