"""A model of ``envoy --mode validate``: PGV rules, then the semantic checks of Envoy's
validation server, as a table.

``check(bootstrap)`` returns a ``Verdict``: valid, or the first error with the field path
that decides it. The semantic checks are rows of ``SEMANTIC_CHECKS`` (name, function); each
returns a ``Violation`` or None, and they run in the order Envoy's start-up meets them
(cluster manager, then listeners and their filter chains). Their verdicts are what Envoy
1.40 was observed to do (``tests/data/config_cases.json``), not what seems sensible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.protobuf import message

from harness.config import binds, semantic, tree
from harness.config.load import ConfigParseError, config_format, parse_config
from harness.config.pgv import Engine


@dataclass(frozen=True)
class Verdict:
    valid: bool
    error: str | None = None
    field: str | None = None
    rule: str | None = None

    def to_json(self, name: str) -> dict[str, object]:
        return {"name": name, "valid": self.valid, "error": self.error, "field": self.field}


VALID = Verdict(True)
_engine = Engine()
tree.set_engine(_engine)


def engine() -> Engine:
    return _engine


def check(bootstrap: message.Message, serve: bool = False) -> Verdict:
    """What ``envoy --mode validate`` says of ``bootstrap`` (the model's prediction); with
    ``serve``, what ``--envoy-mode serve`` says (validate mode's verdict, then the binds)."""
    found = _engine.validate(bootstrap)
    if found is None:
        found = semantic.run(bootstrap)
    if found is None and serve:
        found = binds.check_binds(bootstrap)
    if found is None:
        return VALID
    return Verdict(False, found.message, found.path or None, found.rule)


def check_bytes(data: bytes, name: str) -> Verdict:
    """Parse ``data`` by the format ``name`` implies, then ``check`` it."""
    try:
        msg = parse_config(data, config_format(name))
    except ConfigParseError as e:
        return Verdict(False, f"parse error: {e}", None, "parse")
    return check(msg)


def check_file(path: Path) -> Verdict:
    return check_bytes(path.read_bytes(), path.name)
