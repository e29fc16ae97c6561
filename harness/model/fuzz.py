"""Model-plane run functions of the capture targets (in-process, coverage-guided).

A capture's downstream bytes go through the Envoy model as one connection; its scripted
upstream bytes go through the response codec, as Envoy's upstream codec would read them. The
direct-response variants ignore upstream events, as Envoy's fuzzers do. Oracles:
``harness.model.oracles`` (no smuggling, forwarded requests re-parse, limits).

Replay semantics follow Envoy's h1_fuzz.cc / h2_fuzz.cc where the model can: events in order,
``*_recv_bytes`` are no-ops, the HTTP/2 preface goes before the first downstream event. Where
Envoy would stop early (the downstream closed), the model stops on its own: it processes
nothing after the close it predicts.
"""

from __future__ import annotations

from typing import Any, Final

from harness.codec.h2_connection import EnvoyH2Connection
from harness.codec.h2_frames import PREFACE, h2_capture_event_bytes
from harness.codec.http1 import Parser
from harness.config.proxy import ProxyConfig
from harness.model.http1 import codec_options, predict_http1_counted
from harness.model.http2 import predict_http2
from harness.model.oracles import check_observation, streams_begun
from harness.observation import Observation

H1: Final = ProxyConfig(downstream="http1")
H1_DIRECT: Final = ProxyConfig(downstream="http1", direct_response=True)
# The model predicts what reaches an HTTP/1 upstream (the comparable view); Envoy's
# h2_capture fuzzers proxy to an HTTP/2 upstream, whose scripted frames the HTTP/2 client
# codec reads here.
H2: Final = ProxyConfig(downstream="http2")
H2_DIRECT: Final = ProxyConfig(downstream="http2", direct_response=True)


def h1_capture_bytes(case: Any) -> tuple[bytes, bytes]:
    """(downstream, upstream) bytes of a CaptureFuzzTestCase, each side's sends in order."""
    down: list[bytes] = []
    up: list[bytes] = []
    for event in case.events:
        which = event.WhichOneof("event_selector")
        if which == "downstream_send_bytes":
            down.append(event.downstream_send_bytes)
        elif which == "upstream_send_bytes":
            up.append(event.upstream_send_bytes)
    return b"".join(down), b"".join(up)


def h2_capture_bytes(case: Any) -> tuple[bytes, bytes]:
    """(downstream, upstream) bytes of an H2CaptureFuzzTestCase (preface included if any)."""
    down: list[bytes] = []
    up: list[bytes] = []
    for event in case.events:
        side, data = h2_capture_event_bytes(event)
        if side == "downstream":
            down.append(data if down else PREFACE + data)
        elif side == "upstream":
            up.append(data)
    return b"".join(down), b"".join(up)


_UPSTREAM_CLIENT: list[EnvoyH2Connection] = []  # built once, cloned per input


def _upstream_client() -> EnvoyH2Connection:
    """A fresh HTTP/2 client connection: a clone of one built once (building h2's connection
    and its settings per input was 8 % of h2_capture's time, profiled)."""
    if not _UPSTREAM_CLIENT:
        _UPSTREAM_CLIENT.append(EnvoyH2Connection(client=True))
    return _UPSTREAM_CLIENT[0].clone()


def _run(downstream: bytes, upstream: bytes, config: ProxyConfig) -> Observation:
    options = codec_options(config)
    http2 = config.speaks_http2(downstream)
    if http2:
        observation, begun = predict_http2(downstream, config), streams_begun(downstream)
    else:
        observation, begun = predict_http1_counted(downstream, config)
    # HTTP/2 targets leave the HTTP/1 codec the re-parse runs uninstrumented: a verdict
    # remembered costs them no coverage (targets.py, _H2_CAPTURE_SCAFFOLDING)
    check_observation(observation, begun, options, remember=http2)
    if upstream and observation.upstream:
        # Envoy's upstream codec reads the scripted answers.
        if http2:
            client = _upstream_client()
            client.receive(upstream)
            client.release()
        else:
            parser = Parser("response", options)
            parser.feed(upstream)
            parser.close()
    return observation


def h1_capture(case: Any) -> None:
    _run(*h1_capture_bytes(case), H1)


def h1_capture_direct_response(case: Any) -> None:
    _run(h1_capture_bytes(case)[0], b"", H1_DIRECT)


def h2_capture(case: Any) -> None:
    _run(*h2_capture_bytes(case), H2)


def h2_capture_direct_response(case: Any) -> None:
    _run(h2_capture_bytes(case)[0], b"", H2_DIRECT)
