"""RFC 9113 rules h2spec lacks (h2spec follows RFC 7540: summerwind/h2spec#128), with RFC 8441
(extended CONNECT) and RFC 9218 (SETTINGS_NO_RFC7540_PRIORITIES).

A malformed request (§8.1.1) passes on a stream error PROTOCOL_ERROR, a connection error, or a
4xx answer ("a server MAY send an HTTP response prior to closing or resetting the stream").
"""

from __future__ import annotations

from harness.codec.http2 import PREFACE
from harness.conformance.case import (
    ANSWERED_OK,
    MALFORMED,
    Case,
    Data,
    Frame,
    H2Expect,
    H2Step,
    Headers,
    Ping,
    Priority,
    RawBytes,
    Requires,
    Settings,
    WaitStreamClose,
    conn_error,
)
from harness.conformance.hpack_blocks import AUTHORITY

_GET = ((":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", AUTHORITY))
NO_RFC7540_PRIORITIES = 0x9  # RFC 9218 §2.1
ENABLE_CONNECT_PROTOCOL = 0x8  # RFC 8441 §3


def _first_settings(values: tuple[tuple[int, int], ...]) -> tuple[H2Step, ...]:
    """Our own preface whose first SETTINGS carries ``values`` (RFC 9218 §2.1: the setting is
    read from the first SETTINGS frame; changing it later MAY be a connection error)."""
    return (RawBytes(PREFACE), Settings(values))


def _with(*extra: tuple[str, str]) -> tuple[H2Step, ...]:
    return (Headers(1, extra=extra),)


def _only(*fields: tuple[str, str]) -> tuple[H2Step, ...]:
    return (Headers(1, headers=fields),)


def _replace(name: str, value: str) -> tuple[H2Step, ...]:
    return _only(*((n, value if n == name else v) for n, v in _GET))


# (id suffix, section, requirement, steps, expect[, requires])
_Row = tuple[str, str, str, tuple[H2Step, ...], H2Expect]
# fmt: off
_ROWS: list[tuple[str, str, list[_Row]]] = [
    ("8.2.1", "Field Validity", [
        ("1", "§8.2.1", "A field name with uppercase characters makes the request malformed.",
         _with(("X-Upper", "1")), MALFORMED),
        ("2", "§8.2.1", "A field name with a control character (0x01) makes it malformed.",
         _with(("x-\x01ctl", "1")), MALFORMED),
        ("3", "§8.2.1", "A field name with SP makes it malformed.",
         _with(("x test", "1")), MALFORMED),
        ("4", "§8.2.1", "A field name with DEL (0x7f) makes it malformed.",
         _with(("x\x7ftest", "1")), MALFORMED),
        ("5", "§8.2.1", "A field name with a non-ASCII octet makes it malformed.",
         _with(("x-\u00e9", "1")), MALFORMED),
        ("6", "§8.2.1", "A ':' in a regular field name (not first) makes it malformed.",
         _with(("x:test", "1")), MALFORMED),
        ("7", "§8.2.1", "An empty field name makes the request malformed.",
         _with(("", "1")), MALFORMED),
        ("8", "§8.2.1", "A field name with HTAB makes it malformed.",
         _with(("x\ttest", "1")), MALFORMED),
        ("9", "§8.2.1", "A field value with NUL makes the request malformed.",
         _with(("x-test", "a\x00b")), MALFORMED),
        ("10", "§8.2.1", "A field value with CR makes the request malformed.",
         _with(("x-test", "a\rb")), MALFORMED),
        ("11", "§8.2.1", "A field value with LF makes the request malformed.",
         _with(("x-test", "a\nb")), MALFORMED),
        ("12", "§8.2.1", "A field value with leading SP makes the request malformed.",
         _with(("x-test", " a")), MALFORMED),
        ("13", "§8.2.1", "A field value with trailing SP makes the request malformed.",
         _with(("x-test", "a ")), MALFORMED),
        ("14", "§8.2.1", "A field value with leading HTAB makes the request malformed.",
         _with(("x-test", "\ta")), MALFORMED),
        ("15", "§8.2.1", "A field value with trailing HTAB makes the request malformed.",
         _with(("x-test", "a\t")), MALFORMED),
        ("16", "§8.2.1", "SP inside a field value is valid: the request is answered.",
         _with(("x-test", "a b")), ANSWERED_OK),
        ("17", "§8.2.1", "An empty field value is valid: the request is answered.",
         _with(("x-test", "")), ANSWERED_OK),
        ("18", "§8.2.1", "An uppercase name in trailers makes the request malformed.",
         (Headers(1, method="POST", end_stream=False), Data(1, end_stream=False),
          Headers(1, headers=(("X-Trailer", "1"),))), MALFORMED),
    ]),
    ("8.2.2", "Connection-Specific Header Fields", [
        *[
            (str(n), "§8.2.2", f"A '{name}' field makes the request malformed.",
             _with((name, value)), MALFORMED)
            for n, (name, value) in enumerate((
                ("connection", "close"), ("proxy-connection", "keep-alive"),
                ("keep-alive", "timeout=5"), ("transfer-encoding", "chunked"),
                ("upgrade", "websocket"), ("te", "gzip")), 1)
        ],
        ("7", "§8.2.2", "TE: trailers is the one TE allowed: the request is answered.",
         _with(("te", "trailers")), ANSWERED_OK),
    ]),
    ("8.2.3", "Compressing the Cookie Header Field", [
        ("1", "§8.2.3", "Several cookie fields (crumbs) are valid: the request is answered.",
         _with(("cookie", "a=1"), ("cookie", "b=2")), ANSWERED_OK),
    ]),
    ("8.3.1", "Request Pseudo-Header Fields", [
        ("1", "§8.3.1", ":authority and a host naming another entity: malformed (SHOULD).",
         _with(("host", "other.example")), MALFORMED),
        ("2", "§8.3.1", "host without :authority is valid: the request is answered.",
         _only((":method", "GET"), (":scheme", "http"), (":path", "/"), ("host", AUTHORITY)),
         ANSWERED_OK),
        ("3", "§8.3.1", "host equal to :authority is valid: the request is answered.",
         _with(("host", AUTHORITY)), ANSWERED_OK),
        ("4", "§8.3.1", ":authority MUST NOT include userinfo: malformed.",
         _replace(":authority", "user@" + AUTHORITY), MALFORMED),
        ("5", "§8.3.1", "An empty :method is not a token: malformed.",
         _replace(":method", ""), MALFORMED),
        ("6", "§8.3.1", "An empty :scheme: malformed.", _replace(":scheme", ""), MALFORMED),
        ("7", "§8.3.1", "A :path for http not starting with '/' (nor '*'): malformed.",
         _replace(":path", "index.html"), MALFORMED),
        ("8", "§8.3.1", "A :method with SP: malformed.", _replace(":method", "G T"), MALFORMED),
        ("9", "§8.3.1", "A pseudo-header after a regular field: malformed.",
         _only((":method", "GET"), ("x-test", "1"), (":scheme", "http"), (":path", "/"),
               (":authority", AUTHORITY)), MALFORMED),
        ("10", "§8.3.1", "Content-length with a HEADERS that ends the stream: malformed.",
         (Headers(1, method="POST", extra=(("content-length", "4"),)),), MALFORMED),
        ("11", "§8.1.1", "A non-numeric content-length: malformed.",
         (Headers(1, method="POST", end_stream=False, extra=(("content-length", "abc"),)),
          Data(1)), MALFORMED),
        ("12", "§8.1.1", "content-length matching the DATA is valid: the request is answered.",
         (Headers(1, method="POST", end_stream=False, extra=(("content-length", "4"),)),
          Data(1)), ANSWERED_OK),
    ]),
    ("8.5", "The CONNECT Method", [
        ("1", "§8.5", "CONNECT with :scheme: malformed.",
         _only((":method", "CONNECT"), (":scheme", "http"), (":authority", AUTHORITY + ":80")),
         MALFORMED),
        ("2", "§8.5", "CONNECT with :path: malformed.",
         _only((":method", "CONNECT"), (":path", "/"), (":authority", AUTHORITY + ":80")),
         MALFORMED),
        ("3", "§8.5", "CONNECT without :authority: malformed.",
         _only((":method", "CONNECT"),), MALFORMED),
        ("4", "§8.5", "A well-formed CONNECT is not malformed: any HTTP answer on the stream.",
         (Headers(1, headers=((":method", "CONNECT"), (":authority", AUTHORITY + ":80")),
                  end_stream=False),), H2Expect("headers")),
        ("5", "RFC 8441 §4", ":protocol on a server that did not advertise extended CONNECT "
         "(or on a non-CONNECT request): malformed.",
         _with((":protocol", "websocket")), MALFORMED),
    ]),
    ("5.3.2", "Priority Signaling (RFC 7540 priorities deprecated)", [
        ("1", "§5.3.2", "PRIORITY frames must still be parsed and may be ignored: a PRIORITY on "
         "a closed stream leaves the connection usable.",
         (Headers(1), WaitStreamClose(1), Priority(1, depends_on=3), Ping()),
         H2Expect("ping_ack")),
        ("2", "§6.3", "PRIORITY on stream 0 is still a connection error of type "
         "PROTOCOL_ERROR.", (Priority(0),), conn_error("PROTOCOL_ERROR")),
        ("3", "§6.3", "PRIORITY of length other than 5 on stream 0 is still a connection "
         "error.", (Frame(0x2, 0, 0, b"\0" * 4),),
         conn_error("PROTOCOL_ERROR", "FRAME_SIZE_ERROR")),
        ("4", "RFC 9218 §2.1", "SETTINGS_NO_RFC7540_PRIORITIES=1 is accepted (SETTINGS ACK).",
         (*_first_settings(((NO_RFC7540_PRIORITIES, 1),)),), H2Expect("settings_ack")),
        ("5", "RFC 9218 §2.1", "SETTINGS_NO_RFC7540_PRIORITIES other than 0 or 1: connection "
         "error PROTOCOL_ERROR.", _first_settings(((NO_RFC7540_PRIORITIES, 2),)),
         conn_error("PROTOCOL_ERROR")),
        ("6", "RFC 9218 §2.1", "With SETTINGS_NO_RFC7540_PRIORITIES=1 a HEADERS with the "
         "PRIORITY flag is still answered.",
         (*_first_settings(((NO_RFC7540_PRIORITIES, 1),)), Headers(1, priority=(0, False, 15))),
         H2Expect("headers")),
    ]),
    ("6.5.2", "Defined Settings", [
        ("1", "§6.5.2", "SETTINGS_ENABLE_CONNECT_PROTOCOL from a client is accepted.",
         (Settings(((ENABLE_CONNECT_PROTOCOL, 1),)),), H2Expect("settings_ack")),
        ("2", "RFC 8441 §3", "SETTINGS_ENABLE_CONNECT_PROTOCOL other than 0 or 1: connection "
         "error PROTOCOL_ERROR.", (Settings(((ENABLE_CONNECT_PROTOCOL, 2),)),),
         conn_error("PROTOCOL_ERROR")),
    ]),
]
# fmt: on

# Extended CONNECT rows run only against a server that advertises it (RFC 8441 §3).
# fmt: off
_EXTENDED: list[_Row] = [
    ("1", "RFC 8441 §4", "An extended CONNECT (:protocol with :scheme and :path) is a valid "
     "request: any HTTP answer.",
     (Headers(1, headers=((":method", "CONNECT"), (":protocol", "websocket"),
                          (":scheme", "http"), (":path", "/"), (":authority", AUTHORITY)),
              end_stream=False),), H2Expect("headers")),
    ("2", "RFC 8441 §4", "An extended CONNECT without :path: malformed.",
     (Headers(1, headers=((":method", "CONNECT"), (":protocol", "websocket"),
                          (":scheme", "http"), (":authority", AUTHORITY)),
              end_stream=False),), MALFORMED),
    ("3", "RFC 8441 §4", "An extended CONNECT without :scheme: malformed.",
     (Headers(1, headers=((":method", "CONNECT"), (":protocol", "websocket"),
                          (":path", "/"), (":authority", AUTHORITY)),
              end_stream=False),), MALFORMED),
]
# fmt: on


def _cases() -> list[Case]:
    out = []
    for group, title, rows in _ROWS:
        for n, section, requirement, steps, expect in rows:
            own_preface = bool(steps) and isinstance(steps[0], RawBytes)
            out.append(
                Case(
                    f"rfc9113/{group}/{n}",
                    _section(section),
                    requirement,
                    title,
                    expect,
                    steps=steps,
                    handshake=not own_preface,
                )
            )
    needs: tuple[Requires, ...] = ("extended_connect",)
    for n, section, requirement, steps, expect in _EXTENDED:
        out.append(
            Case(
                f"rfc9113/8441/{n}",
                _section(section),
                requirement,
                "Extended CONNECT",
                expect,
                steps=steps,
                requires=needs,
            )
        )
    return out


def _section(text: str) -> str:
    return text if text.startswith("RFC") else f"RFC 9113 {text}"


CASES: list[Case] = _cases()
