"""The model plane's oracles for a predicted ``Observation`` (beyond "nothing raised").

* no smuggling: the upstream never gets more requests than the client began downstream
  (request heads the downstream codec parsed; HTTP/2: streams opened by HEADERS frames);
* every forwarded request re-parses under the strict HTTP/1 codec to the same method, target,
  headers and body length (what Envoy writes upstream is a well-formed message);
* limits hold: a forwarded request has no more headers, and no bigger head, than the
  connection manager admits plus the headers Envoy itself adds.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Final

from harness.codec import http2
from harness.codec.http1 import (
    END,
    Data,
    EndOfMessage,
    Error,
    Options,
    Parser,
    RequestHead,
)
from harness.codec.http1_writer import serialize_message
from harness.codec.memo import Memo
from harness.observation import Observation, UpstreamRequest
from harness.oracle import check
from harness.util.http import decimal_value

# Envoy adds at most these to a forwarded request: x-forwarded-proto, x-request-id,
# x-envoy-expected-rq-timeout-ms and a body-length header.
ADDED_BY_ENVOY: Final = 4
# Upstream requests are re-parsed without the downstream limits (those are checked apart).
_REPARSE: Final = Options(max_request_headers_kb=8192, max_headers_count=1 << 30)
# A frame header: 24-bit length (16 + 8 bits), type, flags (skipped), stream id.
_FRAME_HEAD: Final = struct.Struct(">HBBxL")


def streams_begun(data: bytes) -> int:
    """HTTP/2 streams a client opened in ``data`` (preface first): distinct stream ids of its
    HEADERS frames, counted from the headers of the complete frames alone. The oracle walks
    them itself, not through the codec's scanner (``http2.scan_frames``): it stays
    independent of the code it checks, and out of the instrumented code."""
    offset = len(http2.PREFACE) if data.startswith(http2.PREFACE) else 0
    end = len(data)
    streams = set()
    while end - offset >= http2.HEADER_SIZE:
        hi, lo, type_, sid = _FRAME_HEAD.unpack_from(data, offset)
        offset += http2.HEADER_SIZE + ((hi << 8) | lo)
        if offset > end:
            break  # an incomplete frame: not read yet
        if type_ == http2.HEADERS:
            streams.add(sid & 0x7FFFFFFF)
    return len(streams)


def sent_head(request: UpstreamRequest) -> RequestHead:
    """The head Envoy's HTTP/1 upstream codec writes for ``request``."""
    return RequestHead(
        request.method.encode("latin-1"),
        request.target.encode("latin-1"),
        b"HTTP/1.1",
        tuple((n.encode("latin-1"), v.encode("latin-1")) for n, v in request.headers),
    )


# Envoy 1.40 forwards the bytes 0x80-0xff of an HTTP/2 :path to an HTTP/1 upstream as they
# are, though its own HTTP/1 codec answers such a request-target with a 400 (both observed:
# `/\xd0\x8b`). The re-parse checks the framing: there they read as a plain character.
_HIGH_AS_PLAIN: Final = bytes(range(128)) + b"x" * 128


def check_forwarded(request: UpstreamRequest, options: Options) -> None:
    """``request`` re-parses to itself, and stays within ``options``' limits."""
    sent = sent_head(request)
    if not sent.target.isascii():
        sent = replace(sent, target=sent.target.translate(_HIGH_AS_PLAIN))
    wire = serialize_message([sent, Data(b"x" * request.body), END])
    parser = Parser("request", _REPARSE)
    declared = dict(request.headers).get("content-length", "")
    arriving = declared.isdigit() and decimal_value(declared) != request.body
    # A body still arriving (the client sent less than it declared) ends early on close.
    events = parser.feed(wire) + ([] if arriving else parser.close())
    check(
        not any(isinstance(e, Error) for e in events),
        f"forwarded request does not re-parse: {wire[:200]!r}",
    )
    heads = [e for e in events if isinstance(e, RequestHead)]
    check(len(heads) == 1, f"forwarded request parses as {len(heads)} requests: {wire[:200]!r}")
    check(heads[0] == sent, f"forwarded head changes when re-parsed: {wire[:200]!r}")
    if not arriving:
        body = sum(len(e.data) for e in events if isinstance(e, Data))
        check(body == request.body, f"forwarded body re-parses as {body} bytes, not {request.body}")
        check(any(isinstance(e, EndOfMessage) for e in events), "forwarded request does not end")
    check(
        len(request.headers) <= options.max_headers_count + ADDED_BY_ENVOY,
        f"{len(request.headers)} headers forwarded, over the limit of {options.max_headers_count}",
    )
    head_size = sum(len(n) + len(v) for n, v in request.headers)
    check(
        head_size <= options.max_request_headers_kb * 1024 + 256,
        f"forwarded head of {head_size} bytes, over {options.max_request_headers_kb} KiB",
    )


# Forwarded requests that passed ``check_forwarded`` (a pure function), by their fields and
# the limits: the mutants of a fuzz run forward their parents' requests again and again (in
# a 30,000-run h2_capture fuzz from the seeds, 46 distinct ones among the first 10,000).
_passed: Memo[tuple[str, str, tuple[tuple[str, str], ...], int, Options], bool] = Memo()


def check_observation(
    observation: Observation, begun: int, options: Options, *, remember: bool = False
) -> None:
    """The oracles above for ``observation`` of a connection that began ``begun`` requests.
    ``remember``: a forwarded request that passed once passes again unchecked (for targets
    that do not instrument the HTTP/1 codec, where the re-parse yields no coverage)."""
    check(
        len(observation.upstream) <= begun,
        f"smuggling: {len(observation.upstream)} requests upstream, {begun} begun downstream",
    )
    for request in observation.upstream:
        if not remember:
            check_forwarded(request, options)
            continue
        key = (request.method, request.target, tuple(request.headers), request.body, options)
        if key not in _passed:
            check_forwarded(request, options)  # raises when it does not pass
            _passed.keep(key, True)
