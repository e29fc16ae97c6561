"""What a benchmark hands back: markdown sections for bench/RESULTS.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)

    def section(self, title: str, body: str) -> None:
        self.sections.append(f"## {title}\n\n{body.strip()}\n")

    def table(
        self, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], note: str = ""
    ) -> None:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.section(title, "\n".join(lines) + (f"\n\n{note}" if note else ""))
        print(f"\n{title}\n" + "\n".join(lines), flush=True)
