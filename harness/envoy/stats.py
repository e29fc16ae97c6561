"""Envoy's stat counters as fuzzing feedback (``--feedback stats``) and as a run's figure.

An input read on its own (below: *exact*) has ``CounterWatch.after_input`` read the counters
of the proxy the lane's bootstrap creates - its listener (``listener.127.0.0.1_0.``),
connection manager (``http.config_test.``), codecs (``http1.``, ``http2.``) and cluster
(``cluster.cluster_0.``) - and turns each counter's delta into an extra coverage feature
(``harness.engine.features``: one counter per Envoy counter, hit ``delta`` times, so libFuzzer
sees the (counter, delta bucket) pair). An input that makes Envoy bump
``http1.dropped_headers_with_underscores`` or ``http2.rx_reset`` for the first time is thus
new coverage and kept, though nothing Envoy sent back shows it. Byte counters
(``*_bytes_total``) change on every input and say nothing about behaviour: they are counted
as touched but are no features.

Attribution: the read happens once Envoy has handled the whole case, its closes included
(``EnvoyLane.sync_closes``), so a delta is exactly this input's doing - the counters Envoy
bumps when the client goes away (``downstream_rq_rx_reset``, ``downstream_cx_destroy_*``)
count for the input that left the request open. Two things made that inexact before, both
measured: a client Envoy had announced closing to (``connection: close``) was closed with an
RST, which Envoy does not notice during its delayed close, so ~40 % of the connections lingered
1 s and their closes counted for whatever input ran then (``Downstream.close`` now sends a
FIN); and the barrier's echo comes back before Envoy frees the closed connection (at the end
of that loop iteration), so ``downstream_cx_destroy`` often landed one input late. The read
now checks its own counters (``_closes_done``: every client accepted, every upstream
connection closed) and reads again when they fall short
(``slow_reads``); ``downstream_cx_total``/``_destroy`` move by 1 on every input and are
no features (``_EVERY_INPUT``), so the late ``destroy`` needs no second read.

Batches: a read costs about what a replay does (~250 us of wall time, half of it Envoy's main
thread: ~75 us of that is any admin request's, ``/ready``'s too), so reading after every input
ran the lane at ~0.55x. In a fuzz run with an output corpus to reload (``runner.output_corpus``)
the watch reads once per ``BATCH`` inputs instead, and only the sums are known:

* A batch each of whose counters' sums lands in a hit bucket (libFuzzer's: 1, 2, 3, 4-7, ...)
  that some earlier batch's sum of it landed in is done. Most batches are: a rare counter's
  sum is usually one input's delta, and a common one's has filled its buckets early. Such a
  batch may still hold an input with a new bucket of a known counter, which is what
  ``SAMPLE_EVERY`` is for - every 64th input is read exactly (a read before it closes the
  batch), its features given to libFuzzer as usual.
* A batch with a sum in a new bucket (a counter never moved is one) is replayed, input by
  input, each read on its own (``_confirm``); each input with a new feature is written to
  libFuzzer's output corpus (``_hand_back``) and remembered as pending. libFuzzer reloads
  that dir every second (``-reload``) and runs what it does not have: a pending input is read
  exactly, its features make libFuzzer keep it. (Another worker reloads it too, usually finds the
  new feature in one of its own batches, and hands it back again: the rewrite's new mtime
  makes it reload it.)

The sum's bucket is known after its batch is replayed, whatever the replays found (two
inputs' 1s make a 2 no input made), so each (counter, bucket) replays at most one batch. In a
30 s run each worker read ~2,450 batches and replayed ~80, most early: about one read per 9
inputs (docs/performance.md). What is lost: a new hit bucket of a known counter on an input
that is not sampled, in a batch whose sums show nothing new. A fault on a confirming replay
is handed back, for libFuzzer's own run of the input to reproduce or not
(``harness.envoy.faults``).
``ENVOY_FUZZ_STATS_BATCH=1`` reads every input on its own.

A read is one admin round trip on a kept connection (``GET /stats?usedonly&type=Counters``,
~80 lines; ~40 us of Envoy's time, more in waking its main thread), polled like the lane's
barrier (``SPIN``). Sending it with the closes instead, and trusting it when
``_closes_done`` holds, was measured too: slower on two cores (Envoy's main thread then
races its worker for the CPU, and under load it answers first in ~half the inputs, which
then need a second read anyway).

Every run also counts the distinct counters that changed (``touched``; ``--feedback
visible`` too, from a read every ``VISIBLE_EVERY`` seconds and one at exit), written to
``$ENVOY_FUZZ_STATS_OUT/touched-<pid>.txt`` whenever the set grows, for the launcher's
``envoy_stats_touched``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from harness.config.proxy import CLUSTER, PROXY_STAT_PREFIXES, STAT_PREFIX
from harness.engine import corpus, features
from harness.engine.runner import ENV_STATS_BATCH, ENV_STATS_OUT
from harness.envoy.errors import EnvoyError

if TYPE_CHECKING:
    from harness.envoy.lane import EnvoyLane

_PREFIXES_B: Final = tuple(p.encode() for p in PROXY_STAT_PREFIXES)
_NOT_FEATURES: Final = b"_bytes_total"
# One client per input: these move by exactly 1 on every input, and say nothing. (Envoy bumps
# downstream_cx_destroy when it frees the connection, at the end of the loop iteration that
# echoed the barrier, so a read right after it often misses that 1.)
_EVERY_INPUT: Final = (b".downstream_cx_total", b".downstream_cx_destroy")
# What tells that Envoy has handled a case's closes (CounterWatch._closes_done).
_DOWN_TOTAL: Final = f"http.{STAT_PREFIX}.downstream_cx_total".encode()
_UP_TOTAL: Final = f"cluster.{CLUSTER}.upstream_cx_total".encode()
_UP_DESTROY: Final = f"cluster.{CLUSTER}.upstream_cx_destroy".encode()
VISIBLE_EVERY: Final = 1.0
# Batches (CounterWatch docstring): inputs per read; every how many inputs one is read on its
# own anyway (for new hit buckets of known counters); how long, and how many, handed-back
# inputs wait to be reloaded.
BATCH: Final = 16
SAMPLE_EVERY: Final = 64
PENDING_FOR: Final = 30.0
MAX_PENDING: Final = 64
# Upper bounds of libFuzzer's hit-count buckets (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+).
_BUCKETS: Final = (2, 3, 4, 8, 16, 32, 128, 256)
_REQUEST: Final = b"GET /stats?usedonly&type=Counters HTTP/1.1\r\nHost: envoy-fuzz\r\n\r\n"
_END_CHUNKED: Final = b"\r\n0\r\n\r\n"
_DONTWAIT: Final = socket.MSG_DONTWAIT


def changed_counters(
    text: bytes, lines: set[bytes], values: dict[bytes, int]
) -> tuple[set[bytes], dict[bytes, int]]:
    """The proxy's counters (``PROXY_STAT_PREFIXES``) whose line in Envoy's text ``/stats`` is
    not among ``lines`` (the previous read's), with their deltas against ``values`` (updated
    in place); and this read's lines. Comparing whole lines first keeps a read at ~10 us of
    Python: only the few counters an input moved are parsed."""
    now = set(text.split(b"\n"))
    deltas: dict[bytes, int] = {}
    for line in now - lines:
        name, sep, value = line.partition(b": ")
        if sep and name.startswith(_PREFIXES_B) and value.isdigit():
            number = int(value)
            deltas[name] = number - values.get(name, 0)
            values[name] = number
    return now, deltas


def _dechunk(body: bytes) -> bytes:
    out: list[bytes] = []
    at = 0
    while True:
        end = body.index(b"\r\n", at)
        size = int(body[at:end].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[end + 2 : end + 2 + size])
        at = end + 4 + size


class AdminCounters:
    """Reads the proxy's counters over one kept-alive admin connection."""

    def __init__(self, port: int, timeout: float = 2.0, spin: float = 0.0) -> None:
        self.port = port
        self.timeout = timeout
        self.spin = spin
        self._sock: socket.socket | None = None

    def read(self) -> bytes:
        """Envoy's counters now, as text; raises OSError when Envoy's admin does not answer."""
        for attempt in (0, 1):
            try:
                return self._get()
            except (OSError, ValueError):
                self.close()
                if attempt:
                    raise OSError("envoy admin /stats did not answer") from None
        raise AssertionError("unreachable")

    def _get(self) -> bytes:
        sock = self._sock
        if sock is None:
            sock = self._sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(_REQUEST)
        buf = b""
        while True:
            buf += self._recv(sock)
            head, sep, body = buf.partition(b"\r\n\r\n")
            if not sep:
                continue
            lower = head.lower()
            if b"transfer-encoding: chunked" in lower:
                if body.endswith(_END_CHUNKED) or body.startswith(b"0\r\n\r\n"):
                    return _dechunk(body)
                continue
            marker = lower.find(b"content-length:")
            if marker < 0:
                raise ValueError("admin answer without a length")
            length = int(lower[marker + 15 :].split(b"\r\n", 1)[0])
            if len(body) >= length:
                return body[:length]

    def _recv(self, sock: socket.socket) -> bytes:
        clock = time.perf_counter
        end = clock() + self.spin
        while True:
            try:
                data = sock.recv(1 << 16, _DONTWAIT)
                break
            except BlockingIOError:
                if clock() >= end:
                    data = sock.recv(1 << 16)  # blocking, up to the socket's timeout
                    break
                os.sched_yield()
        if not data:
            raise ConnectionResetError("admin closed the connection")
        return data

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


class CounterWatch:
    """One lane's counters across a run: the per-input features and the touched set."""

    def __init__(
        self,
        per_input: bool,
        out_dir: Path | None = None,
        *,
        batch: int = 1,
        hand_back: Path | None = None,
    ) -> None:
        self.per_input = per_input  # --feedback stats: every input's counters count
        self.out_dir = out_dir
        # Inputs per read (``batch_size``); batches need a dir to hand inputs back through.
        self.batch = batch if hand_back is not None else 1
        self.hand_back = hand_back
        self.touched: set[str] = set()
        self.reads = 0
        self.slow_reads = 0  # inputs whose first read came before Envoy freed a connection
        self.inputs = 0
        self.flushes = 0  # batches read
        self.confirmed = 0  # batches whose inputs were replayed one by one
        self.handed_back = 0  # inputs written to ``hand_back`` for libFuzzer to reload
        self._known: set[tuple[bytes, int]] = set()  # (counter, hit bucket) features seen
        # (counter, hit bucket of a batch's sum) pairs some batch had; a pair no batch had is
        # what gets a batch replayed one by one
        self._known_sums: set[tuple[bytes, int]] = set()
        self._open: list[Any] = []  # the open batch's inputs, not read yet
        self._pending: list[tuple[Any, float]] = []  # handed back, not reloaded yet
        self._exact = False  # this input is read on its own (handed back, or sampled)
        self._lines: set[bytes] | None = None  # the last read's lines (None: no baseline)
        self._values: dict[bytes, int] = {}
        self._reader: AdminCounters | None = None
        self._restarts = -1
        self._next_read = 0.0

    def before_input(
        self, lane: EnvoyLane, case: Any = None, replay: Callable[[Any], object] | None = None
    ) -> None:
        """The baseline, before the run's first input (and after an Envoy restart); in batch
        mode, the open batch is read first when ``case`` is one handed back (it is read on
        its own)."""
        if self._lines is None or lane.restarts != self._restarts:
            self._open.clear()  # a fresh Envoy's counters say nothing of the old batch
            self._read(lane, as_features=False)
        self.inputs += 1
        self._exact = self.batch == 1 or self.inputs % SAMPLE_EVERY == 0 or self._take_pending(case)
        if self._exact and self._open:
            self._flush(lane, replay)

    def after_input(
        self, lane: EnvoyLane, case: Any = None, replay: Callable[[Any], object] | None = None
    ) -> None:
        """Called once the input's replay returned (its closes sent): the counters once Envoy
        has handled the closes too, so that what they bump counts for this input. In batch
        mode most inputs only join the open batch; ``replay`` replays one again (to find
        which input of a batch moved a new counter)."""
        if self.per_input and self._exact:
            self._read_input(lane)
        elif self.per_input:
            self._open.append(case)
            if len(self._open) >= self.batch:
                self._flush(lane, replay)
        elif time.monotonic() >= self._next_read:
            self._next_read = time.monotonic() + VISIBLE_EVERY
            lane.sync_closes()
            self._read(lane, as_features=False)

    def finish(self, lane: EnvoyLane) -> None:
        """The last read (at exit): what changed since the last one counts as touched."""
        if self._lines is not None and lane.process is not None:
            with contextlib.suppress(Exception):  # at exit: Envoy may be gone
                lane.sync_closes()
                self._read(lane, as_features=False)

    def _read_input(self, lane: EnvoyLane) -> None:
        """One input's deltas, as features (see ``_deltas``)."""
        deltas = self._deltas(lane)
        if deltas is not None:
            self._count(deltas, as_features=True)
            self._know(deltas)

    def _deltas(self, lane: EnvoyLane) -> dict[bytes, int] | None:
        """The deltas since the last read (None: no baseline, or Envoy is gone): once Envoy
        has handled the case's closes (the lane's barrier), one read; and, should its own
        counters show that Envoy has not got to all of them (``_closes_done``), a second one
        adds what it missed."""
        reader = self._reader_for(lane)
        if reader is None or self._lines is None:
            self._read(lane, as_features=False)  # no baseline (yet): one now, no features
            return None
        lane.sync_closes()  # a crash or hang in the closes is raised here, on this input
        deltas: dict[bytes, int] = {}
        try:
            self._take(reader.read(), deltas)
            if not self._closes_done(lane):
                self.slow_reads += 1
                lane.sync_closes()
                self._take(reader.read(), deltas)
        except OSError:
            return None  # a dead Envoy is the lane's to find; the next read rebases
        return deltas

    # --- batches ------------------------------------------------------------------------------

    def _flush(self, lane: EnvoyLane, replay: Callable[[Any], object] | None) -> None:
        """Read the open batch's counters together. When a counter's sum lands in a hit
        bucket no batch's sum of it landed in (a counter never moved is one), replay the
        batch's inputs one by one, each read on its own, and hand back each one that brings
        a new feature."""
        batch, self._open = self._open, []
        sums = self._deltas(lane)
        if sums is None:
            return
        self.flushes += 1
        self._count(sums, as_features=False)
        landed = {(n, hit_bucket(sums[n])) for n in _feature_names(sums)}
        if replay is not None and not landed <= self._known_sums:
            self._confirm(lane, batch, replay)
            # Known now, whatever the replays found: a sum that no single input makes (two
            # inputs' 1s, a late close's counter) would have every batch like it replayed.
            self._known_sums |= landed

    def _confirm(self, lane: EnvoyLane, batch: list[Any], replay: Callable[[Any], object]) -> None:
        self.confirmed += 1
        for case in batch:
            try:
                replay(case)
                deltas = self._deltas(lane)
            except EnvoyError:
                # Envoy failed on a replay that passed before: libFuzzer's own run of the
                # input (once reloaded) finds out whether that reproduces.
                self._hand_back(case)
                return
            if deltas is None:
                return
            self._count(deltas, as_features=False)
            if self._know(deltas):
                self._hand_back(case)

    def _know(self, deltas: dict[bytes, int]) -> bool:
        """Add the deltas' features to those seen; whether any was new."""
        found = {(n, hit_bucket(deltas[n])) for n in _feature_names(deltas)}
        if found <= self._known:
            return False
        self._known |= found
        return True

    def _hand_back(self, case: Any) -> None:
        """Write ``case`` into libFuzzer's output corpus, which libFuzzer reloads (``-reload``,
        every second): its run of the input is read on its own and kept for its features.
        Rewritten when there already (another worker's find): the new mtime makes this
        worker's libFuzzer reload it too."""
        assert self.hand_back is not None
        data = corpus.to_text(case)
        with contextlib.suppress(OSError):
            corpus.write_atomic(self.hand_back / corpus.sha1(data), data)
            self.handed_back += 1
            self._pending.append((case, time.monotonic() + PENDING_FOR))
            del self._pending[:-MAX_PENDING]

    def _take_pending(self, case: Any) -> bool:
        """Whether ``case`` is one handed back (then no longer pending); drops expired ones."""
        if not self._pending:
            return False
        now = time.monotonic()
        while self._pending and self._pending[0][1] <= now:  # oldest first: appended in order
            del self._pending[0]
        for i, (pending, _) in enumerate(self._pending):
            if pending == case:
                del self._pending[i]
                return True
        return False

    def _closes_done(self, lane: EnvoyLane) -> bool:
        """Whether the read just taken shows Envoy done with the case's connections: every
        client the lane connected accepted (``downstream_cx_total``) and every upstream
        connection closed. The case's own client may not be freed yet (``_EVERY_INPUT``:
        its close counters are bumped before the barrier echoes, its ``downstream_cx_destroy``
        after); nor may an HTTP/2 client Envoy sent GOAWAY to, which lingers for Envoy's 1 s
        delayed close (only HTTP/1 clients get the FIN that ends it, ``Downstream.close``)."""
        value = self._values.get
        accepted = value(_DOWN_TOTAL, 0) == lane.downstream_connects
        return accepted and value(_UP_TOTAL, 0) == value(_UP_DESTROY, 0)

    def _reader_for(self, lane: EnvoyLane) -> AdminCounters | None:
        process = lane.process
        if process is None or not process.admin_port:
            return None
        if lane.restarts != self._restarts or self._reader is None:
            if self._reader is not None:
                self._reader.close()
            self._reader = AdminCounters(process.admin_port, spin=lane.spin)
            if lane.restarts != self._restarts:  # a fresh Envoy counts from zero: rebase
                self._lines, self._values = None, {}
            self._restarts = lane.restarts
        return self._reader

    def _take(self, text: bytes, deltas: dict[bytes, int]) -> None:
        """Take one read's counters: their deltas added to ``deltas``."""
        self.reads += 1
        self._lines, moved = changed_counters(text, self._lines or set(), self._values)
        for name, delta in moved.items():
            deltas[name] = deltas.get(name, 0) + delta

    def _read(self, lane: EnvoyLane, *, as_features: bool) -> None:
        reader = self._reader_for(lane)
        if reader is None:
            return
        try:
            text = reader.read()
        except OSError:
            return  # a dead Envoy is the lane's to find; the next read rebases
        baseline = self._lines is None
        deltas: dict[bytes, int] = {}
        self._take(text, deltas)
        if not baseline:
            self._count(deltas, as_features=as_features)

    def _count(self, deltas: dict[bytes, int], *, as_features: bool) -> None:
        grew = False
        for name, delta in deltas.items():
            if delta <= 0:
                continue
            if as_features and _is_feature(name):
                features.hit(name, delta)
            label = name.decode()
            if label not in self.touched:
                self.touched.add(label)
                grew = True
        if grew:
            self._write()

    def _write(self) -> None:
        if self.out_dir is None:
            return
        with contextlib.suppress(OSError):
            text = "".join(f"{n}\n" for n in sorted(self.touched)).encode()
            corpus.write_atomic(self.out_dir / f"touched-{os.getpid()}.txt", text)


def _is_feature(name: bytes) -> bool:
    return _NOT_FEATURES not in name and not name.endswith(_EVERY_INPUT)


def _feature_names(deltas: dict[bytes, int]) -> list[bytes]:
    return [n for n, d in deltas.items() if d > 0 and _is_feature(n)]


def hit_bucket(times: int) -> int:
    """libFuzzer's bucket of a counter hit ``times`` times (``harness.engine.features``)."""
    for bound in _BUCKETS:
        if times < bound:
            return bound
    return _BUCKETS[-1]


def batch_size() -> int:
    """Inputs per read under ``--feedback stats`` (``ENV_STATS_BATCH``; 1: every input read
    on its own)."""
    try:
        return max(1, int(os.environ.get(ENV_STATS_BATCH, BATCH)))
    except ValueError:
        return BATCH


def out_dir_from_env() -> Path | None:
    value = os.environ.get(ENV_STATS_OUT)
    return Path(value) if value else None
