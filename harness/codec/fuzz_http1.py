"""Run functions of the HTTP/1 fuzz targets.

``http1_connection`` mirrors Envoy's http1_connection_fuzz_test: each input is one byte stream,
parsed once as requests (server side) and once as responses (client side), with the options
that test uses (absolute URLs, HTTP/1.0 with default host "localhost", trailers enabled).
Oracles: the parser raises nothing; limits hold; complete messages serialize and re-parse to
the same events; a second parse with the input split in two gives the same events.
"""

from __future__ import annotations

from typing import Final

from harness.codec.http1 import (
    INLINE_HEADERS,
    Data,
    EndOfMessage,
    Error,
    Event,
    Options,
    Parser,
    RequestHead,
    ResponseHead,
    Role,
    Trailers,
    normalize,
)
from harness.codec.http1_writer import serialize_message
from harness.oracle import InvariantViolation
from harness.util.http import decimal_value

FUZZ_OPTIONS: Final = Options(
    allow_absolute_url=True,
    accept_http_10=True,
    default_host_for_http_10=b"localhost",
    enable_trailers=True,
)

_DEFAULT_HOST: Final = (b"host", FUZZ_OPTIONS.default_host_for_http_10)
_ROLES: Final[tuple[Role, Role]] = ("request", "response")


def _parse(data: bytes, role: Role, split: int) -> list[Event]:
    p = Parser(role, FUZZ_OPTIONS)
    events = p.feed(data[:split]) + p.feed(data[split:]) if split else p.feed(data)
    return normalize(events + p.close())


def _check_limits(events: list[Event], role: Role) -> None:
    """Header counts stay within the limit; a request body never exceeds its Content-Length."""
    opts = FUZZ_OPTIONS
    max_count = opts.max_headers_count if role == "request" else opts.max_response_headers_count
    declared = -1  # Content-Length of the current request, -1 when it has none
    body = 0
    for ev in events:
        kind = type(ev)
        if kind is Data:
            body += len(ev.data)  # type: ignore[union-attr]
            if 0 <= declared < body:
                raise InvariantViolation(f"request body {body} > content-length {declared}")
        elif kind is EndOfMessage:
            if declared >= 0 and body != declared:
                raise InvariantViolation(f"request ended after {body} of {declared} bytes")
            declared, body = -1, 0
        elif kind in (RequestHead, ResponseHead, Trailers):
            headers = ev.headers  # type: ignore[union-attr]
            counted = headers
            if kind is RequestHead and headers and headers[-1] == _DEFAULT_HOST:
                counted = headers[:-1]  # Envoy adds the HTTP/1.0 default host after counting
            if len(counted) > max_count:
                distinct = len({k for k, _ in counted if k in INLINE_HEADERS})
                inline = sum(1 for k, _ in counted if k in INLINE_HEADERS)
                if len(counted) - inline + distinct > max_count:
                    raise InvariantViolation(f"{role}: {len(counted)} headers > {max_count}")
            if kind is RequestHead and ev.method != b"CONNECT":  # type: ignore[union-attr]
                cls = [v for k, v in headers if k == b"content-length"]
                te = any(k == b"transfer-encoding" for k, _ in headers)
                upgrade = any(k == b"upgrade" for k, _ in headers)
                if cls and not te and not upgrade:
                    declared = decimal_value(cls[0])


def _complete_messages(events: list[Event]) -> list[list[Event]]:
    messages: list[list[Event]] = []
    current: list[Event] = []
    for ev in events:
        if type(ev) is Error:
            break
        current.append(ev)
        if type(ev) is EndOfMessage:
            messages.append(current)
            current = []
    return messages


def _without_default_host(message: list[Event]) -> list[Event]:
    """Leave out the host the parser added to an HTTP/1.0 request: re-parsing adds it again
    (written out, it would count toward the header limit)."""
    head = message[0]
    if type(head) is RequestHead and head.headers and head.headers[-1] == _DEFAULT_HOST:
        assert isinstance(head, RequestHead)
        if head.version != b"HTTP/1.1" and all(k != b"host" for k, _ in head.headers[:-1]):
            trimmed = RequestHead(head.method, head.target, head.version, head.headers[:-1])
            return [trimmed, *message[1:]]
    return message


def _round_trip(data: bytes, events: list[Event], role: Role) -> None:
    messages = _complete_messages(events)
    if not messages:
        return
    wire = b"".join(serialize_message(_without_default_host(m)) for m in messages)
    if wire == data:
        return  # already canonical: re-parsing the same bytes cannot differ
    expected = [ev for m in messages for ev in m]
    again = _parse(wire, role, 0)
    if again != expected:
        raise InvariantViolation(
            f"{role}: serialized messages re-parse differently:\n"
            f"  first:  {expected[:6]!r}\n  again:  {again[:6]!r}"
        )


def http1_connection(data: bytes) -> None:
    """Envoy's http1_connection fuzz test: the input as a request stream and a response stream."""
    for role in _ROLES:
        events = _parse(data, role, 0)
        _check_limits(events, role)
        if len(data) > 1:
            split = _parse(data, role, len(data) // 2 + 1 if data[0] & 1 else len(data) // 3 + 1)
            if split != events:
                raise InvariantViolation(
                    f"{role}: events depend on how the input is split:\n"
                    f"  whole: {events[:6]!r}\n  split: {split[:6]!r}"
                )
        _round_trip(data, events, role)


def body_length(events: list[Event]) -> int:
    """Total body bytes in ``events`` (a helper for tests and the bench)."""
    return sum(len(e.data) for e in events if type(e) is Data)
