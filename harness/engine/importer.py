"""Import Envoy's own corpora (an Envoy checkout, or a tree laid out like one).

Each target declares the Envoy folders that feed it (``envoy_corpora`` in the registry); the
files are copied byte for byte into ``corpora/<target>/envoy/`` keeping their names, and
``corpora/NOTICE-envoy.md`` records where they came from (Envoy's corpora are Apache-2.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import targets
from harness.engine import corpus
from harness.errors import UserError

NOTICE = "NOTICE-envoy.md"


@dataclass
class Imported:
    target: str
    folder: str
    files: int
    new: int


def import_envoy(checkout: Path, corpora_root: Path | None = None) -> list[Imported]:
    if not checkout.is_dir():
        raise UserError(f"not a directory: {checkout}")
    corpora_root = corpora_root or targets.CORPORA_ROOT
    done: list[Imported] = []
    for target in targets.all_targets():
        for folder in target.envoy_corpora:
            source = checkout / folder
            if not source.is_dir():
                continue
            dest = corpora_root / target.name / "envoy"
            files = new = 0
            for path in sorted(source.iterdir()):
                if not path.is_file():
                    continue
                data = path.read_bytes()
                out = dest / path.name
                if not out.exists() or out.read_bytes() != data:
                    corpus.write_atomic(out, data)
                    new += 1
                files += 1
            done.append(Imported(target.name, folder, files, new))
    if not done:
        known = sorted({f for t in targets.all_targets() for f in t.envoy_corpora})
        raise UserError(
            f"{checkout} has none of the corpus folders our targets import "
            f"(looked for {', '.join(known) or 'nothing: no target declares one'})"
        )
    _write_notice(corpora_root, done)
    return done


def _write_notice(corpora_root: Path, done: list[Imported]) -> None:
    notice = corpora_root / NOTICE
    rows = {}
    if notice.exists():  # keep rows of earlier imports of other folders
        for line in notice.read_text().splitlines():
            if line.startswith("| `corpora/"):
                rows[line.split("|")[1].strip()] = line
    for item in done:
        key = f"`corpora/{item.target}/envoy/`"
        rows[key] = f"| {key} | `{item.folder}` | {item.files} |"
    text = (
        "# Corpus files from Envoy\n\n"
        "The files under `corpora/<target>/envoy/` are copied unchanged from the fuzz corpora of\n"
        "the Envoy project (https://github.com/envoyproxy/envoy), Copyright the Envoy Project\n"
        "Authors, licensed under the Apache License 2.0. They keep their names and are replayed\n"
        "as regression tests. Written by `envoy-fuzz import-envoy`.\n\n"
        "| our folder | Envoy folder | files |\n|---|---|---|\n"
        + "\n".join(rows[k] for k in sorted(rows))
        + "\n"
    )
    corpus.write_atomic(notice, text.encode())
