"""Sans-IO parsers of the lane: downstream responses, upstream requests, the request counter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.envoy.downstream import H1Responses, H2Responses, count_simple_requests
from harness.envoy.upstream import H1RequestParser, _Record

RESPONSES = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n"
    b"HTTP/1.1 204 No Content\r\n\r\n"
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\nconnection: close\r\n\r\nBad Request"
)


def _feed_in_pieces(parser: H1Responses, data: bytes, cuts: list[int]) -> None:
    last = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        parser.feed(data[last:cut])
        last = max(last, cut)
    parser.feed(data[last:])


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=8))
def test_h1_responses_do_not_depend_on_how_bytes_arrive(cuts: list[int]) -> None:
    parser = H1Responses()
    _feed_in_pieces(parser, RESPONSES, cuts)
    assert parser.statuses == [100, 200, 200, 204, 400]
    assert parser.complete == 4  # the 100 is interim
    assert parser.close_announced
    assert not parser.partial and not parser.broken


def test_h1_responses_partial_and_broken() -> None:
    parser = H1Responses()
    parser.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab")
    assert parser.statuses == [200] and parser.complete == 0 and parser.partial
    junk = H1Responses()
    junk.feed(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00")
    assert junk.broken and junk.statuses == []


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=4))
def test_h1_responses_to_head_have_no_body(cuts: list[int]) -> None:
    # Envoy answers HEAD with a content-length but no body: the next answer follows at once.
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
    parser = H1Responses()
    parser.head_requested = True
    _feed_in_pieces(
        parser, answer * 2 + b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\nok", cuts
    )
    assert parser.statuses == [200, 200, 400] and not parser.broken
    without_head = H1Responses()  # no HEAD sent: those bytes are a body
    without_head.feed(answer + b"HTTP")
    assert without_head.statuses == [200] and without_head.complete == 1


def test_h2_responses_collect_statuses_and_goaway() -> None:
    import h2.config
    import h2.connection

    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    client = h2.connection.H2Connection()
    client.initiate_connection()
    client.send_headers(
        1,
        [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "a")],
        end_stream=True,
    )
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    server.send_headers(1, [(":status", "404"), ("content-length", "0")], end_stream=True)
    server.close_connection()
    parser = H2Responses()
    for byte in range(0, len(wire := server.data_to_send()), 7):  # uneven reads
        parser.feed(wire[byte : byte + 7])
    assert parser.statuses == [404]
    assert parser.goaway and 1 in parser.ended_streams


GET = b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n"
POST = b"POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"


@given(st.lists(st.sampled_from([GET, POST]), max_size=6))
def test_count_simple_requests_counts_pipelined_requests(requests: list[bytes]) -> None:
    assert count_simple_requests(b"".join(requests)) == len(requests)


def test_count_simple_requests_refuses_what_it_cannot_frame_for_sure() -> None:
    for data in (
        GET[:-2],  # incomplete head
        POST[:-1],  # incomplete body
        b"GET / HTTP/1.1\nhost: x\n\n",  # bare LF
        b"GET / HTTP/1.0\r\n\r\n",
        b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\na",
        b"GET / HTTP/1.1\r\nhost: x\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n",
        b"\r\nGET / HTTP/1.1\r\n\r\n",
    ):
        assert count_simple_requests(data) is None, data


@given(st.lists(st.integers(min_value=0, max_value=1000), max_size=6))
def test_upstream_parser_records_requests_however_split(cuts: list[int]) -> None:
    wire = (
        b"GET /a HTTP/1.1\r\nhost: x\r\nx-request-id: 1\r\n\r\n"
        b"POST /b HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
        b"PUT /c HTTP/1.1\r\ncontent-length: 4\r\n\r\nwxyz"
    )
    parser = H1RequestParser()
    started: list[_Record] = []
    completed = 0
    last = 0
    for cut in [*sorted(c % (len(wire) + 1) for c in cuts), len(wire)]:
        cut = max(cut, last)
        s, c = parser.feed(wire[last:cut])
        started += s
        completed += c
        last = cut
    assert completed == 3
    assert [(r.method, r.target, r.body) for r in started] == [
        ("GET", "/a", 0),
        ("POST", "/b", 5),
        ("PUT", "/c", 4),
    ]
    assert started[0].headers == [("host", "x"), ("x-request-id", "1")]
    assert all(r.complete for r in started)
