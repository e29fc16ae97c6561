"""Hand-written HTTP/1 edge cases for the model-vs-Envoy agreement figure.

Each case is the raw bytes one client sends on a fresh connection (which then stays open), at
the harness's default proxy config. Two sources: the default-option inputs of the HTTP/1
table (tests/data/http1_envoy_table.json, written for the codec work: framing, smuggling,
header syntax, limits) and the cases below, about what the connection manager and router do
after the codec: keep-alive after local replies, Envoy's added and stripped headers, body
framing upstream, pipelining.
"""

from __future__ import annotations

import json
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "http1_envoy_table.json"

_NEXT = b"GET /next HTTP/1.1\r\nhost: x\r\n\r\n"


def _get(*headers: str, target: str = "/", method: str = "GET", body: bytes = b"") -> bytes:
    lines = "".join(f"{h}\r\n" for h in headers)
    return f"{method} {target} HTTP/1.1\r\nhost: x\r\n{lines}\r\n".encode() + body


def _chunked_end(after_last_chunk: bytes) -> bytes:
    """A chunked POST of one byte whose last-chunk line is followed by ``after_last_chunk``."""
    head = _get("transfer-encoding: chunked", method="POST")
    return head + b"1\r\na\r\n0\r\n" + after_last_chunk


_ROUTER = [
    # every x-envoy-* header a client might send: stripped, or passed through
    (f"client_{name}", _get(f"{name}: 1", "z: 2"))
    for name in (
        "x-envoy-expected-rq-timeout-ms",
        "x-envoy-upstream-rq-timeout-ms",
        "x-envoy-upstream-rq-per-try-timeout-ms",
        "x-envoy-max-retries",
        "x-envoy-retry-on",
        "x-envoy-retry-grpc-on",
        "x-envoy-retriable-status-codes",
        "x-envoy-retriable-header-names",
        "x-envoy-internal",
        "x-envoy-force-trace",
        "x-envoy-ip-tags",
        "x-envoy-original-url",
        "x-envoy-hedge-on-per-try-timeout",
        "x-envoy-upstream-alt-stat-name",
        "x-envoy-upstream-rq-timeout-alt-response",
        "x-envoy-upstream-stream-duration-ms",
        "x-envoy-decorator-operation",
        "x-envoy-attempt-count",
        "x-envoy-original-path",
        "x-envoy-external-address",
        "x-envoy-downstream-service-cluster",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-client-trace-id",
        "traceparent",
        "via",
    )
]

_CASES: list[tuple[str, bytes]] = [
    *_ROUTER,
    ("client_request_id_kept", _get("x-request-id: abc")),
    ("client_request_id_uuid_like", _get("x-request-id: 00000000-0000-0000-0000-000000000000")),
    ("client_xfp_kept_in_place", _get("x-forwarded-proto: https", "a: 1")),
    ("client_xfp_and_id_last", _get("a: 1", "x-forwarded-proto: ftp", "x-request-id: q")),
    ("two_request_ids", _get("x-request-id: a", "x-request-id: b")),
    # body framing the upstream encoder chooses, per method
    *[(f"{m.lower()}_no_body", _get(method=m)) for m in ("POST", "PUT", "PATCH", "OPTIONS")],
    *[(f"{m.lower()}_no_body_bodiless", _get(method=m)) for m in ("DELETE", "TRACE", "HEAD")],
    *[
        (
            f"{m.lower()}_chunked_no_data",
            _get("transfer-encoding: chunked", method=m, body=b"0\r\n\r\n"),
        )
        for m in ("GET", "POST", "DELETE", "OPTIONS")
    ],
    ("post_cl0", _get("content-length: 0", method="POST")),
    ("get_cl0", _get("content-length: 0")),
    ("cl_before_host", b"POST / HTTP/1.1\r\ncontent-length: 2\r\nhost: x\r\n\r\nab"),
    ("cl_between_headers", _get("a: 1", "content-length: 3", "b: 2", method="PUT", body=b"abc")),
    (
        "chunked_two_chunks",
        _get("transfer-encoding: chunked", method="POST", body=b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
    ),
    (
        "chunked_with_trailers",
        _get("transfer-encoding: chunked", method="POST", body=b"1\r\na\r\n0\r\nt: v\r\n\r\n"),
    ),
    # keep-alive after local replies: complete requests stay open, the rest close
    ("options_star_then_next", b"OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n" + _NEXT),
    (
        "options_star_body_then_next",
        b"OPTIONS * HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nab" + _NEXT,
    ),
    ("options_star_partial_body", b"OPTIONS * HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nab"),
    ("missing_host_then_next", b"GET / HTTP/1.1\r\n\r\n" + _NEXT),
    ("bad_authority_then_next", b"GET / HTTP/1.1\r\nhost: a b\r\n\r\n" + _NEXT),
    ("connect_then_next", b"CONNECT a:80 HTTP/1.1\r\nhost: a:80\r\n\r\n" + _NEXT),
    ("upgrade_then_next", _get("upgrade: foo", "connection: upgrade") + _NEXT),
    (
        "upgrade_with_body",
        _get("upgrade: foo", "connection: upgrade", "content-length: 9", body=b"ab"),
    ),
    ("fragment_then_next", _get(target="/a#f") + _NEXT),
    ("asterisk_get_then_next", _get(target="*") + _NEXT),
    (
        "expect_then_next",
        _get("expect: 100-continue", "content-length: 2", method="POST", body=b"ab") + _NEXT,
    ),
    ("expect_no_body_yet", _get("expect: 100-continue", "content-length: 2", method="POST")),
    (
        "expect_uppercase",
        _get("expect: 100-CONTINUE", "content-length: 1", method="POST", body=b"a"),
    ),
    ("expect_other", _get("expect: something", "content-length: 1", method="POST", body=b"a")),
    (
        "grpc_then_next",
        _get("content-type: application/grpc", "content-length: 2", method="POST", body=b"ab")
        + _NEXT,
    ),
    ("te_gzip_then_next", _get("te: gzip") + _NEXT),
    ("te_trailers_kept", _get("te: trailers")),
    ("te_trailers_upper", _get("te: TRAILERS")),
    ("close_then_next", _get("connection: close") + _NEXT),
    ("close_upper_then_next", _get("connection: CLOSE") + _NEXT),
    ("keep_alive_then_next", _get("connection: keep-alive") + _NEXT),
    ("nominated_header_removed", _get("connection: foo", "foo: 1", "bar: 2")),
    ("nominated_list", _get("connection: foo, bar", "foo: 1", "bar: 2", "baz: 3")),
    ("proxy_connection_removed", _get("proxy-connection: keep-alive", "a: 1")),
    ("keep_alive_header_removed", _get("keep-alive: timeout=5", "a: 1")),
    ("upgrade_without_connection", _get("upgrade: foo")),
    ("three_pipelined", _get(target="/1") + _get(target="/2", method="DELETE") + _get(target="/3")),
    ("pipelined_post_then_get", _get("content-length: 3", method="POST", body=b"abc") + _NEXT),
    ("pipelined_second_incomplete", _NEXT + b"GET /x HTTP/1.1\r\nhost: x\r\n"),
    ("pipelined_second_partial_body", _NEXT + _get("content-length: 5", method="POST", body=b"ab")),
    ("incomplete_head", b"GET / HTTP/1.1\r\nhost: x\r\n"),
    ("incomplete_body", _get("content-length: 10", method="POST", body=b"ab")),
    ("incomplete_chunk", _get("transfer-encoding: chunked", method="POST", body=b"5\r\nab")),
    ("absolute_url_then_next", b"GET http://h/p?q HTTP/1.1\r\nhost: x\r\n\r\n" + _NEXT),
    ("absolute_url_port", b"GET http://h:8080/p HTTP/1.1\r\nhost: x\r\n\r\n"),
    ("host_port_81", b"GET / HTTP/1.1\r\nhost: x:81\r\n\r\n"),
    ("host_upper", b"GET / HTTP/1.1\r\nhost: EXAMPLE.com\r\n\r\n"),
    ("query_and_encoded", _get(target="/a%20b?x=1&y=%2F")),
    ("dot_segments", _get(target="/a/../b/./c")),
    ("double_slash", _get(target="//a//b")),
    ("backslash_path", _get(target="/a\\b")),
    ("cookie_twice", _get("cookie: a=1", "cookie: b=2")),
    ("user_agent_twice", _get("user-agent: a", "user-agent: b")),
    ("many_custom_headers", _get(*[f"h{i}: {i}" for i in range(40)])),
    ("header_value_utf8", _get("x: caf\u00e9")),
    ("empty_value", _get("x:")),
    ("long_value", _get("x: " + "v" * 8000)),
    # Found by `fuzz h1_capture --differential` (issue 21): answers to HEAD carry a
    # content-length but no body, so a pipelined answer follows at once.
    ("pipelined_head_head", _get(method="HEAD") + _get(method="HEAD", target="/b")),
    ("pipelined_head_then_get", _get(method="HEAD") + _NEXT),
    ("pipelined_head_head_then_junk", _get(method="HEAD") * 2 + b"\x06\x00\x00\x00"),
    # ... and a bad target, a CONNECT body or bad framing is a 400/501 before HTTP/1.0's 426.
    ("versionless_bad_scheme", b"DELETE S://\n"),
    ("versionless_empty_authority", b"GET http://\n"),
    ("versionless_connect_bad_target", b"CONNECT x\n"),
    ("http10_bad_scheme", b"GET S://a/ HTTP/1.0\r\n\r\n"),
    ("http10_connect_body", b"CONNECT a:1 HTTP/1.0\r\ncontent-length: 3\r\n\r\n"),
    ("http10_te_gzip", b"GET / HTTP/1.0\r\ntransfer-encoding: gzip\r\n\r\n"),
    (
        "http10_te_and_length",
        b"GET / HTTP/1.0\r\ntransfer-encoding: chunked\r\ncontent-length: 1\r\n\r\n",
    ),
    # Upgrades (issue 20): an upgrade to exactly h2c is dropped and the request served.
    ("upgrade_websocket_get", _get("connection: upgrade", "upgrade: websocket")),
    ("upgrade_without_connection_token", _get("upgrade: websocket")),
    (
        "upgrade_h2c",
        _get(
            "connection: upgrade, keep-alive",
            "upgrade: h2c",
            "http2-settings: AAMAAABkAAQAAP__",
            "z: 1",
        ),
    ),
    ("upgrade_h2c_upper", _get("connection: upgrade", "upgrade: H2C")),
    ("upgrade_h2c_or_websocket", _get("connection: upgrade", "upgrade: h2c, websocket")),
    ("upgrade_h2c_twice", _get("connection: upgrade", "upgrade: h2c", "upgrade: h2c")),
    ("upgrade_h2c_close_then_next", _get("connection: upgrade, close", "upgrade: h2c") + _NEXT),
    (
        "upgrade_h2c_body_then_next",
        _get("connection: upgrade", "upgrade: h2c", "content-length: 3", method="POST", body=b"abc")
        + _NEXT,
    ),
    (
        "upgrade_websocket_body",
        _get(
            "connection: upgrade",
            "upgrade: websocket",
            "content-length: 3",
            method="POST",
            body=b"abc",
        ),
    ),
    # The lane keeps only a client's own x-request-id: the name elsewhere is not one.
    (
        "request_id_name_in_body",
        _get("content-length: 16", method="POST", body=b"x-request-id: ab"),
    ),
    ("request_id_client_uuid", _get("x-request-id: 11111111-2222-3333-4444-555555555555")),
    # Bodies that disagree with their declared length (issue 20).
    ("body_longer_than_length", _get("content-length: 3", method="POST", body=b"abcdef")),
    (
        "chunk_longer_than_size",
        _get("transfer-encoding: chunked", method="POST", body=b"3\r\nabcd\r\n0\r\n\r\n"),
    ),
    (
        "chunk_shorter_than_size",
        _get("transfer-encoding: chunked", method="POST", body=b"3\r\nab\r\n0\r\n\r\n"),
    ),
    (
        "bytes_after_last_chunk",
        _get("transfer-encoding: chunked", method="POST", body=b"0\r\n\r\nxyz"),
    ),
    ("bytes_after_zero_length", _get("content-length: 0", method="POST", body=b"x")),
    ("length_leading_zero", _get("content-length: 03", method="POST", body=b"abc")),
    ("http10_good_absolute", b"GET http://a HTTP/1.0\r\n\r\n"),
    # Found by the generated inputs (issue 20), observed on 1.40. An absolute-form authority
    # passes Envoy's URL parser or is a 400, before the 426 of a version-less line.
    ("absolute_host_dollar", b"GET http://b.co$m/x HTTP/1.1\r\nhost: a\r\n\r\n"),
    ("absolute_host_dollar_no_version", b"GET http://b.co$m/x\r\nhost: a\r\n\r\n"),
    ("absolute_host_underscore", b"GET http://b_c.com/ HTTP/1.1\r\n\r\n"),
    ("absolute_host_percent", b"GET http://b%41.com/ HTTP/1.1\r\n\r\n"),
    ("absolute_port_letters", b"GET http://u@b.com:80x/ HTTP/1.1\r\n\r\n"),
    ("absolute_port_empty", b"GET http://b.com:/ HTTP/1.1\r\n\r\n"),
    ("absolute_port_too_big", b"GET http://b.com:99999/ HTTP/1.1\r\n\r\n"),
    ("absolute_port_max", b"GET http://b.com:65535/ HTTP/1.1\r\n\r\n"),
    ("absolute_userinfo_only", b"GET http://u@/ HTTP/1.1\r\n\r\n"),
    ("absolute_ipv6", b"GET http://[::1]:80/ HTTP/1.1\r\n\r\n"),
    ("absolute_two_colons", b"GET http://a:1:2/ HTTP/1.1\r\n\r\n"),
    # ... and its authority is the Host header when the client sent none.
    ("absolute_without_host", b"GET HTTP://B.com/x HTTP/1.1\r\n\r\n"),
    ("absolute_userinfo_without_host", b"GET http://u:p@b.com/ HTTP/1.1\r\n\r\n"),
    # A CONNECT's content-length: 0 is dropped, then bad framing (501) comes before its bad
    # request-target (400).
    ("connect_slash_te_chunked", b"CONNECT / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"),
    ("connect_slash_te_deflate", b"CONNECT / HTTP/1.1\r\ntransfer-encoding: deflate\r\n\r\n"),
    (
        "connect_cl0_te_chunked",
        b"CONNECT a:80 HTTP/1.1\r\ncontent-length: 0\r\ntransfer-encoding: chunked\r\n\r\n",
    ),
    (
        "absolute_bad_host_te_deflate",
        b"GET http://b.co$m/ HTTP/1.1\r\ntransfer-encoding: deflate\r\n\r\n",
    ),
    # Found by `fuzz h1_capture --differential` (issue 20), observed on 1.40. An empty te is
    # forwarded as it is unless connection nominates it; a nominated te listing "trailers"
    # stays (as "trailers").
    ("te_empty_forwarded", _get("te: ")),
    ("te_spaces_forwarded", _get("te:    ")),
    ("te_comma_dropped", _get("te: ,")),
    ("te_nominated_empty_dropped", _get("connection: te", "te: ")),
    ("te_nominated_trailers_kept", _get("connection: TE, x-a", "te: gzip, trailers", "x-a: 1")),
    # Balsa ends a trailer section at "\n\n" or "\n\r\n" among the CR/LF run after the
    # last chunk: a CR-only line there is skipped, after a trailer field it is a 400.
    ("trailer_cr_line_then_lf", _chunked_end(b"\r\r\n\n")),
    ("trailer_cr_lines_then_crlf", _chunked_end(b"\r\r\n\r\r\n\r\n")),
    ("trailer_cr_line_open", _chunked_end(b"\r\r\n")),
    ("trailer_cr_line_then_next", _chunked_end(b"\r\r\n\n" + _NEXT)),
    ("trailer_cr_line_then_field", _chunked_end(b"\r\r\nx: 1\r\n\r\n")),
    ("trailer_field_then_cr_line", _chunked_end(b"x: 1\r\n\r\r\n\n")),
    # Thousands of digits (Python's int() refuses over 4,300): a port of zeros is port 0, and a
    # content-length of 9,000 zeros reaches the upstream as it is (the generated inputs).
    ("absolute_port_5000_zeros", b"GET http://a:" + b"0" * 5000 + b"/ HTTP/1.1\r\n\r\n"),
    ("length_9000_zeros", _get("content-length: " + "0" * 9000, method="POST")),
    # Envoy's isHttp11 is "the request line ends in HTTP/1.1": a version-less line that does is
    # HTTP/1.1 with no headers (so its absolute-form authority is the host), not a 426.
    ("versionless_absolute_ends_http11", b"GET http://b.comHTTP/1.1\r\nhost: a\r\n\r\n"),
    ("versionless_absolute_query_ends_http11", b"GET http://b.com?q0HTTP/1.1\r\n\r\n"),
    ("versionless_relative_ends_http11", b"GET /xHTTP/1.1\r\n\r\n"),
    # A CONNECT authority's host has no colon unless bracketed (a 400 before the 426).
    ("connect_host_colons_no_version", b"CONNECT ::10\r\n\r\n"),
    ("connect_host_colons", b"CONNECT a:b:10 HTTP/1.1\r\n\r\n"),
    ("connect_ipv6_bare", b"CONNECT ::1:10 HTTP/1.1\r\n\r\n"),
    ("connect_ipv6_bracketed_no_version", b"CONNECT [::]:10\r\n\r\n"),
    # An upgrade needs an "upgrade" token in connection, not the substring.
    ("upgrade_connection_substring", _get("connection: upgradex", "upgrade: websocket")),
    ("upgrade_connection_keep_alive_token", _get("connection: keep-alive, Upgrade", "upgrade: ws")),
    ("upgrade_h2c_connection_substring", _get("connection: upgradex", "upgrade: H2C")),
]


def cases() -> list[tuple[str, bytes]]:
    """The table's default-option inputs, then the cases above; names are unique."""
    table = json.loads(TABLE.read_text())["cases"]
    found = [(c["name"], c["input"].encode("latin-1")) for c in table if not c["options"]]
    found += _CASES
    assert len({n for n, _ in found}) == len(found), "duplicate case name"
    return found


# Codec detection on the AUTO listener (issue 20), at ``ProxyConfig()``: Envoy picks HTTP/2
# when a connection starts with the first 12 bytes of the preface (its CLIENT_MAGIC_PREFIX),
# so a bad rest of the preface is an HTTP/2 connection error, not an HTTP/1 400.
AUTO_CASES: list[tuple[str, bytes]] = [
    ("auto_preface_bad_magic", b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"),
    ("auto_preface_bad_magic_long", b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + b"x" * 64),
    ("auto_preface_version_2_1", b"PRI * HTTP/2.1\r\n\r\nSM\r\n\r\n"),
    ("auto_preface_partial", b"PRI * HTTP/2.0\r\n"),
    ("auto_preface_prefix_only", b"PRI * HTTP/2"),
    ("auto_under_prefix", b"PRI * HTTP/"),
    ("auto_pri_http11", b"PRI * HTTP/1.1\r\nhost: x\r\n\r\n"),
    ("auto_http1_then_preface", _NEXT + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("auto_http1_get", _NEXT),
]
