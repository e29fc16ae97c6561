"""Every h2spec case (summerwind/h2spec, 147 cases over RFC 7540/7541) under h2spec's own id,
with h2spec's requirement text and pass rule. Steps follow h2spec's spec/ tree; where h2spec
computes a value at run time (the server's stream limit) a step says so
(``ExceedStreams``).
"""

from __future__ import annotations

from harness.codec.http2 import PREFACE
from harness.conformance import hpack_blocks as hb
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
    conn_error,
    stream_error,
)

PING = Ping()
PING_ACK = H2Expect("ping_ack")
ANSWERED = H2Expect("headers")
POST = Headers(1, method="POST", end_stream=False)
OPEN = Headers(1, end_stream=False)
NO_END_HEADERS = Headers(1, end_headers=False)
IWS = 0x4  # SETTINGS_INITIAL_WINDOW_SIZE
MAX_WINDOW = 2**31 - 1


def _bad_name(coded_name: bytes) -> bytes:
    """A literal with incremental indexing whose new name is the given Huffman bytes."""
    return hb.integer(len(coded_name), 7, 0x80).join([b"\x40", coded_name]) + hb.string(
        b"ok", huffman_coded=True
    )


# (group id, group title, RFC, [(requirement, steps, expect, extra)])
# h2spec numbers the cases of a group 1, 2, ... in order: the id is "<spec>/<group>/<n>".
_Row = tuple[str, tuple[H2Step, ...], H2Expect]
# fmt: off
_GROUPS: list[tuple[str, str, str, list[_Row]]] = [
    # ---------------------------------------------------------------- generic (RFC 7540)
    ("generic/1", "Starting HTTP/2", "RFC 7540 §3.5", [
        ("The endpoint MUST accept client connection preface.", (PING,), PING_ACK),
    ]),
    ("generic/2", "Streams and Multiplexing", "RFC 7540 §5", [
        ("The endpoint MUST accept PRIORITY frame (idle stream).", (Priority(1), PING), PING_ACK),
        ("The endpoint MUST accept WINDOW_UPDATE frame (half-closed (remote) stream).",
         (Headers(1), WindowUpdate(1, 1)), H2Expect("data")),
        ("The endpoint MUST accept PRIORITY frame (half-closed (remote) stream).",
         (Headers(1), Priority(1)), H2Expect("data")),
        ("The endpoint MUST accept RST_STREAM frame (half-closed (remote) stream).",
         (Headers(1), RstStream(1), PING), H2Expect("ping_or_close")),
        ("The endpoint MUST accept PRIORITY frame (closed stream).",
         (Headers(1), WaitStreamClose(1), Priority(1), PING), PING_ACK),
    ]),
    ("generic/3.1", "DATA", "RFC 7540 §6.1", [
        ("The endpoint MUST accept DATA frame.", (POST, Data(1)), ANSWERED),
        ("The endpoint MUST accept multiple DATA frames.",
         (POST, Data(1, end_stream=False), Data(1)), ANSWERED),
        ("The endpoint MUST accept DATA frame with padding.",
         (POST, Data(1, pad=8, pad_bytes=8)), ANSWERED),
    ]),
    ("generic/3.2", "HEADERS", "RFC 7540 §6.2", [
        ("The endpoint MUST accept HEADERS frame.", (Headers(1),), ANSWERED),
        ("The endpoint MUST accept HEADERS frame with padding.",
         (Headers(1, pad=8, pad_bytes=8),), ANSWERED),
        ("The endpoint MUST accept HEADERS frame with priority.",
         (Headers(1, priority=(0, False, 255)),), ANSWERED),
    ]),
    ("generic/3.3", "PRIORITY", "RFC 7540 §6.3", [
        ("The endpoint MUST accept PRIORITY frame with priority 1.",
         (Priority(1, weight=0), Headers(1)), ANSWERED),
        ("The endpoint MUST accept PRIORITY frame with priority 256.",
         (Priority(1, weight=255), Headers(1)), ANSWERED),
        ("The endpoint MUST accept PRIORITY frame with stream dependency.",
         (Priority(1, depends_on=3), Headers(1)), ANSWERED),
        ("The endpoint MUST accept PRIORITY frame with exclusive.",
         (Priority(1, depends_on=3, exclusive=True), Headers(1)), ANSWERED),
        ("The endpoint MUST respond the HEADER frame (PRIORITY for an idle stream, then "
         "HEADERS for a lower stream ID).",
         (Priority(5), Headers(3)), H2Expect("headers", stream=3)),
    ]),
    ("generic/3.4", "RST_STREAM", "RFC 7540 §6.4", [
        ("The endpoint MUST accept RST_STREAM frame.",
         (OPEN, RstStream(1), PING), H2Expect("ping_or_close")),
    ]),
    ("generic/3.5", "SETTINGS", "RFC 7540 §6.5", [
        ("The endpoint MUST accept SETTINGS frame.",
         (Settings(((IWS, 65535),)),), H2Expect("settings_ack")),
    ]),
    ("generic/3.7", "PING", "RFC 7540 §6.7", [
        ("The endpoint MUST accept PING frame.", (PING,), PING_ACK),
    ]),
    ("generic/3.8", "GOAWAY", "RFC 7540 §6.8", [
        ("The endpoint MUST accept GOAWAY frame.", (GoAway(), PING), H2Expect("ping_or_close")),
    ]),
    ("generic/3.9", "WINDOW_UPDATE", "RFC 7540 §6.9", [
        ("The endpoint MUST accept WINDOW_UPDATE frame (stream 0).",
         (WindowUpdate(0, 1), PING), PING_ACK),
        ("The endpoint MUST accept WINDOW_UPDATE frame (stream 1).",
         (OPEN, WindowUpdate(1, 1), Data(1)), ANSWERED),
    ]),
    ("generic/3.10", "CONTINUATION", "RFC 7540 §6.10", [
        ("The endpoint MUST accept CONTINUATION frame.",
         (NO_END_HEADERS, Continuation(1)), ANSWERED),
        ("The endpoint MUST accept multiple CONTINUATION frames.",
         (NO_END_HEADERS, Continuation(1, end_headers=False), Continuation(1)), ANSWERED),
    ]),
    ("generic/4", "HTTP Message Exchanges", "RFC 7540 §8.1", [
        ("The endpoint MUST respond to the request (GET).", (Headers(1),), ANSWERED),
        ("The endpoint MUST respond to the request (HEAD).",
         (Headers(1, method="HEAD"),), ANSWERED),
        ("The endpoint MUST respond to the request (POST).", (POST, Data(1)), ANSWERED),
        ("The endpoint MUST respond to the request (POST with trailers).",
         (POST, Data(1, end_stream=False), Headers(1, headers=(("x-trailer", "1"),))), ANSWERED),
    ]),
    ("generic/5", "HPACK", "RFC 7541 §6", [
        ("The endpoint MUST accept indexed header field representation",
         (Headers(1, block=hb.request_block()),), ANSWERED),
        *[
            (f"The endpoint MUST accept literal header field {label}",
             (Headers(1, block=hb.request_block(
                 hb.literal(kind, b"ok", name=b"test", huff=huff)
                 if new else b"",
                 host=None if new else hb.authority(kind, huff))),), ANSWERED)
            for kind, label0 in (("incremental", "with incremental indexing"),
                                 ("without", "without indexing"),
                                 ("never", "never indexed"))
            for new, huff in ((False, False), (False, True), (True, False), (True, True))
            for label in [f"{label0} - {'new' if new else 'indexed'} name"
                          + (" (huffman encoded)" if huff else "")]
        ],
        ("The endpoint MUST accept dynamic table size update",
         (Headers(1, block=hb.request_block(head=hb.table_size_update(0))),), ANSWERED),
        ("The endpoint MUST accept multiple dynamic table size update",
         (Headers(1, block=hb.request_block(
             head=hb.table_size_update(0) + hb.table_size_update(4096))),), ANSWERED),
    ]),
    # ---------------------------------------------------------------- http2 (RFC 7540)
    ("http2/3.5", "HTTP/2 Connection Preface", "RFC 7540 §3.5", [
        ("The server connection preface MUST be the first frame the server sends in the "
         "HTTP/2 connection.", (RawBytes(PREFACE), Settings()), H2Expect("first_settings")),
        ("The endpoint MUST terminate the TCP connection (invalid connection preface).",
         (RawBytes(b"INVALID CONNECTION PREFACE\r\n\r\n"),), conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/4.1", "Frame Format", "RFC 7540 §4.1", [
        ("The endpoint MUST ignore and discard any frame that has a type that is unknown.",
         (Frame(0x16, 0, 0, b"\0" * 8), PING), PING_ACK),
        ("The endpoint MUST ignore any flags that is undefined.",
         (Frame(0x6, 0x16, 0, b"h2spec\0\0"),), PING_ACK),
        ("The endpoint MUST ignore the value of reserved field.",
         (Frame(0x6, 0, 0x80000000, b"h2spec\0\0"),), PING_ACK),
    ]),
    ("http2/4.2", "Frame Size", "RFC 7540 §4.2", [
        ("The endpoint MUST be capable of receiving and minimally processing frames up to "
         "2^14 octets in length.", (POST, Data(1, b"x" * 16384)), ANSWERED),
        ("The endpoint MUST send an error code of FRAME_SIZE_ERROR (DATA frame over "
         "SETTINGS_MAX_FRAME_SIZE).", (POST, Data(1, b"x" * 16385)),
         stream_error("FRAME_SIZE_ERROR")),
        ("The endpoint MUST respond with a connection error of type FRAME_SIZE_ERROR (HEADERS "
         "frame over SETTINGS_MAX_FRAME_SIZE).",
         (Headers(1, extra=(("x-dummy", "x" * 20000),)),), conn_error("FRAME_SIZE_ERROR")),
    ]),
    ("http2/4.3", "Header Compression and Decompression", "RFC 7540 §4.3", [
        ("The endpoint MUST terminate the connection with a connection error of type "
         "COMPRESSION_ERROR (invalid header block fragment).",
         (Headers(1, block=b"\x00\x00\x00\x00\x00"),), conn_error("COMPRESSION_ERROR")),
        ("The endpoint MUST terminate the connection with a connection error of type "
         "PROTOCOL_ERROR (PRIORITY while sending the header blocks).",
         (NO_END_HEADERS, Priority(1)), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST terminate the connection with a connection error of type "
         "PROTOCOL_ERROR (HEADERS to another stream while sending the header blocks).",
         (NO_END_HEADERS, Headers(3)), conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/5.1", "Stream States", "RFC 7540 §5.1", [
        ("idle: DATA. The endpoint MUST treat this as a connection error of type "
         "PROTOCOL_ERROR.", (Data(1),), stream_error("PROTOCOL_ERROR", "STREAM_CLOSED")),
        ("idle: RST_STREAM. The endpoint MUST treat this as a connection error of type "
         "PROTOCOL_ERROR.", (RstStream(1),), conn_error("PROTOCOL_ERROR")),
        ("idle: WINDOW_UPDATE. The endpoint MUST treat this as a connection error of type "
         "PROTOCOL_ERROR.", (WindowUpdate(1, 100),), conn_error("PROTOCOL_ERROR")),
        ("idle: CONTINUATION. The endpoint MUST treat this as a connection error of type "
         "PROTOCOL_ERROR.", (Continuation(1),), conn_error("PROTOCOL_ERROR")),
        ("half closed (remote): DATA. The endpoint MUST respond with a stream error of type "
         "STREAM_CLOSED.", (Headers(1), Data(1)), stream_error("STREAM_CLOSED")),
        ("half closed (remote): HEADERS. The endpoint MUST respond with a stream error of "
         "type STREAM_CLOSED.", (Headers(1), Headers(1)), stream_error("STREAM_CLOSED")),
        ("half closed (remote): CONTINUATION. The endpoint MUST respond with a stream error "
         "of type STREAM_CLOSED.", (Headers(1), Continuation(1)),
         stream_error("STREAM_CLOSED", "PROTOCOL_ERROR")),
        ("closed: DATA after RST_STREAM. The endpoint MUST treat this as a stream error of "
         "type STREAM_CLOSED.", (OPEN, RstStream(1), Data(1)), stream_error("STREAM_CLOSED")),
        ("closed: HEADERS after RST_STREAM. The endpoint MUST treat this as a stream error of "
         "type STREAM_CLOSED.", (OPEN, RstStream(1), Headers(1)),
         stream_error("STREAM_CLOSED")),
        ("closed: CONTINUATION after RST_STREAM. The endpoint MUST treat this as a stream "
         "error of type STREAM_CLOSED.", (OPEN, RstStream(1), Continuation(1)),
         stream_error("STREAM_CLOSED", "PROTOCOL_ERROR")),
        ("closed: DATA. The endpoint MUST treat this as a connection error of type "
         "STREAM_CLOSED.", (Headers(1), WaitStreamClose(1), Data(1)),
         stream_error("STREAM_CLOSED")),
        ("closed: HEADERS. The endpoint MUST treat this as a connection error of type "
         "STREAM_CLOSED.", (Headers(1), WaitStreamClose(1), Headers(1)),
         conn_error("STREAM_CLOSED")),
        ("closed: CONTINUATION. The endpoint MUST treat this as a connection error of type "
         "STREAM_CLOSED.", (Headers(1), WaitStreamClose(1), Continuation(1)),
         conn_error("STREAM_CLOSED", "PROTOCOL_ERROR")),
    ]),
    ("http2/5.1.1", "Stream Identifiers", "RFC 7540 §5.1.1", [
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(even-numbered stream identifier).", (Headers(2),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR (stream "
         "identifier smaller than previous).", (Headers(5), Headers(3)),
         conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/5.1.2", "Stream Concurrency", "RFC 7540 §5.1.2", [
        ("The endpoint MUST treat this as a stream error of type PROTOCOL_ERROR or "
         "REFUSED_STREAM (advertised concurrent stream limit exceeded).", (ExceedStreams(),),
         stream_error("PROTOCOL_ERROR", "REFUSED_STREAM")),
    ]),
    ("http2/5.3.1", "Stream Dependencies", "RFC 7540 §5.3.1", [
        ("The endpoint MUST treat this as a stream error of type PROTOCOL_ERROR (HEADERS that "
         "depends on itself).", (Headers(1, priority=(1, False, 255)),),
         stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a stream error of type PROTOCOL_ERROR (PRIORITY that "
         "depends on itself).", (Priority(1, depends_on=1),), stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/5.4.1", "Connection Error Handling", "RFC 7540 §5.4.1", [
        ("The endpoint MUST close the TCP connection (invalid PING).",
         (Frame(0x6, 0, 3, b"h2spec\0\0"),), H2Expect("closed")),
        ("An endpoint that encounters a connection error SHOULD first send a GOAWAY frame "
         "(invalid PING).", (Frame(0x6, 0, 3, b"h2spec\0\0"),),
         H2Expect("goaway", ("PROTOCOL_ERROR",))),
    ]),
    ("http2/5.5", "Extending HTTP/2", "RFC 7540 §5.5", [
        ("The endpoint MUST ignore unknown or unsupported values in all extensible protocol "
         "elements.", (Frame(0xFF, 0, 0, b"\0" * 8), PING), PING_ACK),
        ("The endpoint MUST treat as a connection error of type PROTOCOL_ERROR (unknown "
         "extension frame in the middle of a header block).",
         (NO_END_HEADERS, Frame(0xFF, 0, 0, b"\0" * 8)), conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/6.1", "DATA", "RFC 7540 §6.1", [
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR (DATA on "
         "stream 0).", (Data(0),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a stream error of type STREAM_CLOSED (DATA on a "
         "stream not open or half-closed (local)).", (Headers(1), Data(1)),
         stream_error("STREAM_CLOSED")),
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (DATA "
         "with invalid pad length).", (POST, Data(1, b"test", pad=6)),
         conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/6.2", "HEADERS", "RFC 7540 §6.2", [
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (HEADERS "
         "without END_HEADERS, then PRIORITY).", (NO_END_HEADERS, Priority(1)),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (HEADERS "
         "to another stream while sending HEADERS).", (NO_END_HEADERS, Headers(3)),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR (HEADERS "
         "on stream 0).", (Headers(0),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (HEADERS "
         "with invalid pad length).", (Headers(1, pad=255),), stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/6.3", "PRIORITY", "RFC 7540 §6.3", [
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR (PRIORITY "
         "on stream 0).", (Priority(0),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a stream error of type FRAME_SIZE_ERROR (PRIORITY "
         "of other than 5 octets).", (OPEN, Frame(0x2, 0, 1, b"\0" * 4)),
         stream_error("FRAME_SIZE_ERROR")),
    ]),
    ("http2/6.4", "RST_STREAM", "RFC 7540 §6.4", [
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(RST_STREAM on stream 0).", (RstStream(0),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(RST_STREAM on an idle stream).", (RstStream(1),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type FRAME_SIZE_ERROR "
         "(RST_STREAM of other than 4 octets).", (OPEN, Frame(0x3, 0, 1, b"\0" * 3)),
         stream_error("FRAME_SIZE_ERROR")),
    ]),
    ("http2/6.5", "SETTINGS", "RFC 7540 §6.5", [
        ("The endpoint MUST respond with a connection error of type FRAME_SIZE_ERROR "
         "(SETTINGS with ACK and payload).", (Frame(0x4, 0x1, 0, b"\0\x04\0\0\xff\xff"),),
         conn_error("FRAME_SIZE_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR (SETTINGS "
         "on a stream other than 0).", (Settings(((IWS, 65535),), stream=1),),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type FRAME_SIZE_ERROR "
         "(SETTINGS length not a multiple of 6).", (Frame(0x4, 0, 0, b"\0\x03\0"),),
         stream_error("PROTOCOL_ERROR", "FRAME_SIZE_ERROR")),
    ]),
    ("http2/6.5.2", "Defined SETTINGS Parameters", "RFC 7540 §6.5.2", [
        ("SETTINGS_ENABLE_PUSH (0x2) other than 0 or 1: the endpoint MUST treat this as a "
         "connection error of type PROTOCOL_ERROR.", (Settings(((0x2, 2),)),),
         conn_error("PROTOCOL_ERROR")),
        ("SETTINGS_INITIAL_WINDOW_SIZE (0x4) above the maximum window: the endpoint MUST treat "
         "this as a connection error of type FLOW_CONTROL_ERROR.",
         (Settings(((IWS, 2**31),)),), conn_error("FLOW_CONTROL_ERROR")),
        ("SETTINGS_MAX_FRAME_SIZE (0x5) below the initial value: the endpoint MUST treat this "
         "as a connection error of type PROTOCOL_ERROR.", (Settings(((0x5, 16383),)),),
         conn_error("PROTOCOL_ERROR")),
        ("SETTINGS_MAX_FRAME_SIZE (0x5) above the maximum: the endpoint MUST treat this as a "
         "connection error of type PROTOCOL_ERROR.", (Settings(((0x5, 16777216),)),),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST ignore that setting (unknown identifier).",
         (Settings(((0xFF, 1),)), PING), PING_ACK),
    ]),
    ("http2/6.5.3", "Settings Synchronization", "RFC 7540 §6.5.3", [
        ("The endpoint MUST process the values in the settings in the order they apper "
         "(multiple SETTINGS_INITIAL_WINDOW_SIZE).",
         (Settings(((IWS, 100), (IWS, 1))), WaitSettingsAck(), Headers(1)),
         H2Expect("data", length=1)),
        ("The endpoint MUST immediately emit a SETTINGS frame with the ACK flag set.",
         (Settings(((IWS, 65535),)),), H2Expect("settings_ack")),
    ]),
    ("http2/6.7", "PING", "RFC 7540 §6.7", [
        ("The endpoint MUST sends a PING frame with ACK, with an identical payload.",
         (PING,), PING_ACK),
        ("The endpoint MUST NOT respond to PING frames with ACK.",
         (Ping(b"invalid\0", ack=True), PING), PING_ACK),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR (PING on a "
         "stream other than 0).", (Frame(0x6, 0, 1, b"h2spec\0\0"),),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a connection error of type FRAME_SIZE_ERROR (PING "
         "length other than 8).", (Frame(0x6, 0, 0, b"h2spec"),),
         conn_error("FRAME_SIZE_ERROR")),
    ]),
    ("http2/6.8", "GOAWAY", "RFC 7540 §6.8", [
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (GOAWAY "
         "on a stream other than 0).", (GoAway(stream=1),), conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/6.9", "WINDOW_UPDATE", "RFC 7540 §6.9", [
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (increment "
         "0).", (WindowUpdate(0, 0),), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR (increment "
         "0 on a stream).", (OPEN, WindowUpdate(1, 0)), stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a connection error of type FRAME_SIZE_ERROR "
         "(WINDOW_UPDATE of other than 4 octets).", (Frame(0x8, 0, 0, b"\0\0\x01"),),
         conn_error("FRAME_SIZE_ERROR")),
    ]),
    ("http2/6.9.1", "The Flow-Control Window", "RFC 7540 §6.9.1", [
        ("The endpoint MUST NOT send a flow-controlled frame with a length that exceeds the "
         "space available (initial window 1).",
         (Settings(((IWS, 1),)), WaitSettingsAck(), Headers(1)), H2Expect("data", length=1)),
        ("The endpoint MUST sends a GOAWAY frame with a FLOW_CONTROL_ERROR code (connection "
         "window above 2^31-1).", (WindowUpdate(0, MAX_WINDOW), WindowUpdate(0, MAX_WINDOW)),
         H2Expect("goaway", ("FLOW_CONTROL_ERROR",))),
        ("The endpoint MUST sends a RST_STREAM frame with a FLOW_CONTROL_ERROR code (stream "
         "window above 2^31-1).",
         (Settings(((IWS, 0),)), WaitSettingsAck(), Headers(1),
          WindowUpdate(1, MAX_WINDOW), WindowUpdate(1, MAX_WINDOW)),
         H2Expect("rst_stream", ("FLOW_CONTROL_ERROR",))),
    ]),
    ("http2/6.9.2", "Initial Flow-Control Window Size", "RFC 7540 §6.9.2", [
        ("The endpoint MUST adjust the size of all stream flow-control windows (initial "
         "window changed after HEADERS).",
         (Settings(((IWS, 0),)), WaitSettingsAck(), Headers(1), Settings(((IWS, 1),))),
         H2Expect("data", length=1)),
        ("The endpoint MUST track the negative flow-control window.",
         # window 1: one byte comes; IWS 0 makes it -1; +2 makes it 1: one more byte
         (Settings(((IWS, 1),)), WaitSettingsAck(), Headers(1), WaitData(1),
          Settings(((IWS, 0),)), WindowUpdate(1, 2)), H2Expect("data", length=1)),
        ("The endpoint MUST treat this as a connection error of type FLOW_CONTROL_ERROR "
         "(SETTINGS_INITIAL_WINDOW_SIZE above the maximum).", (Settings(((IWS, 2**31),)),),
         conn_error("FLOW_CONTROL_ERROR")),
    ]),
    ("http2/6.10", "CONTINUATION", "RFC 7540 §6.10", [
        ("The endpoint must accept the frame (multiple CONTINUATION after HEADERS).",
         (NO_END_HEADERS, Continuation(1, end_headers=False), Continuation(1)), ANSWERED),
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR "
         "(CONTINUATION followed by a frame other than CONTINUATION).",
         (NO_END_HEADERS, Continuation(1, end_headers=False), Data(1)),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(CONTINUATION on stream 0).", (NO_END_HEADERS, Continuation(0)),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(CONTINUATION after HEADERS with END_HEADERS).", (Headers(1), Continuation(1)),
         conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(CONTINUATION after CONTINUATION with END_HEADERS).",
         (NO_END_HEADERS, Continuation(1), Continuation(1)), conn_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a connection error of type PROTOCOL_ERROR "
         "(CONTINUATION after DATA).", (OPEN, Data(1), Continuation(1)),
         conn_error("PROTOCOL_ERROR")),
    ]),
    ("http2/7", "Error Codes", "RFC 7540 §7", [
        ("The endpoint MUST NOT trigger any special behavior (GOAWAY with unknown error "
         "code).", (GoAway(code=0xFF), PING), H2Expect("ping_or_close")),
        ("The endpoint MUST NOT trigger any special behavior (RST_STREAM with unknown error "
         "code).", (OPEN, RstStream(1, 0xFF), PING), H2Expect("ping_or_close")),
    ]),
    ("http2/8.1", "HTTP Request/Response Exchange", "RFC 7540 §8.1", [
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (second HEADERS "
         "without END_STREAM).",
         (POST, Headers(1, headers=(("x-trailer", "1"),), end_stream=False)),
         stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/8.1.2", "HTTP Header Fields", "RFC 7540 §8.1.2", [
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (uppercase "
         "field name).", (Headers(1, extra=(("X-TEST", "ok"),)),),
         stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/8.1.2.1", "Pseudo-Header Fields", "RFC 7540 §8.1.2.1", [
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (unknown "
         "pseudo-header).", (Headers(1, extra=((":test", "ok"),)),),
         stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (response "
         "pseudo-header in a request).", (Headers(1, extra=((":status", "200"),)),),
         stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (pseudo-header "
         "in trailers).", (POST, Data(1, end_stream=False),
                           Headers(1, headers=((":method", "POST"),))),
         stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (pseudo-header "
         "after a regular field).",
         (Headers(1, headers=((":method", "GET"), (":scheme", "http"), ("x-test", "ok"),
                              (":path", "/"), (":authority", hb.AUTHORITY))),),
         stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/8.1.2.2", "Connection-Specific Header Fields", "RFC 7540 §8.1.2.2", [
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR "
         "(connection-specific field).", (Headers(1, extra=(("connection", "keep-alive"),)),),
         stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (TE other than "
         "\"trailers\").", (Headers(1, extra=(("te", "trailers, deflate"),)),),
         stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/8.1.2.3", "Request Pseudo-Header Fields", "RFC 7540 §8.1.2.3", [
        ("The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (empty :path).",
         (Headers(1, headers=((":method", "GET"), (":scheme", "http"), (":path", ""),
                              (":authority", hb.AUTHORITY))),), stream_error("PROTOCOL_ERROR")),
        *[
            (f"The endpoint MUST respond with a stream error of type PROTOCOL_ERROR (omits "
             f"{name}).", (Headers(1, headers=tuple(
                 f for f in ((":method", "GET"), (":scheme", "http"), (":path", "/"),
                             (":authority", hb.AUTHORITY)) if f[0] != name)),),
             stream_error("PROTOCOL_ERROR"))
            for name in (":method", ":scheme", ":path")
        ],
        *[
            (f"The endpoint MUST respond with a stream error of type PROTOCOL_ERROR "
             f"(duplicated {name}).", (Headers(1, headers=(
                 (":method", "GET"), (":scheme", "http"), (":path", "/"),
                 (":authority", hb.AUTHORITY), (name, value))),),
             stream_error("PROTOCOL_ERROR"))
            for name, value in ((":method", "GET"), (":scheme", "http"), (":path", "/"))
        ],
    ]),
    ("http2/8.1.2.6", "Malformed Requests and Responses", "RFC 7540 §8.1.2.6", [
        ("The endpoint MUST treat this as a stream error of type PROTOCOL_ERROR "
         "(content-length not equal to the DATA payload).",
         (Headers(1, method="POST", end_stream=False, extra=(("content-length", "1"),)),
          Data(1)), stream_error("PROTOCOL_ERROR")),
        ("The endpoint MUST treat this as a stream error of type PROTOCOL_ERROR "
         "(content-length not equal to the sum of the DATA payloads).",
         (Headers(1, method="POST", end_stream=False, extra=(("content-length", "1"),)),
          Data(1, end_stream=False), Data(1)), stream_error("PROTOCOL_ERROR")),
    ]),
    ("http2/8.2", "Server Push", "RFC 7540 §8.2", [
        ("The endpoint MUST treat this as a connection error of type PROTOCOL_ERROR "
         "(PUSH_PROMISE from a client).",
         (OPEN, Frame(0x5, 0x4, 1, b"\0\0\0\x02" + hb.request_block())),
         conn_error("PROTOCOL_ERROR")),
    ]),
    # ---------------------------------------------------------------- hpack (RFC 7541)
    ("hpack/2.3.3", "Index Address Space", "RFC 7541 §2.3.3", [
        ("The endpoint MUST treat this as a decoding error (indexed field, invalid index).",
         (Headers(1, block=hb.request_block(b"\xbe")),), conn_error("COMPRESSION_ERROR")),
        ("The endpoint MUST treat this as a decoding error (literal field, invalid index).",
         (Headers(1, block=hb.request_block(b"\x7e\x04test")),),
         conn_error("COMPRESSION_ERROR")),
    ]),
    ("hpack/4.2", "Maximum Table Size", "RFC 7541 §4.2", [
        ("The endpoint MUST treat this as a decoding error (dynamic table size update at the "
         "end of a header block).",
         (Headers(1, block=hb.request_block(hb.table_size_update(0))),),
         conn_error("COMPRESSION_ERROR")),
    ]),
    ("hpack/5.2", "String Literal Representation", "RFC 7541 §5.2", [
        ("The endpoint MUST treat this as a decoding error (Huffman padding longer than 7 "
         "bits).", (Headers(1, block=hb.request_block(_bad_name(hb.huffman(b"test") + b"\xff"))),),
         conn_error("COMPRESSION_ERROR")),
        ("The endpoint MUST treat this as a decoding error (Huffman string padded by zero).",
         (Headers(1, block=hb.request_block(
             _bad_name(hb.huffman(b"test", pad_with_ones=False)))),),
         conn_error("COMPRESSION_ERROR")),
        ("The endpoint MUST treat this as a decoding error (Huffman string with the EOS "
         "symbol).",
         (Headers(1, block=hb.request_block(_bad_name(hb.huffman(b"test", symbols=(hb.EOS,))))),),
         conn_error("COMPRESSION_ERROR")),
    ]),
    ("hpack/6.1", "Indexed Header Field Representation", "RFC 7541 §6.1", [
        ("The endpoint MUST treat this as a decoding error (index 0).",
         (Headers(1, block=hb.request_block(b"\x80")),), conn_error("COMPRESSION_ERROR")),
    ]),
    ("hpack/6.3", "Dynamic Table Size Update", "RFC 7541 §6.3", [
        ("The endpoint MUST treat this as a decoding error (size update above "
         "SETTINGS_HEADER_TABLE_SIZE).",
         (Headers(1, block=hb.request_block(head=hb.table_size_update(4097))),),
         conn_error("COMPRESSION_ERROR")),
    ]),
]
# fmt: on

# Cases that send their own preface (h2spec's conn.Handshake() is not called in them).
_NO_HANDSHAKE = frozenset({"http2/3.5/1", "http2/3.5/2"})


def _cases() -> list[Case]:
    out = []
    for group, title, section, rows in _GROUPS:
        for n, (requirement, steps, expect) in enumerate(rows, 1):
            cid = f"{group}/{n}"
            out.append(
                Case(
                    cid,
                    section,
                    requirement,
                    title,
                    expect,
                    steps=steps,
                    handshake=cid not in _NO_HANDSHAKE,
                )
            )
    return out


CASES: list[Case] = _cases()
