"""harness/codec/h2_internals.py: the copy of h2's per-frame method stays h2's.

``receive_frame`` is h2 4.4.1's ``H2Connection._receive_frame`` without the trace line whose
``repr(frame)`` argument is built even when the log is off. The copy is held to h2's source
(statements, comments aside), and h2's frame repr is shown never to run on the receive path.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

import h2
import h2.connection
import h2.exceptions
import hyperframe.frame
import pytest

from harness.codec import h2_connection
from harness.codec.h2_connection import EnvoyH2Connection
from harness.codec.h2_internals import H2_VERSION, receive_frame


def _statements(fn: Any, self_name: str) -> str:
    """The function body's statements as normalised source, ``self`` renamed."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef)
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    text = "\n".join(ast.unparse(s) for s in body)
    return text.replace(f"{self_name}.", "SELF.")


def test_the_copy_is_h2s_method_less_its_trace_line() -> None:
    if h2.__version__ != H2_VERSION:
        pytest.skip(f"h2 {h2.__version__}: the copy is not used (see _RECEIVE_FRAME)")
    theirs = _statements(h2.connection.H2Connection._receive_frame, "self").splitlines()
    trace = "SELF.config.logger.trace('Received frame: %s', repr(frame))"
    assert trace in theirs
    theirs.remove(trace)
    ours = _statements(receive_frame, "conn")
    # h2 refers to its own imports by bare name; ours are qualified
    for name in ("StreamClosedError", "StreamIDTooLowError"):
        ours = ours.replace(f"h2.exceptions.{name}", name)
    ours = ours.replace("h2.events.Event", "Event")
    assert ours.splitlines() == theirs


def test_the_hooked_connection_uses_the_copy_on_this_h2() -> None:
    expected = (
        receive_frame if h2.__version__ == H2_VERSION else h2.connection.H2Connection._receive_frame
    )
    assert h2_connection._RECEIVE_FRAME is expected


def test_no_frame_repr_is_built_while_receiving(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = hyperframe.frame.Frame.__repr__

    def counting(self: Any) -> str:
        calls.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(hyperframe.frame.Frame, "__repr__", counting)
    client, server = EnvoyH2Connection(client=True), EnvoyH2Connection()
    sid = client.send_request(
        [(b":method", b"POST"), (b":path", b"/"), (b":scheme", b"http"), (b":authority", b"a")],
        end_stream=False,
    )
    client.send_data(sid, b"x" * 1000, end_stream=True)
    server.receive(client.drain())
    client.receive(server.drain())
    assert server.outcome.kind == "accepted" and client.outcome.kind == "accepted"
    assert any(type(e).__name__ == "DataReceived" for e in server.events)
    if h2.__version__ == H2_VERSION:
        assert calls == []


def test_stream_closed_by_reset_answers_rst_stream_as_h2_does() -> None:
    """The copy's first except branch: DATA on a stream we reset gets RST_STREAM back, and
    the connection stays up."""
    client, server = EnvoyH2Connection(client=True), EnvoyH2Connection()
    sid = client.send_request(
        [(b":method", b"POST"), (b":path", b"/"), (b":scheme", b"http"), (b":authority", b"a")],
        end_stream=False,
    )
    server.receive(client.drain())
    client.receive(server.drain())
    server.h2.reset_stream(sid)
    server._collect_outbound()
    server.drain()
    client.send_data(sid, b"late", end_stream=False)
    server.receive(client.drain())
    assert not server.closed
    assert (sid, 5) in server.outcome.resets  # STREAM_CLOSED


def _outcome(check: Any, headers: list[tuple[bytes, bytes]]) -> tuple[Any, ...]:
    """What a header check does with ``headers``: the headers it lets through before it
    stops, and the error (type, message) it stops with."""
    passed: list[Any] = []
    try:
        for header in check(headers, None):
            passed.append(header)
    except h2.exceptions.ProtocolError as e:
        return tuple(passed), type(e), str(e)
    return tuple(passed), None, None


def _header_cases() -> list[list[tuple[bytes, bytes]]]:
    ok = (b"x-ok", b"v")
    cases = []
    for b in range(256):
        byte = bytes([b])
        cases += [
            [ok, (b"a" + byte + b"b", b"v"), ok],  # inside a name
            [(byte, b"v")],
            [ok, (b"name", b"a" + byte + b"b")],  # inside a value
            [(b"name", byte)],
            [(b"name", byte + b"a")],
            [(b"name", b"a" + byte)],
        ]
    cases += [
        [(b":path", b"/"), (b"a:b", b"v")],
        [(b"::", b"v")],
        [(b"", b"")],
        [(b"name", b"")],
        [(b"Upper\x00", b"v")],  # the first bad byte decides the message
        [(b"\x00Upper", b"v")],
        [(b"name", b" \x00")],
        [(b"name", b"\r\n")],
        [(b"n", b"v"), (b"m", b"w"), (b"o", b"x\ny")],
    ]
    return cases


def test_the_header_check_does_what_h2s_does() -> None:
    from harness.codec import h2_internals

    theirs = h2_internals._h2_reject_illegal_characters
    for headers in _header_cases():
        assert _outcome(h2_internals.reject_illegal_characters, headers) == _outcome(
            theirs, headers
        ), headers


def test_the_header_check_is_installed_on_this_h2() -> None:
    import h2.utilities

    from harness.codec import h2_internals

    if h2.__version__ != H2_VERSION:
        pytest.skip(f"h2 {h2.__version__}: h2's own check is kept")
    assert h2.utilities._reject_illegal_characters is h2_internals.reject_illegal_characters
    server = EnvoyH2Connection()
    client = EnvoyH2Connection(client=True)
    client.send_request(
        [
            (b":method", b"GET"),
            (b":path", b"/"),
            (b":scheme", b"http"),
            (b":authority", b"a"),
            (b"x", b"bad\x00value"),
        ]
    )
    server.receive(client.drain())
    assert server.outcome.kind == "connection_error"
    assert "Illegal character '\x00' in header value" in server.outcome.reason
