"""Our copies of Envoy's fuzz protos (same names and numbers) and message lookup by name.

Regenerate the ``*_pb2.py`` files with ``python -m harness.proto.build`` after editing a
``.proto`` file here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from google.protobuf import descriptor_pool, message, message_factory

from harness.errors import UserError


def _find(pool: descriptor_pool.DescriptorPool, full_name: str) -> Any:
    try:
        return pool.FindMessageTypeByName(full_name)
    except KeyError:
        return None


def _find_in_ours(pool: descriptor_pool.DescriptorPool, full_name: str) -> Any:
    """Import our modules until one defines ``full_name`` (a fuzzer's start-up imports only
    what its target needs: some of ours pull in Envoy's API protos)."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{__name__}.{info.name}")
            if (found := _find(pool, full_name)) is not None:
                return found
    return None


@cache
def message_class(full_name: str) -> type[message.Message]:
    """The generated class of a message by full name (``test.fuzz.Headers``, ``envoy....``)."""
    pool = descriptor_pool.Default()
    descriptor = (
        _find(pool, full_name) or _find_in_ours(pool, full_name) or _import_schema(pool, full_name)
    )
    if descriptor is None:
        raise UserError(
            f"unknown proto message {full_name!r} (import its _pb2 module before registering)"
        )
    return message_factory.GetMessageClass(descriptor)


# Top-level packages of the schemas installed with us (xds-protos and protobuf's own). A name
# under one of them is imported on demand, so a lookup's answer depends on the name alone, not
# on which modules the process happened to load before: the mutator resolves fuzzed Any type
# URLs this way, and `-seed` must give the same mutants whatever else was imported. Only these
# roots: importing a package a fuzzed name picks would run arbitrary modules.
SCHEMA_ROOTS = (
    "envoy",
    "xds",
    "udpa",
    "validate",
    "cel",
    "opencensus",
    "opentelemetry",
    "google.api",
    "google.logging",
    "google.longrunning",
    "google.protobuf",
    "google.rpc",
    "google.type",
)


def _import_schema(pool: descriptor_pool.DescriptorPool, full_name: str) -> Any:
    """Import the ``_pb2`` modules of ``full_name``'s package until one defines it; a nested
    message (``envoy.config.cluster.v3.Cluster.CommonLbConfig``) lives in the package of an
    enclosing name, so shorter prefixes are tried in turn."""
    if not full_name.startswith(tuple(f"{root}." for root in SCHEMA_ROOTS)):
        return None
    parts = full_name.split(".")
    for end in range(len(parts) - 1, 0, -1):
        for module in _schema_modules(".".join(parts[:end])):
            try:
                importlib.import_module(module)
            except ImportError:
                continue
            if (found := _find(pool, full_name)) is not None:
                return found
    return None


@cache
def _schema_modules(package: str) -> tuple[str, ...]:
    """``envoy.config.bootstrap.v3`` -> ``envoy.config.bootstrap.v3.bootstrap_pb2`` and siblings
    (none when ``package`` is not an importable package)."""
    try:
        pkg = importlib.import_module(package)
    except (ImportError, ValueError):
        return ()
    return tuple(
        f"{package}.{m.name}"
        for m in pkgutil.iter_modules(getattr(pkg, "__path__", []))
        if m.name.endswith("_pb2")
    )
