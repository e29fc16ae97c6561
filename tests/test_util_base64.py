"""Base64/Base64Url: Envoy's expectations (test/common/common/base64_test.cc) + properties."""

import base64 as pybase64
import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.util.base64 import Base64, Base64Url, legacy_decode


def test_encode_envoy_examples() -> None:
    # TEST(Base64Test, EncodeString)
    assert Base64.encode(b"") == b""
    assert Base64.encode(b"\0\0") == b"AAA="
    assert Base64.encode(b"\0\0", add_padding=False) == b"AAA"
    assert Base64.encode(b"foo") == b"Zm9v"
    assert Base64.encode(b"fo") == b"Zm8="
    assert Base64.encode(b"f") == b"Zg=="
    # TEST(Base64UrlTest, EncodeString)
    assert Base64Url.encode(b"\0\0") == b"AAA"
    assert Base64Url.encode(b"fo") == b"Zm8"


def test_decode_envoy_examples() -> None:
    # TEST(Base64Test, Decode)
    assert Base64.decode(b"") == b""
    assert Base64.decode(b"Zm9v") == b"foo"
    assert Base64.decode(b"Zm8=") == b"fo"
    assert Base64.decode(b"Zg==") == b"f"
    assert Base64.decode(b"Zm9vYg==") == b"foob"
    assert Base64.decode(b"AAECAwgKCQ==") == b"\0\1\2\3\b\n\t"
    # TEST(Base64Test, DecodeWithoutPadding)
    assert Base64.decode_without_padding(b"Zm8") == b"fo"
    assert Base64.decode_without_padding(b"Zm9vYmE") == b"fooba"
    # TEST(Base64UrlTest, Decode)
    assert Base64Url.decode(b"Zm9vYg") == b"foob"
    assert Base64Url.decode(b"AAECAwgKCQ") == b"\0\1\2\3\b\n\t"


@pytest.mark.parametrize(
    "bad",
    [
        b"==Zg",
        b"=Zm8",
        b"Zm=8",
        b"Zg=A",
        b"Zh==",
        b"Zm9=",
        b"Zg..",
        b"..Zg",
        b"A===",
        b"====",
        b"123",
    ],
)
def test_decode_failure_envoy_examples(bad: bytes) -> None:
    # TEST(Base64Test, DecodeFailure) / TEST(Base64UrlTest, DecodeFailure)
    assert Base64.decode(bad) == b""
    assert Base64Url.decode(bad) == b""
    assert legacy_decode(bad) == b""


@pytest.mark.parametrize("bad", [b"", b"=", b"==", b"===", b"===="])
def test_decode_without_padding_failures(bad: bytes) -> None:
    assert Base64.decode_without_padding(bad) == b""
    assert legacy_decode(bad, padded=False) == b""


@pytest.mark.parametrize("bad", [b"Zh", b"Zm9", b"A", b"Zg=="])
def test_url_decode_failures(bad: bytes) -> None:
    # TEST(Base64UrlTest, DecodeFailure) plus: URL decoding accepts no padding.
    assert Base64Url.decode(bad) == b""


def test_differs_from_python_on_purpose() -> None:
    # Python accepts non-zero trailing bits; Envoy rejects the non-canonical form.
    assert pybase64.b64decode(b"QR==", validate=True) == b"A"
    assert Base64.decode(b"QR==") == b""
    # Python needs padding; Envoy's URL decoder forbids it.
    with pytest.raises(binascii.Error):
        pybase64.urlsafe_b64decode(b"QQ")
    assert Base64Url.decode(b"QQ") == b"A"


@given(st.binary(max_size=64))
def test_round_trips_and_matches_python_encoder(data: bytes) -> None:
    assert Base64.encode(data) == pybase64.b64encode(data)
    assert Base64.decode(Base64.encode(data)) == data
    assert legacy_decode(Base64.encode(data)) == data
    assert Base64Url.encode(data) == pybase64.urlsafe_b64encode(data).rstrip(b"=")
    assert Base64Url.decode(Base64Url.encode(data)) == data
    assert Base64.decode_without_padding(Base64.encode(data, add_padding=False)) == data


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=.", max_size=24
    )
)
def test_new_and_legacy_decoders_agree(text: str) -> None:
    data = text.encode()
    decoded = Base64.decode(data)
    assert decoded == legacy_decode(data)
    assert Base64.decode_without_padding(data) == legacy_decode(data, padded=False)
    assert Base64Url.decode(data) == legacy_decode(data, url=True)
    if decoded:
        assert Base64.encode(decoded) == data  # strict: only the canonical encoding decodes
