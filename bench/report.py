"""What a benchmark hands back: markdown sections for bench/RESULTS.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Report:
    """Collects markdown sections; also callable as ``report(name, value, unit)`` for single
    figures, which ``flush_figures`` turns into one table per benchmark."""

    sections: list[str] = field(default_factory=list)
    figures: list[tuple[str, object, str]] = field(default_factory=list)

    def __call__(self, name: str, value: object, unit: str = "") -> None:
        if isinstance(value, float):
            value = f"{value:,.2f}"
        elif isinstance(value, int):
            value = f"{value:,}"
        self.figures.append((name, value, unit))

    def flush_figures(self, title: str) -> None:
        if self.figures:
            self.table(title, ["figure", "value", "unit"], self.figures)
            self.figures = []

    def section(self, title: str, body: str) -> None:
        self.sections.append(f"## {title}\n\n{body.strip()}\n")

    def table(
        self, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], note: str = ""
    ) -> None:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.section(title, "\n".join(lines) + (f"\n\n{note}" if note else ""))
        print(f"\n{title}\n" + "\n".join(lines), flush=True)
