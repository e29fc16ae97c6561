"""h2's per-frame method without its eager trace formatting (``receive_frame``), written
against h2 4.4.1's code and used only on that version. The clones of a connection are in
``harness.codec.h2_clone``.
"""

from __future__ import annotations

import h2
import h2.connection
import h2.events
import h2.exceptions
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
