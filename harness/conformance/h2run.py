"""Run one HTTP/2 case on its own connection: handshake, steps, then h2spec's pass rules.

Frames are serialized here by hand (9-byte header + payload) so that malformed ones can be
sent; header blocks come from the hpack library's encoder, one per connection. Incoming
frames are split by the same 9-byte header and never validated: the server under test may
send anything.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from hpack import Decoder, Encoder

from harness.codec.http2 import PREFACE
from harness.conformance.case import (
    Case,
    Continuation,
    Data,
    ExceedStreams,
    Frame,
    GoAway,
    H2Expect,
    H2Step,
    Headers,
    Ping,
    Priority,
    RawBytes,
    RstStream,
    Settings,
    WaitData,
    WaitSettingsAck,
    WaitStreamClose,
    WindowUpdate,
    code_name,
)
from harness.conformance.hpack_blocks import AUTHORITY
from harness.conformance.net import Closed, Outcome, Timeout, Wire

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8
FRAME_NAMES = (
    "DATA",
    "HEADERS",
    "PRIORITY",
    "RST_STREAM",
    "SETTINGS",
    "PUSH_PROMISE",
    "PING",
    "GOAWAY",
    "WINDOW_UPDATE",
    "CONTINUATION",
)


def request_headers(method: str = "GET") -> list[tuple[str, str]]:
    return [(":method", method), (":scheme", "http"), (":path", "/"), (":authority", AUTHORITY)]


def frame_bytes(ftype: int, flags: int, stream: int, payload: bytes) -> bytes:
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, stream) + payload


@dataclass(frozen=True)
class Event:
    type: int
    flags: int
    stream: int
    payload: bytes
    status: int | None = None  # a HEADERS frame's :status, when it decoded

    def describe(self) -> str:
        name = FRAME_NAMES[self.type] if self.type < len(FRAME_NAMES) else f"0x{self.type:x}"
        text = (
            f"{name} Frame (length:{len(self.payload)}, flags:0x{self.flags:02x}, "
            f"stream_id:{self.stream})"
        )
        if self.status is not None:
            text += f" :status {self.status}"
        if self.type == GOAWAY and len(self.payload) >= 8:
            text = f"GOAWAY Frame (Error Code: {code_name(_u32(self.payload, 4))})"
        elif self.type == RST_STREAM and len(self.payload) >= 4:
            text = f"RST_STREAM Frame (Error Code: {code_name(_u32(self.payload, 0))})"
        return text


def _u32(b: bytes, at: int) -> int:
    return int(struct.unpack_from(">I", b, at)[0])


class H2Conn:
    """One client connection: writes steps, reads frames."""

    def __init__(self, conn: Wire) -> None:
        self.conn = conn
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.buffer = b""
        self.server_settings: dict[int, int] = {}

    def next_event(self, deadline: float) -> Event:
        while len(self.buffer) < 9 or len(self.buffer) < 9 + _length(self.buffer):
            self.buffer += self.conn.recv(deadline)  # raises Closed / Timeout
        n = _length(self.buffer)
        head, self.buffer = self.buffer[: 9 + n], self.buffer[9 + n :]
        ftype, flags = head[3], head[4]
        stream = _u32(head, 5) & 0x7FFFFFFF
        status = self._status(head[9:], flags) if ftype == HEADERS else None
        return Event(ftype, flags, stream, head[9:], status)

    def _status(self, payload: bytes, flags: int) -> int | None:
        """The :status of a response HEADERS frame (the decoder's table follows every block)."""
        try:
            at, end = 0, len(payload)
            if flags & PADDED:
                at, end = 1, len(payload) - payload[0]
            if flags & PRIORITY_FLAG:
                at += 5
            for name, value in self.decoder.decode(payload[at:end], raw=True):
                if name == b":status":
                    return int(value)
        except Exception:  # the server's bytes are not ours to trust; no status then
            return None
        return None

    def handshake(self, deadline: float) -> None:
        """h2spec's: preface and an empty SETTINGS; the server's SETTINGS (ACKed) and our ACK."""
        self.conn.send(PREFACE + frame_bytes(SETTINGS, 0, 0, b""))
        got_settings = got_ack = False
        while not (got_settings and got_ack):
            ev = self.next_event(deadline)
            if ev.type == SETTINGS and ev.flags & ACK:
                got_ack = True
            elif ev.type == SETTINGS:
                for i in range(0, len(ev.payload) - 5, 6):
                    ident, value = struct.unpack_from(">HI", ev.payload, i)
                    self.server_settings[ident] = value
                self.conn.send(frame_bytes(SETTINGS, ACK, 0, b""))
                got_settings = True

    def encode(self, headers: list[tuple[str, str]]) -> bytes:
        return bytes(self.encoder.encode(headers))

    def step_bytes(self, step: H2Step) -> bytes:
        match step:
            case Frame(t, f, s, p):
                return frame_bytes(t, f, s, p)
            case Headers():
                return self._headers(step)
            case Continuation(stream, headers, end_headers, block):
                blk = block if block is not None else self.encode(list(headers))
                return frame_bytes(CONTINUATION, END_HEADERS if end_headers else 0, stream, blk)
            case Data(stream, data, end_stream, pad, pad_bytes):
                flags = END_STREAM if end_stream else 0
                if pad is not None:
                    flags |= PADDED
                    data = bytes([pad]) + data + b"\0" * pad_bytes
                return frame_bytes(DATA, flags, stream, data)
            case Settings(values, ack, stream):
                payload = b"".join(struct.pack(">HI", k, v) for k, v in values)
                return frame_bytes(SETTINGS, ACK if ack else 0, stream, payload)
            case Ping(data, ack):
                return frame_bytes(PING, ACK if ack else 0, 0, data)
            case RstStream(stream, code):
                return frame_bytes(RST_STREAM, 0, stream, struct.pack(">I", code))
            case Priority(stream, dep, weight, exclusive):
                payload = struct.pack(">IB", dep | (0x80000000 if exclusive else 0), weight)
                return frame_bytes(PRIORITY, 0, stream, payload)
            case WindowUpdate(stream, inc):
                return frame_bytes(WINDOW_UPDATE, 0, stream, struct.pack(">I", inc))
            case GoAway(last, code, debug, stream):
                payload = struct.pack(">II", last, code) + debug
                return frame_bytes(GOAWAY, 0, stream, payload)
            case RawBytes(data):
                return data
        raise TypeError(f"not a sending step: {step!r}")

    def _headers(self, h: Headers) -> bytes:
        if h.block is not None:
            block = h.block
        else:
            fields = list(h.headers) if h.headers is not None else request_headers(h.method)
            block = self.encode(fields + list(h.extra))
        flags = (END_STREAM if h.end_stream else 0) | (END_HEADERS if h.end_headers else 0)
        prefix = b""
        if h.pad is not None:
            flags |= PADDED
            prefix = bytes([h.pad])
        if h.priority is not None:
            flags |= PRIORITY_FLAG
            dep, exclusive, weight = h.priority
            prefix += struct.pack(">IB", dep | (0x80000000 if exclusive else 0), weight)
        return frame_bytes(HEADERS, flags, h.stream, prefix + block + b"\0" * h.pad_bytes)

    def wait(self, step: H2Step, deadline: float) -> None:
        while True:
            ev = self.next_event(deadline)
            match step:
                case WaitStreamClose(stream) if ev.stream == stream and (
                    ev.type == RST_STREAM or (ev.type in (DATA, HEADERS) and ev.flags & END_STREAM)
                ):
                    return
                case WaitData(stream) if ev.stream == stream and ev.type == DATA:
                    return
                case WaitSettingsAck() if ev.type == SETTINGS and ev.flags & ACK:
                    return


def _length(buf: bytes) -> int:
    return (buf[0] << 16) | (buf[1] << 8) | buf[2]


_WAITS = (WaitStreamClose, WaitData, WaitSettingsAck)
# Expectations that the connection closing satisfies (h2spec: a connection error may be a close).
_CLOSE_PASSES = ("connection_error", "stream_error", "closed", "ping_or_close", "malformed")


def expected_text(e: H2Expect) -> list[str]:
    codes = [f"GOAWAY Frame (Error Code: {c})" for c in e.codes]
    rst = [f"RST_STREAM Frame (Error Code: {c})" for c in e.codes]
    return {
        "connection_error": [*codes, "Connection closed"],
        "stream_error": [*codes, *rst, "Connection closed"],
        "goaway": codes,
        "rst_stream": rst,
        "headers": [f"HEADERS Frame (stream_id:{e.stream})"],
        "ping_ack": [f"PING Frame (flags:0x01, opaque_data:{e.data!r})"],
        "ping_or_close": [f"PING Frame (flags:0x01, opaque_data:{e.data!r})", "Connection closed"],
        "settings_ack": ["SETTINGS Frame (flags:0x01)"],
        "data": [f"DATA Frame (length:{e.length})" if e.length else "DATA Frame"],
        "closed": ["Connection closed"],
        "first_settings": ["SETTINGS Frame"],
        "malformed": [
            *codes,
            *rst,
            "Connection closed",
            f"HEADERS :status 4xx (stream {e.stream})",
        ],
        "answered_ok": [f"HEADERS :status < 400 (stream_id:{e.stream})"],
    }[e.kind]


def _judge(e: H2Expect, ev: Event, first: bool) -> str | None:
    """'pass', 'fail', 'skip' or None (keep waiting) for one incoming frame."""
    codes = {c for c in e.codes}
    if e.kind == "first_settings":
        return "pass" if ev.type == SETTINGS and not ev.flags & ACK else "fail"
    if ev.type == GOAWAY and len(ev.payload) >= 8:
        if e.kind in ("connection_error", "stream_error", "goaway", "malformed"):
            return "pass" if code_name(_u32(ev.payload, 4)) in codes else None
        return "fail" if e.kind == "answered_ok" else None
    if ev.type == RST_STREAM and len(ev.payload) >= 4:
        if e.kind in ("stream_error", "rst_stream", "malformed"):
            return "pass" if code_name(_u32(ev.payload, 0)) in codes else None
        if e.kind in ("headers", "answered_ok") and ev.stream == e.stream:
            return "fail"  # the request was refused: no answer can follow
        return None
    if e.kind == "headers" and ev.type == HEADERS and ev.stream == e.stream:
        return "pass"
    if e.kind in ("malformed", "answered_ok") and ev.type == HEADERS and ev.stream == e.stream:
        if ev.status is None or ev.status < 200:
            return None
        ok = ev.status < 400
        bad = 400 <= ev.status < 500
        return "pass" if (ok if e.kind == "answered_ok" else bad) else "fail"
    if e.kind in ("ping_ack", "ping_or_close") and ev.type == PING and ev.flags & ACK:
        return "pass" if ev.payload == e.data else None
    if e.kind == "settings_ack" and ev.type == SETTINGS and ev.flags & ACK:
        return "pass"
    if e.kind == "data":
        if ev.type == DATA and ev.stream == e.stream:
            if e.length is None or len(ev.payload) == e.length:
                return "pass"
            return "fail" if len(ev.payload) > e.length else None
        if ev.type == HEADERS and ev.stream == e.stream and ev.flags & END_STREAM:
            return "skip"  # h2spec skips when the response has no body
    return None


def run_h2(case: Case, conn: Wire, timeout: float) -> Outcome:
    assert isinstance(case.expect, H2Expect)
    e = case.expect
    expected = expected_text(e)
    h2 = H2Conn(conn)
    deadline = time.monotonic() + timeout
    try:
        if case.handshake:
            h2.handshake(deadline)
    except (Closed, Timeout) as err:
        return Outcome("failed", expected, [f"handshake: {err}"])
    for need in case.requires:
        if need == "max_concurrent_streams" and SETTINGS_MAX_CONCURRENT_STREAMS not in (
            h2.server_settings
        ):
            return Outcome("skipped", expected, ["SETTINGS_MAX_CONCURRENT_STREAMS not advertised"])
        if (
            need == "extended_connect"
            and h2.server_settings.get(SETTINGS_ENABLE_CONNECT_PROTOCOL, 0) != 1
        ):
            return Outcome("skipped", expected, ["SETTINGS_ENABLE_CONNECT_PROTOCOL not advertised"])
    pending = b""
    try:
        for step in case.steps:
            if isinstance(step, ExceedStreams):
                limit = h2.server_settings.get(SETTINGS_MAX_CONCURRENT_STREAMS, 0)
                if limit > step.most:
                    reason = f"SETTINGS_MAX_CONCURRENT_STREAMS={limit} is over {step.most}"
                    return Outcome("skipped", expected, [reason])
                # a zero window keeps the server from ending the streams (as h2spec does)
                pending += h2.step_bytes(Settings(((0x4, 0),)))
                for i in range(limit + 1):
                    pending += h2.step_bytes(Headers(1 + 2 * i))
            elif isinstance(step, _WAITS):
                if pending:
                    conn.send(pending)
                    pending = b""
                h2.wait(step, deadline)
            else:
                pending += h2.step_bytes(step)
        if pending:
            conn.send(pending)
    except Closed:
        if e.kind in _CLOSE_PASSES:
            return Outcome("passed", expected, ["Connection closed"])
        return Outcome("failed", expected, ["Connection closed"])
    except Timeout:
        return Outcome("failed", expected, ["Timeout (while waiting for the server's answer)"])
    actual: list[str] = []
    first = True
    while True:
        try:
            ev = h2.next_event(deadline)
        except Closed:
            if e.kind in _CLOSE_PASSES:
                return Outcome("passed", expected, ["Connection closed"])
            return Outcome("failed", expected, [*actual, "Connection closed"])
        except Timeout:
            return Outcome("failed", expected, [*actual, "Timeout"])
        verdict = _judge(e, ev, first)
        first = False
        if verdict == "pass":
            return Outcome("passed", expected, [ev.describe()])
        if verdict == "skip":
            return Outcome("skipped", expected, ["response has no body"])
        actual.append(ev.describe())
        if verdict == "fail":
            return Outcome("failed", expected, actual)
        if ev.type == PING and not ev.flags & ACK:
            conn.send(frame_bytes(PING, ACK, 0, ev.payload))
