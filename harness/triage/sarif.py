"""SARIF 2.1.0 for code-scanning UIs: one rule per group (kind + signature), one result each.

As ClusterFuzzLite does: the location is the first crash-state frame (the first frame in the
code under test), with the path made relative to the project so no local path leaks.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from harness import __version__
from harness.triage.group import Group

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def rule_id(group: Group) -> str:
    """``kind/<12 hex of the signature>``: stable across runs, short enough for UIs."""
    digest = hashlib.sha1(group.signature.encode("utf-8")).hexdigest()[:12]
    return f"{group.kind}/{digest}"


def _relative(path: str, root: Path) -> str:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return Path(path).name
    return Path(path).name if rel.startswith("..") else Path(rel).as_posix()


def to_sarif(groups: list[Group], root: Path | None = None) -> dict[str, Any]:
    root = (root or Path.cwd()).resolve()
    rules: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        rep = group.representative
        rules.append(
            {
                "id": rule_id(group),
                "name": group.kind.title().replace("-", ""),
                "shortDescription": {"text": f"{group.signature} ({group.target})"},
                "fullDescription": {"text": rep.exception or group.signature},
                "defaultConfiguration": {"level": "error" if group.security else "warning"},
                "properties": {
                    "tags": ["fuzzing", group.kind] + (["security"] if group.security else []),
                    **({"security-severity": "8.0"} if group.security else {}),
                },
            }
        )
        text = f"{group.kind} in target {group.target}: {group.signature}"
        if rep.exception:
            text += f" — {rep.exception}"
        text += f". {len(group.files)} file(s); reproduce: {rep.reproduce}"
        result: dict[str, Any] = {
            "ruleId": rule_id(group),
            "ruleIndex": index,
            "level": "error" if group.security else "warning",
            "message": {"text": text},
            "partialFingerprints": {
                "crashSignature/v1": hashlib.sha1(
                    f"{group.target}\n{group.signature}".encode()
                ).hexdigest()
            },
            "properties": {
                "target": group.target,
                "reproducible": group.reproducible,
                "security": group.security,
                "files": [_relative(f, root) for f in group.files],
            },
        }
        frame = rep.location()
        uri = _relative(frame.file, root) if frame else _relative(rep.input, root)
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
        if frame is not None and frame.line > 0:
            location["physicalLocation"]["region"] = {"startLine": frame.line}
            location["logicalLocations"] = [{"name": frame.function, "kind": "function"}]
        result["locations"] = [location]
        results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "envoy-fuzz",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def write_sarif(groups: list[Group], path: Path, root: Path | None = None) -> None:
    from harness.engine.corpus import write_atomic

    text = json.dumps(to_sarif(groups, root), indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))
