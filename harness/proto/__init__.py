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
    descriptor = _find(pool, full_name) or _find_in_ours(pool, full_name)
    if descriptor is None and full_name.startswith("envoy."):
        # Envoy's API (xds-protos): the module is named after the package.
        package, _, _ = full_name.rpartition(".")
        for module in _envoy_module_candidates(package):
            try:
                importlib.import_module(module)
                descriptor = pool.FindMessageTypeByName(full_name)
                break
            except (ImportError, KeyError):
                continue
    if descriptor is None:
        raise UserError(
            f"unknown proto message {full_name!r} (import its _pb2 module before registering)"
        )
    return message_factory.GetMessageClass(descriptor)


def _envoy_module_candidates(package: str) -> list[str]:
    """``envoy.config.bootstrap.v3`` -> ``envoy.config.bootstrap.v3.bootstrap_pb2`` and siblings."""
    try:
        pkg = importlib.import_module(package)
    except ImportError:
        return []
    return [
        f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if m.name.endswith("_pb2")
    ]
