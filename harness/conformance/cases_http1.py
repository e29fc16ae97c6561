"""HTTP/1.1 message framing (RFC 9112) and semantics (RFC 9110): what a server must accept,
must reject, and how it must delimit messages and connections.

"reject" passes on a 4xx answer (the given statuses when named) or on the connection closing
unanswered; where the RFC lets a server either reject or repair (obs-fold, bare CR, NUL) the
case asks only for an answer.
"""

from __future__ import annotations

from harness.conformance.case import Case, H1Expect, accept, reject

H = b"Host: localhost\r\n"
GET = b"GET / HTTP/1.1\r\n" + H + b"\r\n"
ANSWERED = H1Expect("answered")
CLOSED_AFTER = H1Expect("closed_after")


def req(head: bytes = b"", body: bytes = b"", line: bytes = b"GET / HTTP/1.1") -> bytes:
    return line + b"\r\n" + head + b"\r\n" + body


def post(head: bytes, body: bytes) -> bytes:
    return req(H + head, body, b"POST / HTTP/1.1")


def chunked(body: bytes) -> bytes:
    return post(b"Transfer-Encoding: chunked\r\n", body)


# (group, title, [(section, requirement, writes (bytes or tuple of bytes), expect)])
# fmt: off
_ROWS: list[tuple[str, str, list[tuple[str, str, bytes | tuple[bytes, ...], H1Expect]]]] = [
    ("3", "Request Line", [
        ("RFC 9112 §3", "A well-formed GET is answered.", GET, accept()),
        ("RFC 9112 §3", "A method with a non-token character is rejected.",
         req(H, line=b"G(T / HTTP/1.1"), reject()),
        ("RFC 9110 §2.5", "HTTP/1.2 is answered as the highest 1.x version supported.",
         req(H, line=b"GET / HTTP/1.2"), accept()),
        ("RFC 9110 §2.5", "HTTP/2.0 in a request line is rejected (400 or 505).",
         req(H, line=b"GET / HTTP/2.0"), reject(400, 505)),
        ("RFC 9112 §2.3", "A malformed version (HTTP/1.x) is rejected.",
         req(H, line=b"GET / HTTP/1.x"), reject()),
        ("RFC 9112 §2.3", "The version is case-sensitive: http/1.1 is rejected.",
         req(H, line=b"GET / http/1.1"), reject()),
        ("RFC 9112 §3", "A request line without a version (HTTP/0.9) is rejected.",
         b"GET /\r\n\r\n", reject()),
        ("RFC 9112 §3.2", "A target with SP is rejected.",
         req(H, line=b"GET /a b HTTP/1.1"), reject()),
        ("RFC 9112 §3.2", "A target with a control character is rejected.",
         req(H, line=b"GET /\x01 HTTP/1.1"), reject()),
        ("RFC 9112 §2.2", "A bare CR in the request line makes it invalid.",
         b"GET / HTTP/1.1\r" + H + b"\r\n", reject()),
        ("RFC 9112 §2.2", "An empty line before the request line is ignored.",
         b"\r\n" + GET, accept()),
        ("RFC 9112 §3.2.2", "A server MUST accept the absolute-form.",
         req(H, line=b"GET http://localhost/ HTTP/1.1"), accept()),
        ("RFC 9112 §3.2.2", "With the absolute-form the Host field is ignored.",
         req(b"Host: other.example\r\n", line=b"GET http://localhost/ HTTP/1.1"), accept()),
        ("RFC 9112 §3.2.3", "The authority-form is only for CONNECT: GET with it is rejected.",
         req(H, line=b"GET localhost:80 HTTP/1.1"), reject()),
        ("RFC 9112 §3", "A request line with a trailing SP is rejected.",
         req(H, line=b"GET / HTTP/1.1 "), reject()),
        ("RFC 9112 §3", "A very long target (80 KiB) is rejected (400/414/431).",
         req(H, line=b"GET /" + b"a" * 81920 + b" HTTP/1.1"), reject(400, 414, 431)),
        ("RFC 9110 §9.3.2", "HEAD is answered without a body.",
         req(H, line=b"HEAD / HTTP/1.1"), accept()),
        ("RFC 9110 §9.1", "An unknown method is answered (501 or otherwise), not dropped.",
         req(H, line=b"FOO / HTTP/1.1"), ANSWERED),
    ]),
    ("3.2", "Host", [
        ("RFC 9112 §3.2", "A HTTP/1.1 request without Host is answered 400.",
         req(), reject(400)),
        ("RFC 9112 §3.2", "Two Host fields are answered 400.",
         req(H + b"Host: other\r\n"), reject(400)),
        ("RFC 9112 §3.2", "An invalid Host value is answered 400.",
         req(b"Host: local host\r\n"), reject(400)),
    ]),
    ("5", "Field Syntax", [
        ("RFC 9112 §5.1", "Whitespace between a field name and the colon is answered 400.",
         req(H + b"X-Test : 1\r\n"), reject(400)),
        ("RFC 9112 §5.2", "obs-fold is rejected with 400 or replaced with SP: an answer.",
         req(H + b"X-Test: a\r\n b\r\n"), ANSWERED),
        ("RFC 9112 §5.2", "obs-fold is never accepted silently as two fields: either 400 or "
         "one answered request.", req(H + b"X-Test: a\r\n\tb\r\n"), ANSWERED),
        ("RFC 9110 §5.1", "A field name with SP is rejected.",
         req(H + b"X Test: 1\r\n"), reject()),
        ("RFC 9110 §5.1", "An empty field name is rejected.", req(H + b": 1\r\n"), reject()),
        ("RFC 9110 §5.1", "A field name with a control character is rejected.",
         req(H + b"X-\x01: 1\r\n"), reject()),
        ("RFC 9110 §5.1", "A field name with a non-ASCII octet is rejected.",
         req(H + b"X-\xe9: 1\r\n"), reject()),
        ("RFC 9112 §5", "A field line without a colon is rejected.",
         req(H + b"X-Test\r\n"), reject()),
        ("RFC 9110 §5.5", "NUL in a field value: rejected or replaced with SP (an answer).",
         req(H + b"X-Test: a\x00b\r\n"), ANSWERED),
        ("RFC 9112 §2.2", "A bare CR in a field value: invalid or replaced with SP (an "
         "answer).", req(H + b"X-Test: a\rb\r\n"), ANSWERED),
        ("RFC 9112 §2.2", "A bare LF as a line terminator MAY be accepted: an answer.",
         b"GET / HTTP/1.1\nHost: localhost\n\n", ANSWERED),
        ("RFC 9110 §5.5", "Leading and trailing whitespace around a value is OWS: accepted.",
         req(H + b"X-Test:  a \t\r\n"), accept()),
        ("RFC 9110 §5.5", "An empty field value is accepted.", req(H + b"X-Test:\r\n"),
         accept()),
        ("RFC 9110 §5.5", "obs-text (0x80-0xff) in a value is accepted.",
         req(H + b"X-Test: caf\xe9\r\n"), accept()),
        ("RFC 6585 §5", "200 header fields: answered 431 (or 400) when over a limit, else "
         "accepted - never dropped.",
         req(H + b"".join(b"X-F%d: 1\r\n" % i for i in range(200))), ANSWERED),
        ("RFC 6585 §5", "A 100 KiB header section is answered 431 or 400.",
         req(H + b"X-Big: " + b"a" * 102400 + b"\r\n"), reject(400, 431)),
    ]),
    ("6.3", "Content-Length", [
        ("RFC 9112 §6.2", "A body delimited by Content-Length is accepted.",
         post(b"Content-Length: 4\r\n", b"test"), accept()),
        ("RFC 9112 §6.3", "A Content-Length with a non-digit is answered 400.",
         post(b"Content-Length: 4a\r\n", b"test"), reject(400)),
        ("RFC 9112 §6.3", "A negative Content-Length is answered 400.",
         post(b"Content-Length: -1\r\n", b"test"), reject(400)),
        ("RFC 9112 §6.3", "A Content-Length with a plus sign is answered 400.",
         post(b"Content-Length: +4\r\n", b"test"), reject(400)),
        ("RFC 9112 §6.3", "Two different Content-Length fields are answered 400.",
         post(b"Content-Length: 4\r\nContent-Length: 5\r\n", b"test"), reject(400)),
        ("RFC 9110 §8.6", "A Content-Length list of different values is answered 400.",
         post(b"Content-Length: 4, 5\r\n", b"test"), reject(400)),
        ("RFC 9110 §8.6", "Two equal Content-Length fields MAY be accepted: an answer.",
         post(b"Content-Length: 4\r\nContent-Length: 4\r\n", b"test"), ANSWERED),
        ("RFC 9110 §8.6", "A Content-Length list of equal values MAY be accepted: an answer.",
         post(b"Content-Length: 4, 4\r\n", b"test"), ANSWERED),
        ("RFC 9112 §6.3", "A Content-Length beyond 64 bits is rejected (400/413).",
         post(b"Content-Length: 99999999999999999999\r\n", b"test"), reject(400, 413)),
        ("RFC 9112 §6.3", "A GET with a Content-Length body is accepted.",
         req(H + b"Content-Length: 4\r\n", b"test"), accept()),
        ("RFC 9112 §6.3", "Content-Length 0 is an empty body: accepted.",
         post(b"Content-Length: 0\r\n", b""), accept()),
    ]),
    ("6.1", "Transfer-Encoding", [
        ("RFC 9112 §7.1", "A chunked body is accepted.", chunked(b"4\r\ntest\r\n0\r\n\r\n"),
         accept()),
        ("RFC 9112 §6.1", "Transfer-Encoding and Content-Length together: answered, then the "
         "connection closed.",
         post(b"Content-Length: 20\r\nTransfer-Encoding: chunked\r\n",
              b"4\r\ntest\r\n0\r\n\r\n"), CLOSED_AFTER),
        ("RFC 9112 §6.3", "chunked not the final coding in a request: 400, then close.",
         post(b"Transfer-Encoding: chunked, gzip\r\n", b"4\r\ntest\r\n0\r\n\r\n"),
         reject(400, close=True)),
        ("RFC 9112 §6.3", "Only gzip (no chunked) in a request: 400, then close.",
         post(b"Transfer-Encoding: gzip\r\n", b"test"), reject(400, 501, close=True)),
        ("RFC 9112 §6.1", "An unknown transfer coding is answered 501 (SHOULD) or 400.",
         post(b"Transfer-Encoding: foo, chunked\r\n", b"4\r\ntest\r\n0\r\n\r\n"),
         reject(400, 501)),
        ("RFC 9112 §7", "chunked applied twice is rejected.",
         post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
              b"4\r\ntest\r\n0\r\n\r\n"), reject(400, 501)),
        ("RFC 9112 §7", "Transfer coding names are case-insensitive: Chunked is accepted.",
         post(b"Transfer-Encoding: Chunked\r\n", b"4\r\ntest\r\n0\r\n\r\n"), accept()),
        ("RFC 9112 §7", "identity is no longer a transfer coding: rejected (400/501).",
         post(b"Transfer-Encoding: identity\r\n", b"test"), reject(400, 501)),
        ("RFC 9112 §6.1", "Transfer-Encoding in a HTTP/1.0 request: framing faulty, connection "
         "closed after the answer.",
         req(H + b"Transfer-Encoding: chunked\r\n", b"4\r\ntest\r\n0\r\n\r\n",
             b"POST / HTTP/1.0"), CLOSED_AFTER),
    ]),
    ("7.1", "Chunked Transfer Coding", [
        ("RFC 9112 §7.1", "Uppercase hex chunk sizes are accepted.",
         chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), accept()),
        ("RFC 9112 §7.1", "A chunk size that is not hex is rejected.",
         chunked(b"g\r\ntest\r\n0\r\n\r\n"), reject()),
        ("RFC 9112 §7.1", "A chunk size with a 0x prefix is rejected.",
         chunked(b"0x4\r\ntest\r\n0\r\n\r\n"), reject()),
        ("RFC 9112 §7.1", "A chunk size with leading SP is rejected.",
         chunked(b" 4\r\ntest\r\n0\r\n\r\n"), reject()),
        ("RFC 9112 §7.1", "A chunk size overflowing 64 bits is rejected.",
         chunked(b"fffffffffffffffffff\r\ntest\r\n0\r\n\r\n"), reject()),
        ("RFC 9112 §7.1", "Chunk data longer than its size is rejected.",
         chunked(b"2\r\ntest\r\n0\r\n\r\n"), reject()),
        ("RFC 9112 §7.1", "A last-chunk of zeros (0000) is accepted.",
         chunked(b"4\r\ntest\r\n0000\r\n\r\n"), accept()),
        ("RFC 9112 §7.1.1", "Unrecognized chunk extensions are ignored.",
         chunked(b"4;name=value\r\ntest\r\n0\r\n\r\n"), accept()),
        ("RFC 9112 §7.1.1", "A quoted chunk extension value is accepted.",
         chunked(b'4;a="b c"\r\ntest\r\n0;x\r\n\r\n'), accept()),
        ("RFC 9112 §7.1.1", "A chunk extension with a control character is rejected.",
         chunked(b"4;a\x01\r\ntest\r\n0\r\n\r\n"), reject()),
        ("RFC 9112 §7.1.2", "A trailer section after the last chunk is accepted.",
         chunked(b"4\r\ntest\r\n0\r\nX-Trailer: 1\r\n\r\n"), accept()),
        ("RFC 9112 §7.1", "Chunk data without its CRLF is rejected.",
         chunked(b"4\r\ntestX0\r\n\r\n"), reject()),
    ]),
    ("9", "Connection Management", [
        ("RFC 9112 §9.3.2", "Two pipelined requests are answered in order.", GET + GET,
         accept(2)),
        ("RFC 9112 §9.3.2", "Three pipelined requests are answered in order.", GET * 3,
         accept(3)),
        ("RFC 9112 §9.3.2", "A pipelined POST with a body, then a GET: both answered.",
         post(b"Content-Length: 4\r\n", b"test") + GET, accept(2)),
        ("RFC 9112 §9.3.2", "A pipelined chunked POST, then a GET: both answered.",
         chunked(b"4\r\ntest\r\n0\r\n\r\n") + GET, accept(2)),
        ("RFC 9112 §9.3", "Requests on one connection sent one after another are answered.",
         (GET, GET), accept(2)),
        ("RFC 9112 §9.6", "Connection: close: answered, then the connection is closed.",
         req(H + b"Connection: close\r\n"), CLOSED_AFTER),
        ("RFC 9112 §9.3", "HTTP/1.0 without keep-alive: answered, then closed.",
         req(H, line=b"GET / HTTP/1.0"), CLOSED_AFTER),
    ]),
    ("10", "Expect and Upgrade", [
        ("RFC 9110 §10.1.1", "Expect: 100-continue with the body held back: 100 Continue or a "
         "final answer.", post(b"Content-Length: 4\r\nExpect: 100-continue\r\n", b""),
         ANSWERED),
        ("RFC 9110 §10.1.1", "Expect: 100-continue, then the body: the request is answered.",
         (post(b"Content-Length: 4\r\nExpect: 100-continue\r\n", b""), b"test"), accept()),
        ("RFC 9113 §3.1", "Upgrade: h2c without HTTP2-Settings MUST NOT upgrade: answered over "
         "HTTP/1.1.", req(H + b"Connection: Upgrade\r\nUpgrade: h2c\r\n"), accept()),
        ("RFC 9113 §3.1", "Upgrade: h2c (deprecated by RFC 9113) is either taken (101) or "
         "ignored: an answer.",
         req(H + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
             b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n"), ANSWERED),
    ]),
]
# fmt: on


def _cases() -> list[Case]:
    out = []
    for group, title, rows in _ROWS:
        for n, (section, requirement, writes, expect) in enumerate(rows, 1):
            sends = writes if isinstance(writes, tuple) else (writes,)
            out.append(
                Case(f"http1/{group}/{n}", section, requirement, title, expect, writes=sends)
            )
    return out


CASES: list[Case] = _cases()
