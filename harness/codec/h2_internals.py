"""h2 4.4.1 code made cheaper, the same behaviour, used only on that version:

* ``receive_frame``: h2's per-frame method without its eager trace formatting;
* ``reject_illegal_characters``: h2's inbound header character check with its per-byte loops
  as regular expression searches (``install_header_check`` puts it in h2's place).

The clones of a connection are in ``harness.codec.h2_clone``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable
from typing import Any

import h2
import h2.connection
import h2.events
import h2.exceptions
import h2.utilities
from h2.errors import ErrorCodes
from hyperframe.frame import Frame, RstStreamFrame

# The h2 release whose H2Connection._receive_frame ``receive_frame`` copies.
H2_VERSION = "4.4.1"


def receive_frame(conn: h2.connection.H2Connection, frame: Frame) -> list[h2.events.Event]:
    """h2 4.4.1's ``H2Connection._receive_frame``, statement for statement, less its first
    line, ``self.config.logger.trace("Received frame: %s", repr(frame))``: the repr is built
    even though the log is off, and hyperframe hex-encodes a DATA frame's whole payload for
    it (~10 % of codec_impl's time; more under atheris, which instruments the repr code too).
    tests/test_h2_internals.py holds h2's source to this copy."""
    events: list[h2.events.Event]
    try:
        frames, events = conn._frame_dispatch_table[frame.__class__](frame)
    except h2.exceptions.StreamClosedError as e:
        # Closed by RST_STREAM: a RST_STREAM back; otherwise a connection error.
        if conn._stream_is_closed_by_reset(e.stream_id):
            f = RstStreamFrame(e.stream_id)
            f.error_code = e.error_code
            conn._prepare_for_sending([f])
            events = e._events
        else:
            raise
    except h2.exceptions.StreamIDTooLowError as e:
        # Closed by RST_STREAM: a stream error; by END_STREAM: StreamClosedError; implicitly
        # (a higher stream id was opened): a connection PROTOCOL_ERROR.
        if conn._stream_is_closed_by_reset(e.stream_id):
            f = RstStreamFrame(e.stream_id)
            f.error_code = ErrorCodes.STREAM_CLOSED
            conn._prepare_for_sending([f])
            events = []
        elif conn._stream_is_closed_by_end(e.stream_id):
            raise h2.exceptions.StreamClosedError(e.stream_id) from e
        else:
            raise
    else:
        conn._prepare_for_sending(frames)
    return events


# RFC 9113 §8.2.1, as h2 4.4.1 checks it: a name's bytes outside 0x00-0x20, 0x41-0x5a (upper
# case) and 0x7f-0xff; a value's bytes other than NUL, LF and CR.
_BAD_NAME_BYTE = re.compile(rb"[\x00-\x20A-Z\x7f-\xff]")
_BAD_VALUE_BYTE = re.compile(rb"[\x00\n\r]")
_h2_reject_illegal_characters = h2.utilities._reject_illegal_characters


def reject_illegal_characters(
    headers: Iterable[Any], hdr_validation_flags: Any
) -> Generator[Any, None, None]:
    """h2 4.4.1's ``_reject_illegal_characters``: the same headers through, the same
    ProtocolError (message included) at the same header. h2 visits every byte of every
    received name and value in Python; under atheris each visit is traced, ~7 % of a
    codec_impl request/response exchange. Here the first bad byte is found by a search."""
    for header in headers:
        name = header[0]
        if not (isinstance(name, bytes) and isinstance(header[1], bytes)):
            yield from _h2_reject_illegal_characters([header], hdr_validation_flags)
            continue
        bad = _BAD_NAME_BYTE.search(name)
        if bad is not None:
            c = name[bad.start()]
            if 0x41 <= c <= 0x5A:
                raise h2.exceptions.ProtocolError(f"Received uppercase header name {name!r}.")
            raise h2.exceptions.ProtocolError(
                f"Illegal character '{chr(c)}' in header name: {name!r}"
            )
        if name.find(b":", 1) != -1:
            raise h2.exceptions.ProtocolError(f"Illegal character ':' in header name: {name!r}")
        if field_value := header[1]:
            bad = _BAD_VALUE_BYTE.search(field_value)
            if bad is not None:
                c = field_value[bad.start()]
                raise h2.exceptions.ProtocolError(
                    f"Illegal character '{chr(c)}' in header value: {field_value!r}"
                )
            if field_value[0] in (0x20, 0x09) or field_value[-1] in (0x20, 0x09):
                raise h2.exceptions.ProtocolError(
                    f"Received header value surrounded by whitespace {field_value!r}"
                )
        yield header


def install_header_check() -> None:
    """Put ``reject_illegal_characters`` in h2's place (``validate_headers`` calls it by its
    module-level name); only on the h2 release it was written against."""
    if h2.__version__ == H2_VERSION:
        h2.utilities._reject_illegal_characters = reject_illegal_characters
