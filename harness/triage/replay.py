"""Run corpus files once each through their target (the regression replay).

Used by ``envoy-fuzz replay`` and by the pytest suite (one test per corpus file), so both
report the same outcome for the same file.

Every file runs under a time and a memory bound, in this process (no child per file, so the
common case, a file that finishes in microseconds, costs two system calls more): SIGALRM ends
a file that runs longer than ``timeout`` (kind ``timeout``), and RLIMIT_AS, set for the run to
the address space already in use plus ``rss_limit_mb``, makes an allocation past it fail with
MemoryError (kind ``oom``). A file over either bound is a finding of that kind and the replay
goes on to the next file.
"""

from __future__ import annotations

import os
import resource
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from harness import targets
from harness.engine import corpus
from harness.targets import Target
from harness.triage import kind_of_exception, signature_of_exception
from harness.triage.reproduce import AttemptTimeout, time_limit

# libFuzzer's -timeout default is 25 s, a bound for one input while fuzzing. A regression file
# runs in milliseconds; 10 s is twice triage's reproduction bound (so a file triage saw finish
# does not time out on a loaded CI machine) and keeps a suite of hanging files short.
DEFAULT_TIMEOUT = 10.0
DEFAULT_RSS_LIMIT_MB = 2048  # libFuzzer's -rss_limit_mb default
# Planes whose run function starts an Envoy: Envoy would inherit RLIMIT_AS (and reserves far
# more address space than it uses), so only the time bound applies there.
_UNLIMITED_MEMORY_PLANES = ("envoy", "differential")


@dataclass(frozen=True)
class Case:
    target: Target
    path: Path

    @property
    def id(self) -> str:
        """``<target>/<path below the corpus dir>`` (e.g. ``h1_capture/regressions/crash-…``)."""
        try:
            # the directory resolved, not the file: a symlink loop must not raise here
            where = self.path.parent.resolve() / self.path.name
            rel = where.relative_to(self.target.corpus.resolve())
        except ValueError:
            rel = Path(self.path.name)
        return f"{self.target.name}/{rel.as_posix()}"


@dataclass
class Outcome:
    case: Case
    status: str  # "ok" | "skipped" | "finding" (kind "timeout" / "oom" when over a bound)
    kind: str = ""
    message: str = ""
    signature: str = ""
    traceback: str = ""
    seconds: float = 0.0


def cases(selected: Iterable[Target], paths: Iterable[Path] = ()) -> Iterator[Case]:
    """Every testcase under ``paths`` (or each target's corpus dir) for each target, and every
    entry that should have been one but cannot be read (a broken symlink, a symlink loop), so
    that the replay counts it as skipped with its reason instead of passing over it."""
    paths = list(paths)
    for target in selected:
        for root in paths or [target.corpus]:
            listed = list(corpus.iter_files(root))
            listed += _dangling(root)
            for path in sorted(listed):
                yield Case(target, path)


def _dangling(root: Path) -> list[Path]:
    """Symlinks under ``root`` that name no file (broken, or a loop); os.walk does not follow
    directory symlinks, so a loop of directories is never entered."""
    if not root.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath) / name
            if not name.startswith(".") and path.is_symlink() and not path.exists():
                found.append(path)
    return found


def unreadable_reason(path: Path, error: OSError) -> str:
    """One line for a testcase that cannot be read."""
    import errno

    if error.errno == errno.ELOOP:
        return "unreadable: a symlink loop"
    if path.is_symlink() and not path.exists():
        return f"unreadable: a broken symlink (to {os.readlink(path)})"
    return f"unreadable: {error.strerror or error}"


# pid -> a descriptor of its /proc/<pid>/statm, kept open: one pread per file (a forked child
# opens its own, since the inherited one still describes the parent)
_statm: dict[int, int] = {}
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _address_space_in_use() -> int:
    pid = os.getpid()
    fd = _statm.get(pid)
    if fd is None:
        fd = _statm[pid] = os.open(f"/proc/{pid}/statm", os.O_RDONLY | os.O_CLOEXEC)
    return int(os.pread(fd, 64, 0).split()[0]) * _PAGE


@contextmanager
def memory_limit(limit_mb: int | None) -> Iterator[None]:
    """Let this process grow by at most ``limit_mb`` MiB of address space (0/None: no bound)."""
    if not limit_mb:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    bound = _address_space_in_use() + limit_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        bound = min(bound, hard)
    if soft != resource.RLIM_INFINITY and soft <= bound:
        yield  # already bounded tighter by the caller
        return
    resource.setrlimit(resource.RLIMIT_AS, (bound, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def run_case(
    case: Case,
    plane: str | None = None,
    *,
    strict: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    rss_limit_mb: int | None = DEFAULT_RSS_LIMIT_MB,
) -> Outcome:
    """Decode and run one file; exceptions become a ``finding`` outcome, never propagate.

    ``strict``: the user named this file, so an unparsable one is an error, not a skip.
    ``timeout`` (seconds) and ``rss_limit_mb`` bound the run (None or 0: no bound); a file over
    one is a finding of kind ``timeout`` / ``oom``.
    """
    from harness.engine.corpus import Decoder

    start = time.perf_counter()
    decoder = Decoder(case.target)
    try:
        data = case.path.read_bytes()
    except OSError as e:
        if strict:
            raise
        return Outcome(case, "skipped", message=unreadable_reason(case.path, e))
    value = decoder.decode_file(case.path) if strict else decoder.decode(data)
    if value is None:
        return Outcome(case, "skipped", message=f"not a text-format {case.target.proto_name}")
    run = case.target.run_function(plane)
    if (plane or case.target.default_plane()) in _UNLIMITED_MEMORY_PLANES:
        rss_limit_mb = None
    try:
        with time_limit(timeout), memory_limit(rss_limit_mb):
            run(value)
    except AttemptTimeout:
        return _over_bound(case, "timeout", f"no result after {timeout:g}s (--timeout)", start)
    except MemoryError as exc:
        if rss_limit_mb:  # the allocator gave up at our bound
            message = f"more than {rss_limit_mb} MiB allocated (--rss-limit-mb)"
            return _over_bound(case, "oom", message, start)
        return _finding(case, exc, start)
    except Exception as exc:  # a finding, whatever it is: reported, not raised
        return _finding(case, exc, start)
    return Outcome(case, "ok", seconds=time.perf_counter() - start)


def _over_bound(case: Case, kind: str, message: str, start: float) -> Outcome:
    return Outcome(
        case,
        "finding",
        kind=kind,
        message=message,
        signature=f"{kind} in {case.target.name}",
        seconds=time.perf_counter() - start,
    )


def _finding(case: Case, exc: BaseException, start: float) -> Outcome:
    return Outcome(
        case,
        "finding",
        kind=kind_of_exception(exc),
        message=f"{type(exc).__name__}: {exc}"[:2000],
        signature=signature_of_exception(exc, case.target.name),
        traceback="".join(traceback.format_exception(exc)),
        seconds=time.perf_counter() - start,
    )


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
