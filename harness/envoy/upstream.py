"""The fake upstream Envoy proxies to: 127.0.0.1, ephemeral port, one background thread.

Two modes, fixed per connection when Envoy opens it:
- ``ok``: parse every request Envoy sends (HTTP/1 here, HTTP/2 through ``h2``), record it and
  answer ``200`` with body ``ok``;
- ``raw``: hand the connection to the caller (``wait_connection``), who writes scripted bytes
  (capture replay); what Envoy sends is still parsed and recorded (HTTP/1) but never answered.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections import deque
from typing import Any, Literal

from harness.observation import UpstreamRequest

Mode = Literal["ok", "raw"]
Protocol = Literal["http1", "http2"]

OK_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
_SOCKET_TIMEOUT = 2.0  # bounds the caller's writes on a connection Envoy stopped reading


class _Record:
    """A request being received; becomes an ``UpstreamRequest`` in snapshots."""

    __slots__ = ("body", "complete", "headers", "method", "target")

    def __init__(self, method: str, target: str, headers: list[tuple[str, str]]) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = 0
        self.complete = False

    def freeze(self) -> UpstreamRequest:
        return UpstreamRequest(self.method, self.target, self.headers, self.body)


def _content_key(record: _Record) -> tuple[str, str, list[tuple[str, str]], int]:
    headers = [h for h in record.headers if h[0] != "x-request-id"]  # random per request
    return (record.target, record.method, headers, record.body)


class ParseError(Exception):
    pass


class H1RequestParser:
    """Incremental parser of the (well-formed) HTTP/1 requests Envoy writes upstream."""

    def __init__(self) -> None:
        self._buf = b""
        self._state = "head"
        self._remaining = 0  # bytes left in a content-length body or the current chunk
        self.current: _Record | None = None

    def feed(self, data: bytes) -> tuple[list[_Record], int]:
        """Consume ``data``; returns (requests whose head arrived, number of requests completed)."""
        self._buf += data
        started: list[_Record] = []
        completed = 0
        while True:
            state = self._state
            buf = self._buf
            if state == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return started, completed
                head, self._buf = buf[:end], buf[end + 4 :]
                record, chunked, length = self._parse_head(head)
                self.current = record
                started.append(record)
                if chunked:
                    self._state = "size"
                elif length:
                    self._state, self._remaining = "body", length
                else:
                    completed += self._finish()
            elif state == "body" or state == "chunk":
                take = min(self._remaining, len(buf))
                if take == 0:
                    return started, completed
                assert self.current is not None
                self.current.body += take
                self._remaining -= take
                self._buf = buf[take:]
                if self._remaining == 0:
                    if state == "body":
                        completed += self._finish()
                    else:
                        self._state = "crlf"
            elif state == "crlf":
                if len(buf) < 2:
                    return started, completed
                self._buf = buf[2:]
                self._state = "size"
            elif state == "size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return started, completed
                line, self._buf = buf[:end], buf[end + 2 :]
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError as e:
                    raise ParseError(f"bad chunk size {line!r}") from e
                if size:
                    self._state, self._remaining = "chunk", size
                else:
                    self._state = "trailers"
            else:  # trailers: lines until an empty one
                end = buf.find(b"\r\n")
                if end < 0:
                    return started, completed
                self._buf = buf[end + 2 :]
                if end == 0:
                    completed += self._finish()

    def _finish(self) -> int:
        assert self.current is not None
        self.current.complete = True
        self.current = None
        self._state = "head"
        return 1

    @staticmethod
    def _parse_head(head: bytes) -> tuple[_Record, bool, int]:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) != 3:
            raise ParseError(f"bad request line {lines[0]!r}")
        headers: list[tuple[str, str]] = []
        chunked = False
        length = 0
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise ParseError(f"bad header line {line!r}")
            n = name.decode("latin-1")
            v = value.strip(b" \t").decode("latin-1")
            headers.append((n, v))
            low = n.lower()
            if low == "content-length":
                length = int(v)
            elif low == "transfer-encoding" and v.lower() == "chunked":
                chunked = True
        record = _Record(parts[0].decode("latin-1"), parts[1].decode("latin-1"), headers)
        return record, chunked, length


class UpstreamConnection:
    """One connection Envoy opened to the fake upstream."""

    def __init__(self, sock: socket.socket, mode: Mode, protocol: Protocol) -> None:
        self.sock = sock
        self.mode = mode
        self.closed = False  # Envoy closed it (or it failed)
        self.received = 0
        self.h1: H1RequestParser | None = H1RequestParser() if protocol == "http1" else None
        self.h2: Any = None
        self.h2_streams: dict[int, _Record] = {}
        if protocol == "http2":
            import h2.config
            import h2.connection

            config = h2.config.H2Configuration(
                client_side=False,
                header_encoding="latin-1",
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
                validate_outbound_headers=False,
            )
            self.h2 = h2.connection.H2Connection(config=config)
            self.h2.initiate_connection()

    def send(self, data: bytes) -> bool:
        """Write ``data`` to Envoy; False when the connection is gone."""
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True


class FakeUpstream:
    """The upstream cluster's only endpoint."""

    def __init__(self, protocol: Protocol = "http1") -> None:
        self.protocol: Protocol = protocol
        self.mode: Mode = "ok"
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", 0))
        self._listen.listen(64)
        self.port: int = self._listen.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._cond = threading.Condition()
        self._records: list[_Record] = []
        self._connections: dict[socket.socket, UpstreamConnection] = {}
        self._raw_queue: deque[UpstreamConnection] = deque()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self.received_total = 0  # bytes read from Envoy on all connections, ever
        self._sync_asked = 0  # sync() tickets handed out / acknowledged by the thread
        self._sync_done = 0

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="fake-upstream", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        for conn in list(self._connections.values()):
            conn.sock.close()
        self._connections.clear()
        for sock in (self._listen, self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self) -> FakeUpstream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the caller sees ----------------------------------------------------------------

    def requests(self, by_content: bool = False) -> list[UpstreamRequest]:
        """Recorded requests in arrival order, or sorted by content: for concurrent
        (HTTP/2) downstream streams, whose upstream order is a race inside Envoy."""
        with self._cond:
            records = list(self._records)
        if by_content:
            records.sort(key=_content_key)
        return [r.freeze() for r in records]

    def clear(self) -> None:
        """Forget recorded requests and unclaimed raw connections (start of a new input)."""
        with self._cond:
            self._records.clear()
            self._raw_queue.clear()

    def complete_count(self) -> int:
        """Requests received in full (answered, in ok mode)."""
        with self._cond:
            return sum(r.complete for r in self._records)

    def partial_count(self) -> int:
        """Requests whose head arrived but not yet all of their body."""
        with self._cond:
            return sum(not r.complete for r in self._records)

    def idle(self) -> bool:
        """No request is part-way received."""
        with self._cond:
            return all(r.complete for r in self._records)

    def connection_count(self) -> int:
        with self._cond:
            return len(self._connections)

    def sync(self, timeout: float = 0.5) -> bool:
        """Wait until the thread has read whatever Envoy had written before this call."""
        if self._thread is None:
            return True
        with self._cond:
            self._sync_asked += 1
            ticket = self._sync_asked
        with contextlib.suppress(OSError):
            self._wake_w.send(b"s")
        with self._cond:
            return self._cond.wait_for(lambda: self._sync_done >= ticket, timeout)

    def wait_connection(self, timeout: float) -> UpstreamConnection | None:
        """The next connection Envoy opened in raw mode, waiting at most ``timeout`` seconds."""
        with self._cond:
            if not self._raw_queue:
                self._cond.wait_for(lambda: bool(self._raw_queue), timeout)
            return self._raw_queue.popleft() if self._raw_queue else None

    def drain(self, timeout: float = 0.5) -> bool:
        """Half-close every connection and wait until Envoy has closed each (so none is pooled).

        True when all are gone within ``timeout``; the stragglers are then closed hard.
        """
        with self._cond:
            conns = list(self._connections.values())
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_WR)
        with self._cond:
            done = self._cond.wait_for(lambda: not self._connections, timeout)
        if not done:
            self._wake_w.send(b"k")  # the loop closes whatever is left
            with self._cond:
                self._cond.wait_for(lambda: not self._connections, 1.0)
        return bool(done)

    # --- the background thread ---------------------------------------------------------------

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._listen, selectors.EVENT_READ, "listen")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        while not self._stopping:
            acked = 0
            for key, _ in sel.select(1.0):
                if key.data == "listen":
                    self._accept(sel)
                elif key.data == "wake":
                    wake = self._wake_r.recv(64)
                    with self._cond:  # after recv: covers every ticket whose byte it took
                        acked = self._sync_asked
                    if b"k" in wake:
                        for conn in list(self._connections.values()):
                            self._drop(sel, conn)
                else:
                    self._readable(sel, key.data)
            if acked:
                # The round that took the wake byte saw every socket that was ready before it.
                with self._cond:
                    self._sync_done = acked
                    self._cond.notify_all()
        sel.close()

    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            sock, _ = self._listen.accept()
        except OSError:
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(_SOCKET_TIMEOUT)
        conn = UpstreamConnection(sock, self.mode, self.protocol)
        if conn.h2 is not None and conn.mode == "ok":
            conn.send(conn.h2.data_to_send())
        with self._cond:
            self._connections[sock] = conn
            if conn.mode == "raw":
                self._raw_queue.append(conn)
            self._cond.notify_all()
        sel.register(sock, selectors.EVENT_READ, conn)

    def _drop(self, sel: selectors.BaseSelector, conn: UpstreamConnection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(conn.sock)
        conn.closed = True
        conn.sock.close()
        with self._cond:
            self._connections.pop(conn.sock, None)
            self._cond.notify_all()

    def _readable(self, sel: selectors.BaseSelector, conn: UpstreamConnection) -> None:
        try:
            data = conn.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(sel, conn)
            return
        conn.received += len(data)
        self.received_total += len(data)
        try:
            if conn.h1 is not None:
                self._h1(conn, data)
            elif conn.mode == "ok":
                self._h2(conn, data)
        except Exception as e:  # Envoy sent something we cannot parse: record, drop
            self.errors.append(f"{type(e).__name__}: {e}")
            self._drop(sel, conn)

    def _h1(self, conn: UpstreamConnection, data: bytes) -> None:
        assert conn.h1 is not None
        started, completed = conn.h1.feed(data)
        if started or completed:
            with self._cond:
                self._records.extend(started)
                self._cond.notify_all()
        if completed and conn.mode == "ok":
            conn.send(OK_RESPONSE * completed)

    def _h2(self, conn: UpstreamConnection, data: bytes) -> None:
        import h2.events
        import h2.exceptions

        h2conn = conn.h2
        record: _Record | None
        for event in h2conn.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                fields = [(str(n), str(v)) for n, v in event.headers or ()]
                pseudo = dict(f for f in fields if f[0].startswith(":"))
                started = _Record(
                    pseudo.get(":method", ""),
                    pseudo.get(":path", ""),
                    [f for f in fields if f[0] not in (":method", ":path")],
                )
                conn.h2_streams[event.stream_id] = started
                with self._cond:
                    self._records.append(started)
            elif isinstance(event, h2.events.DataReceived):
                record = conn.h2_streams.get(event.stream_id)
                if record is not None:
                    record.body += len(event.data)
                h2conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                record = conn.h2_streams.pop(event.stream_id, None)
                if record is not None:
                    with self._cond:
                        record.complete = True
                        self._cond.notify_all()
                # A RST_STREAM later in the same read may have closed the stream already.
                with contextlib.suppress(h2.exceptions.StreamClosedError):
                    h2conn.send_headers(
                        event.stream_id, [(":status", "200"), ("content-length", "2")]
                    )
                    h2conn.send_data(event.stream_id, b"ok", end_stream=True)
            elif isinstance(event, h2.events.StreamReset):
                record = conn.h2_streams.pop(event.stream_id, None)
                if record is not None:
                    record.complete = True
        out = h2conn.data_to_send()
        if out:
            conn.send(out)
