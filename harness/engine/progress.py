"""Reading libFuzzer's status output (what atheris prints) into numbers.

Rules are data: each regex names the fields it fills, in the spirit of ClusterFuzz's
stack-trace tables. Covers single-process lines (``#4096 pulse cov: 10 ft: 12 corp: 3/40b
... exec/s: 2048 rss: 40Mb``), -fork lines (``#900: cov: 10 ft: 12 corp: 3 exec/s: 300
oom/timeout/crash: 0/0/1 time: 3s job: 2``) and -print_final_stats lines.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_STATUS_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^#(\d+)\s*:?\s"), ("runs",)),
    (re.compile(r"\bcov: (\d+)"), ("cov",)),
    (re.compile(r"\bft: (\d+)"), ("ft",)),
    (re.compile(r"\bcorp: (\d+)(?:/(\d+)([bKM]b))?"), ("corpus_units", "_size", "_unit")),
    (re.compile(r"\bexec/s: (\d+)"), ("exec_per_sec",)),
    (re.compile(r"\brss: (\d+)Mb"), ("rss_mb",)),
    (re.compile(r"\boom/timeout/crash: (\d+)/(\d+)/(\d+)"), ("ooms", "timeouts", "crashes")),
)
_STATUS_LINE = re.compile(r"^#\d")  # not "###### Recommended dictionary. ######"
_FINAL_STAT = re.compile(r"^stat::(\w+):\s+(\d+)")
_FINAL_FIELDS = {
    "number_of_executed_units": "runs",
    "average_exec_per_sec": "exec_per_sec",
    "new_units_added": "new_units",
    "peak_rss_mb": "rss_mb",
}
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_CRASH_MARKERS = (
    "=== Uncaught Python exception: ===",
    "ERROR: libFuzzer:",
    "=== Timeout:",
    "==ERROR: AddressSanitizer",
)


# A run keeps at most this many samples per worker; beyond it, every other one is dropped
# (the first and the newest stay), so a day-long run's series stays a few hundred KB.
MAX_SAMPLES = 4000


@dataclass(frozen=True)
class Sample:
    """The figures of one status line, and when it was read (seconds since the run began)."""

    seconds: float
    runs: int
    cov: int
    ft: int
    corpus_units: int
    exec_per_sec: int


@dataclass
class Stats:
    """What is known so far about one fuzzing run."""

    runs: int = 0
    cov: int = 0
    ft: int = 0
    corpus_units: int = 0
    exec_per_sec: int = 0
    rss_mb: int = 0
    new_units: int = 0
    crashes: int = 0
    timeouts: int = 0
    ooms: int = 0
    fuzz_seconds: float = 0.0  # from the first status line (INITED) to the last line
    # Finding files written since the run began, of every kind (crashes, timeouts, OOMs, and
    # what a side replay writes, e.g. divergences): set by the launcher, which counts them in
    # the artifacts directory, not read from libFuzzer's output.
    findings: int = 0
    artifacts: list[str] = field(default_factory=list)
    crash_lines: list[str] = field(default_factory=list)
    series: list[Sample] = field(default_factory=list)  # one per status line (see record)

    def feed(self, line: str) -> bool:
        """Update from one line of libFuzzer/atheris output; whether it was a status line."""
        line = line.rstrip("\n")
        if _STATUS_LINE.match(line):
            self._status(line)
            return True
        elif line.startswith("stat::"):
            m = _FINAL_STAT.match(line)
            if m and m.group(1) in _FINAL_FIELDS:
                setattr(self, _FINAL_FIELDS[m.group(1)], int(m.group(2)))
        elif (m := _ARTIFACT.search(line)) is not None:
            self.artifacts.append(m.group(1))
        elif any(marker in line for marker in _CRASH_MARKERS):
            self.crash_lines.append(line.strip())
        return False

    def record(self, seconds: float) -> None:
        """Add the current figures as a sample taken ``seconds`` into the run (the launcher
        calls this after each status line; libFuzzer's lines carry no time of their own)."""
        self.series.append(
            Sample(seconds, self.runs, self.cov, self.ft, self.corpus_units, self.exec_per_sec)
        )
        if len(self.series) > MAX_SAMPLES:
            self.series[:] = [*self.series[:-1:2], self.series[-1]]

    def _status(self, line: str) -> None:
        for pattern, names in _STATUS_RULES:
            m = pattern.search(line)
            if m is None:
                continue
            for name, value in zip(names, m.groups(), strict=True):
                if not name.startswith("_") and value is not None:
                    # cov/ft only grow; a -fork line reports the merged corpus
                    setattr(self, name, int(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def combined(cls, parts: list[Stats]) -> Stats:
        """One view of parallel workers: counts add up (an input one worker loads from
        another's finds counts as new for both); coverage, features and corpus size are the
        largest worker's (a lower bound: workers do not report which edges they share)."""
        if len(parts) == 1:
            return parts[0]
        return cls(
            runs=sum(p.runs for p in parts),
            cov=max(p.cov for p in parts),
            ft=max(p.ft for p in parts),
            corpus_units=max(p.corpus_units for p in parts),
            exec_per_sec=sum(p.exec_per_sec for p in parts),
            rss_mb=sum(p.rss_mb for p in parts),
            new_units=sum(p.new_units for p in parts),
            crashes=sum(p.crashes for p in parts),
            timeouts=sum(p.timeouts for p in parts),
            ooms=sum(p.ooms for p in parts),
            fuzz_seconds=max(p.fuzz_seconds for p in parts),
            findings=max(p.findings for p in parts),
            artifacts=[a for p in parts for a in p.artifacts],
            crash_lines=[line for p in parts for line in p.crash_lines],
            series=combined_series([p.series for p in parts]),
        )


def combined_series(parts: list[list[Sample]]) -> list[Sample]:
    """One series of parallel workers, as ``Stats.combined`` combines their figures: at each
    worker's sample, every worker's newest figures so far (runs and exec/s add up; coverage,
    features and corpus size are the largest)."""
    events = sorted(
        ((s.seconds, i, s) for i, series in enumerate(parts) for s in series),
        key=lambda e: (e[0], e[1]),
    )
    latest: dict[int, Sample] = {}
    out: list[Sample] = []
    for seconds, worker, sample in events:
        latest[worker] = sample
        now = list(latest.values())
        out.append(
            Sample(
                seconds,
                runs=sum(s.runs for s in now),
                cov=max(s.cov for s in now),
                ft=max(s.ft for s in now),
                corpus_units=max(s.corpus_units for s in now),
                exec_per_sec=sum(s.exec_per_sec for s in now),
            )
        )
    return out
