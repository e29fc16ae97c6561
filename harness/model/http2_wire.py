"""What Envoy 1.40 writes downstream on an HTTP/2 connection, frame by frame, for the model.

``harness.model.http2`` records, in order, the frames Envoy queues while it dispatches one read
(``Sent``: SETTINGS and PING ACKs, RST_STREAMs, local replies); this module holds the facts
about the rest of the wire: Envoy's own SETTINGS and connection WINDOW_UPDATE, the GOAWAY code
nghttp2 picks for each session error the model names, and the frames of the fake upstream's
``200 ok`` answer as Envoy relays them within the client's flow-control windows.

Observed on Envoy 1.40 with the lane's default bootstrap (``tests/test_conformance.py``
re-observes them, and compares every conformance case's verdict on Envoy and on the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from h2.errors import ErrorCodes

SentKind = Literal["settings_ack", "ping_ack", "rst_stream", "headers", "data"]


@dataclass(frozen=True)
class Sent:
    """One frame Envoy queues: ``code`` is the error code of a RST_STREAM and the
    ``:status`` of HEADERS; ``payload`` the opaque data of a PING ACK or a DATA frame's bytes."""

    kind: SentKind
    stream: int = 0
    code: int = 0
    payload: bytes = b""
    end_stream: bool = False


# Envoy's first SETTINGS: HEADER_TABLE_SIZE 4096, ENABLE_CONNECT_PROTOCOL 0,
# MAX_CONCURRENT_STREAMS 1024, INITIAL_WINDOW_SIZE 16 MiB (in this order).
MAX_CONCURRENT_STREAMS: Final = 1024
ENVOY_SETTINGS: Final = (
    (0x1, 4096),
    (0x8, 0),
    (0x3, MAX_CONCURRENT_STREAMS),
    (0x4, 16 * 1024 * 1024),
)
# After the first read: the connection window raised from 65535 to 24 MiB.
ENVOY_WINDOW_INCREMENT: Final = 24 * 1024 * 1024 - 65535

# nghttp2's GOAWAY code for a session error, by the text the model raises it with (first match).
GOAWAY_CODES: Final = (
    ("frame size", ErrorCodes.FRAME_SIZE_ERROR),
    ("COMPRESSION_ERROR", ErrorCodes.COMPRESSION_ERROR),
    ("too many setting entries", ErrorCodes.ENHANCE_YOUR_CALM),
    ("half-closed(remote)", ErrorCodes.STREAM_CLOSED),
)


def goaway_code(reason: str) -> int:
    return next((code for text, code in GOAWAY_CODES if text in reason), ErrorCodes.PROTOCOL_ERROR)


UPSTREAM_BODY: Final = b"ok"  # what the harness's fake upstream answers, after its 200


def relay_answer(
    stream: int, relayed: int | None, stream_window: int, connection_window: int
) -> tuple[list[Sent], int, bool]:
    """The next frames of the upstream's ``200 ok`` on ``stream`` (``relayed`` bytes of the
    body already sent, None before the HEADERS): the body as far as both send windows allow,
    and an empty END_STREAM DATA once all of it went (Envoy encodes the body and the end of
    the response separately). Returns the frames, the bytes now relayed and whether it ended."""
    frames = [Sent("headers", stream, 200)] if relayed is None else []
    done = relayed or 0
    allowed = max(0, min(stream_window, connection_window, len(UPSTREAM_BODY) - done))
    if allowed:
        frames.append(Sent("data", stream, payload=UPSTREAM_BODY[done : done + allowed]))
        done += allowed
    ended = done == len(UPSTREAM_BODY)
    if ended:
        frames.append(Sent("data", stream, end_stream=True))
    return frames, done, ended
