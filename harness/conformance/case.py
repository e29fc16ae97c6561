"""A conformance case as data: id, RFC section, the requirement, what it sends, what passes.

HTTP/2 cases are a list of *steps* (frames to write, or a wait for something the server must
do first) and one *expectation*; HTTP/1 cases are the bytes to write and an expectation over
the responses. Steps and expectations are small frozen values interpreted by
``harness.conformance.h2run`` and ``h1run``: the case tables read like h2spec's spec/ tree,
without a branch per case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# HTTP/2 error codes (RFC 9113 §7), by name as h2spec prints them.
ERROR_CODES: dict[str, int] = {
    "NO_ERROR": 0x0,
    "PROTOCOL_ERROR": 0x1,
    "INTERNAL_ERROR": 0x2,
    "FLOW_CONTROL_ERROR": 0x3,
    "SETTINGS_TIMEOUT": 0x4,
    "STREAM_CLOSED": 0x5,
    "FRAME_SIZE_ERROR": 0x6,
    "REFUSED_STREAM": 0x7,
    "CANCEL": 0x8,
    "COMPRESSION_ERROR": 0x9,
    "CONNECT_ERROR": 0xA,
    "ENHANCE_YOUR_CALM": 0xB,
    "INADEQUATE_SECURITY": 0xC,
    "HTTP_1_1_REQUIRED": 0xD,
}
CODE_NAMES = {v: k for k, v in ERROR_CODES.items()}


def code_name(code: int) -> str:
    return CODE_NAMES.get(code, f"UNKNOWN_ERROR_0x{code:x}")


Header = tuple[str, str]


# ---- HTTP/2 steps -----------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Any frame, written as given (type, flags, stream id, payload): the way to send a
    malformed one."""

    type: int
    flags: int
    stream: int
    payload: bytes = b""


@dataclass(frozen=True)
class Headers:
    """A HEADERS frame; ``headers`` None = the default request; ``block`` = a raw HPACK block
    instead; ``extra`` headers are appended to the default request."""

    stream: int
    headers: tuple[Header, ...] | None = None
    extra: tuple[Header, ...] = ()
    end_stream: bool = True
    end_headers: bool = True
    block: bytes | None = None
    pad: int | None = None  # pad length byte; with pad_bytes actual padding
    pad_bytes: int = 0
    priority: tuple[int, bool, int] | None = None  # (depends on, exclusive, weight)
    method: str = "GET"


@dataclass(frozen=True)
class Continuation:
    stream: int
    headers: tuple[Header, ...] = (("x-dummy", "dummy"),)
    end_headers: bool = True
    block: bytes | None = None


@dataclass(frozen=True)
class Data:
    stream: int
    data: bytes = b"test"
    end_stream: bool = True
    pad: int | None = None
    pad_bytes: int = 0


@dataclass(frozen=True)
class Settings:
    values: tuple[tuple[int, int], ...] = ()
    ack: bool = False
    stream: int = 0


@dataclass(frozen=True)
class Ping:
    data: bytes = b"h2spec\x00\x00"
    ack: bool = False


@dataclass(frozen=True)
class RstStream:
    stream: int
    code: int = ERROR_CODES["CANCEL"]


@dataclass(frozen=True)
class Priority:
    stream: int
    depends_on: int = 0
    weight: int = 15
    exclusive: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream: int
    increment: int


@dataclass(frozen=True)
class GoAway:
    last_stream: int = 0
    code: int = 0
    debug: bytes = b"h2spec"
    stream: int = 0


@dataclass(frozen=True)
class RawBytes:
    data: bytes


@dataclass(frozen=True)
class WaitStreamClose:
    """Read until the server ended ``stream`` (END_STREAM or RST_STREAM), as h2spec's
    VerifyStreamClose."""

    stream: int


@dataclass(frozen=True)
class WaitData:
    """Read until a DATA frame on ``stream``."""

    stream: int


@dataclass(frozen=True)
class WaitSettingsAck:
    pass


@dataclass(frozen=True)
class ExceedStreams:
    """HEADERS (END_STREAM) on one stream more than the server's SETTINGS_MAX_CONCURRENT_STREAMS
    (h2spec's http2/5.1.2/1; skipped when the limit is too large to reach in a test)."""

    most: int = 4096


H2Step = (
    Frame
    | Headers
    | Continuation
    | Data
    | Settings
    | Ping
    | RstStream
    | Priority
    | WindowUpdate
    | GoAway
    | RawBytes
    | WaitStreamClose
    | WaitData
    | WaitSettingsAck
    | ExceedStreams
)

# ---- HTTP/2 expectations ----------------------------------------------------------------

H2ExpectKind = Literal[
    "connection_error",  # GOAWAY with one of codes, or the connection closing
    "stream_error",  # also RST_STREAM with one of codes
    "goaway",  # a GOAWAY with one of codes (closing alone does not pass)
    "rst_stream",  # a RST_STREAM with one of codes
    "headers",  # a HEADERS frame on ``stream`` (the request was answered)
    "ping_ack",  # a PING with ACK and ``data``
    "ping_or_close",  # that, or the connection closing
    "settings_ack",  # a SETTINGS frame with ACK
    "data",  # a DATA frame (of at most ``length`` bytes when set)
    "closed",  # the TCP connection closed
    "first_settings",  # the server's first frame is SETTINGS
    "malformed",  # RFC 9113 §8.1.1: stream error PROTOCOL_ERROR (or connection error), or a
    #               4xx response on the stream
    "answered_ok",  # a response below 400 on ``stream`` (the request is valid)
]


@dataclass(frozen=True)
class H2Expect:
    kind: H2ExpectKind
    codes: tuple[str, ...] = ()
    stream: int = 1
    data: bytes = b"h2spec\x00\x00"
    length: int | None = None


def conn_error(*codes: str) -> H2Expect:
    return H2Expect("connection_error", codes)


def stream_error(*codes: str) -> H2Expect:
    return H2Expect("stream_error", codes)


MALFORMED = H2Expect("malformed", ("PROTOCOL_ERROR",))
ANSWERED_OK = H2Expect("answered_ok")


# ---- HTTP/1 expectations ----------------------------------------------------------------

H1ExpectKind = Literal[
    "reject",  # a 4xx answer (``statuses`` when given) or the connection closing unanswered
    "accept",  # a final response below 400 to every request (``count`` responses)
    "status",  # exactly these final statuses, in order
    "interim_then_final",  # a 100 Continue before the final response
    "closed_after",  # answered, then the server closed the connection
    "answered",  # any response (1xx included): the server neither hung nor closed silently
]


@dataclass(frozen=True)
class H1Expect:
    kind: H1ExpectKind
    statuses: tuple[int, ...] = ()
    count: int = 1
    close: bool = False  # reject: the connection must close after the answer too


def reject(*statuses: int, close: bool = False) -> H1Expect:
    return H1Expect("reject", statuses, close=close)


def accept(count: int = 1) -> H1Expect:
    return H1Expect("accept", count=count)


# ---- the case ---------------------------------------------------------------------------

Requires = Literal["max_concurrent_streams", "extended_connect"]


@dataclass(frozen=True)
class Case:
    id: str  # h2spec's id for its cases (``http2/6.5/1``); ``rfc9113/...``, ``http1/...``
    section: str  # "RFC 9113 §6.5"
    requirement: str  # in our words (h2spec's for its cases)
    group: str  # the group title, as h2spec prints it
    expect: H2Expect | H1Expect
    steps: tuple[H2Step, ...] = ()  # HTTP/2
    writes: tuple[bytes, ...] = ()  # HTTP/1: each one send
    handshake: bool = True  # HTTP/2: preface + SETTINGS exchange first
    requires: tuple[Requires, ...] = ()  # skipped when the server does not advertise it
    tags: tuple[str, ...] = field(default=())

    @property
    def protocol(self) -> Literal["h2", "h1"]:
        return "h1" if isinstance(self.expect, H1Expect) else "h2"
