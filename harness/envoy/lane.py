"""The real-Envoy lane: one Envoy + one fake upstream serving many inputs.

``observe(data)`` sends ``data`` on a fresh downstream connection and returns what Envoy
visibly did. It waits as little as it can, with no fixed sleeps: a plainly framed HTTP/1 input
(see ``count_simple_requests``) is done as soon as its answers arrived; an answer announcing a
close ends it too; otherwise, after each ``quiet`` period without bytes, Envoy's own stats
(bytes read and written on each side, open streams, pending upstream connects) tell whether
Envoy is done or still busy - so a loaded machine slows the lane down but does not change
what it observes.

``replay_capture(case)`` plays a ``test.integration.CaptureFuzzTestCase`` with the semantics of
Envoy's h1_fuzz.cc (events in order, stop once downstream is closed, ``*_recv_bytes`` are
no-ops, the first upstream event waits ``upstream_wait`` for Envoy's upstream connection and
ends the case if none comes; ``direct=True`` ignores upstream events).

Envoy dying or hanging raises ``EnvoyCrash`` / ``EnvoyHang`` carrying the input, after the lane
restarted Envoy, so the next input runs normally.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import time
from typing import Any

from harness.config.proxy import CLUSTER, STAT_PREFIX, ProxyConfig, render_bootstrap
from harness.envoy.downstream import H1Responses, H2Responses, count_simple_requests
from harness.envoy.errors import EnvoyCrash, EnvoyHang
from harness.envoy.process import EnvoyProcess
from harness.envoy.upstream import FakeUpstream, UpstreamConnection
from harness.observation import GENERATED_ID, Observation, UpstreamRequest

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_LINGER_ZERO = struct.pack("ii", 1, 0)
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

_RQ_ACTIVE = f"http.{STAT_PREFIX}.downstream_rq_active"
_UPSTREAM_ACTIVE = f"cluster.{CLUSTER}.upstream_rq_active"
_UPSTREAM_PENDING = f"cluster.{CLUSTER}.upstream_rq_pending_active"
_DOWN_RX = f"http.{STAT_PREFIX}.downstream_cx_rx_bytes_total"
_UP_RX = f"cluster.{CLUSTER}.upstream_cx_rx_bytes_total"
_UP_TX = f"cluster.{CLUSTER}.upstream_cx_tx_bytes_total"
_SETTLE_STATS = (_RQ_ACTIVE, _UPSTREAM_ACTIVE, _UPSTREAM_PENDING, _DOWN_RX, _UP_RX, _UP_TX)

# Envoy's h1_fuzz.cc waits max_wait_ms_ = 10 ms for the upstream connection.
ENVOY_UPSTREAM_WAIT = 0.010


def _without_generated_id(request: UpstreamRequest) -> UpstreamRequest:
    """Envoy's random x-request-id becomes GENERATED_ID, so observations are deterministic."""
    headers = [
        (n, GENERATED_ID if n == "x-request-id" and _UUID.fullmatch(v) else v)
        for n, v in request.headers
    ]
    return UpstreamRequest(request.method, request.target, headers, request.body)


class _Downstream:
    """One client connection and the parser of what Envoy writes on it."""

    def __init__(self, port: int, http2: bool, timeout: float) -> None:
        self.parser: H1Responses | H2Responses = H2Responses() if http2 else H1Responses()
        self.closed = False
        self.received = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise

    def send(self, data: bytes) -> bool:
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
        except (TimeoutError, OSError):
            self.closed = True  # Envoy closed (EPIPE/ECONNRESET) or stopped reading
            return False
        return True

    def read(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``; False when nothing did (or the peer closed)."""
        if self.closed:
            return False
        try:
            self.sock.settimeout(timeout)
            data = self.sock.recv(65536)
        except (TimeoutError, BlockingIOError):  # BlockingIOError: timeout 0, nothing there
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.received += len(data)
        self.parser.feed(data)
        return True

    def poll_closed(self) -> bool:
        """Take in whatever already arrived without waiting; True once Envoy has closed."""
        while self.read(0.0):
            pass
        return self.closed

    def close(self) -> None:
        # Abortive close (RST): thousands of inputs a second would otherwise leave as many
        # TIME_WAIT sockets and run the ephemeral ports out.
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self.sock.close()

    @property
    def statuses(self) -> list[int]:
        return self.parser.statuses

    @property
    def envoy_closed(self) -> bool:
        """Envoy closed the connection or announced it would (its close may be delayed 1 s)."""
        parser = self.parser
        if isinstance(parser, H2Responses):
            return self.closed or parser.goaway
        return self.closed or parser.close_announced


class _Exchange:
    """One input in flight: the connections and what has been written on each."""

    def __init__(
        self,
        down: _Downstream,
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


class EnvoyLane:
    """Owns one Envoy and one fake upstream for many inputs (use as a context manager)."""

    def __init__(
        self,
        config: ProxyConfig | None = None,
        *,
        quiet: float = 0.003,
        max_wait: float = 1.0,
        upstream_wait: float = ENVOY_UPSTREAM_WAIT,
    ) -> None:
        self.config = config or ProxyConfig()
        self.quiet = quiet  # silence that ends an exchange Envoy may still be part-way through
        self.max_wait = max_wait  # longest wait for an answer Envoy owes us
        self.upstream_wait = upstream_wait
        self.upstream: FakeUpstream | None = None
        self.process: EnvoyProcess | None = None
        self.restarts = 0
        self._last: object = b""  # the previous input, blamed when Envoy is found dead later

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.process is not None:
            return
        self.upstream = FakeUpstream(self.config.upstream)
        self.upstream.start()
        bootstrap = render_bootstrap(self.config, 0, self.upstream.port, 0)
        self.process = EnvoyProcess(bootstrap)
        try:
            self.process.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.upstream is not None:
            self.upstream.stop()
            self.upstream = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1

    def __enter__(self) -> EnvoyLane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, int]:
        return self._proc().stats()

    def _proc(self) -> EnvoyProcess:
        if self.process is None:
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
        self._check_alive(blame)
        self.restart()
        raise EnvoyHang(f"envoy stopped answering ({what})", blame)

    def _worker_answers(self) -> bool:
        """A request the worker answers itself (no host: 400), so no upstream is involved."""
        try:
            probe = _Downstream(self._proc().listener_port, False, self.max_wait)
        except OSError:
            return False
        try:
            # Over HTTP/2-only listeners any bytes back (SETTINGS, GOAWAY) or a close will do.
            probe.send(
                b"GET / HTTP/1.1\r\n\r\n" if self.config.downstream != "http2" else H2_PREFACE
            )
            return probe.read(self.max_wait) or probe.closed
        finally:
            probe.close()

    def _connect(self, http2: bool, blame: object) -> _Downstream:
        self._check_alive(self._last)
        try:
            return _Downstream(self._proc().listener_port, http2, self.max_wait)
        except OSError:
            self._check_responsive(blame)
        try:
            return _Downstream(self._proc().listener_port, http2, self.max_wait)
        except OSError as e:  # alive and ready, yet refusing connections
            self.restart()
            raise EnvoyHang(f"envoy refused the downstream connection: {e}", blame) from None

    def _use_mode(self, mode: str) -> FakeUpstream:
        """Switch the upstream mode; pooled connections of the old mode are closed first."""
        upstream = self._up()
        if upstream.mode != mode:
            upstream.drain()
            upstream.mode = "raw" if mode == "raw" else "ok"
        upstream.clear()
        return upstream

    def _is_http2(self, data: bytes) -> bool:
        if self.config.downstream == "auto":
            return data.startswith(H2_PREFACE)
        return self.config.downstream == "http2"

    # --- observe -----------------------------------------------------------------------------

    def observe(self, data: bytes) -> Observation:
        """Send ``data`` on a fresh connection; what Envoy answered and sent upstream."""
        upstream = self._use_mode("ok")
        http2 = self._is_http2(data)
        expected = None if http2 else count_simple_requests(data)
        down = self._connect(http2, data)
        # Only inputs that may need the settle path pay for a stats baseline (~0.7 ms).
        ex = _Exchange(down, upstream, True, data, None if expected is not None else self._base())
        try:
            ex.sent_down = len(data) if down.send(data) else 0
            if expected is None or not self._await_answers(ex, expected):
                self._settle(ex)
            self._check_alive(data)
            requests = upstream.requests(by_content=http2)
            if b"x-request-id" not in data.lower():
                requests = [_without_generated_id(r) for r in requests]
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
        returning, the upstream thread catches up with what Envoy already sent it.
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
        upstream = self._use_mode("raw")
        down = self._connect(False, case)
        ex = _Exchange(down, upstream, False, case, self._base() if settle else None)
        try:
            for event in case.events:
                if down.poll_closed():
                    break
                which = event.WhichOneof("event_selector")
                if which == "downstream_send_bytes":
                    if not down.send(event.downstream_send_bytes):
                        break
                    ex.sent_down += len(event.downstream_send_bytes)
                elif which == "upstream_send_bytes" and not direct:
                    if ex.conn is None:
                        ex.conn = upstream.wait_connection(self.upstream_wait)
                        if ex.conn is None:
                            break  # Envoy did not connect upstream in time: the case ends
                    if ex.conn.closed or not ex.conn.send(event.upstream_send_bytes):
                        break
                    ex.sent_up += len(event.upstream_send_bytes)
                # downstream_recv_bytes / upstream_recv_bytes / unset: nothing happens
            if settle:
                self._settle(ex)
            self._check_alive(case)
            requests = upstream.requests()
            sent = b"".join(e.downstream_send_bytes for e in case.events).lower()
            if b"x-request-id" not in sent:
                requests = [_without_generated_id(r) for r in requests]
            return Observation(list(down.statuses), requests, down.envoy_closed)
        finally:
            down.close()
            # Leave no upstream connection pooled in Envoy for the next case to inherit.
            upstream.drain()
            self._last = case
