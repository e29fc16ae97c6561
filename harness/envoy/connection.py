"""Driving Envoy's connections: the client side of an input, and the barrier.

The barrier. Next to the proxy's listener the bootstrap has an echo listener, served by the
same (single) worker thread. A byte sent to it comes back only once the worker has handled
every event that was pending before it, in order: whatever the lane wrote to Envoy before -
bytes, closes, connects - has been read and acted on. (The one ordering it does not give:
bytes on a connection the worker has not accepted yet, since accepting is what registers the
connection. So a replay's client is connected before a barrier - at the end of the previous
case - and used once that barrier came back.) The order is the worker's order of *sockets*
becoming readable, so only one barrier byte is in flight at a time: a byte sent while an
earlier one is still unread by Envoy would be read with it, ahead of what came in between.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import time
from typing import Any, Final

from harness.envoy.downstream import H1Responses, H2Responses
from harness.envoy.upstream import FakeUpstream

LINGER_ZERO: Final = struct.pack("ii", 1, 0)
_DONTWAIT: Final = socket.MSG_DONTWAIT
BARRIER_LISTENER: Final = "lane_barrier"


def barrier_listener() -> dict[str, Any]:
    """An echo listener on loopback (port 0): the lane's way to sync with Envoy's worker."""
    return {
        "name": BARRIER_LISTENER,
        # its own stats, apart from the proxy's listener (both are named after 127.0.0.1:0)
        "stat_prefix": BARRIER_LISTENER,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.echo",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network"
                            ".echo.v3.Echo"
                        },
                    }
                ]
            }
        ],
    }


class Downstream:
    """One client connection and the parser of what Envoy writes on it.

    The socket stays blocking but is only ever read and written with ``MSG_DONTWAIT`` (no
    ``fcntl`` per connection); every wait runs the fake upstream's loop, so the upstream
    answers Envoy while the client waits for Envoy's answer.
    """

    __slots__ = ("_watched", "closed", "parser", "received", "sock", "timeout", "upstream")

    def __init__(
        self, sock: socket.socket, http2: bool, timeout: float, upstream: FakeUpstream
    ) -> None:
        self.parser: H1Responses | H2Responses = H2Responses() if http2 else H1Responses()
        self.closed = False
        self.received = 0
        self.timeout = timeout
        self.upstream = upstream
        self.sock = sock
        self._watched = False  # registered with the upstream's loop (on the first wait)

    @staticmethod
    def connect(port: int, timeout: float) -> socket.socket:
        """A client socket connected to Envoy's ``port`` (used with ``MSG_DONTWAIT`` only)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(("127.0.0.1", port))  # blocking: loopback completes it at once
        except OSError:
            sock.close()
            raise
        return sock

    def send(self, data: bytes) -> bool:
        """Write all of ``data``; False once Envoy closed or stopped reading for ``timeout``."""
        if b"HEAD" in data and isinstance(self.parser, H1Responses):
            self.parser.head_requested = True
        if self.closed:
            return False
        try:
            sent = self.sock.send(data, _DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:  # EPIPE/ECONNRESET: Envoy closed
            self.closed = True
            return False
        if sent == len(data):
            return True
        view = memoryview(data)[sent:]
        deadline = 0.0
        while view:
            try:
                view = view[self.sock.send(view, _DONTWAIT) :]
                continue
            except BlockingIOError:
                pass
            except OSError:  # EPIPE/ECONNRESET: Envoy closed
                self.closed = True
                return False
            # Envoy is not reading: take in its answers and let the upstream side move (Envoy
            # may be waiting on either), then try again.
            now = time.monotonic()
            deadline = deadline or now + self.timeout
            if now >= deadline or (not self._recv() and self.closed):
                self.closed = True
                return False
            self.upstream.pump(0.001)
        return True

    def _recv(self) -> bool:
        """Take what has arrived, without waiting; True when bytes came."""
        try:
            data = self.sock.recv(65536, _DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.received += len(data)
        self.parser.feed(data)
        return True

    def read(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``; False when nothing did (or the peer closed)."""
        if self.closed:
            return False
        if self._recv():
            return True
        if self.closed or timeout <= 0:
            return False
        deadline = time.monotonic() + timeout
        sock = self.sock
        if not self._watched:
            self.upstream.watch(sock)
            self._watched = True
        while True:
            if sock in self.upstream.pump(deadline - time.monotonic()):
                return self._recv()
            if time.monotonic() >= deadline:
                return False

    def poll_closed(self) -> bool:
        """Take in whatever already arrived without waiting; True once Envoy has closed."""
        while not self.closed and self._recv():
            pass
        return self.closed

    def close(self) -> None:
        if self._watched:
            self.upstream.unwatch(self.sock)
        sock = self.sock
        parser = self.parser
        if not self.closed and isinstance(parser, H1Responses) and parser.close_announced:
            # Envoy is in its delayed close (the answer announcing it is in): it reads
            # nothing more and waits up to 1 s for the client to close, but does not notice
            # an RST then (only its write event fires, with nothing to write), so the
            # connection would linger until the timer and its close count for whichever
            # input runs then. A FIN (as Envoy's fixture closes) it sees at once; the unread
            # byte sent first makes Envoy's own close an RST: no TIME_WAIT on this side.
            try:
                if not parser.partial:
                    sock.send(b"x", _DONTWAIT)
                    sock.shutdown(socket.SHUT_WR)
                    sock.close()
                    return
            except OSError:
                pass  # Envoy closed meanwhile: the RST below
        # Abortive close (RST): thousands of inputs a second would otherwise leave as many
        # TIME_WAIT sockets and run the ephemeral ports out.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
        sock.close()

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


def _timeval(seconds: float) -> bytes:
    """``seconds`` as a ``struct timeval`` for SO_RCVTIMEO (at least 1 us: 0 means forever)."""
    micros = max(int(seconds * 1e6), 1)
    return struct.pack("ll", micros // 1_000_000, micros % 1_000_000)


class Barrier:
    """A connection to the echo listener: a byte sent comes back once the worker got to it.

    The socket is blocking with SO_RCVTIMEO as its timeout, so a wait is one ``recv`` (a
    Python socket timeout would add a ``poll`` before each), after up to ``spin`` seconds
    of polling (see SPIN)."""

    __slots__ = ("pending", "sock", "spin", "timeout")

    def __init__(self, port: int, timeout: float, spin: float = 0.0) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(None)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.timeout = timeout
        self.spin = spin
        self.pending = 0  # bytes sent and not yet echoed

    def post(self) -> bool:
        """Send a byte (the caller made sure none is in flight: see the module docstring)."""
        try:
            self.sock.send(b".")
        except OSError:
            return False
        self.pending += 1
        return True

    def wait(self, timeout: float) -> str:
        """``ok`` once every byte came back, else ``timeout`` or ``broken`` (Envoy gone?)."""
        if timeout != self.timeout:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
            self.timeout = timeout
        recv = self.sock.recv
        while self.pending > 0:
            try:
                try:
                    data: bytes | None = recv(256, _DONTWAIT)
                except BlockingIOError:
                    data = self._spin() if self.spin > 0 else None
                    if data is None:
                        data = recv(256)  # sleeps, up to SO_RCVTIMEO
            except BlockingIOError:  # EAGAIN: SO_RCVTIMEO ran out
                return "timeout"
            except OSError:
                return "broken"
            if not data:
                return "broken"
            self.pending -= len(data)
        return "ok"

    def _spin(self) -> bytes | None:
        """What arrives within ``spin`` seconds of polling, or None."""
        recv = self.sock.recv
        clock = time.perf_counter
        end = clock() + self.spin
        while clock() < end:
            os.sched_yield()
            try:
                return recv(256, _DONTWAIT)
            except BlockingIOError:
                pass
        return None

    def close(self) -> None:
        self.sock.close()
