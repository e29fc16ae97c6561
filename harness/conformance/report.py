"""The suite's results as h2spec prints them, as JSON, and as JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.conformance.runner import CaseResult, summary

MARKS = {"passed": "\u2714", "failed": "\u00d7", "skipped": "-"}


def text_lines(results: Sequence[CaseResult]) -> list[str]:
    """Group titles, a mark per case, then the failures with expected/actual and the tally."""
    lines: list[str] = []
    group = None
    for r in results:
        gid = r.case.id.rsplit("/", 1)[0]
        if gid != group:
            group = gid
            lines.append(f"{gid}. {r.case.group}")
        n = r.case.id.rsplit("/", 1)[1]
        lines.append(f"  {MARKS[r.outcome.result]} {n}: {r.case.requirement}")
    failures = [r for r in results if r.outcome.result == "failed"]
    if failures:
        lines += ["", "Failures: ", ""]
        for r in failures:
            lines.append(f"{r.case.id} ({r.case.section})")
            lines.append(f"  {r.case.requirement}")
            lines.append("    -> Expected: " + "\n                 ".join(r.outcome.expected))
            lines.append("         Actual: " + "\n                 ".join(r.outcome.actual))
            lines.append("")
    s = summary(results)
    lines.append(
        f"{s['total']} tests, {s['passed']} passed, {s['skipped']} skipped, {s['failed']} failed"
    )
    return lines


def to_json(results: Sequence[CaseResult], **extra: Any) -> dict[str, Any]:
    return {"cases": [r.to_json() for r in results], "summary": summary(results), **extra}


def junit_tree(results: Sequence[CaseResult], name: str = "envoy-fuzz conform") -> ET.Element:
    """JUnit XML: one <testsuite> per group, a <testcase> per case, <failure>/<skipped>."""
    s = summary(results)
    root = ET.Element(
        "testsuites",
        name=name,
        tests=str(s["total"]),
        failures=str(s["failed"]),
        skipped=str(s["skipped"]),
        errors="0",
    )
    suites: dict[str, ET.Element] = {}
    for r in results:
        gid = r.case.id.rsplit("/", 1)[0]
        suite = suites.get(gid)
        if suite is None:
            suite = ET.SubElement(
                root, "testsuite", name=gid, tests="0", failures="0", skipped="0", errors="0"
            )
            suite.set("package", r.case.group)
            suites[gid] = suite
        suite.set("tests", str(int(suite.get("tests", "0")) + 1))
        tc = ET.SubElement(suite, "testcase", name=r.case.id, classname=gid)
        tc.set("file", r.case.section)
        if r.outcome.result == "failed":
            suite.set("failures", str(int(suite.get("failures", "0")) + 1))
            failure = ET.SubElement(tc, "failure", message=r.case.requirement)
            failure.text = (
                "Expected: "
                + " | ".join(r.outcome.expected)
                + "\nActual: "
                + " | ".join(r.outcome.actual)
            )
        elif r.outcome.result == "skipped":
            suite.set("skipped", str(int(suite.get("skipped", "0")) + 1))
            ET.SubElement(tc, "skipped", message="; ".join(r.outcome.actual))
    return root


def write_junit(results: Sequence[CaseResult], path: Path) -> None:
    tree = ET.ElementTree(junit_tree(results))
    ET.indent(tree)
    tmp = path.with_name(path.name + ".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(path)
