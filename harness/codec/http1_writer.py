"""The HTTP/1.1 serializer: the canonical bytes of a message given as the parser's events.

Names are written as given, ``name: value`` lines, CRLF; a chunked message is written as one
chunk. Parsing these bytes gives the same events back (``normalize`` aside), which the oracles
of the HTTP/1 targets and of the model check.
"""

from __future__ import annotations

from harness.codec.http1 import Data, Event, RequestHead, ResponseHead, Trailers, is_upgrade


def serialize_head(head: RequestHead | ResponseHead) -> bytes:
    """The canonical bytes of a head (names as given, ``name: value`` lines, CRLF)."""
    if isinstance(head, RequestHead):
        if not head.version:
            return b"%s %s\r\n" % (head.method, head.target)  # HTTP/0.9 has no headers
        first = b"%s %s %s\r\n" % (head.method, head.target, head.version)
    else:
        first = b"%s %d %s\r\n" % (head.version, head.status, head.reason)
    lines = [first]
    lines.extend(b"%s: %s\r\n" % kv for kv in head.headers)
    lines.append(b"\r\n")
    return b"".join(lines)


def serialize_message(events: list[Event]) -> bytes:
    """Bytes of one complete message given as its events (head, data..., trailers?, end)."""
    head = events[0]
    assert isinstance(head, RequestHead | ResponseHead)
    body = b"".join(e.data for e in events if isinstance(e, Data))
    trailers = next((e for e in events if isinstance(e, Trailers)), None)
    out = serialize_head(head)
    if isinstance(head, RequestHead):
        # CONNECT and upgrades carry tunnelled bytes as they are (HTTP/0.9 CONNECT too).
        raw = head.method == b"CONNECT" or is_upgrade(list(head.headers))
        if not head.version and not raw:
            return out
    else:
        raw = head.status == 101
        if not raw and (100 <= head.status < 200 or head.status in (204, 304)):
            return out  # bodiless whatever its headers say
    if not raw and any(k == b"transfer-encoding" for k, _ in head.headers):
        chunks = b"%x\r\n%s\r\n" % (len(body), body) if body else b""
        tail = b"".join(b"%s: %s\r\n" % kv for kv in trailers.headers) if trailers else b""
        return out + chunks + b"0\r\n" + tail + b"\r\n"
    return out + body
