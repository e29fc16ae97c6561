"""``conform --model``: the cases through the in-process Envoy model (``harness.model``).

HTTP/1 cases: the model predicts an ``Observation`` (statuses answered downstream, whether
Envoy closes), which is exactly what their pass rules read; the same judge as on the network.

HTTP/2 cases run through the same client and judge as on the network (``h2run.run_h2``), over a
``ModelConnection``: each ``send`` is one read for Envoy, and ``recv`` answers with the frames
the model says Envoy writes (``harness.model.http2_wire``): queued frames are written when the
read that queued them was dispatched, the upstream's answers after every read, and a session
error ends the wire with a GOAWAY (or a bare close) without the frames queued in that read.
When the model predicts nothing more, a read times out at once, as a wait on a quiet server does.
"""

from __future__ import annotations

import itertools
import struct

from hpack import Encoder

from harness.conformance.case import Case, H1Expect
from harness.conformance.envoy import CONFIG
from harness.conformance.h1run import Read, expected_text, passes
from harness.conformance.h2run import (
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    PING,
    RST_STREAM,
    SETTINGS,
    WINDOW_UPDATE,
    frame_bytes,
    run_h2,
)
from harness.conformance.net import Closed, Outcome, Result, Timeout
from harness.conformance.runner import Runner
from harness.model.http2_wire import ENVOY_SETTINGS, ENVOY_WINDOW_INCREMENT, Sent

ACK = 0x1


class ModelConnection:
    """A client connection whose server is the Envoy model (``Connection``'s interface)."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []
        self.encoder = Encoder()  # the client's decoder follows every HEADERS block we write
        self.wire = b""
        self.written = 0  # bytes of ``wire`` handed to the client
        self.closes = False
        self._settled = 0  # reads the wire accounts for
        self._queued = 0  # frames of the last prediction already on the wire

    def send(self, data: bytes) -> None:
        if self.closes and self._settled == len(self.reads):
            raise Closed()
        self.reads.append(data)

    def recv(self, deadline: float) -> bytes:
        self._settle()
        if self.written < len(self.wire):
            chunk, self.written = self.wire[self.written :], len(self.wire)
            return chunk
        raise Closed() if self.closes else Timeout()

    def close(self) -> None:
        pass

    def _settle(self) -> None:
        from harness.model.http2 import predict_http2_detail

        while not self.closes and self._settled < len(self.reads):
            first = self._settled == 0
            self._settled += 1
            reads = self.reads[: self._settled]
            waits = list(itertools.accumulate(len(r) for r in reads[:-1]))
            try:
                p = predict_http2_detail(b"".join(reads), CONFIG, waits)
            except ValueError:  # not HTTP/2 at all (a bad preface): Envoy's codec fails
                self.closes = True
                return
            prefix = self._settings() if first else b""
            if p.goaway is not None:  # nothing queued in this read goes, but the GOAWAY
                self.wire += prefix + frame_bytes(GOAWAY, 0, 0, struct.pack(">II", 0, p.goaway))
                self.closes = True
                return
            if p.closes and (not p.queued or p.reason != "outbound flood"):
                self.closes = True  # a silent close: nothing queued in this read goes either
                return
            # What this read queued (earlier reads' frames, and the answers relayed after
            # them, are on the wire already), then Envoy's WINDOW_UPDATE after the first read.
            self.wire += prefix + self._frames(p.queued[self._queued :])
            if first:
                increment = struct.pack(">I", ENVOY_WINDOW_INCREMENT)
                self.wire += frame_bytes(WINDOW_UPDATE, 0, 0, increment)
            if p.closes:  # an outbound flood: the queued frames are written, then the close
                self.closes = True
                return
            self.wire += self._frames(p.answers)
            self._queued = len(p.queued) + len(p.answers)

    def _settings(self) -> bytes:
        payload = b"".join(struct.pack(">HI", k, v) for k, v in ENVOY_SETTINGS)
        return frame_bytes(SETTINGS, 0, 0, payload)

    def _frames(self, frames: tuple[Sent, ...] | list[Sent]) -> bytes:
        return b"".join(map(self._frame, frames))

    def _frame(self, f: Sent) -> bytes:
        end = END_STREAM if f.end_stream else 0
        match f.kind:
            case "settings_ack":
                return frame_bytes(SETTINGS, ACK, 0, b"")
            case "ping_ack":
                return frame_bytes(PING, ACK, 0, f.payload)
            case "rst_stream":
                return frame_bytes(RST_STREAM, 0, f.stream, struct.pack(">I", f.code))
            case "headers":
                block = bytes(self.encoder.encode([(":status", str(f.code))]))
                return frame_bytes(HEADERS, END_HEADERS | end, f.stream, block)
        return frame_bytes(DATA, end, f.stream, f.payload)  # "data"


def model_runner(timeout: float = 2.0) -> Runner:
    from harness.model import predict

    def run(case: Case) -> Outcome:
        if not isinstance(case.expect, H1Expect):
            return run_h2(case, ModelConnection(), timeout)
        obs = predict(b"".join(case.writes), CONFIG)
        read = Read(list(obs.statuses), obs.closed, not obs.closed)
        result: Result = "passed" if passes(case.expect, read) else "failed"
        return Outcome(result, expected_text(case.expect), read.describe())

    return run
