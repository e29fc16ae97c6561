"""The command side of a fuzz run: starts the atheris children, shows progress, keeps corpora safe.

One run = one child process (a *worker*) running ``fuzzers/fuzz_<target>.py`` (or a generated
launcher for a user's target) under libFuzzer - or, on the envoy plane, several workers side
by side, each with its own Envoy (``--jobs``; see ``worker_count``). The workers write new
inputs to a private *staging* dir; this process copies each complete one (its name is the sha1
of its bytes, as libFuzzer names them) into the working corpus with an atomic write, so no
corpus dir ever holds a partial file, even when either process is killed with SIGKILL. Staged
inputs stay until the run ends, so that workers sharing the dir load each other's finds
(libFuzzer's -reload of its output corpus). The children die with us (PR_SET_PDEATHSIG) and
their process groups (libFuzzer's -fork workers included) are stopped on every exit path.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from harness.engine import corpus, runner
from harness.engine.progress import Stats
from harness.errors import UserError
from harness.targets import Target

_PR_SET_PDEATHSIG = 1

WORK_ROOT = Path(".envoy-fuzz")

# Defaults measured for text protocols (README "Engine defaults", tests/test_launch.py): value
# profiling turns `int(field) == K` comparisons into a gradient libFuzzer can climb, which plain
# defaults miss. -max_len is left to libFuzzer (max(4096, largest seed)): a smaller fixed value
# would truncate large text-proto seeds into unparsable ones.
DEFAULT_FLAGS = ("-use_value_profile=1", "-print_final_stats=1")
# Workers on the envoy plane when --jobs is not given. The engine and Envoy take turns on each
# input (libFuzzer mutates, then runs), so one worker keeps about one core busy; a second
# worker with its own Envoy fills the other (bench/RESULTS.md has the figures).
ENVOY_WORKERS = 2
# Planes whose --jobs means workers side by side (elsewhere it is libFuzzer's -fork).
WORKER_PLANES = ("envoy",)
# What a run leaves beside its artifacts (see worker_log); triage reads them all.
LOG_GLOB = "fuzz*.log"
ARTIFACT_PREFIXES = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


class SideReplay(Protocol):
    """What replays a run's new inputs beside it; its findings are crash files it wrote."""

    replayed: int
    findings: list[Path]
    seconds: float

    def replay(self, paths: list[Path]) -> None: ...

    def close(self) -> None: ...


@dataclass
class FuzzOptions:
    target: Target
    plane: str
    time: float | None = None
    runs: int | None = None
    jobs: int | None = None  # None: the plane's default (see worker_count)
    corpus_dir: Path | None = None
    artifacts_dir: Path | None = None
    libfuzzer_flags: list[str] = field(default_factory=list)
    mutator: str = "auto"
    # envoy plane: what guides the fuzzer (runner.FEEDBACKS): Envoy's stat counters too, or
    # only what Envoy visibly did
    feedback: str = "stats"
    quiet: bool = False
    # Replays every new corpus input and crasher elsewhere while the fuzzer runs (for
    # --differential: on a real Envoy, against the model); made as side_replay(target, art).
    side_replay: Callable[[Target, Path], SideReplay] | None = None


@dataclass
class FuzzResult:
    target: str
    plane: str
    seconds: float
    stats: Stats
    corpus_dir: Path
    corpus_files: int
    artifacts_dir: Path
    findings: list[Path]
    exit_code: int
    interrupted: bool = False
    log: Path | None = None
    workers: int = 1
    differential: dict[str, Any] | None = None  # replayed, findings, seconds (--differential)
    # envoy plane: the proxy's stat counters that changed during the run (harness.envoy.stats)
    envoy_stats_touched: list[str] | None = None

    @property
    def exec_per_sec(self) -> float:
        """Runs per second of fuzzing (start-up and instrumentation excluded)."""
        seconds = self.stats.fuzz_seconds if self.stats.fuzz_seconds >= 0.5 else self.seconds
        return self.stats.runs / seconds if seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "plane": self.plane,
            "seconds": round(self.seconds, 2),
            "runs": self.stats.runs,
            "exec_per_sec": round(self.exec_per_sec, 1),
            "cov": self.stats.cov,
            "ft": self.stats.ft,
            "corpus_dir": str(self.corpus_dir),
            "corpus_files": self.corpus_files,
            "new_units": self.stats.new_units,
            "findings": [str(p) for p in self.findings],
            "artifacts_dir": str(self.artifacts_dir),
            "log": str(self.log) if self.log else None,
            "workers": self.workers,
            "interrupted": self.interrupted,
            **({"differential": self.differential} if self.differential is not None else {}),
            **(
                {
                    "envoy_stats_touched": len(self.envoy_stats_touched),
                    "envoy_stats_touched_names": self.envoy_stats_touched,
                }
                if self.envoy_stats_touched is not None
                else {}
            ),
        }


class _Stop(Exception):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP so that cleanup runs."""


class _Signals:
    """While a run is fuzzing, a stop signal raises ``_Stop``; while it cleans up
    (``raising`` off), one is only noted, so that the workers are stopped and staged inputs
    saved whenever it comes. Signals the command was started with ignored stay ignored."""

    STOP = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.raising = True
        self.received: str | None = None

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        if self.raising:
            raise _Stop(self.received)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_Signals]:
    signals = _Signals()
    previous = {}
    for sig in _Signals.STOP:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, signals.handler)
    try:
        yield signals
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` for a child of this process (fuzz workers, Envoys): the child gets
    SIGKILL when this process dies, however it dies."""
    parent = os.getpid()

    def preexec() -> None:  # in the child, between fork and exec
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would kill us.
        # (Compared with the parent's pid, not 1: in a container this process may be pid 1.)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def fuzzer_command(options: FuzzOptions, work: Path) -> list[str]:
    """The argv that runs the target's fuzzer script (a launcher for user targets)."""
    target = options.target
    script = target.fuzzer_script
    if script is None:
        script = write_launcher(work / f"fuzz_{target.name}.py", target.name)
    return [sys.executable, str(script)]


def write_launcher(script: Path, target_name: str) -> Path:
    """An executable fuzzer script for a target that has none on disk (a user's target, or a
    run that re-executes argv[0], as -minimize_crash and -merge do)."""
    script.write_text(
        f"#!{sys.executable}\n"
        f'"""Launcher for the target {target_name!r} (written by envoy-fuzz)."""\n'
        "import sys\nfrom harness.engine import runner\n\n"
        f"if __name__ == '__main__':\n    runner.main({target_name!r}, sys.argv)\n"
    )
    script.chmod(0o755)
    return script


def _child_env(options: FuzzOptions, workers: int, stats_out: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    # libFuzzer re-executes the script by its shebang (`env python3`) for -fork/-merge:
    # make that resolve to this interpreter, which has atheris.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    # a fixed hash seed makes `-- -seed=N` reproduce a run (str/bytes hashing order otherwise
    # differs per process); libFuzzer's own seed still varies per run unless given
    env.setdefault("PYTHONHASHSEED", "0")
    env[runner.ENV_PLANE] = options.plane
    env[runner.ENV_MUTATOR] = options.mutator
    env[runner.ENV_FEEDBACK] = options.feedback
    if stats_out is not None:
        env[runner.ENV_STATS_OUT] = str(stats_out)
    if workers > len(os.sched_getaffinity(0)):
        # no core to spare for polling (measured with 4 envoy-plane workers on 2 cores:
        # 1,800-1,930 inputs/s without, 1,370-1,660 with)
        env[runner.ENV_SPIN] = "0"
    if options.target.source not in ("builtin", "<python>"):
        env[runner.ENV_TARGETS] = options.target.source
    else:
        env.pop(runner.ENV_TARGETS, None)
    return env


def _libfuzzer_args(
    options: FuzzOptions, staging: Path, work_corpus: Path, art: Path, worker: int, workers: int
) -> list[str]:
    args = [str(staging), str(work_corpus)]
    if options.target.corpus.is_dir() and options.target.corpus.resolve() != work_corpus.resolve():
        args.append(str(options.target.corpus))  # seeds: read, never written
    args += list(DEFAULT_FLAGS)
    args.append(f"-artifact_prefix={art}{os.sep}")
    if options.target.dictionary is not None:
        args.append(f"-dict={options.target.dictionary}")
    if options.time is not None:
        args.append(f"-max_total_time={max(1, round(options.time))}")
    if options.runs is not None:  # shared out: the run executes `runs` inputs in all
        args.append(f"-runs={options.runs // workers + (worker < options.runs % workers)}")
    if options.plane not in WORKER_PLANES and (options.jobs or 1) > 1:
        args.append(f"-fork={options.jobs}")
    # the user's flags come last so they override ours (libFuzzer takes the last value)
    return args + options.libfuzzer_flags + _seed_offset(options.libfuzzer_flags, worker)


def _seed_offset(flags: list[str], worker: int) -> list[str]:
    """Worker N of a run given ``-seed=S`` runs with ``-seed=S+N``: the same seed would make
    the workers repeat each other (libFuzzer's own default seed differs per process)."""
    seeds = [f.split("=", 1)[1] for f in flags if f.startswith("-seed=")]
    if worker == 0 or not seeds or not seeds[-1].isdigit():
        return []
    return [f"-seed={int(seeds[-1]) + worker}"]


class Staging:
    """The workers' output dir: complete inputs are copied into the working corpus as they
    appear, and left in place (the workers reload it) until ``close``."""

    def __init__(self, path: Path, work_corpus: Path) -> None:
        self.path = path
        self.work_corpus = work_corpus
        self._copied: set[str] = set()
        self.unwritten: dict[str, str] = {}  # staged inputs the corpus refused: name -> why

    def promote(self) -> list[Path]:
        """Copy complete staged inputs not copied yet into the working corpus; returns them.
        One the corpus cannot take (a full disk, a read-only dir) stays staged and is noted in
        ``unwritten``; the run goes on."""
        moved: list[Path] = []
        if not self.path.is_dir():
            return moved
        for path in self.path.iterdir():
            if path.name in self._copied:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if data and corpus.sha1(data) == path.name:
                try:
                    moved.append(corpus.store(self.work_corpus, data))
                except OSError as e:
                    self.unwritten[path.name] = e.strerror or str(e)
                    continue
                self._copied.add(path.name)
                self.unwritten.pop(path.name, None)
        return moved

    def close(self) -> list[Path]:
        """The last ``promote``; then the dir goes (a partial or empty file is never a
        testcase) - unless some inputs could not be written: then it stays, one line says so,
        and the next run over this corpus adds them (``recover_stale_staging``)."""
        moved = self.promote()
        if self.unwritten:
            why = sorted(set(self.unwritten.values()))
            print(
                f"envoy-fuzz: {len(self.unwritten)} new inputs not written to "
                f"{self.work_corpus}: {'; '.join(why)}; kept in {self.path}, the next run over "
                "this corpus adds them",
                file=sys.stderr,
                flush=True,
            )
            return moved
        shutil.rmtree(self.path, ignore_errors=True)
        return moved


def recover_stale_staging(root: Path, work_corpus: Path, target: str) -> None:
    """Finish what a killed run left: promote complete inputs, drop partial ones."""
    for stale in root.glob(f"{target}.*"):
        pid = stale.suffix.lstrip(".")
        if pid.isdigit() and _pid_alive(int(pid)):
            continue
        Staging(stale, work_corpus).close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _artifact_files(art: Path) -> set[Path]:
    if not art.is_dir():
        return set()
    return {
        p
        for p in art.iterdir()
        if p.name.startswith(ARTIFACT_PREFIXES) and p.suffix != ".json" and p.is_file()
    }  # (a .json beside a crash file is triage's sidecar, not a finding)


def _stop_workers(workers: list[_Worker], grace: float = 5.0) -> None:
    """Stop every worker still running (SIGINT: libFuzzer prints its final stats), then
    SIGKILL what is left in each process group (-fork workers, a worker ignoring SIGINT)."""
    for worker in workers:
        if worker.proc.poll() is None:
            worker.stopped = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.proc.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    for worker in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()


@dataclass
class _Worker:
    """One libFuzzer process of a run, its output parsed into ``stats`` and copied to ``log``."""

    proc: subprocess.Popen[str]
    log: Path
    stats: Stats
    reader: threading.Thread
    stopped: bool = False  # by us (the run ended), not by itself

    @property
    def ended_badly(self) -> bool:
        """It ended by itself with a finding or a failure (libFuzzer exits 0 on its budget)."""
        return not self.stopped and self.proc.returncode not in (None, 0)


def _start_worker(argv: list[str], env: dict[str, str], log: Path) -> _Worker:
    log.write_text("$ " + " ".join(argv) + "\n")
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent(),
    )
    stats = Stats()
    reader = threading.Thread(target=_pump, args=(proc, stats, log), daemon=True)
    reader.start()
    return _Worker(proc, log, stats, reader)


def worker_count(options: FuzzOptions) -> int:
    """Workers side by side: ``--jobs`` on the envoy plane (default: one per core, up to
    ENVOY_WORKERS), never more than ``--runs``; one elsewhere (``--jobs`` is libFuzzer's
    -fork there) and when the user's flags make libFuzzer orchestrate its own processes."""
    orchestrated = runner.hands_inputs_to_children(options.libfuzzer_flags)
    if options.plane not in WORKER_PLANES or orchestrated:
        return 1
    jobs = options.jobs or min(ENVOY_WORKERS, len(os.sched_getaffinity(0)))
    return max(1, min(jobs, options.runs or jobs))


def worker_log(art: Path, worker: int) -> Path:
    """Worker 0 logs to ``fuzz.log``, worker N to ``fuzz-N.log`` (as libFuzzer's -jobs)."""
    return art / ("fuzz.log" if worker == 0 else f"fuzz-{worker}.log")


def fuzz(options: FuzzOptions, display: Callable[[Stats, float], None] | None = None) -> FuzzResult:
    """Run one target under atheris until its budget ends, a crash, or Ctrl-C/SIGTERM."""
    target = options.target
    name = target.name
    work = WORK_ROOT.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if options.corpus_dir is not None:
        if not options.corpus_dir.is_dir():
            raise UserError(f"corpus dir not found: {options.corpus_dir}")
        work_corpus = options.corpus_dir.resolve()
    else:
        work_corpus = (work / "corpus" / name).resolve()
        work_corpus.mkdir(parents=True, exist_ok=True)
    art = (options.artifacts_dir or Path("artifacts") / name).resolve()
    art.mkdir(parents=True, exist_ok=True)
    staging_root = work / "staging"
    staging_root.mkdir(mode=0o700, exist_ok=True)
    staging_root.chmod(0o700)  # private to the user, whatever the umask or an older run made
    recover_stale_staging(staging_root, work_corpus, name)
    corpus.remove_stale_temps(work_corpus)
    staging = Staging(staging_root / f"{name}.{os.getpid()}", work_corpus)
    staging.path.mkdir(mode=0o700, exist_ok=True)
    for stale_log in art.glob("fuzz-*.log"):  # an earlier run's extra workers
        stale_log.unlink(missing_ok=True)

    before = _artifact_files(art)
    command = fuzzer_command(options, work)
    count = worker_count(options)
    # where envoy-plane workers write the stat counters they saw change (harness.envoy.stats)
    stats_out: Path | None = None
    if options.plane in WORKER_PLANES:
        stats_out = staging_root / f"stats-{name}.{os.getpid()}"
    if stats_out is not None:
        stats_out.mkdir(mode=0o700, exist_ok=True)
    env = _child_env(options, count, stats_out)
    workers: list[_Worker] = []
    started = time.monotonic()
    interrupted = False
    with _stop_on_signals() as signals, _side_replay(options, art) as replay:
        try:
            for i in range(count):
                args = _libfuzzer_args(options, staging.path, work_corpus, art, i, count)
                workers.append(_start_worker(command + args, env, worker_log(art, i)))
            next_promote = 0.0
            while live := [w for w in workers if w.proc.poll() is None]:
                if any(w.ended_badly for w in workers):
                    break  # a finding ends the run, as in a single libFuzzer
                with contextlib.suppress(subprocess.TimeoutExpired):
                    live[0].proc.wait(0.2)  # returns as soon as that worker exits
                now = time.monotonic()
                if now >= next_promote:
                    promoted = staging.promote()
                    if replay is not None:
                        replay.replay(promoted)
                    next_promote = now + 1.0
                if display is not None:
                    view = Stats.combined([w.stats for w in workers])
                    view.findings = len(_artifact_files(art) - before)
                    display(view, now - started)
        except (KeyboardInterrupt, _Stop):
            interrupted = True
        finally:
            signals.raising = False
            _stop_workers(workers)
            for worker in workers:
                worker.reader.join(timeout=5)
            promoted = staging.close()
            signals.raising = True
        interrupted = interrupted or signals.received is not None
        if replay is not None and not interrupted:
            try:  # the rest of the corpus additions, then the model plane's crashers
                replay.replay(promoted)
                replay.replay(sorted(_artifact_files(art) - before - set(replay.findings)))
            except (KeyboardInterrupt, _Stop):
                interrupted = True
    seconds = time.monotonic() - started
    touched = _read_touched(stats_out) if stats_out is not None else None
    stats = Stats.combined([w.stats for w in workers]) if workers else Stats()
    findings = sorted(_artifact_files(art) - before)
    stats.findings = len(findings)
    if display is not None:
        display(stats, seconds)
    # the worker that ended the run speaks for it; else the first
    telling = next((w for w in workers if w.ended_badly), workers[0] if workers else None)
    return FuzzResult(
        target=name,
        plane=options.plane,
        seconds=seconds,
        stats=stats,
        corpus_dir=work_corpus,
        corpus_files=corpus.count_files(work_corpus),
        artifacts_dir=art,
        findings=findings,
        exit_code=telling.proc.returncode if telling is not None else -1,
        interrupted=interrupted,
        log=telling.log if telling is not None else None,
        workers=count,
        envoy_stats_touched=touched,
        differential=None
        if replay is None
        else {
            "replayed": replay.replayed,
            "findings": [str(p) for p in replay.findings],
            "seconds": round(replay.seconds, 2),
        },
    )


def _read_touched(out_dir: Path) -> list[str] | None:
    """The union of the counters the workers wrote (one ``touched-<pid>.txt`` each, a name a
    line), None when none wrote any (a target without a lane, such as ``server``); the dir
    goes."""
    files = list(out_dir.glob("touched-*.txt"))
    names: set[str] = set()
    for path in files:
        with contextlib.suppress(OSError):
            names.update(n for n in path.read_text().splitlines() if n)
    shutil.rmtree(out_dir, ignore_errors=True)
    return sorted(names) if files else None


@contextlib.contextmanager
def _side_replay(options: FuzzOptions, art: Path) -> Iterator[SideReplay | None]:
    """The replay beside the run (None without one); closed when the run ends, however it
    ends (a differential replay's Envoys stop then)."""
    if options.side_replay is None:
        yield None
        return
    replay = options.side_replay(options.target, art)
    try:
        yield replay
    finally:
        replay.close()


def _pump(proc: subprocess.Popen[str], stats: Stats, log_path: Path) -> None:
    """Parse a worker's output into ``stats`` and append it to its log, until it ends."""
    assert proc.stdout is not None
    started = time.monotonic()
    first_status: float | None = None
    with open(log_path, "a", buffering=1) as log:  # line by line: `tail -f` follows a run
        for line in proc.stdout:
            log.write(line)
            if stats.feed(line):
                now = time.monotonic()
                first_status = first_status or now
                stats.fuzz_seconds = now - first_status
                stats.record(now - started)  # the time series the campaign report plots
