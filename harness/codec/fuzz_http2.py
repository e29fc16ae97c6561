"""Run functions of the HTTP/2 fuzz targets (names as Envoy's):

* ``request_header`` / ``response_header``: raw frame bytes with Envoy's frame_replay
  semantics (test/common/http/http2/{request,response}_header_fuzz_test.cc);
* ``http2_connection``: ``Http2ConnectionFuzzCase`` (http2_connection_fuzz_test.cc);
* ``hpack``: ``HpackTestCase``: encode then decode gives the same header list;
* ``h2_frames``: a raw frame stream: parse, serialize, re-parse is a fixpoint.

Handled outcomes (protocol errors, resets, floods) return None; a broken oracle raises
InvariantViolation; anything else escaping is a bug in our code or in h2/hpack/hyperframe.
"""

from __future__ import annotations

from typing import Any

from harness.codec import h2_frames, http2
from harness.codec.h2_connection import EnvoyH2Connection, Limits
from harness.codec.hpack import HPACKError, HpackPair
from harness.oracle import InvariantViolation, check

# The request the response_header client opens (Envoy's TestRequestHeaderMapImpl defaults).
DEFAULT_REQUEST = [
    (b":method", b"GET"),
    (b":path", b"/"),
    (b":scheme", b"http"),
    (b":authority", b"host"),
]

_templates: dict[str, EnvoyH2Connection] = {}


def _template(name: str) -> EnvoyH2Connection:
    """The connection every input of a target starts from, built once and cloned per input."""
    conn = _templates.get(name)
    if conn is None:
        if name == "server":
            conn = EnvoyH2Connection(client=False)
            conn.receive(
                h2_frames.PREFACE
                + h2_frames.DEFAULT_SETTINGS_FRAME
                + h2_frames.INITIAL_WINDOW_UPDATE_FRAME
            )
        elif name == "client":
            conn = EnvoyH2Connection(client=True)
            conn.send_request(DEFAULT_REQUEST, end_stream=True)
            conn.receive(h2_frames.DEFAULT_SETTINGS_FRAME + h2_frames.INITIAL_WINDOW_UPDATE_FRAME)
        else:  # "metadata_server": http2_connection's server (allow_metadata) after its prefix
            conn = EnvoyH2Connection(client=False, limits=Limits(allow_metadata=True))
            conn.receive(h2_frames.PREFACE + h2_frames.EMPTY_SETTINGS_FRAME)
        check(conn.outcome.kind == "accepted", f"{name} template: {conn.outcome}")
        conn.events.clear()  # the prefix's events: not worth copying into every clone
        _templates[name] = conn
    return conn.clone()


def check_connection(conn: EnvoyH2Connection) -> None:
    """Invariants of any connection after a dispatch (messages built only on failure)."""
    c = conn.constraints
    lim = conn.limits
    if c.status is None:
        # No limit tripped, so none may be exceeded.
        if (
            c.outbound_frames > lim.max_outbound_frames
            or c.outbound_control_frames > lim.max_outbound_control_frames
            or c.consecutive_empty > lim.max_consecutive_inbound_frames_with_empty_payload
        ):
            raise InvariantViolation(f"a limit is exceeded without tripping: {vars(c)}")
    elif conn.outcome.kind != "connection_error":
        raise InvariantViolation(f"flood {c.status} did not close the connection")
    # The outbound counter counts exactly the frames queued since the last drain.
    out = conn.outbound
    start = len(http2.PREFACE) if out.startswith(http2.PREFACE) else 0
    queued = len(http2.scan_frames(out, start)[0])
    if queued != c.outbound_frames:
        raise InvariantViolation(f"outbound count {c.outbound_frames} != {queued} queued")
    if conn.outcome.kind == "accepted" and conn.outcome.resets:
        raise InvariantViolation("accepted with stream resets")


def _replay(template: str, data: bytes) -> None:
    conn = _template(template)
    try:
        conn.receive(data)
        check_connection(conn)
    finally:
        conn.release()


def request_header(data: bytes) -> None:
    """A server codec gets preface, default SETTINGS, WINDOW_UPDATE, then the bytes; then all
    again with the bytes made into one HEADERS frame (fixupHeaders)."""
    _replay("server", data)
    fixed = h2_frames.fixup_headers(data)
    if fixed != data:  # the same input twice gives the same result: skip the repeat
        _replay("server", fixed)


def response_header(data: bytes) -> None:
    """A client codec with one open request gets default SETTINGS, WINDOW_UPDATE, then the
    bytes; then all again after fixupHeaders."""
    _replay("client", data)
    fixed = h2_frames.fixup_headers(data)
    if fixed != data:
        _replay("client", fixed)


def http2_connection(case: Any) -> None:
    """``Http2ConnectionFuzzCase``: the frames go to a server (allow_metadata) in one dispatch
    after the preface and an empty SETTINGS."""
    if not case.frames:
        return  # Envoy skips a case without frames
    encoder = HpackPair()
    body = b"".join(h2_frames.http2_connection_frame_bytes(encoder, f) for f in case.frames)
    _replay("metadata_server", body)


def hpack(case: Any) -> None:
    """``HpackTestCase``: one header block encoded then decoded gives the same header list
    (count and sorted pairs), as Envoy's hpack_fuzz_test does with nghttp2's deflater and
    inflater. nghttp2 Huffman-codes a string only where that makes it shorter; hpack's Encoder
    takes one choice per call, so each header goes in with its value's choice (text values
    take the Huffman path, binary and empty ones the raw path, in the same block)."""
    if not case.HasField("headers"):
        return  # Envoy's validation: headers is required
    headers = [
        (h.key.encode("utf-8", "surrogateescape"), h.value.encode("utf-8", "surrogateescape"))
        for h in case.headers.headers
    ]
    if not headers:
        return  # Envoy skips an empty header map
    pair = HpackPair()
    block = pair.encode_shortest(headers)
    try:
        got = pair.decode(block)
    except HPACKError as e:
        raise InvariantViolation(f"decoding our own block failed: {e}") from e
    if len(got) != len(headers):
        raise InvariantViolation(f"{len(got)} headers decoded, {len(headers)} encoded")
    if sorted(got) != sorted(headers):
        raise InvariantViolation("decoded headers differ")


def h2_frames_roundtrip(data: bytes) -> None:
    """A raw frame stream: the raw layer is byte-exact; every frame hyperframe parses
    serializes to bytes that parse to the same frame, and serializing again is a fixpoint."""
    raws, end = http2.split_frames(data)
    check(b"".join(r.to_bytes() for r in raws) == data[:end], "raw frames not byte-exact")
    for raw in raws:
        try:
            frame = http2.parse_frame(raw)
        except http2.FrameError:
            continue  # malformed frames are rejected, as they should be
        wire = http2.serialize(frame)
        again, rest = http2.split_frames(wire)
        check(len(again) == 1 and rest == len(wire), f"{raw.type}: serialized to a broken frame")
        try:
            reparsed = http2.parse_frame(again[0])
        except http2.FrameError as e:
            raise InvariantViolation(f"{raw.type}: our serialization does not parse: {e}") from e
        check(
            http2.frame_fields(reparsed) == http2.frame_fields(frame),
            f"{http2.FRAME_NAMES.get(raw.type, raw.type)}: fields changed in a round trip",
        )
        check(http2.serialize(reparsed) == wire, f"{raw.type}: serialization is not a fixpoint")
