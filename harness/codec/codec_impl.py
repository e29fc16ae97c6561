"""Envoy's codec_impl_fuzz_test: a client codec and a server codec driven against each other.

``CodecImplFuzzTestCase`` (test/common/http/codec_impl_fuzz.proto) is a script of actions run
once over HTTP/1 and once over HTTP/2 (codec_impl_fuzz_test.cc ``codecFuzz``):

* ``new_stream``: the client encodes request headers (over HTTP/1 only when no stream is
  active, after draining both buffers); the server binds the stream when it decodes them;
* ``stream_action``: a directional action on the request (client) or response (server) side
  of a stream the server knows (index modulo their number), with Envoy's state tracking so the
  codec API is never misused (``HttpStream::directionalAction``); ``dispatching_action`` runs
  a response action when the server next decodes the request's headers, data or trailers
  (after that dispatch returns, not inside it: h2 is not re-entrant);
* each codec write is one fragment of a reorder buffer: ``mutate`` sets a byte, ``swap_buffer``
  swaps fragment 0 with another, drains dispatch fragments in order; a codec error or, over
  HTTP/1, a stream reset (the connection closes) ends the script; at most 1024 actions, then
  both buffers are drained.

Oracles: nothing escapes but protocol errors (``InvariantViolation`` is a bug, as is any other
exception); HTTP/2 limits hold (``fuzz_http2.check_connection``); and what one side sent is
what the other received (headers after Envoy's normalisation, body bytes, trailers) for every
direction of every stream that ended cleanly: no reset, no codec error on either side, no
byte of that direction's buffer mutated or reordered.
"""

from __future__ import annotations

from typing import Any, Final

from harness.codec.codec_impl_h1 import H1Endpoint
from harness.codec.codec_impl_h2 import H2Endpoint, Headers, limits_from
from harness.codec.codec_impl_oracle import StreamRecord, check_streams
from harness.codec.fuzz_http1 import http1_connection
from harness.codec.fuzz_http2 import check_connection as check_h2_limits
from harness.codec.http1 import Options

MAX_ACTIONS: Final = 1024
DATA_MODULO: Final = 1024 * 1024
# ``data: N`` sends N modulo 1 MiB bytes of 'a': slices of one buffer, never a new one.
_AS: Final = memoryview(b"a" * DATA_MODULO)
_BAD_CHARS: Final = str.maketrans("\0\r\n", "   ")
_REQUIRED: Final = (":authority", ":method", ":path")

Endpoint = H1Endpoint | H2Endpoint


def sanitize(headers: Any, request: bool = False) -> Headers:
    """Envoy's ``fromSanitizedHeaders``: ``transfer-encoding`` dropped, an empty key made
    ``not-empty``, NUL/CR/LF made spaces, keys lower-cased (Envoy's header map), a request's
    missing :authority/:method/:path added as ``dummy``; pseudo-headers first, as Envoy's
    header map keeps them."""
    pseudo: Headers = []
    regular: Headers = []
    seen: set[str] = set()
    for h in headers.headers:
        key = (h.key or "not-empty").translate(_BAD_CHARS).lower()
        if key == "transfer-encoding":
            continue
        seen.add(key)
        pair = (key.encode(), h.value.translate(_BAD_CHARS).encode())
        (pseudo if key.startswith(":") else regular).append(pair)
    if request:
        pseudo += [(k.encode(), b"dummy") for k in _REQUIRED if k not in seen]
    return pseudo + regular


def metadata_pairs(metadata: Any) -> Headers:
    return [(k.encode(), v.encode()) for k, v in sorted(metadata.metadata.items())]


class _Side:
    """Envoy's DirectionalState: one direction of one stream."""

    __slots__ = ("local_closed", "read_disable_count", "remote_closed", "state")

    PENDING_HEADERS, PENDING_DATA, CLOSED = 0, 1, 2

    def __init__(self, state: int) -> None:
        self.state = state
        self.local_closed = False
        self.remote_closed = False
        self.read_disable_count = 0

    def close_local(self) -> None:
        self.local_closed = True
        if self.remote_closed:
            self.state = _Side.CLOSED

    def close_remote(self) -> None:
        self.remote_closed = True
        if self.local_closed:
            self.state = _Side.CLOSED

    def close_both(self) -> None:
        self.local_closed = self.remote_closed = True
        self.state = _Side.CLOSED


class _Stream:
    __slots__ = ("client_sid", "dispatching", "record", "request", "response", "server_sid")

    def __init__(self, client_sid: int, headers: Headers, end_stream: bool) -> None:
        self.client_sid = client_sid
        self.server_sid = 0
        self.request = _Side(_Side.CLOSED if end_stream else _Side.PENDING_DATA)
        self.response = _Side(_Side.PENDING_HEADERS)
        self.dispatching: Any = None
        self.record = StreamRecord(headers, end_stream)

    def reset_all(self) -> None:
        for side in (self.request, self.response):
            side.close_both()
        self.record.reset = True

    def active(self) -> bool:
        return self.request.state != _Side.CLOSED or self.response.state != _Side.CLOSED


class _Buffer:
    """Envoy's ReorderBuffer: each write a fragment, dispatched in order to ``peer``. A
    fragment is kept as written and copied into a bytearray only when a byte of it is
    mutated (most are never mutated: no copy in, none out)."""

    __slots__ = ("fragments", "tampered")

    def __init__(self) -> None:
        self.fragments: list[bytes | bytearray] = []
        self.tampered = False

    def add(self, data: bytes) -> None:
        if data:
            self.fragments.append(data)

    def mutate(self, buffer: int, offset: int, value: int) -> None:
        if self.fragments:
            k = buffer % len(self.fragments)
            frag = self.fragments[k]
            i = offset % len(frag)
            if frag[i] != value & 0xFF:
                if not isinstance(frag, bytearray):
                    frag = self.fragments[k] = bytearray(frag)
                frag[i] = value & 0xFF
                self.tampered = True

    def swap(self, buffer: int) -> None:
        if self.fragments:
            j = buffer % len(self.fragments)
            if j:
                f = self.fragments
                if f[0] != f[j]:
                    self.tampered = True
                f[0], f[j] = f[j], f[0]


class CodecPair:
    """One run of a testcase over one protocol."""

    def __init__(self, case: Any, http2: bool) -> None:
        self.http2 = http2
        self.client: Endpoint
        self.server: Endpoint
        if http2:
            h2s = case.h2_settings
            self.client = H2Endpoint(True, limits_from(h2s.client))
            self.server = H2Endpoint(False, limits_from(h2s.server))
        else:
            s = case.h1_settings.server
            server_options = Options(
                allow_absolute_url=s.allow_absolute_url,
                accept_http_10=s.accept_http_10,
                default_host_for_http_10=s.default_host_for_http_10.encode(),
                enable_trailers=s.enable_trailers,
            )
            client_trailers = case.h1_settings.client.enable_trailers
            self.client = H1Endpoint(
                True, Options(enable_trailers=client_trailers), client_trailers
            )
            self.server = H1Endpoint(False, server_options, s.enable_trailers)
        self.to_server = _Buffer()  # client writes
        self.to_client = _Buffer()  # server writes
        self.pending: list[_Stream] = []
        self.streams: list[_Stream] = []
        self.all_streams: list[_Stream] = []
        self.by_client: dict[int, _Stream] = {}
        self.by_server: dict[int, _Stream] = {}
        self.should_close = False
        self.codec_error = False
        self._queued: list[tuple[_Stream, Any]] = []
        # Nothing is written yet: as Envoy's codecs, each side's preface and SETTINGS go out
        # with its first write (the client's first request, the server's first dispatch).

    # --- the script -------------------------------------------------------------------------

    def run(self, actions: Any) -> None:
        for action in actions[:MAX_ACTIONS]:
            if self.should_close or self.codec_error:
                break
            which = action.WhichOneof("action_selector")
            if which == "new_stream":
                self._new_stream(action.new_stream)
            elif which == "stream_action":
                if self.streams:
                    sa = action.stream_action
                    self._stream_action(self.streams[sa.stream_id % len(self.streams)], sa)
            elif which == "mutate":
                m = action.mutate
                (self.to_client if m.server else self.to_server).mutate(m.buffer, m.offset, m.value)
            elif which == "swap_buffer":
                sb = action.swap_buffer
                (self.to_client if sb.server else self.to_server).swap(sb.buffer)
            elif which == "client_drain":
                self.codec_error = not self._drain(self.to_server, self.server)
            elif which == "server_drain":
                self.codec_error = not self._drain(self.to_client, self.client)
            elif which == "quiesce_drain":
                self.codec_error = not self._quiesce()
        if not self.should_close and not self.codec_error:
            self.codec_error = not self._quiesce()

    def check(self) -> None:
        """The oracles, once the script has run."""
        for ep in (self.client, self.server):
            if isinstance(ep, H2Endpoint):
                check_h2_limits(ep.conn)
        clean = self.client.error is None and self.server.error is None
        check_streams(
            [s.record for s in self.all_streams],
            clean=clean,
            http2=self.http2,
            request_tampered=self.to_server.tampered,
            response_tampered=self.to_client.tampered,
            trailers=self._trailers_delivered(),
        )

    def _trailers_delivered(self) -> tuple[bool, bool]:
        """(request, response) trailers reach the peer: always over HTTP/2; over HTTP/1 when
        both ends enable them."""
        c, s = self.client, self.server
        if isinstance(c, H1Endpoint) and isinstance(s, H1Endpoint):
            both = c.enable_trailers and s.enable_trailers
            return both, both
        return True, True

    # --- actions ----------------------------------------------------------------------------

    def _new_stream(self, ns: Any) -> None:
        if not self.http2:
            if not self._quiesce():
                self.codec_error = True
                return
            if self.pending or (self.streams and self.streams[-1].active()):
                return  # an HTTP/1 client has one stream at a time
        headers = sanitize(ns.request_headers, request=True)
        if self.http2 and not any(k == b":scheme" for k, _ in headers):
            headers.insert(0, (b":scheme", b"http"))
        sid = self.client.new_stream(headers, ns.end_stream)
        self._flush()
        if sid is None:
            return
        stream = _Stream(sid, headers, ns.end_stream)
        self.pending.append(stream)
        self.all_streams.append(stream)
        self.by_client[sid] = stream

    def _stream_action(self, stream: _Stream, sa: Any) -> None:
        which = sa.WhichOneof("stream_action_selector")
        if which == "request":
            if sa.HasField("dispatching_action"):
                stream.dispatching = sa.dispatching_action
            if stream.response.state != _Side.CLOSED:
                self._directional(stream, False, sa.request)
        elif which == "response":
            self._directional(stream, True, sa.response)

    def _directional(self, stream: _Stream, response: bool, da: Any) -> None:
        side = stream.response if response else stream.request
        ep = self.server if response else self.client
        sid = stream.server_sid if response else stream.client_sid
        rec = stream.record
        end = da.end_stream
        which = da.WhichOneof("directional_action_selector")
        open_ = not side.local_closed
        if which == "continue_headers":
            if response and open_ and side.state == _Side.PENDING_HEADERS:
                headers = sanitize(da.continue_headers)
                headers = [(b":status", b"100"), *[h for h in headers if h[0] != b":status"]]
                ep.send_1xx(sid, headers)
        elif which == "headers":
            if open_ and side.state == _Side.PENDING_HEADERS:
                headers = response_headers(sanitize(da.headers))
                ep.send_headers(sid, headers, end)
                rec.sent_response(headers, end)
                if end:
                    side.close_local()
                else:
                    side.state = _Side.PENDING_DATA
        elif which in ("data", "data_value"):
            if open_ and side.state == _Side.PENDING_DATA:
                data = _AS[: da.data % DATA_MODULO] if which == "data" else da.data_value.encode()
                ep.send_data(sid, data, end)
                rec.sent_data(response, data, end)
                if end:
                    side.close_local()
        elif which == "trailers":
            if open_ and side.state == _Side.PENDING_DATA:
                trailers = sanitize(da.trailers)
                ep.send_trailers(sid, trailers)
                rec.sent_trailers(response, trailers)
                side.state = _Side.CLOSED
                side.close_local()
        elif which == "metadata":
            if open_ and side.state != _Side.CLOSED:
                ep.send_metadata(sid, metadata_pairs(da.metadata))
        elif which == "reset_stream":
            if side.state != _Side.CLOSED:
                ep.reset(sid, da.reset_stream)
                stream.request.state = stream.response.state = _Side.CLOSED
                rec.reset = True
                if not self.http2:
                    self.should_close = True  # an HTTP/1 reset closes the connection
        elif which == "read_disable" and side.state != _Side.CLOSED:
            disable = da.read_disable
            if side.read_disable_count == 0 and not disable:
                return
            side.read_disable_count += 1 if disable else -1
            ep.read_disable(sid, disable)
        self._flush()

    # --- the wire ---------------------------------------------------------------------------

    def _flush(self) -> None:
        self.to_server.add(self.client.take_output())
        self.to_client.add(self.server.take_output())

    def _quiesce(self) -> bool:
        while self.to_server.fragments or self.to_client.fragments:
            if not self._drain(self.to_server, self.server):
                return False
            if not self._drain(self.to_client, self.client):
                return False
        return True

    def _drain(self, buf: _Buffer, peer: Endpoint) -> bool:
        frags = buf.fragments
        while frags:
            if self.should_close:
                return False
            data = frags.pop(0)
            if isinstance(data, bytearray):
                data = bytes(data)
            ok = peer.dispatch(data)
            self._deliver(peer)
            self._flush()
            if not ok:
                return False
            self._run_queued()
        return True

    def _deliver(self, ep: Endpoint) -> None:
        received = ep.received
        if not received:
            return
        server = ep is self.server
        table = self.by_server if server else self.by_client
        for kind, sid, payload, _ in received:
            stream = table.get(sid)
            if stream is None:
                if not (server and kind == "headers" and self.pending):
                    continue  # an orphan stream (e.g. made by a mutation)
                stream = self.pending.pop(0)
                stream.server_sid = sid
                self.by_server[sid] = stream
                self.streams.append(stream)
            rec = stream.record
            if kind == "reset":
                stream.reset_all()
                if not self.http2:
                    self.should_close = True
                continue
            rec.received(not server, kind, payload)
            if kind == "end":
                if server:
                    stream.request.close_remote()
                else:
                    stream.response.close_both()
            if server and stream.dispatching is not None:
                dispatch_kind = stream.dispatching.WhichOneof("directional_action_selector")
                if (dispatch_kind, kind) in _DISPATCH_ON:
                    self._queued.append((stream, stream.dispatching))
        received.clear()

    def _run_queued(self) -> None:
        while self._queued and not self.codec_error:
            stream, action = self._queued.pop(0)
            self._directional(stream, True, action)


# Envoy's dispatching_action fires on decodeHeaders, decodeData or decodeTrailers, chosen by
# which action it is (its own kind): headers on headers, data on every data, trailers on
# trailers.
_DISPATCH_ON: Final = frozenset(
    {("headers", "headers"), ("data", "data"), ("trailers", "trailers")}
)

# What ConnectionManagerUtility::mutateResponseHeaders removes from a response (the mock
# config adds nothing: no Via, no request id to echo).
_RESPONSE_DROPS: Final = frozenset((b"connection", b"transfer-encoding", b"upgrade"))


def response_headers(headers: Headers) -> Headers:
    """A response's headers as Envoy's test encodes them: mutateResponseHeaders, then a
    ``:status`` of 200 when there is none."""
    out = [h for h in headers if h[0] not in _RESPONSE_DROPS]
    if not any(k == b":status" for k, _ in out):
        out.insert(0, (b":status", b"200"))
    return out


def run_case(case: Any, http2: bool, keep: bool = False) -> CodecPair:
    """Run and check ``case`` over one protocol; the endpoints are released afterwards
    unless ``keep`` (tests look at them)."""
    pair = CodecPair(case, http2)
    try:
        pair.run(case.actions)
        pair.check()
    finally:
        if not keep:
            pair.client.release()
            pair.server.release()
    return pair


def codec_impl(case: Any) -> None:
    """``CodecImplFuzzTestCase``: the script over HTTP/1, then over HTTP/2."""
    run_case(case, http2=False)
    run_case(case, http2=True)


def http1_messages(case: Any) -> tuple[bytes, bytes]:
    """Envoy's http1_codec_impl_fuzz_test ``convertFuzzCase``: a request ``<method> <path>
    HTTP/1.1``, and a response line ``<status> <msg>`` (no version, no CRLF: as Envoy writes
    it), each followed by the header lines, an empty line and the body; unvalidated."""
    fields = b"".join(
        b"%s: %s\r\n" % (h.key.encode(), h.value.encode()) for h in case.headers.headers
    )
    tail = fields + b"\r\n" + case.body.encode()
    request = response = b""
    if case.HasField("req"):
        request = b"%s %s HTTP/1.1\r\n" % (case.req.method.encode(), case.req.path.encode()) + tail
    if case.HasField("resp"):
        response = b"%d %s" % (case.resp.status, case.resp.msg.encode()) + tail
    return request, response


def http1_codec_impl(case: Any) -> None:
    """``Http1CodecImplFuzzTestCase``: Envoy dispatches the request bytes to a client codec
    and the response bytes to a server codec (settings: absolute URLs, HTTP/1.0 with host
    ``localhost``, trailers). Each message goes through ``http1_connection``'s checks, which
    parse it both as requests and as responses with those settings."""
    for message in http1_messages(case):
        if message:
            http1_connection(message)
