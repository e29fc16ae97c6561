"""The real-Envoy lane: one Envoy + one fake upstream serving many inputs.

``observe(data)`` sends ``data`` on a fresh downstream connection and returns what Envoy
visibly did. It waits as little as it can, with no fixed sleeps: a plainly framed HTTP/1 input
(see ``count_simple_requests``) is done as soon as its answers arrived; an answer announcing a
close ends it too; otherwise, after each ``quiet`` period without bytes, Envoy's own stats
(bytes read and written on each side, open streams, pending upstream connects) tell whether
Envoy is done or still busy - so a loaded machine slows the lane down but does not change
what it observes.

``replay_capture(case)`` plays a ``test.integration.CaptureFuzzTestCase`` with the semantics of
Envoy's h1_fuzz.cc, ``replay_h2_capture(case)`` a ``test.integration.H2CaptureFuzzTestCase``
with those of h2_fuzz.cc: a fresh raw client, events in order, stop once the client is
disconnected, ``*_recv_bytes`` are no-ops; over HTTP/2 the 24-byte preface goes before the
first downstream event only (no SETTINGS added) and an event's frames are built by
``h2_capture_event_bytes``. The first upstream event waits for Envoy's upstream connection
and ends the case if none comes; an upstream connection Envoy closed ends it too;
``direct=True`` ignores upstream events. At the end the upstream connection is closed (FIN),
then the client.

The barrier (see ``harness.envoy.connection``): an echo listener on Envoy's worker; a byte
sent to it comes back once the worker has handled everything sent before it. Uses:

* Envoy's 10 ms wait for an upstream connection becomes "sync with the worker, then look":
  Envoy opens its upstream connection (a non-blocking connect that loopback completes at once)
  while handling the bytes that make it route a request, so after the barrier either the
  connection is in the accept backlog or Envoy will not open one - only new input could make
  it (no timer opens connections in this config). The answer is Envoy's timed wait's,
  without waiting 10 ms for a connection that never comes (tests compare both on mutated
  cases). The lane waits for whichever comes first, the connection or the echo: a connection
  that arrives is the answer, and the scripted bytes go at once, as Envoy's fixture writes
  them once its fake upstream accepted (the echo is collected before the next barrier goes);
  when nothing was written since a barrier came back (a case that starts with an upstream
  event), the answer is already known, without a new barrier. Over 256 KiB of downstream
  bytes (Envoy may read them over several loop iterations), or with
  ``upstream_wait_mode="timed"``, the lane waits up to 10 ms as Envoy.
* ``finish`` says how much of a case Envoy has handled when a replay returns. ``"sync"`` (the
  default): all of it, the closes included. ``"input"`` (the fuzz plane): every byte of the
  case - a crash on the input is raised by this call, and the statuses read then are every
  answer Envoy gave to those bytes (one that an upstream response sets off, such as a resumed
  pipelined request's, may still be on its way - as may, in the timed mode, the answer to a
  scripted response written while Envoy was still setting its connection up); the closes
  are synced when the next input starts, so Envoy handles them while the engine mutates: a
  crash there is blamed on this case (``EnvoyCrash.data``) but raised by the next call.
  ``"async"``: no wait at all.

Deviations from Envoy's fixture, each for speed and each inside the timing Envoy's own
fixture allows:

* A run of consecutive events of one side (no-op events between them aside) is written with
  one send, after one "still connected?" check. Envoy's fixture writes them back to back
  without waiting (its check in between sees a close only if Envoy closed on earlier bytes
  within microseconds), and Envoy reads such writes in one go either way.
* The client connects at the end of the previous case (Envoy sees a client that connects,
  then sends a moment later) and closes with RST (SO_LINGER 0), not FIN, so that thousands of
  cases a second do not leave as many sockets in TIME_WAIT - except where Envoy announced
  its close (``connection: close``): Envoy misses an RST during its delayed close, so such a
  client gets Envoy's FIN after an unread byte (``Downstream.close``).

Envoy dying or hanging raises ``EnvoyCrash`` / ``EnvoyHang`` carrying the input, after the lane
restarted Envoy, so the next input runs normally. Whether Envoy still runs is checked when an
input starts (a death since the last one is blamed on that one) and when a wait for Envoy
fails; a replay's final barrier coming back vouches for the rest of that input.

Cost. A case of the fuzz plane is a few system calls per event run plus one to three barrier
round trips, and Envoy's own work; a wait for Envoy polls for up to ``spin`` seconds before it
sleeps (``SPIN``), since waking a sleeping waiter costs about as much as Envoy's answer where
the other CPU has to be woken (VMs). ``launch`` starts Envoy without waiting for it, so that a
caller can prepare other things during Envoy's ~0.1 s start-up.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import time
from typing import Any, Literal

from harness.codec.http2 import PREFACE as H2_PREFACE
from harness.codec.http2 import client_request_ids
from harness.config.proxy import (
    CLUSTER,
    PROXY_STAT_PREFIXES,
    STAT_PREFIX,
    ProxyConfig,
    render_bootstrap,
)
from harness.envoy.capture import DOWN, h1_runs, h2_runs
from harness.envoy.connection import (
    BARRIER_LISTENER,
    LINGER_ZERO,
    Barrier,
    Downstream,
    barrier_listener,
)
from harness.envoy.downstream import H1Responses, count_simple_requests
from harness.envoy.errors import EnvoyCrash, EnvoyHang
from harness.envoy.process import EnvoyProcess
from harness.envoy.upstream import FakeUpstream, UpstreamConnection
from harness.observation import Observation, UpstreamRequest, without_generated_ids

_RQ_ACTIVE = f"http.{STAT_PREFIX}.downstream_rq_active"
_UPSTREAM_ACTIVE = f"cluster.{CLUSTER}.upstream_rq_active"
_UPSTREAM_PENDING = f"cluster.{CLUSTER}.upstream_rq_pending_active"
_DOWN_RX = f"http.{STAT_PREFIX}.downstream_cx_rx_bytes_total"
_UP_RX = f"cluster.{CLUSTER}.upstream_cx_rx_bytes_total"
_UP_TX = f"cluster.{CLUSTER}.upstream_cx_tx_bytes_total"
_UPSTREAM_CX_ACTIVE = f"cluster.{CLUSTER}.upstream_cx_active"
_SETTLE_STATS = (_RQ_ACTIVE, _UPSTREAM_ACTIVE, _UPSTREAM_PENDING, _DOWN_RX, _UP_RX, _UP_TX)

# Envoy's h1_fuzz.cc / h2_fuzz.cc wait max_wait_ms_ = 10 ms for the upstream connection.
ENVOY_UPSTREAM_WAIT = 0.010
# Seconds an unresponsive Envoy gets to finish dying before it counts as hung.
DYING_GRACE = 1.0
# How long a wait for Envoy polls before it sleeps. Envoy answers the lane in 0.05-0.3 ms;
# a sleeping waiter adds a wake-up to each answer, which costs up to ~0.1 ms where waking
# the other CPU is dear (VMs). Polling yields the CPU to anything runnable on it.
SPIN = 0.00025
# Below Envoy's 1 MiB per-connection read limit with room to spare: bytes up to this size
# are read by the worker in one go, so the barrier orders after all of them.
_BARRIER_MAX_BYTES = 256 * 1024

UpstreamWaitMode = Literal["barrier", "timed"]
Finish = Literal["sync", "input", "async"]


def lane_bootstrap(config: ProxyConfig, upstream_port: int) -> dict[str, Any]:
    """The proxy's bootstrap (ephemeral ports) plus the lane's barrier listener. Envoy keeps
    only the proxy's own stats (``PROXY_STAT_PREFIXES``): the lane reads nothing else, and
    ``--feedback stats`` reads them after every input, where Envoy's admin walks every stat
    it has (~420 without the matcher, ~230 with it; 93 -> 80 us of Envoy's CPU a read)."""
    bootstrap = render_bootstrap(config, 0, upstream_port, 0)
    bootstrap["static_resources"]["listeners"].append(barrier_listener())
    patterns = [{"prefix": prefix} for prefix in PROXY_STAT_PREFIXES]
    bootstrap["stats_config"] = {"stats_matcher": {"inclusion_list": {"patterns": patterns}}}
    return bootstrap


class _Exchange:
    """One input in flight: the connections and what has been written on each."""

    __slots__ = (
        "answering", "base", "blame", "conn", "down", "received_base", "sent_down", "sent_up",
        "upstream", "written",
    )  # fmt: skip

    def __init__(
        self,
        down: Downstream,
        upstream: FakeUpstream,
        answering: bool,
        blame: object,
        base: dict[str, int] | None,
    ) -> None:
        self.down = down
        self.upstream = upstream
        self.answering = answering  # ok mode: the upstream answers every request
        self.blame = blame
        self.base = base  # Envoy's byte counters before the input (None: not taken)
        self.received_base = upstream.received_total
        self.conn: UpstreamConnection | None = None  # raw mode: the scripted connection
        self.sent_down = 0
        self.sent_up = 0
        self.written: list[bytes] = []  # the downstream runs written


class EnvoyLane:
    """Owns one Envoy and one fake upstream for many inputs (use as a context manager)."""

    def __init__(
        self,
        config: ProxyConfig | None = None,
        *,
        quiet: float = 0.003,
        max_wait: float = 1.0,
        upstream_wait: float = ENVOY_UPSTREAM_WAIT,
        upstream_wait_mode: UpstreamWaitMode = "barrier",
        finish: Finish = "sync",
        spin: float = SPIN,
    ) -> None:
        self.config = config or ProxyConfig()
        self.quiet = quiet  # silence that ends an exchange Envoy may still be part-way through
        self.max_wait = max_wait  # longest wait for an answer Envoy owes us
        self.upstream_wait = upstream_wait
        self.upstream_wait_mode = upstream_wait_mode
        self.finish = finish  # what Envoy has handled when a replay returns (docstring)
        self.spin = spin  # polling before a wait for Envoy sleeps (SPIN)
        self.upstream: FakeUpstream | None = None
        self.process: EnvoyProcess | None = None
        self.restarts = 0
        self._barrier: Barrier | None = None
        self._raw_left = False  # a replay's upstream connections wait to be closed
        # A replay's closes were sent and no barrier came back since; whether one was posted
        # right after them.
        self._closes_unsynced = False
        self._closes_posted = False
        self._spare: socket.socket | None = None  # the next input's client, connected early
        self._spare_accepted = False  # a barrier after its connect came back: Envoy has it
        # Client connections made to this Envoy's proxy listener (what its downstream_cx_total
        # reaches once it accepted them all; harness.envoy.stats).
        self.downstream_connects = 0
        # A barrier came back after everything written to Envoy (bytes, connects, closes):
        # Envoy has handled all of it, and was alive then.
        self._synced = False
        self._race: Any = None  # a poll object on the upstream listener and the barrier
        self.upstream_connected = False  # the last replay got Envoy's upstream connection
        self._last: object = b""  # the previous input, blamed when Envoy is found dead later

    # --- lifecycle ---------------------------------------------------------------------------

    def launch(self) -> None:
        """Start Envoy without waiting for it: the fake upstream is listening and Envoy's
        process spawned. ``start`` (or the first input) waits for it to be ready, so the
        caller can do other work (imports, instrumentation) while Envoy initializes.
        Call it from a thread that lives as long as the lane (see ``harness.envoy.process``)."""
        if self.process is not None:
            return
        self.upstream = FakeUpstream(self.config.upstream)
        self.process = EnvoyProcess(lane_bootstrap(self.config, self.upstream.port))
        try:
            self.process.spawn()
        except BaseException:
            self.stop()
            raise

    def start(self) -> None:
        """Launch Envoy unless ``launch`` did, and wait until it serves (blocking)."""
        if self._barrier is not None:
            return
        self.launch()
        assert self.process is not None
        try:
            self.process.start()  # waits for the process spawned above
            port = self.process.listener_ports[BARRIER_LISTENER]
            self._barrier = Barrier(port, self.max_wait, self.spin)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._close_spare()
        self._race = None
        if self._barrier is not None:
            self._barrier.close()
            self._barrier = None
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.upstream is not None:
            self.upstream.stop()
            self.upstream = None
        self._raw_left = False
        self._closes_unsynced = False
        self._synced = False
        self._spare_accepted = False
        self.downstream_connects = 0

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    def __enter__(self) -> EnvoyLane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sync_closes(self) -> None:
        """Wait until Envoy has handled the previous replay's closes (``finish="input"``
        leaves them to the next input); a crash there is raised here, blamed on that replay."""
        self._quiesce()

    @property
    def spare_open(self) -> bool:
        """The next input's client is connected already (see ``_open_spare``)."""
        return self._spare is not None

    def drain_upstream(self) -> None:
        """Close every upstream connection Envoy holds (pooled ones too) and wait until
        Envoy has closed its side of each and has none left (connections still being set up
        for requests an earlier input cancelled arrive late: they are drained too)."""
        self._quiesce()
        upstream = self._up()
        deadline = time.monotonic() + self.max_wait
        while True:
            upstream.drain()
            try:
                active = self._proc().gauges((_UPSTREAM_CX_ACTIVE,)).get(_UPSTREAM_CX_ACTIVE, 0)
            except OSError:
                return  # a dead Envoy is found by the next input
            if active == 0 or time.monotonic() >= deadline:
                return
            upstream.pump(0.005)

    def stats(self) -> dict[str, int]:
        self._quiesce()
        return self._proc().stats()

    def _proc(self) -> EnvoyProcess:
        """The running Envoy, started (or waited for, after ``launch``) on first use."""
        if self._barrier is None:
            self.start()
        assert self.process is not None
        return self.process

    def _up(self) -> FakeUpstream:
        self._proc()
        assert self.upstream is not None
        return self.upstream

    # --- failure detection -------------------------------------------------------------------

    def _check_alive(self, blame: object) -> None:
        """Raise EnvoyCrash (after restarting) if Envoy exited; ``blame`` is the input at fault."""
        proc = self._proc()
        exited = proc.exited()
        if exited is not None:
            self.restart()
            raise EnvoyCrash(
                f"{exited.describe()}\n{exited.log_tail[-2000:]}",
                blame,
                returncode=exited.returncode,
            )

    def _check_responsive(self, blame: object) -> None:
        """After a wait ran out: a crash, or a hang when the admin (main thread) or the
        listener (worker thread) no longer answers."""
        self._check_alive(blame)
        proc = self._proc()
        if not proc.is_ready(timeout=self.max_wait):
            what = "admin /ready timed out"
        elif not self._worker_answers():
            what = "the worker no longer answers on the listener"
        else:
            return
        # An aborting Envoy stops answering while its crash handler writes the backtrace:
        # give it a moment to exit, so a crash is not reported as a hang.
        deadline = time.monotonic() + DYING_GRACE
        while proc.exited() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        self._check_alive(blame)
        self.restart()
        raise EnvoyHang(f"envoy stopped answering ({what})", blame)

    def _worker_answers(self) -> bool:
        """A request the worker answers itself (no host: 400), so no upstream is involved."""
        self._synced = False
        try:
            probe = socket.create_connection(("127.0.0.1", self._proc().listener_port), 1.0)
        except OSError:
            return False
        self.downstream_connects += 1
        try:
            probe.settimeout(self.max_wait)
            # Over HTTP/2-only listeners any bytes back (SETTINGS, GOAWAY) or a close will do.
            probe.sendall(
                b"GET / HTTP/1.1\r\n\r\n" if self.config.downstream != "http2" else H2_PREFACE
            )
            probe.recv(1)  # bytes or b"" (closed): the worker handled the connection
            return True
        except OSError:  # timed out (or reset)
            return False
        finally:
            probe.close()

    def _sync(self, blame: object, post: bool = True, timed_out: bool = False) -> None:
        """Return once Envoy's worker has handled everything sent to it so far.

        ``post=False``: a barrier byte posted after the last write is pending already, only
        its echo is waited for; ``timed_out``: a wait for it ran out already. Otherwise the
        bytes still in flight are waited for before a new one is posted.
        A dead Envoy raises EnvoyCrash and a stuck one EnvoyHang (both blaming ``blame``).
        """
        for _attempt in (0, 1):
            barrier = self._barrier
            if barrier is None:
                self._proc()
                barrier = self._barrier
                assert barrier is not None
            if timed_out:
                result, timed_out = "timeout", False
            else:
                result = "ok"
                if post and barrier.pending:
                    result = barrier.wait(self.max_wait)  # one byte in flight at a time
                if result == "ok" and post and not barrier.post():
                    result = "broken"
                elif result == "ok":
                    result = barrier.wait(self.max_wait)
            if result == "ok":
                self._synced = True
                self._closes_unsynced = False
                self._spare_accepted = self._spare is not None
                return
            self._check_alive(blame)  # raises when Envoy died
            if result == "timeout":
                self._check_responsive(blame)  # raises when Envoy hangs
            # Envoy is fine but the barrier connection is not: sync again on a new one.
            barrier.close()
            self._race = None
            port = self._proc().listener_ports[BARRIER_LISTENER]
            try:
                self._barrier = Barrier(port, self.max_wait, self.spin)
            except OSError:
                break
            post = True
        self.restart()
        raise EnvoyHang("envoy does not echo on its barrier listener", blame)

    def _quiesce(self) -> None:
        """Finish what the previous input left: its barrier, its upstream connections."""
        if self._closes_unsynced:  # the barrier is posted after them, normally
            self._sync(self._last, post=not self._closes_posted)
        if self._raw_left:
            self._raw_left = False
            upstream = self._up()
            upstream.close_all()  # Envoy has handled their FIN: no need to read its answer
            upstream.sync()  # accept what Envoy opened late, so it is closed too
            if upstream.connection_count():
                upstream.close_all()

    def _connect(self, http2: bool, blame: object, accepted: bool = False) -> Downstream:
        """A client connection to Envoy's listener; ``accepted``: only once Envoy's worker
        has accepted it (so that bytes sent on it are ordered before a later barrier)."""
        # Envoy may have died since the last input returned (a barrier that came back then
        # vouches for no more): blamed on that input.
        self._check_alive(self._last)
        upstream = self._up()
        if accepted and self._spare is None:
            self._open_spare()
        if accepted and self._spare is not None and not self._spare_accepted:
            self._sync(self._last)
        sock, self._spare = self._spare, None
        if sock is not None:
            return Downstream(sock, http2, self.max_wait, upstream)
        try:
            sock = Downstream.connect(self._proc().listener_port, self.max_wait)
        except OSError:
            self._check_responsive(blame)
            try:
                sock = Downstream.connect(self._proc().listener_port, self.max_wait)
            except OSError as e:  # alive and ready, yet refusing connections
                self.restart()
                raise EnvoyHang(f"envoy refused the downstream connection: {e}", blame) from None
        self.downstream_connects += 1
        return Downstream(sock, http2, self.max_wait, upstream)

    def _open_spare(self) -> None:
        """Connect the next input's client now, so Envoy accepts it while the engine mutates
        (Envoy sees a client that connects, then sends its bytes a moment later)."""
        if self._spare is None and self.process is not None and self._barrier is not None:
            with contextlib.suppress(OSError):
                self._spare = Downstream.connect(self.process.listener_port, self.max_wait)
                self._spare_accepted = False
                self.downstream_connects += 1

    def _close_spare(self) -> None:
        if self._spare is not None:
            with contextlib.suppress(OSError):
                self._spare.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
            self._spare.close()
            self._spare = None

    def _begin(self, mode: str) -> FakeUpstream:
        """Start an input: the previous one finished; the upstream in ``mode``, emptied.
        Switching mode closes pooled connections of the old mode first."""
        self._quiesce()
        upstream = self._up()
        if upstream.mode != mode:
            upstream.drain()
            upstream.mode = "raw" if mode == "raw" else "ok"
        upstream.clear()
        return upstream

    # --- observe -----------------------------------------------------------------------------

    def observe(self, data: bytes) -> Observation:
        """Send ``data`` on a fresh connection; what Envoy answered and sent upstream."""
        upstream = self._begin("ok")
        http2 = self.config.speaks_http2(data)
        expected = None if http2 else count_simple_requests(data)
        down = self._connect(http2, data)
        self._synced = False  # observe syncs no barrier
        try:
            # Only inputs that may need the settle path pay for a stats baseline (~0.7 ms).
            base = None if expected is not None else self._base()
            ex = _Exchange(down, upstream, True, data, base)
            ex.sent_down = len(data) if down.send(data) else 0
            if expected is None or not self._await_answers(ex, expected):
                self._settle(ex)
            self._check_alive(data)
            requests = _normalised(upstream.requests(by_content=http2), data, http2)
            return Observation(list(down.statuses), requests, down.envoy_closed)
        finally:
            down.close()
            self._last = data

    def _await_answers(self, ex: _Exchange, expected: int) -> bool:
        """Wait for the ``expected`` answers; True when the exchange is settled by them.

        A wait that runs out while Envoy owes an answer checks Envoy for a hang.
        """
        down = ex.down
        parser = down.parser
        assert isinstance(parser, H1Responses)
        while not down.closed and not parser.broken:
            if not parser.partial and (parser.close_announced or parser.complete >= expected):
                return parser.close_announced or ex.upstream.idle()
            if not down.read(self.max_wait) and not down.closed:
                self._check_responsive(ex.blame)
                return False
        return down.closed

    def _base(self) -> dict[str, int] | None:
        try:
            return self._proc().gauges(_SETTLE_STATS)
        except OSError:
            return None  # settle without it; a dead Envoy is found by the checks after

    def _settle(self, ex: _Exchange) -> None:
        """Read until Envoy closed, announced its close, or is quiet with nothing in flight.

        After each ``quiet`` period without bytes, Envoy's stats decide (``_settled``). After
        announcing a close (``connection: close``, GOAWAY) Envoy sends nothing more but may
        hold the socket for its 1 s delayed-close timer: that is not waited for. Before
        returning, the upstream side catches up with what Envoy already sent it.
        """
        try:
            self._settle_downstream(ex)
        finally:
            ex.upstream.sync()

    def _settle_downstream(self, ex: _Exchange) -> None:
        down = ex.down
        parser = down.parser
        deadline = time.monotonic() + self.max_wait
        previous: dict[str, int] | None = None
        while True:
            if isinstance(parser, H1Responses):
                if parser.close_announced and not parser.partial:
                    return
            elif parser.goaway:
                return
            if down.read(self.quiet):
                continue
            if down.closed:
                return
            try:
                now = self._proc().gauges(_SETTLE_STATS)
            except OSError:
                self._check_responsive(ex.blame)
                return
            ex.upstream.sync()
            now["upstream.received"] = ex.upstream.received_total
            if self._settled(ex, now, previous):
                # What Envoy wrote while the stats were fetched is in our socket already.
                received = down.received
                if not down.poll_closed() and down.received == received:
                    return
            previous = now
            if time.monotonic() >= deadline:
                self._check_responsive(ex.blame)
                return

    @staticmethod
    def _settled(ex: _Exchange, now: dict[str, int], previous: dict[str, int] | None) -> bool:
        """Envoy is done with what it was given, from its stats and ours.

        Not while a side has not read what the other wrote (Envoy busy: a loaded machine),
        Envoy connects upstream, or an upstream answer has not come down yet. Then settled
        when no stream is open, or - since Envoy may wait on the client or on a scripted
        upstream forever - when nothing moved over a quiet period.
        """
        active = now.get(_RQ_ACTIVE, 0)
        base = ex.base
        if base is not None:

            def delta(name: str) -> int:
                return now.get(name, 0) - base.get(name, 0)

            if active == 0 and delta(_DOWN_RX) < ex.sent_down:
                return False  # nothing open, yet input unread: Envoy has not got to it
            conn = ex.conn
            if conn is not None and not conn.closed and delta(_UP_RX) < ex.sent_up:
                return False
            if now["upstream.received"] - ex.received_base < delta(_UP_TX):
                return False
        if ex.answering:
            answered = ex.upstream.complete_count()
            if sum(s >= 200 for s in ex.down.statuses) < answered:
                return False  # an upstream answer is still on its way downstream
        if active == 0:
            return base is not None or now == previous
        if now.get(_UPSTREAM_PENDING, 0) > 0:
            return False  # still connecting upstream
        if ex.answering and now.get(_UPSTREAM_ACTIVE, 0) > ex.upstream.partial_count():
            return False  # a complete request is with the upstream
        return now == previous

    # --- capture replay ----------------------------------------------------------------------

    def replay_capture(self, case: Any, direct: bool = False, settle: bool = True) -> Observation:
        """Play a CaptureFuzzTestCase as Envoy's h1_fuzz.cc replay does; what Envoy did.

        ``settle=False`` returns right after the last event, as Envoy's fuzzer does (the
        statuses then hold only what had already arrived).
        """
        return self._replay(case, h1_runs(case, direct), False, settle)

    def replay_h2_capture(
        self, case: Any, direct: bool = False, settle: bool = True
    ) -> Observation:
        """Play an H2CaptureFuzzTestCase as Envoy's h2_fuzz.cc replay does; what Envoy did."""
        return self._replay(case, h2_runs(case, direct), True, settle)

    def _replay(
        self, case: Any, runs: list[tuple[str, bytes]], http2: bool, settle: bool
    ) -> Observation:
        # The runs are built before this waits for Envoy to finish the previous input.
        upstream = self._begin("raw")
        down = self._connect(http2, case, accepted=True)
        try:
            ex = _Exchange(down, upstream, False, case, self._base() if settle else None)
            self.upstream_connected = False
            self._play(ex, runs)
            self.upstream_connected = ex.conn is not None
            if settle:
                self._settle(ex)
                self._check_alive(case)
            else:
                if self.finish != "async" and not self._synced:
                    # The next input's client connects now, so that this barrier vouches for
                    # its accept too (a stats read after the closes need not wait for it).
                    self._open_spare()
                    self._sync(case)  # Envoy has handled every byte: all its answers are in
                down.poll_closed()
                upstream.sync()
                if not self._synced:  # else the barrier vouched that Envoy lived through it
                    self._check_alive(case)
            requests = _normalised(upstream.requests(by_content=http2), b"".join(ex.written), http2)
            return Observation(list(down.statuses), requests, down.envoy_closed)
        finally:
            self._end_replay(down, case)

    def _play(self, ex: _Exchange, runs: list[tuple[str, bytes]]) -> None:
        """Write the runs of events (see ``h1_runs``) until the case ends.

        Each run is written with one send, after one check that the client (and for upstream
        bytes, Envoy's upstream connection) is still connected; see the module docstring.
        """
        write = self._write
        for side, data in runs:
            if not write(ex, side, data):
                return

    def _write(self, ex: _Exchange, side: str, data: bytes) -> bool:
        """Write one run of events; False when the case ends here."""
        down = ex.down
        if down.poll_closed():
            return False  # the client is disconnected: no further events
        if side is DOWN:
            if data:
                self._synced = False
                if not down.send(data):
                    return False
            ex.sent_down += len(data)
            ex.written.append(data)
            return True
        conn = ex.conn
        if conn is None:
            conn = ex.conn = self._await_upstream(ex)
            if conn is None:
                return False  # Envoy did not connect upstream: the case ends
        else:
            ex.upstream.pump(0)  # learn whether Envoy closed it
        if conn.closed:
            return False
        if data:
            self._synced = False
            if not conn.send(data):
                return False
        ex.sent_up += len(data)
        return True

    def _await_upstream(self, ex: _Exchange) -> UpstreamConnection | None:
        """Envoy's upstream connection for this case, or None when Envoy will not open one
        within Envoy's ``upstream_wait`` (see the module docstring: the barrier)."""
        upstream = ex.upstream
        conn = upstream.take_connection()
        if conn is not None:
            return conn
        if self.upstream_wait_mode == "barrier" and ex.sent_down <= _BARRIER_MAX_BYTES:
            if self._synced:
                return None  # nothing was written since a barrier came back: none will come
            conn, state = self._race_barrier(upstream)
            if conn is not None:
                return conn
            self._sync(ex.blame, post=state == "unposted", timed_out=state == "timeout")
            return upstream.take_connection()
        return upstream.wait_connection(self.upstream_wait)

    def _race_barrier(
        self, upstream: FakeUpstream
    ) -> tuple[UpstreamConnection | None, Literal["posted", "unposted", "timeout"]]:
        """Post a barrier and wait for its echo or Envoy's upstream connection, whichever
        comes first: a connection needs no barrier (its echo is taken by the next wait).
        Returns the connection if it came, and the barrier's state: posted (and maybe back),
        unposted (the barrier is broken) or timeout (posted, and no echo within max_wait)."""
        barrier = self._barrier
        if barrier is None or barrier.pending or not barrier.post():
            return None, "unposted"
        race = self._race
        if race is None:
            race = self._race = select.poll()
            race.register(upstream.listen_fd, select.POLLIN)
            race.register(barrier.sock.fileno(), select.POLLIN)
        listen_fd = upstream.listen_fd
        deadline = time.monotonic() + self.max_wait
        ready = race.poll(0)
        if not ready and self.spin > 0:
            clock = time.perf_counter
            end = clock() + self.spin
            while not ready and clock() < end:
                os.sched_yield()
                ready = race.poll(0)
        while True:
            if any(fd == listen_fd for fd, _ in ready):
                conn = upstream.take_connection()
                if conn is not None:
                    return conn, "posted"
            if ready:
                return None, "posted"  # the echo is back (or the barrier broke): sync
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, "timeout"
            ready = race.poll(remaining * 1000)

    def _end_replay(self, down: Downstream, case: Any) -> None:
        """Envoy's cleanup: upstream connections closed (FIN), then the client (RST, or a
        FIN where Envoy announced its close: ``Downstream.close``). The next input's client
        connects first, so that Envoy accepts it while it gets to the closes; then the
        barrier goes: its echo, waited for now (``finish="sync"``) or when the next input
        starts, tells that Envoy handled the closes and accepted the new client."""
        self._open_spare()
        upstream = self.upstream
        if upstream is not None:
            for conn in upstream.connections():
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_WR)
            self._raw_left = True  # closed once Envoy has handled the FIN (and any late one)
        down.close()
        self._last = case
        self._synced = False  # the closes are news to Envoy
        self._closes_unsynced = True
        barrier = self._barrier
        # Else (a byte still in flight, or a broken barrier) the next sync posts one.
        self._closes_posted = barrier is not None and not barrier.pending and barrier.post()
        if self.finish == "sync":
            self._quiesce()


def _normalised(requests: list[UpstreamRequest], sent: bytes, http2: bool) -> list[UpstreamRequest]:
    """``requests`` with Envoy's generated x-request-ids as ``GENERATED_ID``."""
    if not requests:
        return requests
    ids = client_request_ids(sent) if http2 else None
    return without_generated_ids(requests, sent, http2, ids)
