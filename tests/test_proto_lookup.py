"""Message lookup by name (``harness.proto.message_class``): its answer depends on the name
alone, never on which schema modules the process loaded before (the mutator unpacks fuzzed Any
type URLs through it, and a ``-seed`` must give the same mutants in every process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.errors import UserError
from harness.proto import message_class

# Payload types an Any may carry that no fuzzer start-up imports: outside the envoy root, nested
# in another message, protobuf's own well-known types.
UNLOADED = [
    "xds.type.v3.TypedStruct",
    "udpa.type.v1.TypedStruct",
    "envoy.config.cluster.v3.Cluster.CommonLbConfig",
    "envoy.extensions.filters.http.router.v3.Router",
    "google.protobuf.Struct",
    "google.rpc.Status",
]
BOGUS = ["envoy.config..x", "envoy.nope.v3.X", "xds.type.v3.NoSuchType", "foo.Bar", "envoy."]

_RESOLVE = """
import json, sys
for module in sys.argv[2:]:
    __import__(module)
from harness.engine import mutate
names = json.loads(sys.argv[1])
print(json.dumps([mutate._any_class("type.googleapis.com/" + n) is not None for n in names]))
"""


def _resolved_in_a_fresh_process(names: list[str], preload: list[str]) -> list[bool]:
    out = subprocess.run(
        [sys.executable, "-c", _RESOLVE, json.dumps(names), *preload],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return list(json.loads(out.stdout))


def test_a_type_url_resolves_alike_whatever_the_process_loaded_before() -> None:
    names = UNLOADED + BOGUS
    preload = [
        "xds.type.v3.typed_struct_pb2",
        "udpa.type.v1.typed_struct_pb2",
        "envoy.config.cluster.v3.cluster_pb2",
        "google.rpc.status_pb2",
    ]
    fresh = _resolved_in_a_fresh_process(names, [])
    assert fresh == _resolved_in_a_fresh_process(names, preload)
    assert fresh == [True] * len(UNLOADED) + [False] * len(BOGUS)


@pytest.mark.parametrize("name", UNLOADED)
def test_schema_types_are_found_by_name(name: str) -> None:
    assert message_class(name).DESCRIPTOR.full_name == name


@pytest.mark.parametrize("name", BOGUS)
def test_an_unknown_name_is_a_one_line_user_error(name: str) -> None:
    with pytest.raises(UserError, match="unknown proto message"):
        message_class(name)


def test_a_name_outside_the_schema_roots_imports_nothing() -> None:
    # a fuzzed type URL must not make the process import (and run) a package it names
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom harness.engine import mutate\n"
            "print(mutate._any_class('type.googleapis.com/antigravity.X'), "
            "'antigravity' in sys.modules, 'this' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.split() == ["None", "False", "False"]
