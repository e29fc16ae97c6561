"""Envoy's generated x-request-id is normalised in HTTP/2 observations by decoding the client's
header blocks: an id the client sent itself (Huffman-coded or not) stays, any other becomes
``GENERATED_ID``, and bytes that do not decode keep every id as it came."""

from __future__ import annotations

from hpack import Encoder

from harness.codec import http2
from harness.codec.http2 import client_request_ids
from harness.observation import GENERATED_ID, UpstreamRequest, without_generated_ids

CLIENT_ID = "0b7e3a52-9c1d-4f7e-8a8e-2d9f6c4b1a00"
ENVOY_ID = "5f0c9b3e-1d2a-4c6b-9e7f-8a1b2c3d4e5f"


def _headers(fields: list[tuple[str, str]], huffman: bool = True) -> bytes:
    block = Encoder().encode(fields, huffman=huffman)
    return http2.build_frame(
        http2.HEADERS, http2.FLAG_END_HEADERS | http2.FLAG_END_STREAM, 1, block
    )


def _request(request_id: str) -> UpstreamRequest:
    return UpstreamRequest("GET", "/", [("host", "h"), ("x-request-id", request_id)], 0)


REQUEST = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "h")]


def test_an_id_the_client_sent_stays_even_huffman_coded() -> None:
    sent = http2.PREFACE + _headers([*REQUEST, ("x-request-id", CLIENT_ID)])
    assert CLIENT_ID.encode() not in sent  # HPACK hid it
    assert client_request_ids(sent) == [CLIENT_ID.encode()]
    [kept] = without_generated_ids([_request(CLIENT_ID)], sent, True, client_request_ids(sent))
    assert dict(kept.headers)["x-request-id"] == CLIENT_ID


def test_the_name_elsewhere_in_the_bytes_no_longer_keeps_envoys_id() -> None:
    data = http2.build_frame(http2.DATA, 0, 3, b"x-request-id: " + ENVOY_ID.encode())
    sent = http2.PREFACE + _headers(REQUEST) + data
    [seen] = without_generated_ids([_request(ENVOY_ID)], sent, True, client_request_ids(sent))
    assert dict(seen.headers)["x-request-id"] == GENERATED_ID


def test_a_padded_block_with_a_priority_decodes() -> None:
    block = Encoder().encode([*REQUEST, ("x-request-id", CLIENT_ID)])
    payload = bytes([3]) + b"\0\0\0\0\x10" + block + b"\0\0\0"
    flags = http2.FLAG_END_HEADERS | http2.FLAG_PADDED | http2.FLAG_PRIORITY
    sent = http2.PREFACE + http2.build_frame(http2.HEADERS, flags, 1, payload)
    assert client_request_ids(sent) == [CLIENT_ID.encode()]


def test_a_block_that_does_not_decode_keeps_every_id() -> None:
    bad = http2.build_frame(http2.HEADERS, http2.FLAG_END_HEADERS, 1, b"\xff\xff\xff\xff")
    sent = http2.PREFACE + bad + b"x-request-id"
    assert client_request_ids(sent) is None
    [seen] = without_generated_ids([_request(ENVOY_ID)], sent, True, client_request_ids(sent))
    assert dict(seen.headers)["x-request-id"] == ENVOY_ID
