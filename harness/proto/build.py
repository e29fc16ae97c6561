"""Compile harness/proto/*.proto into *_pb2.py (run: ``python -m harness.proto.build``).

xds-protos ships Envoy's API as generated modules but not as .proto sources, so the
imports our files need (``envoy/config/core/v3/base.proto``, ...) are handed to protoc as a
descriptor set taken from the modules' own descriptors.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool

PROTO_DIR = Path(__file__).resolve().parent
ROOT = PROTO_DIR.parent.parent


def _envoy_imports(proto: Path) -> list[str]:
    imports = []
    for line in proto.read_text().splitlines():
        line = line.strip()
        if line.startswith("import ") and '"' in line:
            name = line.split('"')[1]
            if not name.startswith(("harness/", "google/protobuf/")):
                imports.append(name)
    return imports


def _descriptor_set(files: list[str]) -> bytes:
    pool = descriptor_pool.Default()
    out = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        try:
            fd = pool.FindFileByName(name)
        except KeyError:
            importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2")
            fd = pool.FindFileByName(name)
        for dep in fd.dependencies:
            add(dep.name)
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        out.file.append(proto)

    for name in files:
        add(name)
    return out.SerializeToString()


def main() -> int:
    from grpc_tools import protoc  # type: ignore[import-untyped]

    protos = sorted(PROTO_DIR.glob("*.proto"))
    deps = sorted({imp for p in protos for imp in _envoy_imports(p)})
    with tempfile.NamedTemporaryFile(suffix=".pb") as fds:
        fds.write(_descriptor_set(deps))
        fds.flush()
        include = str(Path(protoc.__file__).parent / "_proto")
        args = [
            "protoc",
            f"-I{ROOT}",
            f"-I{include}",
            f"--descriptor_set_in={fds.name}",
            f"--python_out={ROOT}",
            f"--pyi_out={ROOT}",
            *[str(p.relative_to(ROOT)) for p in protos],
        ]
        code = int(protoc.main(args))
    if code:
        print("protoc failed", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
