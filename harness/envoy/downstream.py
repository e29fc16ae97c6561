"""Sans-IO helpers for the client side of the lane: what Envoy answered, what we expect.

- ``H1Responses``: statuses out of the HTTP/1 response stream Envoy writes downstream;
- ``H2Responses``: ``:status`` values out of Envoy's HTTP/2 frames (hyperframe + hpack);
- ``count_simple_requests``: how many responses a plainly framed HTTP/1 input must get, so
  the lane can stop as soon as they arrived instead of waiting out a quiet period.
"""

from __future__ import annotations

import re
from typing import Any

_NO_BODY = frozenset((204, 304))


class H1Responses:
    """Incremental HTTP/1 response-stream parser: statuses, completeness, close intent."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.complete = 0  # final (non-1xx) responses fully received
        self.close_announced = False  # a response carried `connection: close`
        self.broken = False  # bytes that are not a response; parsing stopped
        # A HEAD request was sent: Envoy answers it with a content-length but no body, so a
        # response head where that body would start ends the answer (RFC 9110 9.3.2).
        self.head_requested = False
        self._body_started = False
        self._buf = b""
        self._state = "head"
        self._remaining = 0

    @property
    def partial(self) -> bool:
        """Part of a response has arrived but not all of it."""
        return self._state != "head" or bool(self._buf)

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self._buf += data
        while self._step():
            pass

    def _step(self) -> bool:
        buf = self._buf
        state = self._state
        if state == "head":
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 8 and not buf.startswith(b"HTTP/"):
                    self.broken = True
                return False
            self._buf = buf[end + 4 :]
            return self._head(buf[:end])
        if state == "body" and not self._body_started:
            if self.head_requested and buf[:5] == b"HTTP/"[: len(buf)]:
                if len(buf) < 5:
                    return False  # too little to tell a body from the next response
                self._done()
                return True
            self._body_started = True
        if state in ("body", "chunk"):
            take = min(self._remaining, len(buf))
            if take == 0:
                return False
            self._remaining -= take
            self._buf = buf[take:]
            if self._remaining == 0:
                if state == "body":
                    self._done()
                else:
                    self._state = "crlf"
            return True
        if state == "crlf":
            if len(buf) < 2:
                return False
            self._buf = buf[2:]
            self._state = "size"
            return True
        if state == "size":
            end = buf.find(b"\r\n")
            if end < 0:
                return False
            try:
                size = int(buf[:end].split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.broken = True
                return False
            self._buf = buf[end + 2 :]
            if size:
                self._state, self._remaining = "chunk", size
            else:
                self._state = "trailers"
            return True
        if state == "trailers":
            end = buf.find(b"\r\n")
            if end < 0:
                return False
            self._buf = buf[end + 2 :]
            if end == 0:
                self._done()
            return True
        # "eof": the body runs until Envoy closes the connection.
        self._buf = b""
        return False

    def _head(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            self.broken = True
            return False
        status = int(parts[1])
        self.statuses.append(status)
        length: int | None = None
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    self.broken = True
                    return False
            elif name == b"transfer-encoding":
                chunked = value.strip().lower() == b"chunked"
            elif name == b"connection" and b"close" in value.lower():
                self.close_announced = True
        if status < 200:
            return True  # interim response: no body, not a final answer
        if status in _NO_BODY or length == 0:
            self._done()
        elif chunked:
            self._state = "size"
        elif length is not None:
            self._state, self._remaining = "body", length
            self._body_started = False
        else:
            self._state = "eof"
        return True

    def _done(self) -> None:
        self.complete += 1
        self._state = "head"


class H2Responses:
    """``:status`` values and GOAWAY out of the HTTP/2 frames Envoy writes downstream."""

    def __init__(self) -> None:
        from hpack import Decoder

        self.statuses: list[int] = []
        self.goaway = False
        self.ended_streams: set[int] = set()
        self.broken = False
        self._decoder: Any = Decoder()
        self._buf = b""
        self._block = b""
        self._block_stream = 0

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self._buf += data
        buf = self._buf
        pos = 0
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos : pos + 3], "big")
            if len(buf) - pos < 9 + length:
                break
            ftype = buf[pos + 3]
            flags = buf[pos + 4]
            stream = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            payload = buf[pos + 9 : pos + 9 + length]
            pos += 9 + length
            try:
                self._frame(ftype, flags, stream, payload)
            except Exception:  # hpack/hyperframe rejected what Envoy sent: stop here
                self.broken = True
                break
        self._buf = buf[pos:]

    def _frame(self, ftype: int, flags: int, stream: int, payload: bytes) -> None:
        if ftype == 0x1:  # HEADERS
            if flags & 0x8:  # PADDED
                pad = payload[0]
                payload = payload[1 : len(payload) - pad]
            if flags & 0x20:  # PRIORITY
                payload = payload[5:]
            self._block, self._block_stream = payload, stream
            if flags & 0x1:
                self.ended_streams.add(stream)
            if flags & 0x4:
                self._headers()
        elif ftype == 0x9:  # CONTINUATION
            self._block += payload
            if flags & 0x4:
                self._headers()
        elif ftype == 0x0 and flags & 0x1:  # DATA with END_STREAM
            self.ended_streams.add(stream)
        elif ftype == 0x7:  # GOAWAY
            self.goaway = True

    def _headers(self) -> None:
        for name, value in self._decoder.decode(self._block, raw=True):
            if name == b":status" and value.isdigit():
                self.statuses.append(int(value))
        self._block = b""


# Strict shapes only: anything unusual makes the lane fall back to waiting for quiet.
_REQUEST_LINE = re.compile(rb"(?:GET|POST|PUT|DELETE|OPTIONS|PATCH) /[\x21-\x7e]* HTTP/1\.1")
_HEADER = re.compile(
    rb"([!#$%&'*+.^`|~0-9A-Za-z-]+):[ \t]*([\x21-\x7e](?:[ \x21-\x7e]*[\x21-\x7e])?)?"
)
_FRAMING = frozenset(
    (b"transfer-encoding", b"connection", b"upgrade", b"expect", b"te", b"keep-alive",
     b"proxy-connection", b"http2-settings")
)  # fmt: skip


def count_simple_requests(data: bytes) -> int | None:
    """The number of complete, plainly framed HTTP/1.1 requests that make up all of ``data``.

    None when ``data`` has anything else (a partial request, unusual framing headers,
    obs-fold, bare LF, ...): then only Envoy knows how many answers will come.
    """
    pos = 0
    count = 0
    size = len(data)
    while pos < size:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return None
        lines = data[pos:end].split(b"\r\n")
        if not _REQUEST_LINE.fullmatch(lines[0]):
            return None
        length = 0
        seen_length = False
        for line in lines[1:]:
            match = _HEADER.fullmatch(line)
            if match is None:
                return None
            name = match.group(1).lower()
            if name in _FRAMING:
                return None
            if name == b"content-length":
                value = match.group(2) or b""
                if seen_length or not value.isdigit() or len(value) > 9:
                    return None
                seen_length = True
                length = int(value)
        pos = end + 4 + length
        if pos > size:
            return None
        count += 1
    return count
