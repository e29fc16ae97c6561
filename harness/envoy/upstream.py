"""The fake upstream Envoy proxies to: 127.0.0.1, ephemeral port, driven by its caller.

Two modes, fixed per connection when Envoy opens it:
- ``ok``: parse every request Envoy sends (HTTP/1 here, HTTP/2 through ``h2``), record it and
  answer ``200`` with body ``ok``;
- ``raw``: hand the connection to the caller (``wait_connection``), who writes scripted bytes
  (capture replay); what Envoy sends is still parsed and recorded (HTTP/1, or HTTP/2 frames
  read passively) but never answered.

There is no thread: one epoll holds the listening socket, every upstream connection and the
sockets the caller ``watch``-es (its client connection to Envoy). The caller runs ``pump``
whenever it waits for anything, so what Envoy sends upstream is read and answered while the
caller waits for Envoy's downstream answer - without a thread hand-off per input.

Thousands of connections a second go through here, so each costs few system calls: accepted
sockets inherit TCP_NODELAY and the send timeout from the listening socket (Linux copies both
on accept) and stay blocking (reads are ``MSG_DONTWAIT``, after epoll said readable); a closed
connection leaves the epoll set with its descriptor, with no ``epoll_ctl``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from collections import deque
from typing import Any, Literal

from harness.codec.http2 import PREFACE as _H2_PREFACE
from harness.observation import UpstreamRequest
from harness.util.http import decimal_value

Mode = Literal["ok", "raw"]
Protocol = Literal["http1", "http2"]

OK_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
_SOCKET_TIMEOUT = 2  # seconds: bounds the caller's writes on a connection Envoy stopped reading
_LISTEN = object()  # the listening socket's mark in the epoll table
_DONTWAIT = socket.MSG_DONTWAIT


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
                length = decimal_value(v)
            elif low == "transfer-encoding" and v.lower() == "chunked":
                chunked = True
        record = _Record(parts[0].decode("latin-1"), parts[1].decode("latin-1"), headers)
        return record, chunked, length


class H2RequestParser:
    """Passive reader of the HTTP/2 frames Envoy writes upstream (raw mode: nothing answers).

    Records each stream's request (pseudo-headers :method and :path, the other fields kept),
    counts DATA payload, and marks a stream complete on END_STREAM or RST_STREAM. It keeps no
    state machine of its own, so scripted bytes written to Envoy cannot confuse it.
    """

    def __init__(self) -> None:
        from hpack import Decoder

        self._decoder: Any = Decoder()
        self._decoder.max_allowed_table_size = 1 << 16
        self._buf = b""
        self._preface = True  # Envoy's client preface still to skip
        self._block = b""
        self._block_stream = 0
        self._block_ends = False
        self._streams: dict[int, _Record] = {}

    def feed(self, data: bytes) -> tuple[list[_Record], int]:
        """Consume ``data``; returns (requests whose headers arrived, requests completed)."""
        buf = self._buf + data
        if self._preface:
            if len(buf) < len(_H2_PREFACE):
                self._buf = buf
                return [], 0
            if buf.startswith(_H2_PREFACE):
                buf = buf[len(_H2_PREFACE) :]
            self._preface = False
        started: list[_Record] = []
        completed = 0
        pos = 0
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos : pos + 3], "big")
            if len(buf) - pos < 9 + length:
                break
            ftype, flags = buf[pos + 3], buf[pos + 4]
            stream = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            payload = buf[pos + 9 : pos + 9 + length]
            pos += 9 + length
            completed += self._frame(ftype, flags, stream, payload, started)
        self._buf = buf[pos:]
        return started, completed

    def _frame(
        self, ftype: int, flags: int, stream: int, payload: bytes, started: list[_Record]
    ) -> int:
        if ftype == 0x1:  # HEADERS
            if flags & 0x8 and payload:  # PADDED
                payload = payload[1 : len(payload) - payload[0]]
            if flags & 0x20:  # PRIORITY
                payload = payload[5:]
            self._block, self._block_stream = payload, stream
            self._block_ends = bool(flags & 0x1)
            return self._headers(started) if flags & 0x4 else 0
        if ftype == 0x9:  # CONTINUATION
            self._block += payload
            return self._headers(started) if flags & 0x4 else 0
        if ftype == 0x0:  # DATA
            record = self._streams.get(stream)
            if record is not None:
                pad = payload[0] + 1 if flags & 0x8 and payload else 0
                record.body += max(len(payload) - pad, 0)
            return self._end(stream) if flags & 0x1 else 0
        if ftype == 0x3:  # RST_STREAM
            return self._end(stream)
        return 0

    def _headers(self, started: list[_Record]) -> int:
        fields = [
            (n.decode("latin-1"), v.decode("latin-1"))
            for n, v in self._decoder.decode(self._block, raw=True)
        ]
        self._block = b""
        stream = self._block_stream
        if stream not in self._streams:  # else trailers: nothing new to record
            pseudo = dict(f for f in fields if f[0].startswith(":"))
            record = _Record(
                pseudo.get(":method", ""),
                pseudo.get(":path", ""),
                [f for f in fields if f[0] not in (":method", ":path")],
            )
            self._streams[stream] = record
            started.append(record)
        return self._end(stream) if self._block_ends else 0

    def _end(self, stream: int) -> int:
        record = self._streams.get(stream)
        if record is None or record.complete:
            return 0
        record.complete = True
        return 1


class UpstreamConnection:
    """One connection Envoy opened to the fake upstream."""

    def __init__(self, sock: socket.socket, mode: Mode, protocol: Protocol) -> None:
        self.sock = sock
        self.mode = mode
        self.closed = False  # Envoy closed it (or it failed)
        self.received = 0
        self.parser: H1RequestParser | H2RequestParser | None = None
        self.h2: Any = None  # ok mode over HTTP/2: an h2 server connection that answers
        self.h2_streams: dict[int, _Record] = {}
        if protocol == "http1":
            self.parser = H1RequestParser()
        elif mode == "raw":
            self.parser = H2RequestParser()
        else:
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
        """Write ``data`` to Envoy; False when the connection is gone or Envoy did not take
        it all within ``_SOCKET_TIMEOUT`` seconds (each send waits at most that long: the
        socket's SO_SNDTIMEO)."""
        if self.closed:
            return False
        send = self.sock.send
        try:
            sent = send(data)
            if sent == len(data):
                return True
            view = memoryview(data)[sent:]
            deadline = time.monotonic() + _SOCKET_TIMEOUT
            while view:
                if time.monotonic() >= deadline:
                    return False
                view = view[send(view) :]
        except OSError:  # gone, or EAGAIN: SO_SNDTIMEO ran out
            return False
        return True


class FakeUpstream:
    """The upstream cluster's only endpoint."""

    def __init__(self, protocol: Protocol = "http1") -> None:
        self.protocol: Protocol = protocol
        self.mode: Mode = "ok"
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by every accepted connection (Linux copies them on accept).
        self._listen.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._listen.setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", _SOCKET_TIMEOUT, 0)
        )
        self._listen.bind(("127.0.0.1", 0))
        self._listen.listen(128)
        self._listen.setblocking(False)
        self.port: int = self._listen.getsockname()[1]
        self._epoll = select.epoll()
        # What each registered descriptor is: _LISTEN, an UpstreamConnection or a watched socket.
        self._fds: dict[int, Any] = {self._listen.fileno(): _LISTEN}
        self._epoll.register(self._listen.fileno(), select.EPOLLIN)
        self._records: list[_Record] = []
        self._connections: dict[socket.socket, UpstreamConnection] = {}
        self._raw_queue: deque[UpstreamConnection] = deque()
        self._closed = False
        self.errors: list[str] = []
        self.received_total = 0  # bytes read from Envoy on all connections, ever
        self.accepted_total = 0  # connections Envoy opened, ever

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start (no thread): kept so callers can treat it like a server."""

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in list(self._connections.values()):
            conn.sock.close()
        self._connections.clear()
        self._raw_queue.clear()
        self._fds.clear()
        self._epoll.close()
        self._listen.close()

    def __enter__(self) -> FakeUpstream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the event loop ----------------------------------------------------------------------

    def watch(self, sock: socket.socket) -> None:
        """Have ``pump`` also report when ``sock`` (a caller's socket) is readable."""
        fd = sock.fileno()
        known = self._fds.get(fd)
        if known is sock:
            return
        if known is not None:
            raise KeyError(f"descriptor {fd} is already registered")
        self._epoll.register(fd, select.EPOLLIN)
        self._fds[fd] = sock

    def unwatch(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (before closing it)."""
        fd = sock.fileno()
        if fd >= 0 and self._fds.get(fd) is sock:
            del self._fds[fd]
            with contextlib.suppress(OSError):
                self._epoll.unregister(fd)

    def pump(self, timeout: float = 0.0) -> list[Any]:
        """Wait up to ``timeout`` for one round of events and serve the upstream side of them
        (accept, read, parse, answer); returns the watched sockets that are readable."""
        # A negative timeout would wait forever: a deadline that passed means "do not wait".
        return self._serve(self._epoll.poll(timeout if timeout > 0 else 0))

    def sync(self, limit: int = 64) -> None:
        """Serve whatever Envoy has already sent upstream, without waiting."""
        poll = self._epoll.poll
        for _ in range(limit):
            events = poll(0)
            if not events or len(self._serve(events)) == len(events):
                return  # nothing (but the caller's own sockets) is ready

    def _serve(self, events: list[tuple[int, int]]) -> list[Any]:
        ready: list[Any] = []
        fds = self._fds
        for fd, _ in events:
            data = fds.get(fd)
            if data is None:
                continue  # closed while serving this round
            if data is _LISTEN:
                self._accept()
            elif type(data) is UpstreamConnection:
                self._readable(data)
            else:
                ready.append(data)
        return ready

    # --- what the caller sees ----------------------------------------------------------------

    def requests(self, by_content: bool = False) -> list[UpstreamRequest]:
        """Recorded requests in arrival order, or sorted by content: for concurrent
        (HTTP/2) downstream streams, whose upstream order is a race inside Envoy."""
        records = list(self._records)
        if by_content:
            records.sort(key=_content_key)
        return [r.freeze() for r in records]

    def clear(self) -> None:
        """Forget recorded requests and unclaimed raw connections (start of a new input)."""
        self._records.clear()
        self._raw_queue.clear()

    def complete_count(self) -> int:
        """Requests received in full (answered, in ok mode)."""
        return sum(r.complete for r in self._records)

    def partial_count(self) -> int:
        """Requests whose head arrived but not yet all of their body."""
        return sum(not r.complete for r in self._records)

    def idle(self) -> bool:
        """No request is part-way received."""
        return all(r.complete for r in self._records)

    def connection_count(self) -> int:
        return len(self._connections)

    def connections(self) -> list[UpstreamConnection]:
        return list(self._connections.values())

    def take_connection(self) -> UpstreamConnection | None:
        """The next raw connection Envoy has opened by now, if any (no waiting)."""
        if not self._raw_queue:
            self._accept()  # only the listening socket can bring one
        return self._raw_queue.popleft() if self._raw_queue else None

    @property
    def listen_fd(self) -> int:
        """The listening socket's descriptor: readable when Envoy opened a connection."""
        return self._listen.fileno()

    def wait_connection(self, timeout: float) -> UpstreamConnection | None:
        """The next connection Envoy opened in raw mode, waiting at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._raw_queue:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.pump(remaining)
        return self._raw_queue.popleft() if self._raw_queue else None

    def drain(self, timeout: float = 0.5) -> bool:
        """Half-close every connection and wait until Envoy has closed each (so none is pooled).

        True when all are gone within ``timeout``; the stragglers are then closed hard.
        """
        for conn in list(self._connections.values()):
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while self._connections:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close_all()
                return False
            self.pump(remaining)
        return True

    def close_all(self) -> None:
        """Close every upstream connection at once (no waiting for Envoy)."""
        for conn in list(self._connections.values()):
            self._drop(conn)
        self._raw_queue.clear()

    # --- events --------------------------------------------------------------------------------

    def _accept(self) -> None:
        """Accept one connection, if one waits (epoll is level-triggered: the listening socket
        stays readable while more do)."""
        try:
            sock, _ = self._listen.accept()
        except OSError:  # BlockingIOError: the backlog is empty
            return
        # Blocking, TCP_NODELAY and a send timeout: as the listening socket made it.
        conn = UpstreamConnection(sock, self.mode, self.protocol)
        if conn.h2 is not None:
            conn.send(conn.h2.data_to_send())
        self._connections[sock] = conn
        self.accepted_total += 1
        if conn.mode == "raw":
            self._raw_queue.append(conn)
        fd = sock.fileno()
        self._fds[fd] = conn
        self._epoll.register(fd, select.EPOLLIN)

    def _drop(self, conn: UpstreamConnection) -> None:
        sock = conn.sock
        fd = sock.fileno()
        if self._fds.get(fd) is conn:
            del self._fds[fd]  # closing the descriptor takes it out of the epoll set
        conn.closed = True
        sock.close()
        self._connections.pop(sock, None)

    def _readable(self, conn: UpstreamConnection) -> None:
        try:
            data = conn.sock.recv(65536, _DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.received += len(data)
        self.received_total += len(data)
        try:
            if conn.parser is not None:
                self._parsed(conn, data)
            elif conn.h2 is not None:
                self._h2(conn, data)
        except Exception as e:  # Envoy sent something we cannot parse: record it
            self.errors.append(f"{type(e).__name__}: {e}")
            if conn.mode == "raw":
                conn.parser = None  # the script still owns the connection: keep it open
            else:
                self._drop(conn)

    def _parsed(self, conn: UpstreamConnection, data: bytes) -> None:
        assert conn.parser is not None
        started, completed = conn.parser.feed(data)
        self._records.extend(started)
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
                self._records.append(started)
            elif isinstance(event, h2.events.DataReceived):
                record = conn.h2_streams.get(event.stream_id)
                if record is not None:
                    record.body += len(event.data)
                h2conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                record = conn.h2_streams.pop(event.stream_id, None)
                if record is not None:
                    record.complete = True
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
