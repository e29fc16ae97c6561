"""Hand-written HTTP/2 edge cases for the model-vs-Envoy agreement figure.

Each case is the raw bytes one client sends on a fresh HTTP/2 connection (preface and frames;
then the client stops writing and waits), at ``ProxyConfig(downstream="http2")``. Header
blocks are HPACK literals without indexing (``block``), so any name or value can be written,
invalid ones included; ``indexed_block`` uses hpack's encoder where dynamic-table state is the
point. Each case is one edge: request shapes and bodies, what the connection manager does to
headers, invalid messages, and frame-level behaviour (flow control, floods, padding,
CONTINUATION, stream ids, SETTINGS, GOAWAY, RST_STREAM).
"""

from __future__ import annotations

from hpack import Encoder

from bench.agreement.http2_build import (
    PREFACE,
    block,
    data,
    frame,
    get,
    goaway,
    headers,
    indexed_block,
    open_and_reset,
    padded,
    ping,
    post,
    priority,
    request_headers,
    rst_stream,
    settings,
    split_block,
    start,
    window_update,
)
from harness.codec import http2


def _dynamic_table_requests() -> bytes:
    enc = Encoder()
    first = indexed_block(enc, request_headers(path="/one", extra=[("x-token", "abc")]))  # type: ignore[arg-type]
    second = indexed_block(enc, request_headers(path="/two", extra=[("x-token", "abc")]))  # type: ignore[arg-type]
    return start() + frame(http2.HEADERS, 0x5, 1, first) + frame(http2.HEADERS, 0x5, 3, second)


_GET = request_headers()
_POST_CL5 = request_headers(method="POST", extra=[("content-length", "5")])

CASES: list[tuple[str, bytes]] = [
    # --- request shapes and bodies -------------------------------------------------------------
    ("get", start() + get()),
    ("get_path_query", start() + get(path="/a/b?c=d&e=f")),
    ("head", start() + get(method="HEAD")),
    ("options_star", start() + get(method="OPTIONS", path="*")),
    ("delete_no_body", start() + get(method="DELETE", path="/item/7")),
    ("post_empty_end_at_headers", start() + get(method="POST")),
    ("post_content_length", start() + post(1, b"hello")),
    ("post_no_content_length_chunked", start() + post(1, b"hello", length=False)),
    (
        "post_two_data_frames",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"abc")
        + data(1, b"defg", end_stream=True),
    ),
    (
        "post_empty_data_end",
        start() + get(1, method="POST", end_stream=False) + data(1, b"", end_stream=True),
    ),
    ("post_body_unfinished", start() + headers(1, _POST_CL5, end_stream=False) + data(1, b"he")),
    ("post_headers_only_unfinished", start() + headers(1, _POST_CL5, end_stream=False)),
    (
        "content_length_too_small",
        start()
        + headers(1, _POST_CL5, end_stream=False)
        + data(1, b"hello world", end_stream=True),
    ),
    (
        "content_length_too_large",
        start() + headers(1, _POST_CL5, end_stream=False) + data(1, b"hi", end_stream=True),
    ),
    ("content_length_nonzero_get_end", start() + get(extra=[("content-length", "4")])),
    ("content_length_invalid", start() + get(method="POST", extra=[("content-length", "abc")])),
    (
        "content_length_two_values",
        start() + get(method="POST", extra=[("content-length", "0"), ("content-length", "0")]),
    ),
    (
        "trailers",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"body")
        + headers(1, [("x-trailer", "t")], end_stream=True),
    ),
    (
        "trailers_without_end_stream",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"body")
        + headers(1, [("x-trailer", "t")], end_stream=False),
    ),
    (
        "trailers_with_pseudo_header",
        start()
        + get(1, method="POST", end_stream=False)
        + headers(1, [(":path", "/x")], end_stream=True),
    ),
    ("two_streams", start() + get(1, path="/a") + get(3, path="/b")),
    (
        "three_streams_mixed",
        start()
        + get(1, path="/a")
        + post(3, b"xyz", path="/b")
        + get(5, path="/c", extra=[("te", "gzip")]),
    ),
    (
        "streams_interleaved_bodies",
        start()
        + get(1, method="POST", path="/a", end_stream=False)
        + get(3, method="POST", path="/b", end_stream=False)
        + data(1, b"11")
        + data(3, b"333")
        + data(1, b"1", end_stream=True)
        + data(3, b"", end_stream=True),
    ),
    ("dynamic_table_two_requests", _dynamic_table_requests()),
    # --- pseudo-headers and the HTTP/2 -> HTTP/1 conversion ------------------------------------
    ("missing_authority", start() + get(authority=None)),
    ("missing_authority_host_header", start() + get(authority=None, extra=[("host", "h1")])),
    ("authority_and_host", start() + get(extra=[("host", "other")])),
    ("missing_path", start() + get(path=None)),
    ("missing_method", start() + get(method=None)),
    ("missing_scheme", start() + get(scheme=None)),
    ("scheme_https", start() + get(scheme="https")),
    ("empty_path", start() + get(path="")),
    ("path_without_slash", start() + get(path="abc")),
    ("path_absolute_url", start() + get(path="http://other/x")),
    ("path_dot_segments", start() + get(path="/a/../b/./c")),
    ("path_fragment", start() + get(path="/a#frag")),
    ("path_percent_and_slashes", start() + get(path="//a%2Fb//c")),
    ("unknown_pseudo_header", start() + get(extra=[(":foo", "bar")])),
    (
        "pseudo_after_regular",
        start()
        + headers(
            1,
            [
                (":method", "GET"),
                (":scheme", "http"),
                ("x", "y"),
                (":path", "/"),
                (":authority", "host"),
            ],
        ),
    ),
    ("duplicate_path", start() + get(extra=[(":path", "/again")])),
    ("status_in_request", start() + get(extra=[(":status", "200")])),
    (
        "connect",
        start()
        + headers(1, [(":method", "CONNECT"), (":authority", "host:443")], end_stream=False),
    ),
    ("connect_with_path", start() + get(method="CONNECT", authority="host:443", end_stream=False)),
    (
        "extended_connect_websocket",
        start() + get(method="CONNECT", extra=[(":protocol", "websocket")], end_stream=False),
    ),
    ("lowercase_method", start() + get(method="get")),
    ("custom_method", start() + get(method="PURGE")),
    ("authority_with_userinfo", start() + get(authority="user@host")),
    ("authority_with_port", start() + get(authority="host:8080")),
    ("authority_invalid_char", start() + get(authority="ho st")),
    ("cookies_joined", start() + get(extra=[("cookie", "a=1"), ("x", "y"), ("cookie", "b=2")])),
    # --- ordinary headers ----------------------------------------------------------------------
    ("uppercase_name", start() + get(extra=[("X-Upper", "1")])),
    ("connection_header", start() + get(extra=[("connection", "close")])),
    ("keep_alive_header", start() + get(extra=[("keep-alive", "timeout=5")])),
    ("proxy_connection_header", start() + get(extra=[("proxy-connection", "keep-alive")])),
    (
        "transfer_encoding_header",
        start() + get(method="POST", extra=[("transfer-encoding", "chunked")]),
    ),
    ("upgrade_header", start() + get(extra=[("upgrade", "websocket")])),
    ("te_trailers", start() + get(extra=[("te", "trailers")])),
    ("te_gzip", start() + get(extra=[("te", "gzip")])),
    ("te_trailers_mixed", start() + get(extra=[("te", "trailers, deflate")])),
    (
        "expect_100_continue",
        start()
        + headers(
            1,
            request_headers(
                method="POST", extra=[("expect", "100-continue"), ("content-length", "2")]
            ),
            end_stream=False,
        )
        + data(1, b"ok", end_stream=True),
    ),
    (
        "grpc_content_type",
        start()
        + get(method="POST", path="/svc/Method", extra=[("content-type", "application/grpc")]),
    ),
    ("value_with_nul", start() + get(extra=[("x-bad", "a\x00b")])),
    ("value_with_crlf", start() + get(extra=[("x-bad", "a\r\nb: c")])),
    ("value_leading_space", start() + get(extra=[("x-space", " padded ")])),
    ("name_with_space", start() + get(extra=[("x bad", "1")])),
    ("empty_header_name", start() + get(extra=[("", "v")])),
    ("header_with_underscore", start() + get(extra=[("x_under", "1")])),
    ("empty_header_value", start() + get(extra=[("x-empty", "")])),
    # thousands of digits: Python's int() refuses over 4,300 (the model must not)
    ("content_length_5000_zeros", start() + get(extra=[("content-length", "0" * 5000)])),
    (
        "internal_envoy_headers",
        start()
        + get(
            extra=[
                ("x-envoy-internal", "true"),
                ("x-envoy-retry-on", "5xx"),
                ("x-envoy-original-path", "/o"),
                ("x-envoy-expected-rq-timeout-ms", "1"),
            ]
        ),
    ),
    (
        "client_request_id_and_proto",
        start() + get(extra=[("x-request-id", "my-id"), ("x-forwarded-proto", "https")]),
    ),
    ("x_forwarded_for", start() + get(extra=[("x-forwarded-for", "1.2.3.4")])),
    ("headers_100", start() + get(extra=[(f"x-h{i}", "v") for i in range(96)])),
    ("headers_101", start() + get(extra=[(f"x-h{i}", "v") for i in range(97)])),
    ("headers_frame_over_16k", start() + get(extra=[("x-big", "a" * 17000)])),
    (
        "headers_59k_in_continuations",
        start() + split_block(1, request_headers(extra=[("x-big", "a" * 59 * 1024)])),
    ),
    (
        "headers_61k_in_continuations",
        start() + split_block(1, request_headers(extra=[("x-big", "a" * 61 * 1024)])),
    ),
    ("cookies_count_as_headers", start() + get(extra=[("cookie", f"c{i}=1") for i in range(97)])),
    # --- frames ---------------------------------------------------------------------------------
    ("no_client_settings", PREFACE + get()),
    ("bad_preface", b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings() + get()),
    ("http1_on_h2_listener", b"GET / HTTP/1.1\r\nhost: x\r\n\r\n"),
    ("settings_ack_first", PREFACE + settings(ack=True) + settings() + get()),
    ("settings_unknown_id", start((0x99, 7)) + get()),
    ("settings_window_too_big", start((http2.SETTINGS_INITIAL_WINDOW_SIZE, 1 << 31)) + get()),
    ("settings_frame_size_too_small", start((http2.SETTINGS_MAX_FRAME_SIZE, 100)) + get()),
    ("settings_enable_push_2", start((http2.SETTINGS_ENABLE_PUSH, 2)) + get()),
    ("settings_header_table_zero", start((http2.SETTINGS_HEADER_TABLE_SIZE, 0)) + get()),
    ("settings_bad_length", PREFACE + frame(http2.SETTINGS, 0, 0, b"\0\0\0") + get()),
    ("settings_on_stream", PREFACE + frame(http2.SETTINGS, 0, 1, b"") + get()),
    ("priority_frames", start() + priority(1) + priority(3, 1) + get(1)),
    ("priority_self_dependency", start() + priority(1, 1) + get(1)),
    (
        "headers_with_priority",
        start() + frame(http2.HEADERS, 0x25, 1, (3).to_bytes(4, "big") + b"\x10" + block(_GET)),
    ),
    (
        "window_updates",
        start()
        + window_update(0, 1000)
        + get(1, end_stream=False)
        + window_update(1, 1000)
        + data(1, b"", end_stream=True),
    ),
    ("window_update_zero_connection", start() + window_update(0, 0) + get()),
    ("window_update_zero_stream", start() + get(1, end_stream=False) + window_update(1, 0)),
    ("window_update_overflow", start() + window_update(0, (1 << 31) - 1) + get()),
    ("window_update_flood", start() + get(1, end_stream=False) + window_update(1, 1) * 20),
    (
        "rst_stream_mid_body",
        start() + headers(1, _POST_CL5, end_stream=False) + data(1, b"he") + rst_stream(1),
    ),
    (
        "rst_stream_then_new_stream",
        start() + get(1, end_stream=False) + rst_stream(1, 0) + get(3, path="/after"),
    ),
    ("rst_stream_idle", start() + rst_stream(1) + get(3)),
    ("goaway_odd_last_stream_id", start() + get() + goaway(1)),
    ("goaway_after_request", start() + get() + goaway(0)),
    ("goaway_even_last_stream_id", start() + get() + goaway(2)),
    ("goaway_too_short", start() + get() + frame(http2.GOAWAY, 0, 0, b"\0\0\0\0")),
    ("goaway_on_stream", start() + get() + frame(http2.GOAWAY, 0, 1, bytes(8))),
    ("goaway_before_request", start() + goaway() + get()),
    ("ping", start() + ping() + get()),
    ("ping_ack_unsolicited", start() + ping(ack=True) + get()),
    ("ping_on_stream", start() + frame(http2.PING, 0, 1, b"12345678") + get(3)),
    ("ping_flood", start() + ping() * 1200 + get()),
    (
        "padded_headers_and_data",
        start()
        + padded(http2.HEADERS, 1, http2.FLAG_END_HEADERS, block(_POST_CL5), 7)
        + padded(http2.DATA, 1, http2.FLAG_END_STREAM, b"hello", 10),
    ),
    (
        "data_padding_too_long",
        start() + get(1, end_stream=False) + frame(http2.DATA, http2.FLAG_PADDED, 1, b"\x09abc"),
    ),
    (
        "data_padded_on_idle_stream",
        start() + frame(http2.DATA, http2.FLAG_PADDED, 1, b"\x09abc") + get(3),
    ),
    ("headers_padding_too_long", start() + frame(http2.HEADERS, 0xD, 1, b"\xff" + block(_GET))),
    (
        "continuation",
        start()
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(_GET)[:7])
        + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, block(_GET)[7:]),
    ),
    (
        "continuation_interrupted",
        start()
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(_GET)[:7])
        + ping()
        + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, block(_GET)[7:]),
    ),
    (
        "continuation_without_headers",
        start() + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, block(_GET)) + get(3),
    ),
    (
        "headers_unfinished_block",
        start() + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(_GET)),
    ),
    ("stream_id_reuse", start() + get(1, path="/first") + get(1, path="/second")),
    ("stream_id_decreasing", start() + get(5, path="/five") + get(3, path="/three")),
    ("even_stream_id", start() + get(2)),
    ("headers_stream_zero", start() + get(0)),
    ("data_stream_zero", start() + data(0, b"x") + get()),
    ("data_idle_stream", start() + data(1, b"x", end_stream=True) + get(3)),
    ("data_after_end_stream", start() + get(1) + data(1, b"late")),
    ("empty_data_flood", start() + get(1, method="POST", end_stream=False) + data(1, b"") * 3),
    (
        "one_empty_data_frame",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"")
        + data(1, b"x", end_stream=True),
    ),
    (
        "frame_too_large",
        start() + get(1, method="POST", end_stream=False) + data(1, b"a" * 16385, end_stream=True),
    ),
    ("hpack_garbage", start() + frame(http2.HEADERS, 0x5, 1, b"\xff\xff\xff\xff\xff")),
    (
        "hpack_table_size_update_too_big",
        start() + frame(http2.HEADERS, 0x5, 1, b"\x3f\xe1\x7f" + block(_GET)),
    ),
    (
        "push_promise_from_client",
        start() + frame(http2.PUSH_PROMISE, 0x4, 1, (2).to_bytes(4, "big") + block(_GET)),
    ),
    ("unknown_frame_type", start() + frame(0x77, 0, 1, b"junk") + get()),
    (
        "metadata_frame_not_allowed",
        start()
        + get(1, end_stream=False)
        + frame(http2.METADATA, 0x4, 1, block([("k", "v")]))
        + data(1, b"", end_stream=True),
    ),
    ("altsvc_from_client", start() + frame(http2.ALTSVC, 0, 0, b"\x00\x03abcxyz") + get()),
    # --- more header syntax (nghttp2's character classes, Envoy's conversions) ---------------
    ("name_with_at", start() + get(extra=[("x@bad", "1")])),
    ("name_with_high_byte", start() + get(extra=[("x\xe9", "1")])),
    ("name_with_inner_colon", start() + get(extra=[("x:y", "1")])),
    ("value_with_ctl_01", start() + get(extra=[("x", "a\x01b")])),
    ("value_with_del", start() + get(extra=[("x", "a\x7fb")])),
    ("value_with_tab", start() + get(extra=[("x", "a\tb")])),
    ("value_with_high_byte", start() + get(extra=[("x", "a\xe9b")])),
    ("scheme_ftp", start() + get(scheme="ftp")),
    ("scheme_ftp_path_without_slash", start() + get(scheme="ftp", path="abc")),
    ("scheme_invalid", start() + get(scheme="1ht")),
    ("path_with_space", start() + get(path="/a b")),
    ("path_with_ctl", start() + get(path="/a\x01b")),
    ("path_with_high_byte", start() + get(path="/a\xe9b")),
    ("method_with_space", start() + get(method="G T")),
    ("method_empty", start() + get(method="")),
    ("authority_empty", start() + get(authority="")),
    (
        "host_after_regular_no_authority",
        start() + get(authority=None, extra=[("x-a", "1"), ("host", "h1")]),
    ),
    ("host_invalid_no_authority", start() + get(authority=None, extra=[("host", "a b")])),
    ("te_trailers_uppercase", start() + get(extra=[("te", "TRAILERS")])),
    ("expect_other_value", start() + get(extra=[("expect", "foo")])),
    (
        "expect_100_continue_mixed_case",
        start()
        + headers(
            1,
            request_headers(
                method="POST", extra=[("expect", "100-Continue"), ("content-length", "2")]
            ),
            end_stream=False,
        )
        + data(1, b"ok", end_stream=True),
    ),
    (
        "fragment_then_silent_error",
        start() + get(1, path="/a#f") + frame(http2.PING, 0, 1, b"12345678"),
    ),
    ("fragment_then_goaway_error", start() + get(1, path="/a#f") + data(0, b"x")),
    (
        "fragment_open_stream_then_data",
        start()
        + get(1, path="/a#f", end_stream=False)
        + data(1, b"abc", True)
        + get(3, path="/ok"),
    ),
    ("rst_stream_on_stream_zero", start() + get() + rst_stream(0)),
    ("rst_stream_bad_length", start() + get() + frame(http2.RST_STREAM, 0, 1, b"\0\0\0")),
    ("ping_bad_length", start() + ping(b"1234") + get()),
    ("window_update_bad_length", start() + get() + frame(http2.WINDOW_UPDATE, 0, 0, b"\0\0\1")),
    ("priority_bad_length", start() + frame(http2.PRIORITY, 0, 1, b"\0\0\0\0") + get()),
    ("priority_on_stream_zero", start() + frame(http2.PRIORITY, 0, 0, bytes(5)) + get()),
    ("priority_flood", start() + priority(3) * 250 + get()),
    ("window_update_idle_stream", start() + window_update(7, 10) + get()),
    ("window_update_lower_unseen_stream", start() + get(5) + window_update(3, 10)),
    (
        "window_update_stream_overflow",
        start() + get(1, end_stream=False) + window_update(1, (1 << 31) - 1),
    ),
    (
        "settings_window_change_overflows_stream",
        start()
        + get(1, end_stream=False)
        + window_update(1, (1 << 31) - 65536)
        + settings((http2.SETTINGS_INITIAL_WINDOW_SIZE, 70000))
        + get(3, path="/after"),
    ),
    ("settings_max_frame_size_too_big", start((http2.SETTINGS_MAX_FRAME_SIZE, 1 << 24)) + get()),
    (
        "settings_enable_connect_protocol_2",
        start((http2.SETTINGS_ENABLE_CONNECT_PROTOCOL, 2)) + get(),
    ),
    ("settings_ack_with_payload", start() + frame(http2.SETTINGS, 1, 0, bytes(6)) + get()),
    ("settings_ack", start() + settings(ack=True) + get()),
    ("settings_ack_twice", start() + settings(ack=True) + settings(ack=True) + get()),
    ("settings_33_entries", PREFACE + settings(*[(1, 4096)] * 33) + get()),
    ("settings_32_entries", PREFACE + settings(*[(1, 4096)] * 32) + get()),
    (
        "data_after_rst_stream",
        start()
        + get(1, end_stream=False)
        + rst_stream(1)
        + data(1, b"x", True)
        + get(3, path="/next"),
    ),
    (
        "headers_after_rst_stream",
        start()
        + get(1, end_stream=False)
        + rst_stream(1)
        + headers(1, [("x", "y")])
        + get(3, path="/next"),
    ),
    (
        "trailers_only_no_data",
        start()
        + get(1, method="POST", end_stream=False)
        + headers(1, [("x-t", "1")], end_stream=True),
    ),
    (
        "trailers_uppercase_name",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"ab")
        + headers(1, [("X-T", "1")], end_stream=True),
    ),
    (
        "trailers_te_gzip",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"ab")
        + headers(1, [("te", "gzip")], end_stream=True),
    ),
    (
        "content_length_exceeded_by_second_frame",
        start()
        + headers(
            1, request_headers(method="POST", extra=[("content-length", "4")]), end_stream=False
        )
        + data(1, b"ab")
        + data(1, b"cde", True),
    ),
    ("get_with_body", start() + get(1, end_stream=False) + data(1, b"abc", True)),
    ("head_with_content_length", start() + get(method="HEAD", extra=[("content-length", "0")])),
    (
        "truncated_data_frame",
        start() + get(1, method="POST", end_stream=False) + data(1, b"abcdefgh", True)[:-3],
    ),
    ("truncated_headers_frame", start() + get(1)[:-3]),
    ("truncated_frame_too_large", start() + frame(http2.DATA, 0, 1, b"a" * 16385)[:20]),
    ("preface_only", PREFACE),
    ("preface_partial", PREFACE[:10]),
    ("empty_input", b""),
    (
        "connect_ended_at_headers",
        start() + headers(1, [(":method", "CONNECT"), (":authority", "host:443")]),
    ),
    ("connect_without_authority", start() + headers(1, [(":method", "CONNECT")], end_stream=False)),
    ("expect_on_get_ended", start() + get(extra=[("expect", "100-continue")])),
    (
        "post_data_split_many_frames",
        start()
        + get(1, method="POST", end_stream=False)
        + b"".join(data(1, bytes([65 + i]) * 10) for i in range(20))
        + data(1, b"", True),
    ),
    (
        "large_body_64k",
        start()
        + get(1, method="POST", end_stream=False)
        + b"".join(data(1, b"b" * 16384) for i in range(4))
        + data(1, b"", True),
    ),
    (
        "interleaved_header_block_streams",
        start()
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(_GET)[:5])
        + frame(http2.HEADERS, 0x5, 3, block(_GET)),
    ),
    (
        "continuation_wrong_stream",
        start()
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(_GET)[:5])
        + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 3, block(_GET)[5:]),
    ),
    (
        "hpack_dynamic_table_size_zero",
        start() + frame(http2.HEADERS, 0x5, 1, b"\x20" + block(_GET)),
    ),
    ("hpack_index_out_of_range", start() + frame(http2.HEADERS, 0x5, 1, b"\xfe" + block(_GET))),
    ("reserved_bit_stream_id", start() + frame(http2.HEADERS, 0x5, 0x80000001, block(_GET))),
    ("many_streams_10", start() + b"".join(get(2 * i + 1, path=f"/s{i}") for i in range(10))),
    ("x_request_id_on_one_stream", start() + get(1, path="/a", extra=[("x-request-id", "r1")])),
    ("underscore_and_dash_mix", start() + get(extra=[("x_a-b", "1"), ("x-a_b", "2")])),
    (
        "data_bad_padding_on_closed_stream",
        start() + get(3) + frame(http2.DATA, http2.FLAG_PADDED, 1, b"\x09abc"),
    ),
    (
        "headers_on_half_closed_stream_unfinished_block",
        start() + get(1) + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(_GET)[:7]),
    ),
    (
        "content_length_exceeded_then_more_data",
        start()
        + headers(1, _POST_CL5, end_stream=False)
        + data(1, b"abc")
        + data(1, b"defg", end_stream=True)
        + data(1, b"h", end_stream=True),
    ),
    (
        "content_length_short_then_more_data",
        start()
        + headers(1, _POST_CL5, end_stream=False)
        + data(1, b"abc", end_stream=True)
        + data(1, b"h", end_stream=True),
    ),
    # Trailer edge cases (issue 20), observed to agree on 1.40.
    (
        "trailer_after_cl_short",
        start()
        + get(1, method="POST", end_stream=False, extra=[("content-length", "10")])
        + data(1, b"body")
        + headers(1, [("x-t", "t")], end_stream=True),
    ),
    (
        "trailer_after_cl_long",
        start()
        + get(1, method="POST", end_stream=False, extra=[("content-length", "2")])
        + data(1, b"body")
        + headers(1, [("x-t", "t")], end_stream=True),
    ),
    (
        "trailer_cl_exact",
        start()
        + get(1, method="POST", end_stream=False, extra=[("content-length", "4")])
        + data(1, b"body")
        + headers(1, [("x-t", "t")], end_stream=True),
    ),
    (
        "trailer_empty",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"b")
        + headers(1, [], end_stream=True),
    ),
    (
        "trailer_connection",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"b")
        + headers(1, [("connection", "close")], end_stream=True),
    ),
    (
        "trailer_te",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"b")
        + headers(1, [("te", "trailers")], end_stream=True),
    ),
    (
        "trailer_then_data",
        start()
        + get(1, method="POST", end_stream=False)
        + headers(1, [("x-t", "t")], end_stream=True)
        + data(1, b"late"),
    ),
    (
        "trailer_twice",
        start()
        + get(1, method="POST", end_stream=False)
        + headers(1, [("x-t", "t")], end_stream=False)
        + headers(1, [("x-u", "u")], end_stream=True),
    ),
    (
        "trailer_uppercase",
        start()
        + get(1, method="POST", end_stream=False)
        + headers(1, [("X-T", "t")], end_stream=True),
    ),
    ("trailer_after_end", start() + get(1) + headers(1, [("x-t", "t")], end_stream=True)),
    (
        "trailer_status",
        start()
        + get(1, method="POST", end_stream=False)
        + headers(1, [(":status", "200")], end_stream=True),
    ),
    (
        "trailer_host",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"x")
        + headers(1, [("host", "y")], end_stream=True),
    ),
    (
        "trailer_cl",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"x")
        + headers(1, [("content-length", "1")], end_stream=True),
    ),
]


# Flood limits at their edges and trailers on unusual streams (issue 20): PING, SETTINGS and
# RST_STREAM floods around Envoy's 1,000 queued control frames, empty DATA/HEADERS/CONTINUATION
# frames around its one allowed consecutive empty frame, WINDOW_UPDATE and PRIORITY counts
# around their budgets, and many rapidly reset streams.
FLOOD_CASES: list[tuple[str, bytes]] = [
    ("ping_flood_998", start() + ping() * 998 + get()),
    ("ping_flood_999", start() + ping() * 999 + get()),
    ("ping_flood_1000", start() + ping() * 1000 + get()),
    ("ping_flood_1001", start() + ping() * 1001 + get()),
    ("ping_ack_flood", start() + ping(ack=True) * 1200 + get()),
    ("settings_flood_999", start() + settings() * 999 + get()),
    ("settings_flood_1001", start() + settings() * 1001 + get()),
    ("settings_ack_flood", start() + settings(ack=True) * 1200 + get()),
    ("rst_stream_idle_flood", start() + b"".join(rst_stream(2 * i + 1) for i in range(300))),
    ("rapid_reset_100", start() + open_and_reset(100) + get(201)),
    ("rapid_reset_600", start() + open_and_reset(600) + get(1201)),
    # nghttp2's reset rate limit (burst 1000): RST_STREAMs on one closed stream count too
    ("rst_closed_stream_1000", start() + open_and_reset(1) + rst_stream(1) * 999 + get(3)),
    ("rst_closed_stream_1001", start() + open_and_reset(1) + rst_stream(1) * 1000 + get(3)),
    ("rst_flood_after_get", start() + get(1) + get(3, end_stream=False) + rst_stream(3) * 1001),
    (
        "two_empty_data_frames",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"") * 2
        + data(1, b"x", end_stream=True),
    ),
    (
        "empty_data_between_data",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"")
        + data(1, b"a")
        + data(1, b"")
        + data(1, b"b", end_stream=True),
    ),
    (
        "empty_data_then_empty_end",
        start() + get(1, method="POST", end_stream=False) + data(1, b"") + data(1, b"", True),
    ),
    (
        "empty_headers_then_continuation",
        start()
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, b"")
        + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, block(request_headers())),
    ),
    (
        "empty_continuations",
        start()
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block(request_headers()))
        + frame(http2.CONTINUATION, 0, 1, b"") * 2
        + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, b""),
    ),
    ("window_update_7", start() + get(1, end_stream=False) + window_update(1, 1) * 7),
    ("window_update_8", start() + get(1, end_stream=False) + window_update(1, 1) * 8),
    ("window_update_connection_10", start() + get() + window_update(0, 1) * 10),
    ("priority_flood_7", start() + priority(3) * 7 + get()),
    ("priority_flood_105", start() + get() + priority(1) * 105),
    ("priority_flood_300", start() + get() + priority(1) * 300),
    (
        "trailer_on_second_stream",
        start()
        + get(1)
        + get(3, method="POST", end_stream=False)
        + data(3, b"b")
        + headers(3, [("x-t", "t")], end_stream=True),
    ),
    (
        "trailer_after_rst",
        start()
        + get(1, method="POST", end_stream=False)
        + rst_stream(1)
        + headers(1, [("x-t", "t")], end_stream=True)
        + get(3),
    ),
    (
        "trailer_in_continuation",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"b")
        + frame(http2.HEADERS, http2.FLAG_END_STREAM, 1, block([("x-t", "t")])[:3])
        + frame(http2.CONTINUATION, http2.FLAG_END_HEADERS, 1, block([("x-t", "t")])[3:]),
    ),
    (
        "trailer_padded",
        start()
        + get(1, method="POST", end_stream=False)
        + padded(
            http2.HEADERS,
            1,
            http2.FLAG_END_HEADERS | http2.FLAG_END_STREAM,
            block([("x-t", "t")]),
            4,
        ),
    ),
    (
        "trailer_101_fields",
        start()
        + get(1, method="POST", end_stream=False)
        + data(1, b"b")
        + headers(1, [(f"x-t{i}", "t") for i in range(101)], end_stream=True),
    ),
]


def _goaway_then_get_at(offset: int) -> bytes:
    """A GOAWAY, fillers (PING ACKs, an unknown frame) and a GET whose frame starts at byte
    ``offset`` of the connection."""
    head = start() + goaway()
    count = (offset - len(head) - http2.HEADER_SIZE) // 17 - 1
    body = head + ping(ack=True) * count
    return body + frame(0xFA, 0, 0, b"z" * (offset - len(body) - http2.HEADER_SIZE)) + get()


# Found by the generated inputs (issue 20), observed on 1.40: Envoy hands nghttp2 its read
# buffer 16 KiB at a time and stops once a GOAWAY came and no stream is open (a GET whose
# frame header ends by byte 16,384 still counts); 250 streams reset before an answer end the
# connection (rapid-reset defence), 249 do not.
FLOOD_CASES += [
    ("goaway_get_header_in_first_slice", _goaway_then_get_at(16375)),
    ("goaway_get_header_across_slices", _goaway_then_get_at(16376)),
    ("goaway_get_in_second_slice", _goaway_then_get_at(17000)),
    ("goaway_open_stream_then_second_slice",
     start() + get(1, end_stream=False) + goaway() + ping(ack=True) * 1100 + get(3)),
    ("rapid_reset_249", start() + open_and_reset(249) + get(499)),
    ("rapid_reset_250", start() + open_and_reset(250) + get(501)),
]  # fmt: skip
CASES += FLOOD_CASES

# Cases that depend on the exact number of idle upstream connections (more streams than the
# warm pool's dozen, reset in the read): they need ``differential.warm_pool``'s drained pool
# of exactly 12. 100 and 249 also wait for a new upstream connection while Envoy still sets up
# those of many cancelled requests: each agreed 12 times out of 12 replayed alone, but on a
# loaded machine (load average 5-10 on 2 cores) after other cases the answer sometimes misses
# the lane's 1 s wait. The benchmark keeps them all; tests/test_model_http2.py runs them under
# `make test-all` only.
POOL_SENSITIVE: frozenset[str] = frozenset(
    ("rapid_reset_100", "rapid_reset_249", "rapid_reset_250", "rapid_reset_600")
)
