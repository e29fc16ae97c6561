"""The conformance client's sockets (the one place outside harness/envoy/ that opens them).

A ``Connection`` is a TCP (optionally TLS, with ALPN; a server that does not choose the
protocol offered is a usage error) client connection with deadline-based reads: ``recv``
raises ``Closed`` when the peer closed (FIN or RST) and ``Timeout`` when the deadline passed.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from harness.errors import UserError

Result = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class Outcome:
    result: Result
    expected: list[str]
    actual: list[str]


class Closed(Exception):
    def __str__(self) -> str:
        return "connection closed"


class Timeout(Exception):
    def __str__(self) -> str:
        return "timeout"


def parse_target(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) or a UserError naming the mistake."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"conform: bad target {text!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


class Wire(Protocol):
    """What a case runner needs of a connection: a ``Connection``, or the model's stand-in."""

    def send(self, data: bytes) -> None: ...
    def recv(self, deadline: float) -> bytes: ...
    def close(self) -> None: ...


class Connection:
    def __init__(
        self, host: str, port: int, *, tls: bool = False, alpn: str = "h2", timeout: float = 2.0
    ) -> None:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            raise UserError(f"conform: cannot connect to {host}:{port}: {e.strerror or e}") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols([alpn])
            try:
                sock = ctx.wrap_socket(sock, server_hostname=host)
            except (OSError, ssl.SSLError) as e:
                sock.close()
                raise UserError(f"conform: TLS handshake with {host}:{port} failed: {e}") from e
            chosen = sock.selected_alpn_protocol()
            if chosen != alpn:  # the case's bytes would be another protocol than the server's
                sock.close()
                raise UserError(
                    f"conform: {host}:{port} chose ALPN {chosen or 'none'} where the cases "
                    f"need {alpn} (select only the cases of the protocols it speaks)"
                )
        self.sock = sock

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Closed() from e

    def recv(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except TimeoutError as e:
            raise Timeout() from e
        except OSError as e:  # reset by peer
            raise Closed() from e
        if not data:
            raise Closed()
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
