"""Select cases by id prefix and run them concurrently, each on its own connection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.conformance.case import Case
from harness.conformance.h1run import run_h1
from harness.conformance.h2run import run_h2
from harness.conformance.net import Connection, Outcome
from harness.errors import UserError

# Connections at once: enough to finish the suite in seconds, few enough for a small server.
CONCURRENCY = 16


def all_cases() -> list[Case]:
    from harness.conformance import cases_h2spec, cases_http1, cases_rfc9113

    return [*cases_h2spec.CASES, *cases_rfc9113.CASES, *cases_http1.CASES]


def select(cases: Sequence[Case], prefixes: Iterable[str]) -> list[Case]:
    """Cases whose id starts with one of ``prefixes`` (all when none); a prefix that selects
    nothing is a usage error (h2spec silently runs nothing there)."""
    wanted = [p.strip("/") for p in prefixes]
    if not wanted:
        return list(cases)
    chosen = []
    for prefix in wanted:
        if not any(_matches(c.id, prefix) for c in cases):
            raise UserError(
                f"conform: no case id starts with {prefix!r} (try: http2/6.5, rfc9113, http1)"
            )
    for c in cases:
        if any(_matches(c.id, p) for p in wanted):
            chosen.append(c)
    return chosen


def _matches(case_id: str, prefix: str) -> bool:
    """By whole segments and sections, as h2spec's group tree: ``http2/6.5`` selects
    ``http2/6.5/1`` and the subsections ``http2/6.5.2/1``, not ``http2/6.50/1``; ``http2/6.5/1``
    selects that one case."""
    return case_id == prefix or case_id.startswith((prefix + "/", prefix + "."))


@dataclass(frozen=True)
class CaseResult:
    case: Case
    outcome: Outcome

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.case.id,
            "section": self.case.section,
            "group": self.case.group,
            "requirement": self.case.requirement,
            "result": self.outcome.result,
            "expected": self.outcome.expected,
            "actual": self.outcome.actual,
        }


Runner = Callable[[Case], Outcome]


def network_runner(host: str, port: int, *, tls: bool, timeout: float) -> Runner:
    """Run a case against HOST:PORT: prior-knowledge h2c / HTTP/1.1 on one port, or TLS with
    ALPN h2 / http/1.1."""

    def run(case: Case) -> Outcome:
        alpn = "h2" if case.protocol == "h2" else "http/1.1"
        conn = Connection(host, port, tls=tls, alpn=alpn, timeout=timeout)
        try:
            if case.protocol == "h2":
                return run_h2(case, conn, timeout)
            return run_h1(case, conn, timeout)
        finally:
            conn.close()

    return run


def run_cases(
    cases: Sequence[Case], runner: Runner, on_result: Callable[[CaseResult], None] | None = None
) -> list[CaseResult]:
    """Every case through ``runner`` with CONCURRENCY at once; results in the cases' order."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = [pool.submit(runner, c) for c in cases]
        results = []
        for case, fut in zip(cases, futures, strict=True):
            result = CaseResult(case, fut.result())
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


def summary(results: Sequence[CaseResult]) -> dict[str, int]:
    counts = {"total": len(results), "passed": 0, "skipped": 0, "failed": 0}
    for r in results:
        counts[r.outcome.result] += 1
    return counts
