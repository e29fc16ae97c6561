"""Run corpus files once each through their target (the regression replay).

Used by ``envoy-fuzz replay`` and by the pytest suite (one test per corpus file), so both
report the same outcome for the same file.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from harness import targets
from harness.engine import corpus
from harness.targets import Target
from harness.triage import kind_of_exception, signature_of_exception


@dataclass(frozen=True)
class Case:
    target: Target
    path: Path

    @property
    def id(self) -> str:
        """``<target>/<path below the corpus dir>`` (e.g. ``h1_capture/regressions/crash-…``)."""
        try:
            rel = self.path.resolve().relative_to(self.target.corpus.resolve())
        except ValueError:
            rel = Path(self.path.name)
        return f"{self.target.name}/{rel.as_posix()}"


@dataclass
class Outcome:
    case: Case
    status: str  # "ok" | "skipped" | "finding"
    kind: str = ""
    message: str = ""
    signature: str = ""
    traceback: str = ""
    seconds: float = 0.0


def cases(selected: Iterable[Target], paths: Iterable[Path] = ()) -> Iterator[Case]:
    """Every testcase under ``paths`` (or each target's corpus dir) for each target."""
    paths = list(paths)
    for target in selected:
        for root in paths or [target.corpus]:
            for path in corpus.iter_files(root):
                yield Case(target, path)


def run_case(case: Case, plane: str | None = None, *, strict: bool = False) -> Outcome:
    """Decode and run one file; exceptions become a ``finding`` outcome, never propagate.

    ``strict``: the user named this file, so an unparsable one is an error, not a skip.
    """
    from harness.engine.corpus import Decoder

    start = time.perf_counter()
    decoder = Decoder(case.target)
    value = decoder.decode_file(case.path) if strict else decoder.decode(case.path.read_bytes())
    if value is None:
        return Outcome(case, "skipped", message=f"not a text-format {case.target.proto_name}")
    run = case.target.run_function(plane)
    try:
        run(value)
    except Exception as exc:  # a finding, whatever it is: reported, not raised
        return Outcome(
            case,
            "finding",
            kind=kind_of_exception(exc),
            message=f"{type(exc).__name__}: {exc}"[:2000],
            signature=signature_of_exception(exc, case.target.name),
            traceback="".join(traceback.format_exception(exc)),
            seconds=time.perf_counter() - start,
        )
    return Outcome(case, "ok", seconds=time.perf_counter() - start)


def infer_target(path: Path) -> Target | None:
    """The target whose corpus dir holds ``path``, if any."""
    resolved = path.resolve()
    for target in targets.all_targets():
        root = target.corpus.resolve()
        if resolved == root or root in resolved.parents:
            return target
    return None


def write_junit(outcomes: list[Outcome], path: Path) -> None:
    suite = ElementTree.Element(
        "testsuite",
        name="envoy-fuzz replay",
        tests=str(len(outcomes)),
        failures=str(sum(o.status == "finding" for o in outcomes)),
        skipped=str(sum(o.status == "skipped" for o in outcomes)),
    )
    for o in outcomes:
        tc = ElementTree.SubElement(
            suite,
            "testcase",
            classname=o.case.target.name,
            name=o.case.id,
            time=f"{o.seconds:.4f}",
        )
        if o.status == "finding":
            failure = ElementTree.SubElement(tc, "failure", type=o.kind, message=o.message[:500])
            failure.text = o.traceback
        elif o.status == "skipped":
            ElementTree.SubElement(tc, "skipped", message=o.message)
    path.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_atomic(path, ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True))
