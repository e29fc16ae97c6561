"""Crash signatures as ClusterFuzz computes them: kind + the top 3 frames of the code under test.

ClusterFuzz's crash state for a Python (atheris) trace is the first three frames, innermost
first, after dropping engine and harness frames (``STACK_FRAME_IGNORE_REGEXES``), keeping only
function names and folding addresses and long numbers. Divergences have no useful stack (the
comparison code raises them), so their state is the first differing field instead.

The frame filters are data: ``IGNORE_FRAMES`` below; add a row, not an ``if``.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from types import TracebackType

MAX_STATE_FRAMES = 3  # ClusterFuzz's MAX_CRASH_STATE_FRAMES

# Finding kinds, in the order tables list them.
KINDS = (
    "envoy-crash",
    "envoy-hang",
    "divergence",
    "invariant",
    "uncaught-exception",
    "timeout",
    "oom",
)

# (file regex, function regex, why). A frame matching both is not part of the crash state.
# Paths may be relative: a pyinstaller-frozen fuzzer reports ``harness/engine/runner.py``.
IGNORE_FRAMES: tuple[tuple[str, str, str], ...] = (
    (r"(^|[/\\])atheris[/\\]", r".*", "the fuzzing engine"),
    (
        r"(^|[/\\])harness[/\\]engine[/\\]runner\.py$",
        r".*",
        "decodes the input and calls the target",
    ),
    (r"(^|[/\\])harness[/\\]engine[/\\]corpus\.py$", r".*", "testcase loading"),
    (r"(^|[/\\])harness[/\\]oracle\.py$", r".*", "check() raises on behalf of its caller"),
    (r"(^|[/\\])harness[/\\]triage[/\\]", r".*", "this package reproduces and replays findings"),
    (r"(^|[/\\])harness[/\\]targets\.py$", r".*", "the registry"),
    (r"(^|[/\\])fuzzers[/\\]fuzz_\w+\.py$", r".*", "fuzzer entry scripts"),
    (r"^<frozen ", r".*", "import machinery"),
    (r"[/\\]importlib[/\\]", r".*", "import machinery"),
    (r"[/\\](runpy|threading|contextlib)\.py$", r".*", "interpreter plumbing"),
    (r"[/\\](_pytest|pluggy)[/\\]", r".*", "the test runner replaying a corpus"),
    (r".*", r"^<module>$", "module top level: the entry script, not the code under test"),
)

_IGNORE = tuple((re.compile(f), re.compile(fn)) for f, fn, _ in IGNORE_FRAMES)

# ClusterFuzz's filter_addresses_and_numbers: hex addresses, then long decimal runs.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_NUMBER = re.compile(r"\d{4,}")

# Divergence fields that mean two parties frame a message differently: request smuggling.
SMUGGLING_FIELDS = re.compile(
    r"(?i)(smuggl|framing|desync|content[-_]length|transfer[-_]encoding|chunk|"
    r"(request|message|stream)s?[-_]count|num[-_]requests|body[-_]length|upstream[-_]requests?)"
)

# ClusterFuzz severities, for the FuzzerSecurityIssue<Severity> marker.
SEVERITY = {"envoy-crash": "High", "divergence": "High", "envoy-hang": "Medium"}


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str

    def ignored(self) -> bool:
        return any(f.search(self.file) and fn.search(self.function) for f, fn in _IGNORE)

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "function": self.function}


def normalize_function(name: str) -> str:
    return _NUMBER.sub("NUMBER", _ADDRESS.sub("ADDRESS", name))


def frames_from_traceback(tb: TracebackType | None) -> list[Frame]:
    """Frames of a traceback, innermost first (ClusterFuzz reverses Python traces)."""
    return [Frame(s.filename, s.lineno or 0, s.name) for s in reversed(traceback.extract_tb(tb))]


def frames_of_exception(exc: BaseException) -> list[Frame]:
    return frames_from_traceback(exc.__traceback__)


# `  File "x.py", line 3, in f` (traceback) and `  File "x.py", line 3 in f` (faulthandler).
_TB_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+),? in (?P<func>\S+)')
_UNCAUGHT = "=== Uncaught Python exception: ==="


def frames_from_text(text: str) -> list[Frame]:
    """Frames of the last Python stack in ``text`` (atheris or faulthandler), innermost first."""
    body = text[max(text.rfind(_UNCAUGHT), 0) :]
    blocks: list[tuple[str, list[Frame]]] = []  # (header, frames as printed)
    for line in body.splitlines():
        if (
            line.startswith("Traceback (most recent call last)")
            or "(most recent call first)" in line
        ):
            blocks.append((line, []))
            continue
        m = _TB_LINE.match(line)
        if m is None:
            continue
        if not blocks:
            blocks.append(("", []))
        blocks[-1][1].append(Frame(m["file"], int(m["line"]), m["func"]))
    if not blocks:
        return []
    # A faulthandler dump (timeouts) marks the thread that was running; an exception chain
    # ends with the exception that escaped.
    current = [b for b in blocks if b[0].startswith("Current thread")]
    header, frames = current[-1] if current else blocks[-1]
    return frames if "(most recent call first)" in header else list(reversed(frames))


def crash_state(frames: list[Frame]) -> tuple[str, ...]:
    """The first MAX_STATE_FRAMES normalized function names of the code under test."""
    state: list[str] = []
    for frame in frames:
        if frame.ignored():
            continue
        state.append(normalize_function(frame.function))
        if len(state) == MAX_STATE_FRAMES:
            break
    return tuple(state)


def first_frame_under_test(frames: list[Frame]) -> Frame | None:
    return next((f for f in frames if not f.ignored()), None)


def make_signature(kind: str, state: tuple[str, ...] | list[str]) -> str:
    """One line: ``kind: f1 < f2 < f3`` (innermost first), or ``divergence: field``."""
    return f"{kind}: {' < '.join(state)}" if state else kind


def split_signature(signature: str) -> tuple[str, tuple[str, ...]]:
    kind, _, rest = signature.partition(": ")
    return kind, tuple(rest.split(" < ")) if rest else ()


def kind_of_exception(exc: BaseException) -> str:
    """The finding kind an exception escaping a target stands for."""
    kind = getattr(type(exc), "kind", None)  # InvariantViolation, Divergence, EnvoyCrash, ...
    if isinstance(kind, str) and kind in KINDS:
        return kind
    if isinstance(exc, MemoryError):
        return "oom"
    return "uncaught-exception"


def state_of_exception(exc: BaseException, target_name: str) -> tuple[str, ...]:
    kind = kind_of_exception(exc)
    if kind == "divergence":
        return (normalize_function(str(getattr(exc, "field", "") or "?")),)
    state = crash_state(frames_of_exception(exc))
    # Nothing left after filtering (a target written as a lambda in a fuzzer script): the
    # target itself is the best location there is.
    return state or (target_name,)


def signature_of_exception(exc: BaseException, target_name: str) -> str:
    """The signature of an exception that escaped ``target_name``'s run function."""
    return make_signature(kind_of_exception(exc), state_of_exception(exc, target_name))


def is_security(kind: str, state: tuple[str, ...], exc: BaseException | None = None) -> bool:
    """Envoy crashes and hangs, and smuggling-class divergences (or any flagged finding)."""
    if kind in ("envoy-crash", "envoy-hang"):
        return True
    if exc is not None and getattr(exc, "security", False) is True:
        return True
    return kind == "divergence" and any(SMUGGLING_FIELDS.search(s) for s in state)


def severity(kind: str) -> str:
    return SEVERITY.get(kind, "Medium")


def similar(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """ClusterFuzz's CrashComparer on states: equal, or >= 2 frames shared in order (LCS)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 2:
        return False
    return _lcs(a, b) >= 2


def _lcs(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]
