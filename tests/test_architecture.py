"""The layout docs/architecture.md describes is the layout the code has.

Imports are read with ``ast`` (function-level imports included, ``TYPE_CHECKING`` ones left
out: they never run), so a lazy import that runs upward fails here as a top-level one would.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "harness"
DOC = ROOT / "docs" / "architecture.md"

# Each part of harness/ and its floor: a module may import only from its own part or from a
# lower floor. The floors are the package map of docs/architecture.md.
FLOORS: dict[str, int] = {
    "errors": 0,
    "oracle": 0,
    "observation": 0,
    "proto": 1,
    "targets": 2,
    "codec": 3,
    "util": 3,
    "config": 3,
    "engine": 4,
    "envoy": 5,
    "triage": 5,
    "model": 6,
    "conformance": 7,  # runs its cases against a server, the model or a real Envoy
    "report": 8,  # coverage and campaign reports (planned: docs/architecture.md)
    "ci": 8,  # the OSS-Fuzz / ClusterFuzzLite local simulation (runs processes: build, run)
    "cli": 9,
    "__init__": 2,  # the public face: re-exports the registry and the oracles
}
MAX_LINES = 800


def _modules() -> list[Path]:
    return sorted(p for p in HARNESS.rglob("*.py") if not p.name.endswith("_pb2.py"))


def _part(path: Path) -> str:
    rel = path.relative_to(HARNESS)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Modules of ``harness`` that ``path`` imports when it runs (``from P import m`` counts
    as ``P.m`` when that is a module, else as ``P``; a parent package, imported along with
    any module of it, is not counted)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for statement in child.orelse:
                    visit(statement)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("harness"))
            elif (
                isinstance(child, ast.ImportFrom)
                and child.level == 0
                and child.module
                and (child.module == "harness" or child.module.startswith("harness."))
            ):
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    found.add(sub if sub in modules else child.module)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def _graph() -> dict[str, set[str]]:
    """module -> the harness modules it imports (names that are not modules dropped)."""
    modules = {_module_name(p): p for p in _modules()}
    names = set(modules)
    return {
        name: {m for m in _imports(path, names) if m in names} - {name}
        for name, path in modules.items()
    }


def _part_of(module: str) -> str:
    return module.split(".")[1] if module != "harness" else "__init__"


def test_every_part_of_harness_has_a_floor() -> None:
    parts = {_part(p) for p in _modules()}
    assert parts - set(FLOORS) == set(), "add the new part to FLOORS and docs/architecture.md"


def test_imports_run_one_way() -> None:
    """Down the floors or within one part; never up (a lazy import counts too)."""
    upward = []
    for name, imported in _graph().items():
        here = _part_of(name)
        for other in imported:
            there = _part_of(other)
            if there != here and FLOORS[there] > FLOORS[here]:
                upward.append(f"{name} -> {other}")
    assert upward == []


def test_no_import_circles() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    circles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    assert circles == []


def test_no_module_over_the_line_limit() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def _doc_paths() -> set[str]:
    """Paths the page names as they are today (its last section plans new ones)."""
    text = DOC.read_text().split("## Where wave 2 goes")[0]
    return set(re.findall(r"`((?:harness|fuzzers|corpora|tests|bench|docs)/[\w./<>-]*)`", text))


@pytest.mark.parametrize("kind", ["packages", "modules"])
def test_the_architecture_page_matches_the_tree(kind: str) -> None:
    named = _doc_paths()
    if kind == "packages":
        packages = {f"harness/{p.name}/" for p in HARNESS.iterdir() if (p / "__init__.py").exists()}
        assert packages - named == set(), "docs/architecture.md does not name these packages"
    missing = [p for p in named if "<" not in p and not (ROOT / p.rstrip("/")).exists()]
    assert missing == [], "docs/architecture.md names paths that do not exist"
    # module names in the table's cells (`name.py`) exist in the package of their row
    for row in DOC.read_text().splitlines():
        m = re.match(r"\| `harness/(\w+)/` \| (.*)\|$", row)
        if not m:
            continue
        for module in re.findall(r"`(\w+\.py)`", m.group(2)):
            assert (HARNESS / m.group(1) / module).exists(), f"harness/{m.group(1)}/{module}"


def test_readme_and_docs_link_only_inside_the_repository() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)", page.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{page.name} links outside: {target}"
            assert resolved.exists(), f"{page.name} links to a missing file: {target}"
