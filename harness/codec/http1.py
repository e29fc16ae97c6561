"""An Envoy-compatible HTTP/1.1 codec: a sans-IO incremental parser and a serializer.

The parser follows what Envoy 1.40 does with its default HTTP/1 parser (QUICHE Balsa with the
validation policy Envoy sets, plus Envoy's own checks in ``http1/codec_impl.cc``), as observed on
a real Envoy (see ``tests/data/http1_envoy_table.json``), not what the RFCs allow:

* a header block ends at the first empty line (``\\n`` or ``\\r\\n`` after a ``\\n``); leading
  CR/LF before a message are skipped; the block is limited to ``max_request_headers_kb`` KiB;
* controls other than HTAB/CR/LF, and DEL, anywhere in the block (request line included) give
  400 ``http1.invalid_characters``; a lone CR inside a value is dropped, as is the CRLF of an
  obs-fold (the fold's whitespace stays);
* request line: whitespace-separated islands; one of Envoy's 34 methods; http-parser's URL
  rules; version ``HTTP/d.d`` or none (HTTP/0.9: the message ends with the request line);
  anything but ``HTTP/1.1`` is HTTP/1.0 for Envoy (426 unless ``accept_http_10``);
* Content-Length: digits only, at most 2^64-1, one header only; Transfer-Encoding must be
  exactly ``chunked`` (501), never with Content-Length (400 unless ``allow_chunked_length``);
* chunk sizes: hex digits up to 2^64-1, then SP/HTAB/``;`` extensions, CRLF (a lone CR or LF
  in the size line is rejected); anything up to the LF after chunk data is skipped;
* responses (Envoy's upstream codec): each must start with ``H``; the status is ``+?digits``
  kept modulo 2^16 (0 refused, 99 or 1000 pass); 1xx other than 101 are interim; 1xx and 204
  may carry neither Transfer-Encoding nor a non-zero Content-Length; HEAD/204/304 have no
  body; no framing means a body up to EOF; 80 KiB / 100 headers. A rejected response reaches
  the client as 502.

Where Envoy itself reports different details depending on how the bytes were split across
reads, the codec picks the one Envoy gives when the whole header block arrives at once, so the
events are the same for every split. Errors are events (``Error``) carrying the status Envoy
sends and its details string; after one the parser stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

from harness.codec.http1_h2c import strip_h2c_upgrade
from harness.codec.http1_url import url_authority_ok
from harness.util.http import decimal_value

Role = Literal["request", "response"]

# headers_with_underscores_action (envoy.config.core.v3.HttpProtocolOptions)
ALLOW: Final = 0
REJECT_REQUEST: Final = 1
DROP_HEADER: Final = 2

U64_MAX: Final = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class Options:
    """The Http1ProtocolOptions / HCM knobs that change HTTP/1 parsing (Envoy defaults)."""

    allow_absolute_url: bool = True
    accept_http_10: bool = False
    default_host_for_http_10: bytes = b""
    allow_chunked_length: bool = False
    enable_trailers: bool = False
    headers_with_underscores_action: int = ALLOW
    max_request_headers_kb: int = 60
    max_headers_count: int = 100
    # Upstream (response) limits. Envoy's client codec uses the cluster's limits; 80 KiB is the
    # historical http-parser default (not observed on 1.40).
    max_response_headers_kb: int = 80
    max_response_headers_count: int = 100


DEFAULT_OPTIONS: Final = Options()

Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: bytes
    target: bytes
    version: bytes  # b"HTTP/1.1", b"HTTP/1.0", ... or b"" for HTTP/0.9
    headers: Headers  # names lower-cased, values trimmed, in order, duplicates kept


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    reason: bytes
    version: bytes
    headers: Headers


@dataclass(frozen=True, slots=True)
class Data:
    data: bytes


@dataclass(frozen=True, slots=True)
class Trailers:
    headers: Headers


@dataclass(frozen=True, slots=True)
class EndOfMessage:
    pass


@dataclass(frozen=True, slots=True)
class Error:
    """A rejected message: ``status`` is what Envoy answers (0: it closes without a reply)."""

    status: int
    details: str
    message: str = field(default="", compare=False)


Event = RequestHead | ResponseHead | Data | Trailers | EndOfMessage | Error

END: Final = EndOfMessage()

# Envoy's BalsaParser::isMethodValid list (allow_custom_methods is off by default).
METHODS: Final = frozenset(
    b"ACL BIND CHECKOUT CONNECT COPY DELETE GET HEAD LINK LOCK MERGE MKACTIVITY MKCALENDAR "
    b"MKCOL MOVE MSEARCH NOTIFY OPTIONS PATCH POST PROPFIND PROPPATCH PURGE PUT REBIND REPORT "
    b"SEARCH SOURCE SUBSCRIBE TRACE UNBIND UNLINK UNLOCK UNSUBSCRIBE".split()
)

# Envoy's inline headers (joined with "," when repeated, so they count once toward the limit).
INLINE_HEADERS: Final = frozenset(
    b"host user-agent te expect content-type content-length transfer-encoding connection "
    b"keep-alive proxy-connection upgrade via x-request-id x-forwarded-for x-forwarded-proto "
    b"x-forwarded-host x-forwarded-client-cert x-client-trace-id grpc-timeout "
    b"x-envoy-original-path x-envoy-internal x-envoy-force-trace x-envoy-retry-on "
    b"x-envoy-retry-grpc-on x-envoy-max-retries x-envoy-upstream-rq-timeout-ms "
    b"x-envoy-upstream-rq-per-try-timeout-ms x-envoy-expected-rq-timeout-ms "
    b"x-envoy-downstream-service-cluster x-envoy-downstream-service-node "
    b"x-envoy-external-address x-envoy-attempt-count x-envoy-decorator-operation "
    b"x-envoy-upstream-alt-stat-name x-envoy-hedge-on-per-try-timeout".split()
)

# Bytes Balsa rejects anywhere in a header block: controls but HTAB/LF/CR, and DEL. Deleting
# every allowed byte leaves the bad ones (bytes.translate is much faster than a regex here).
_BAD: Final = frozenset([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_ALLOWED: Final = bytes(b for b in range(256) if b not in _BAD)
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(name: bytes) -> bool:
    """Whether ``name`` is an HTTP token (what a header name must be on the HTTP/1 wire)."""
    return _TOKEN.fullmatch(name) is not None


_VERSION: Final = re.compile(rb"HTTP/[0-9]\.[0-9]")
_COMMON_VERSIONS: Final = (b"HTTP/1.1", b"HTTP/1.0")
_ORIGIN_FORM: Final = re.compile(rb"/[!-~]*")  # no byte <= ' ': those split the line
_DIGITS: Final = re.compile(rb"[0-9]+")
_STATUS: Final = re.compile(rb"\+?[0-9]+")
_WS: Final = bytes(range(33))  # Balsa's whitespace: every byte <= ' '
# The first two whitespace-separated islands; the rest of the line is the third part.
_FIRST_LINE: Final = re.compile(rb"([\x21-\xff]+)[\x00-\x20]*([\x21-\xff]*)[\x00-\x20]*")
# http-parser's URL characters (Envoy's BalsaParser::isUrlValid).
_PATH_CHARS: Final = re.compile(rb"[\t\x0c!-~]*")
_HOST_CHARS: Final = re.compile(rb"[A-Za-z0-9!$%&'()*+,\-.:;=@\[\]_~]*")
_SCHEME: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+\-.]*://")
_HEX: Final = re.compile(rb"[0-9A-Fa-f]+")
_LONE_CR: Final = re.compile(rb"\r[^\n]")

_HEAD, _BODY, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_TERM, _TRAILERS, _UNTIL_CLOSE, _DEAD = range(8)


def _codec(message: str, status: int = 400) -> Error:
    return Error(status, "http1.codec_error", message)


def url_is_valid(url: bytes, is_connect: bool) -> bool:
    """http-parser's URL check as Envoy's Balsa wrapper does it."""
    if not url:
        return False
    if url[0] in b"/*":
        return _PATH_CHARS.fullmatch(url, 1) is not None
    rest = url
    if not is_connect:
        m = _SCHEME.match(url)
        if m is None:
            return False
        rest = url[m.end() :]
    cut = len(rest)
    for sep in (b"/", b"?"):
        i = rest.find(sep)
        if 0 <= i < cut:
            cut = i
    host = rest[:cut]
    return (
        _HOST_CHARS.fullmatch(host) is not None
        and b"@@" not in host
        and _PATH_CHARS.fullmatch(rest, cut) is not None
    )


def _connect_target_ok(target: bytes) -> bool:
    colon = target.rfind(b":")
    host = target[:colon]
    if colon <= 0 or (host[-1:] != b"]" if host[:1] == b"[" else b":" in host):
        return False  # a bracketed host ends at "]", a bare one has no ":" (observed on 1.40)
    port = target[colon + 1 :]
    if _DIGITS.fullmatch(port) is None:
        return False
    number = _u64(port)
    return number is not None and number <= 65535


def split_absolute_url(target: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(scheme, authority, path) of an absolute-form target as Envoy splits it, or None."""
    sep = target.find(b"://")
    if sep <= 0:
        return None
    scheme, rest = target[:sep], target[sep + 3 :]
    cut = len(rest)
    for ch in (b"/", b"?", b"#"):
        i = rest.find(ch)
        if 0 <= i < cut:
            cut = i
    authority, path = rest[:cut], rest[cut:]
    authority = authority[authority.rfind(b"@") + 1 :]  # userinfo is dropped
    if not authority:
        return None
    return scheme, authority, path or b"/"


_TCHARS = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# One "name: value" line per match; the value without Balsa's whitespace at either end.
_FIELD: Final = re.compile(rb"^(" + _TCHARS + rb"):([^\n]*)\n", re.M)


def parse_section(section: bytes) -> list[tuple[bytes, bytes]] | Error:
    """A header or trailer section (lines joined by LF, no final LF) -> (lower name, value)."""
    text = section + b"\n"
    # Fast path: every line is "token:value" (one match per line, each anchored at a line
    # start) and none is folded or holds a lone CR.
    pairs = _FIELD.findall(text)
    if b"\n " not in text and b"\n\t" not in text and _LONE_CR.search(text) is None:
        if len(pairs) != text.count(b"\n"):
            # Some line is not "token:value"; every such error is Envoy's codec_error.
            return _codec("HPE_INVALID_HEADER_TOKEN")
        ws = _WS
        return [(n.lower(), v.strip(ws)) for n, v in pairs]
    return _parse_fields(section.split(b"\n"))


def _parse_fields(lines: list[bytes]) -> list[tuple[bytes, bytes]] | Error:
    """Header or trailer lines (each without its LF) -> (lower name, value) pairs."""
    out: list[tuple[bytes, bytes]] = []
    i, n = 0, len(lines)
    while i < n:
        start = i
        i += 1
        # obs-fold: following lines that start with SP/HTAB continue this one.
        while i < n and lines[i][:1] in (b" ", b"\t"):
            i += 1
        line = lines[start] if i == start + 1 else b"\n".join(lines[start:i])
        if i < n and lines[i] and lines[i][0] <= 0x20:
            return _codec("invalid header format")
        colon = line.find(b":")
        if colon < 0:
            return _codec("HPE_INVALID_HEADER_TOKEN")
        name = line[:colon]
        if _TOKEN.fullmatch(name) is None:
            return _codec("HPE_INVALID_HEADER_TOKEN")
        value = line[colon + 1 :].strip(_WS)
        if b"\r" in value or b"\n" in value:
            value = value.replace(b"\r", b"").replace(b"\n", b"")
        out.append((name.lower(), value))
    return out


def _u64(digits: bytes) -> int | None:
    """A decimal digit string (of any length) as an unsigned 64-bit value, or None when it
    overflows."""
    n = decimal_value(digits)
    return n if n <= U64_MAX else None


def _content_length(value: bytes) -> int | None:
    if _DIGITS.fullmatch(value) is None:
        return None
    return _u64(value)


class Parser:
    """Incremental HTTP/1 parser for one direction of one connection.

    ``feed(data)`` returns the events the new bytes complete; ``close()`` signals EOF. The
    events are the same for every split of the input (adjacent ``Data`` merged).
    """

    __slots__ = (
        "_body_left",
        "_buf",
        "_chunked_trailers",
        "_head_queue",
        "_max_count",
        "_max_head",
        "_state",
        "errored",
        "is_request",
        "options",
    )

    def __init__(self, role: Role = "request", options: Options = DEFAULT_OPTIONS) -> None:
        self.is_request = role == "request"
        self.options = options
        if self.is_request:
            self._max_head = options.max_request_headers_kb * 1024
            self._max_count = options.max_headers_count
        else:
            self._max_head = options.max_response_headers_kb * 1024
            self._max_count = options.max_response_headers_count
        self._buf = b""
        self._state = _HEAD
        self._body_left = 0
        self._chunked_trailers = False
        self._head_queue: list[bool] = []  # response side: is the pending request a HEAD?
        self.errored = False

    def expect_response_to(self, method: bytes) -> None:
        """Response parsers: tell the method of the next request (HEAD answers have no body)."""
        self._head_queue.append(method == b"HEAD")

    # -- driving -----------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        if self._state == _DEAD:
            return []
        buf = self._buf + data if self._buf else data
        events: list[Event] = []
        pos = self._run(buf, 0, events)
        self._buf = buf[pos:]
        return events

    def close(self) -> list[Event]:
        """End of input: finish a body framed by close, or report an incomplete message."""
        state = self._state
        if state == _DEAD:
            return []
        self._state = _DEAD
        buf = self._buf
        self._buf = b""
        if state == _UNTIL_CLOSE:
            return [END]
        if state == _HEAD:
            rest = buf.lstrip(b"\r\n")
            if not rest:
                return []
            nl = rest.find(b"\n")
            if nl >= 0:
                first = first_line(rest[:nl], self.is_request)
                if isinstance(first, Error):
                    return [self._fail(first)]
        return [self._fail(Error(0, "http1.codec_error", "HPE_INVALID_EOF_STATE"))]

    def _fail(self, err: Error) -> Error:
        self._state = _DEAD
        self.errored = True
        if not self.is_request and err.status:
            # An upstream protocol error reaches the client as a 502 (the details say why).
            err = Error(502, err.details, err.message)
        return err

    def _run(self, buf: bytes, pos: int, events: list[Event]) -> int:
        n = len(buf)
        while pos < n:
            state = self._state
            if state == _HEAD:
                pos = self._head(buf, pos, events)
                if pos < 0:
                    return n if self._state == _DEAD else -pos - 1
            elif state == _BODY:
                take = min(self._body_left, n - pos)
                events.append(Data(buf[pos : pos + take]))
                pos += take
                self._body_left -= take
                if not self._body_left:
                    events.append(END)
                    self._state = _HEAD
            elif state == _CHUNK_SIZE:
                pos = self._chunk_size(buf, pos, events)
                if pos < 0:
                    return n if self._state == _DEAD else -pos - 1
            elif state == _CHUNK_DATA:
                take = min(self._body_left, n - pos)
                events.append(Data(buf[pos : pos + take]))
                pos += take
                self._body_left -= take
                if not self._body_left:
                    self._state = _CHUNK_TERM
            elif state == _CHUNK_TERM:
                # Balsa skips anything up to the LF that ends the chunk.
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    return n
                pos = nl + 1
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                pos = self._trailers(buf, pos, events)
                if pos < 0:
                    return n if self._state == _DEAD else -pos - 1
            elif state == _UNTIL_CLOSE:
                events.append(Data(buf[pos:]))
                return n
            else:
                return n
        return pos

    # -- heads -------------------------------------------------------------------------

    def _head(self, buf: bytes, pos: int, events: list[Event]) -> int:
        """Parse one head at ``pos``; returns the new position, or -(pos+1) to wait."""
        n = len(buf)
        if not self.is_request:
            # Envoy wants each upstream response to start with its 'H' (no leading CRLF).
            if buf[pos] != 0x48:
                events.append(self._fail(_codec("HPE_INVALID_CONSTANT")))
                return -1
        else:
            while pos < n and buf[pos] in (13, 10):  # leading CR/LF between requests
                pos += 1
        if pos == n:
            return -(pos + 1)
        if buf[pos] <= 0x20:
            events.append(self._fail(_codec("NO_REQUEST_LINE_IN_REQUEST")))
            return -1
        limit = pos + self._max_head
        nl = buf.find(b"\n", pos, limit)
        if nl < 0:
            if n >= limit:
                events.append(self._fail(self._too_large()))
                return -1
            return -(pos + 1)
        first = first_line(buf[pos:nl], self.is_request)
        if self.is_request and (
            not first[2] if isinstance(first, tuple) else _no_version(buf[pos:nl])
        ):
            end, lines = nl + 1, b""  # HTTP/0.9: the request line is the whole message
            block = buf[pos:nl]
        else:
            e1 = buf.find(b"\n\n", nl, limit)
            e2 = buf.find(b"\n\r\n", nl, limit)
            if e1 < 0 and e2 < 0:
                if n >= limit:
                    err = first if isinstance(first, Error) else self._too_large()
                    events.append(self._fail(err))
                    return -1
                return -(pos + 1)
            if e1 < 0 or (0 <= e2 < e1):
                end = e2 + 3
                hdr = buf[nl + 1 : e2]
            else:
                end = e1 + 2
                hdr = buf[nl + 1 : e1]
            lines = hdr
            block = buf[pos:end]
        checked = self._check_block(block, lines, first)
        if isinstance(checked, Error):
            events.append(self._fail(checked))
            return -1
        head, framing = checked
        events.append(head)
        if framing == "none":
            events.append(END)
            self._state = _HEAD
        elif framing == "chunked":
            self._state = _CHUNK_SIZE
        elif framing == "until_close":
            self._state = _UNTIL_CLOSE
        else:
            self._body_left = int(framing)
            self._state = _BODY
        return end

    def _too_large(self) -> Error:
        return Error(431, "http1.headers_too_large", "headers size exceeds limit")

    def _check_block(
        self,
        block: bytes,
        lines: bytes,
        first: tuple[bytes, bytes, bytes] | Error,
    ) -> Error | tuple[RequestHead | ResponseHead, str]:
        opts = self.options
        # 1. Balsa's framer errors override the request-line errors Envoy raised earlier.
        if block.translate(None, _ALLOWED):
            return Error(400, "http1.invalid_characters", "header value contains invalid chars")
        if lines[:1] in (b" ", b"\t"):
            return _codec("invalid header format")
        fields = parse_section(lines) if lines else []
        if isinstance(fields, Error):
            return fields
        cl_value: bytes | None = None
        te_values: list[bytes] = []
        for name, value in fields:
            if name == b"content-length":
                if cl_value is not None:
                    return _codec("HPE_UNEXPECTED_CONTENT_LENGTH")
                cl_value = value
            elif name == b"transfer-encoding":
                te_values.append(value)
        chunked = bool(te_values) and te_values[-1].lower() == b"chunked"
        content_length = _content_length(cl_value) if cl_value is not None else None
        if cl_value is not None and content_length is None and not chunked:
            return _codec("UNPARSABLE_CONTENT_LENGTH")
        if isinstance(first, Error):
            return first
        part1, part2, part3 = first
        # 2. Envoy's per-header callbacks: underscores, then the header count.
        is_request = self.is_request
        if is_request and opts.headers_with_underscores_action != ALLOW:
            kept = []
            for name, value in fields:
                if b"_" in name:
                    if opts.headers_with_underscores_action == REJECT_REQUEST:
                        return Error(400, "http1.unexpected_underscore", "header with underscore")
                    continue
                kept.append((name, value))
            fields = kept
        if len(fields) > self._max_count:
            seen: set[bytes] = set()
            count = 0
            for name, _ in fields:
                if name in INLINE_HEADERS:
                    if name in seen:
                        continue
                    seen.add(name)
                count += 1
                if count > self._max_count:
                    return Error(431, "http1.too_many_headers", "too many headers")
        # 3. Envoy's headers-complete checks.
        method, target, version = part1, part2, part3
        is_connect = is_request and method == b"CONNECT"
        if is_request and not version and target.endswith(b"HTTP/1.1"):
            # Envoy's BalsaParser::isHttp11 asks whether the line ends in "HTTP/1.1", so a
            # version-less one that does is HTTP/1.1 (no 426) with no headers (observed).
            part3 = version = b"HTTP/1.1"
        # Observed on 1.40: a CONNECT body (a `content-length: 0` is dropped), then bad
        # framing (400/501), then a bad request-target (`CONNECT /` with `transfer-encoding:
        # chunked` is a 501).
        if is_connect and cl_value is not None:
            if cl_value != b"0":
                return Error(400, "http1.body_disallowed", "CONNECT request with body")
            fields = [f for f in fields if f[0] != b"content-length"]
            cl_value = None
        if te_values:
            if cl_value is not None:
                if chunked and opts.allow_chunked_length:
                    fields = [f for f in fields if f[0] != b"content-length"]
                    cl_value = None
                else:
                    return Error(
                        400,
                        "http1.content_length_and_chunked_not_allowed",
                        "both 'Content-Length' and 'Transfer-Encoding' are set.",
                    )
            if b",".join(te_values).lower() != b"chunked" or (is_request and part1 == b"CONNECT"):
                return Error(
                    501, "http1.invalid_transfer_encoding", "unsupported transfer encoding"
                )
        if is_request:
            if is_connect:
                if not _connect_target_ok(target):
                    return Error(400, "http1.invalid_url", "http/1.1 protocol error: invalid url")
            elif (
                target[:1] != b"/"
                # Envoy checks only the first byte of an OPTIONS asterisk-form ("*x" passes)
                and not (method == b"OPTIONS" and target[:1] == b"*")
                and opts.allow_absolute_url
            ):
                # Absolute form (Envoy's handlePath); without allow_absolute_url the target
                # goes on as the path and the connection manager rejects it.
                url = split_absolute_url(target)
                if url is None:
                    return Error(400, "http1.invalid_url", "http/1.1 protocol error: invalid url")
                if url[0].lower() not in (b"http", b"https"):
                    return Error(400, "http1.invalid_scheme", "invalid scheme")
                if not url_authority_ok(target):
                    return Error(400, "http1.invalid_url", "http/1.1 protocol error: invalid url")
        # Observed on 1.40: a bad target, a CONNECT body or bad framing (400/501) comes before
        # HTTP/1.0's 426.
        if is_request and part3 != b"HTTP/1.1":
            if not opts.accept_http_10:
                return Error(426, "low_version", "Upgrade required for HTTP/1.0 or HTTP/0.9")
            if opts.default_host_for_http_10 and not any(k == b"host" for k, _ in fields):
                fields.append((b"host", opts.default_host_for_http_10))
        if is_request and is_upgrade(fields):
            fields = strip_h2c_upgrade(fields)
        headers = tuple(fields)
        if is_request:
            head: RequestHead | ResponseHead = RequestHead(part1, part2, part3, headers)
            if part1 == b"CONNECT" or is_upgrade(fields):
                return head, "until_close"  # the rest of the stream is tunnelled bytes
            if chunked:
                self._chunked_trailers = True
                return head, "chunked"
            if content_length:
                return head, str(content_length)
            return head, "none"
        status = (_u64(part2.lstrip(b"+")) or 0) % 65536  # Envoy keeps the code as a uint16
        if status < 200 or status == 204:
            if te_values:
                return _codec("transfer-encoding not allowed", 502)
            if cl_value is not None and cl_value != b"0":
                return _codec("content-length not allowed", 502)
        head = ResponseHead(status, part3, part1, headers)
        if status == 101:
            return head, "until_close"
        if 100 <= status < 200:
            return head, "none"  # interim: the final response follows
        is_head = self._head_queue.pop(0) if self._head_queue else False
        if is_head or status in (204, 304):
            return head, "none"
        if chunked:
            return head, "chunked"
        if content_length is not None:
            return head, str(content_length) if content_length else "none"
        return head, "until_close"

    # -- chunked bodies ----------------------------------------------------------------

    def _chunk_size(self, buf: bytes, pos: int, events: list[Event]) -> int:
        nl = buf.find(b"\n", pos)
        m = _HEX.match(buf, pos)
        if m is None:
            if pos < len(buf):
                events.append(self._fail(_codec("HPE_INVALID_CHUNK_SIZE")))
                return -1
            return -(pos + 1)
        end = m.end()
        if end - pos > 16 and int(buf[pos:end], 16) > U64_MAX:
            events.append(self._fail(_codec("CHUNK_LENGTH_OVERFLOW")))
            return -1
        if end == len(buf):
            return -(pos + 1)
        if buf[end] not in b"\t\n\r ;":
            events.append(self._fail(_codec("HPE_INVALID_CHUNK_SIZE")))
            return -1
        # The extension runs to the LF; a CR must be followed by LF and an LF preceded by CR.
        if _LONE_CR.search(buf, end, nl if nl >= 0 else len(buf)) is not None:
            events.append(self._fail(_codec("INVALID_CHUNK_EXTENSION")))
            return -1
        if nl < 0:
            return -(pos + 1)
        if buf[nl - 1] != 13:
            events.append(self._fail(_codec("INVALID_CHUNK_EXTENSION")))
            return -1
        size = int(buf[pos:end], 16)
        if size:
            self._body_left = size
            self._state = _CHUNK_DATA
        else:
            self._state = _TRAILERS
        return nl + 1

    def _trailers(self, buf: bytes, pos: int, events: list[Event]) -> int:
        n = len(buf)
        start = pos
        while pos < n and buf[pos] in (13, 10):
            pos += 1
        # Balsa ends a section at "\n\n" or "\n\r\n" in the CR/LF run after the last-chunk
        # line's LF ("\r\r\n\n" too; observed on 1.40).
        run = b"\n" + buf[start:pos]
        if ends := [e + k for t, k in ((b"\n\n", 2), (b"\n\r\n", 3)) if (e := run.find(t)) >= 0]:
            events.append(END)
            self._state = _HEAD
            return start - 1 + min(ends)
        if pos == n:
            return -(start + 1)
        limit = pos + self._max_head
        e1 = buf.find(b"\n\n", pos, limit)
        e2 = buf.find(b"\n\r\n", pos, limit)
        if e1 < 0 and e2 < 0:
            if n >= limit:
                events.append(self._fail(self._too_large()))
                return -1
            return -(start + 1)
        if e1 < 0 or (0 <= e2 < e1):
            end, section = e2 + 3, buf[pos:e2]
        else:
            end, section = e1 + 2, buf[pos:e1]
        if buf[pos:end].translate(None, _ALLOWED):
            events.append(self._fail(Error(400, "http1.invalid_characters", "invalid trailer")))
            return -1
        if section[:1] <= b" ":
            events.append(self._fail(_codec("invalid trailer format")))
            return -1
        fields = parse_section(section)
        if isinstance(fields, Error):
            events.append(self._fail(fields))
            return -1
        if self.options.enable_trailers and fields:
            if self.is_request and self.options.headers_with_underscores_action != ALLOW:
                if self.options.headers_with_underscores_action == REJECT_REQUEST and any(
                    b"_" in k for k, _ in fields
                ):
                    events.append(
                        self._fail(Error(400, "http1.unexpected_underscore", "underscore"))
                    )
                    return -1
                fields = [f for f in fields if b"_" not in f[0]]
            if len(fields) > self._max_count:
                events.append(self._fail(Error(431, "http1.too_many_headers", "too many")))
                return -1
            if fields:
                events.append(Trailers(tuple(fields)))
        events.append(END)
        self._state = _HEAD
        return end


def is_upgrade(fields: list[tuple[bytes, bytes]]) -> bool:
    has_upgrade = False
    conn_upgrade = False
    for name, value in fields:
        if name == b"upgrade":
            has_upgrade = True
        elif name == b"connection" and b"upgrade" in value.lower():
            conn_upgrade = any(t.strip() == b"upgrade" for t in value.lower().split(b","))
    return has_upgrade and conn_upgrade


def _no_version(line: bytes) -> bool:
    """Balsa ends a request at its first line when the line has no third part (HTTP/0.9)."""
    m = _FIRST_LINE.match(line)
    return m is not None and not line[m.end() :].rstrip(_WS)


def first_line(line: bytes, is_request: bool) -> tuple[bytes, bytes, bytes] | Error:
    """Split and check a request or status line (without its LF)."""
    if is_request:
        # Fast path: "METHOD /origin HTTP/1.x" with single spaces.
        parts = line.rstrip(b"\r").split(b" ")
        if (
            len(parts) == 3
            and parts[2] in _COMMON_VERSIONS
            and parts[0] in METHODS
            and _ORIGIN_FORM.fullmatch(parts[1]) is not None
        ):
            return parts[0], parts[1], parts[2]
    return first_line_general(line, is_request)


def first_line_general(line: bytes, is_request: bool) -> tuple[bytes, bytes, bytes] | Error:
    """Balsa's island split of a first line, then Envoy's method, URL and version checks."""
    m = _FIRST_LINE.match(line)
    if m is None:  # cannot happen for a line starting with a non-space byte
        return _codec("HPE_INVALID_METHOD")
    part1, part2 = m.group(1), m.group(2)
    part3 = line[m.end() :].rstrip(_WS)  # linear, unlike a lazy regex group
    if is_request:
        if part1 not in METHODS:
            return _codec("HPE_INVALID_METHOD")
        if not url_is_valid(part2, part1 == b"CONNECT"):
            return _codec("HPE_INVALID_URL")
        if part3 and _VERSION.fullmatch(part3) is None:
            return _codec("HPE_INVALID_VERSION")
        return part1, part2, part3
    if not part2:
        return _codec("FAILED_TO_FIND_WS_AFTER_RESPONSE_VERSION")
    if _VERSION.fullmatch(part1) is None:
        return _codec("HPE_INVALID_VERSION")
    # absl::SimpleAtoi into size_t: an optional '+', digits, no overflow; 0 is refused.
    code = _u64(part2.lstrip(b"+")) if _STATUS.fullmatch(part2) is not None else None
    if not code or code % 65536 == 0:
        return _codec("FAILED_CONVERTING_STATUS_CODE_TO_INT")
    return part1, part2, part3


def normalize(events: list[Event]) -> list[Event]:
    """Merge adjacent Data events and drop empty ones (splits only change Data boundaries)."""
    out: list[Event] = []
    for e in events:
        if type(e) is Data:
            if not e.data:
                continue
            if out and type(out[-1]) is Data:
                prev = out[-1]
                assert isinstance(prev, Data)
                out[-1] = Data(prev.data + e.data)
                continue
        out.append(e)
    return out


def parse_all(
    data: bytes, role: Role = "request", options: Options = DEFAULT_OPTIONS, *, eof: bool = True
) -> list[Event]:
    """Parse a whole stream at once (then EOF unless ``eof=False``); normalized events."""
    p = Parser(role, options)
    events = p.feed(data)
    if eof:
        events += p.close()
    return normalize(events)
