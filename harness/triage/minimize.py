"""Shrink a crasher while its signature stays the same (ClusterFuzz accepts nothing else).

Raw targets: delta debugging over bytes (remove chunks of halving size until no single byte
can go). Proto targets: structure first (drop repeated elements and whole fields, recursing
into messages), then shrink strings and bytes by delta debugging and integers toward zero;
the result is text format, like the corpus. Every attempt runs under a time limit, and the
whole search under a wall-clock budget: when it runs out, the smallest crasher so far wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf import descriptor, message

from harness.engine.corpus import parse_text_proto, sha1, to_text
from harness.errors import UserError
from harness.triage.finding import Finding
from harness.triage.reproduce import Reproducer

DEFAULT_BUDGET = 60.0  # seconds for one minimization

Seq = TypeVar("Seq", bytes, str)


class OutOfTime(Exception):
    pass


@dataclass
class Result:
    data: bytes
    original_size: int
    signature: str
    attempts: int
    seconds: float
    finished: bool  # False when the budget ran out first


class _Oracle:
    """Does a candidate still crash with the same signature? (memoized, budgeted)"""

    def __init__(self, reproducer: Reproducer, finding: Finding, deadline: float) -> None:
        self.reproducer = reproducer
        self.kind = finding.kind
        self.signature = finding.signature
        self.deadline = deadline
        self.attempts = 0
        self.best: bytes | None = None  # the smallest passing candidate so far
        self._seen: dict[str, bool] = {}

    def __call__(self, data: bytes) -> bool:
        key = sha1(data)
        if key in self._seen:
            return self._seen[key]
        if time.monotonic() >= self.deadline:
            raise OutOfTime
        self.attempts += 1
        # A hang has no stable stack: keeping "still hangs" is what ClusterFuzz keeps too.
        found = self.reproducer.run(data)
        ok = found is not None and (
            found.kind == self.kind
            if self.kind in ("timeout", "oom")
            else found.signature == self.signature
        )
        self._seen[key] = ok
        if ok and (self.best is None or len(data) < len(self.best)):
            self.best = data
        return ok


def ddmin(seq: Seq, test: Callable[[Seq], bool]) -> Seq:
    """Delta debugging (Zeller): remove chunks of halving size; ends 1-minimal."""
    if len(seq) and test(seq[:0]):
        return seq[:0]
    while True:
        progress = False
        chunk = max(1, len(seq) // 2)
        while True:
            i = 0
            while i < len(seq):
                candidate = seq[:i] + seq[i + chunk :]
                if test(candidate):
                    seq, progress = candidate, True
                else:
                    i += chunk
            if chunk == 1:
                break
            chunk //= 2
        if not progress:
            return seq


def minimize(
    reproducer: Reproducer,
    data: bytes,
    *,
    budget: float = DEFAULT_BUDGET,
    finding: Finding | None = None,
) -> Result:
    """The smallest input found within ``budget`` seconds that keeps ``data``'s signature."""
    start = time.monotonic()
    finding = finding or reproducer.run(data)
    if finding is None:
        raise UserError(f"the input does not crash target {reproducer.target.name!r}")
    oracle = _Oracle(reproducer, finding, start + budget)
    best = data
    finished = True
    try:
        if reproducer.target.proto_name is not None:
            best = _minimize_proto(reproducer, data, oracle)
        else:
            best = ddmin(data, oracle)
    except OutOfTime:
        finished = False
        best = oracle.best if oracle.best is not None else data
    return Result(
        data=best,
        original_size=len(data),
        signature=finding.signature,
        attempts=oracle.attempts,
        seconds=time.monotonic() - start,
        finished=finished,
    )


# ---- proto: structure first, then values ----


Path = tuple[tuple[str, int | None], ...]


def _minimize_proto(reproducer: Reproducer, data: bytes, oracle: _Oracle) -> bytes:
    from harness.proto import message_class

    cls = message_class(reproducer.target.proto_name or "")
    msg = parse_text_proto(cls, data)
    if msg is None:
        raise UserError("the crash file does not parse as the target's message")
    text = to_text(msg)
    if not oracle(text):
        # The canonical text form loses whatever triggers the bug (it lived in the raw
        # text, e.g. an unknown field): shrink the text itself.
        return ddmin(data, oracle)
    search = _ProtoSearch(msg, oracle)
    search.run()
    return to_text(search.msg)


class _ProtoSearch:
    def __init__(self, msg: message.Message, oracle: _Oracle) -> None:
        self.msg = msg
        self.oracle = oracle

    def _test(self, candidate: message.Message) -> bool:
        if self.oracle(to_text(candidate)):
            self.msg = candidate
            return True
        return False

    def _copy(self) -> message.Message:
        new = type(self.msg)()
        new.CopyFrom(self.msg)
        return new

    def run(self) -> None:
        # Structural passes to a fixpoint: each accepted edit restarts the (memoized) scan.
        while self._structural_step():
            pass
        self._shrink_values()

    def _structural_step(self) -> bool:
        for edit in list(_structural_edits(self.msg, ())):
            candidate = self._copy()
            edit(candidate)
            if self._test(candidate):
                return True
        return False

    def _shrink_values(self) -> None:
        for path, name, kind in list(_value_fields(self.msg, ())):
            current = getattr(_navigate(self.msg, path), name)
            if kind == "int":
                self._shrink_int(path, name, int(current))
                continue

            def test(value: Any, path: Path = path, name: str = name) -> bool:
                candidate = self._copy()
                setattr(_navigate(candidate, path), name, value)
                return self._test(candidate)

            ddmin(current, test)

    def _shrink_int(self, path: Path, name: str, value: int) -> None:
        # Binary search toward zero for the smallest magnitude that still crashes.
        lo, hi = 0, abs(value)
        sign = -1 if value < 0 else 1
        while lo < hi:
            mid = (lo + hi) // 2
            candidate = self._copy()
            try:
                setattr(_navigate(candidate, path), name, sign * mid)
            except (ValueError, TypeError):
                return
            if self._test(candidate):
                hi = mid
            else:
                lo = mid + 1


def _navigate(msg: message.Message, path: Path) -> Any:
    node: Any = msg
    for name, index in path:
        node = getattr(node, name)
        if index is not None:
            node = node[index]
    return node


def _is_map(fd: descriptor.FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def _structural_edits(
    msg: message.Message, path: Path
) -> Iterator[Callable[[message.Message], None]]:
    """Edits that remove structure, biggest first at each level, then inside sub-messages."""
    fields = msg.ListFields()
    for fd, value in fields:
        name = fd.name
        if fd.is_repeated and not _is_map(fd):
            n = len(value)
            chunk = n
            while chunk >= 1:
                for start in range(0, n, chunk):
                    yield _delete_slice(path, name, start, start + chunk)
                chunk //= 2
        elif _is_map(fd):
            yield _clear(path, name)
            for key in list(value):
                yield _delete_key(path, name, key)
        else:
            yield _clear(path, name)
    for fd, value in fields:
        if fd.message_type is None or _is_map(fd):
            continue
        if fd.is_repeated:
            for i, item in enumerate(value):
                yield from _structural_edits(item, (*path, (fd.name, i)))
        else:
            yield from _structural_edits(value, (*path, (fd.name, None)))


def _delete_slice(path: Path, name: str, start: int, end: int) -> Callable[[message.Message], None]:
    def edit(root: message.Message) -> None:
        del getattr(_navigate(root, path), name)[start:end]

    return edit


def _delete_key(path: Path, name: str, key: Any) -> Callable[[message.Message], None]:
    def edit(root: message.Message) -> None:
        del getattr(_navigate(root, path), name)[key]

    return edit


def _clear(path: Path, name: str) -> Callable[[message.Message], None]:
    def edit(root: message.Message) -> None:
        _navigate(root, path).ClearField(name)

    return edit


_INT_TYPES = {
    descriptor.FieldDescriptor.TYPE_INT32,
    descriptor.FieldDescriptor.TYPE_INT64,
    descriptor.FieldDescriptor.TYPE_UINT32,
    descriptor.FieldDescriptor.TYPE_UINT64,
    descriptor.FieldDescriptor.TYPE_SINT32,
    descriptor.FieldDescriptor.TYPE_SINT64,
    descriptor.FieldDescriptor.TYPE_FIXED32,
    descriptor.FieldDescriptor.TYPE_FIXED64,
    descriptor.FieldDescriptor.TYPE_SFIXED32,
    descriptor.FieldDescriptor.TYPE_SFIXED64,
}
_SEQ_TYPES = {descriptor.FieldDescriptor.TYPE_STRING, descriptor.FieldDescriptor.TYPE_BYTES}


def _value_fields(msg: message.Message, path: Path) -> Iterator[tuple[Path, str, str]]:
    """(path to the holder, field name, "seq" | "int") for singular scalar fields, depth first."""
    for fd, value in msg.ListFields():
        if _is_map(fd):
            continue
        if fd.message_type is not None:
            if fd.is_repeated:
                for i, item in enumerate(value):
                    yield from _value_fields(item, (*path, (fd.name, i)))
            else:
                yield from _value_fields(value, (*path, (fd.name, None)))
        elif not fd.is_repeated:
            if fd.type in _SEQ_TYPES:
                yield path, fd.name, "seq"
            elif fd.type in _INT_TYPES:
                yield path, fd.name, "int"
