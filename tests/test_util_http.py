"""Http::Utility: Envoy's expectations (test/common/http/utility_test.cc) + properties."""

from envoy.config.core.v3 import protocol_pb2
from hypothesis import given
from hypothesis import strategies as st

from harness.util import http


def test_parse_query_string_envoy_examples() -> None:
    # TEST(HttpUtility, parseQueryString) (QueryParams map view: first value wins)
    q = http.parse_query_string
    assert q(b"/hello") == []
    assert q(b"/hello?") == []
    assert q(b"/hello?hello") == [(b"hello", b"")]
    assert q(b"/hello?hello=world") == [(b"hello", b"world")]
    assert q(b"/hello?hello=") == [(b"hello", b"")]
    assert q(b"/hello?hello=&") == [(b"hello", b"")]
    assert q(b"/hello?hello=&hello2=world2") == [(b"hello", b""), (b"hello2", b"world2")]
    assert http.first_value_map(q(b"/logging?name=admin&level=trace")) == {
        b"name": b"admin",
        b"level": b"trace",
    }
    assert q(b"/hello?hello%26") == [(b"hello%26", b"")]
    assert http.parse_and_decode_query_string(b"/hello?hello%26") == [(b"hello&", b"")]


def test_xff_envoy_examples() -> None:
    # TEST(HttpUtility, getLastAddressFromXFF)
    xff = b"192.0.2.10, 192.0.2.1, 10.0.0.1"
    assert http.get_last_address_from_xff(xff) == ("10.0.0.1", False)
    assert http.get_last_address_from_xff(xff, 1) == ("192.0.2.1", False)
    assert http.get_last_address_from_xff(xff, 2) == ("192.0.2.10", False)
    assert http.get_last_address_from_xff(xff, 3) == (None, False)
    xff = b"192.0.2.10, 192.0.2.1 ,10.0.0.1,10.0.0.2"
    assert [http.get_last_address_from_xff(xff, n)[0] for n in range(5)] == [
        "10.0.0.2",
        "10.0.0.1",
        "192.0.2.1",
        "192.0.2.10",
        None,
    ]
    for bad in (b"", b",", b", ", b", bad"):
        assert http.get_last_address_from_xff(bad) == (None, False)
    assert http.get_last_address_from_xff(None) == (None, False)
    assert http.get_last_address_from_xff(b"34.0.0.1") == ("34.0.0.1", True)


def test_cookie_envoy_examples() -> None:
    # TEST(HttpUtility, TestParseCookie / TestParseCookieBadValues / TestParseCookieWithQuotes)
    headers = [
        b"somekey=somevalue; someotherkey=someothervalue",
        b"abc=def; token=abc123; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
        b"key2=value2; key3=value3",
    ]
    assert http.parse_cookie_value(headers, b"token") == b"abc123"
    bad = [b"token1=abc123; = ", b"token2=abc123;   ", b"; token3=abc123;", b'=; token4="abc123"']
    for key in (b"token1", b"token2", b"token3", b"token4"):
        assert http.parse_cookie_value(bad, key) == b"abc123"
    quoted = [
        b'dquote="; quoteddquote="""',
        b'leadingdquote="foobar;',
        b'abc=def; token="abc123"; Expires=Wed, 09 Jun 2021 10:18:14 GMT',
    ]
    assert http.parse_cookie_value(quoted, b"token") == b"abc123"
    assert http.parse_cookie_value(quoted, b"dquote") == b'"'
    assert http.parse_cookie_value(quoted, b"quoteddquote") == b'"'
    assert http.parse_cookie_value(quoted, b"leadingdquote") == b'"foobar'


def test_make_set_cookie_value_envoy_examples() -> None:
    # TEST(HttpUtility, TestMakeSetCookieValue)
    m = http.make_set_cookie_value
    assert m(b"name", b"value", b"", 10, False) == b'name="value"; Max-Age=10'
    assert m(b"name", b"value", b"", 0, False) == b'name="value"'
    assert m(b"name", b"value", b"", 10, True) == b'name="value"; Max-Age=10; HttpOnly'
    assert m(b"name", b"value", b"/", 10, True) == b'name="value"; Max-Age=10; Path=/; HttpOnly'
    assert m(b"name", b"value", b"/", 0, True) == b'name="value"; Path=/; HttpOnly'


def test_extract_host_path_envoy_examples() -> None:
    # TEST(HttpUtility, TestExtractHostPathFromUri)
    e = http.extract_host_path_from_uri
    assert e(b"scheme://dns.name/x/y/z") == (b"dns.name", b"/x/y/z")
    assert e(b"dns.name") == (b"dns.name", b"/")
    assert e(b"dns.name/x/y/z") == (b"dns.name", b"/x/y/z")
    assert e(b"/x/y/z") == (b"", b"/x/y/z")
    assert e(b"scheme://adf-scheme://adf") == (b"adf-scheme:", b"//adf")
    assert e(b"://") == (b"", b"/")
    assert e(b"/:/adsf") == (b"", b"/:/adsf")


def test_percent_encoding_envoy_examples() -> None:
    # TEST(PercentEncoding, EncodeDecode / Decoding / Trailing)
    json = b'\n{\n    "error": {\n        "code": 401\n    }\n}\n  '
    encoded = b'%0A{%0A    "error": {%0A        "code": 401%0A    }%0A}%0A  '
    assert http.percent_encode(json) == encoded
    assert http.percent_decode(encoded) == json
    assert http.percent_encode(b"_-ok-_") == b"_-ok-_"
    assert http.percent_decode(b"a%26b") == b"a&b"
    assert http.percent_decode(b"upstream%7Cdownstream") == b"upstream|downstream"
    assert http.percent_decode(b"too%20lar%20") == b"too lar "
    assert http.percent_decode(b"too%20larg%e") == b"too larg%e"
    assert http.percent_decode(b"too%20large%") == b"too large%"
    # Envoy compares a signed char: '~', DEL and UTF-8 bytes are all escaped.
    assert http.percent_encode(b"~\x7f\xc3\xa9%") == b"%7E%7F%C3%A9%25"


def test_parse_authority() -> None:
    # Cases of utility_corpus/parse_authority_string_*; semantics from Utility::parseAuthority.
    a = http.parse_authority
    assert a(b"1.2.3.4") == http.AuthorityAttributes(True, b"1.2.3.4", None)
    assert a(b"[a:b:c:d::]:0") == http.AuthorityAttributes(True, b"a:b:c:d::", 0)
    assert a(b"example.com") == http.AuthorityAttributes(False, b"example.com", None)
    assert a(b"localhost:10000") == http.AuthorityAttributes(False, b"localhost", 10000)
    assert a(b"0.0.0.0:4000") == http.AuthorityAttributes(True, b"0.0.0.0", 4000)
    assert a(b"[::1]") == http.AuthorityAttributes(True, b"::1", None)
    assert a(b"host:65536") == http.AuthorityAttributes(False, b"host:65536", None)
    assert a(b"host: 80") == http.AuthorityAttributes(False, b"host", 80)  # absl::SimpleAtoi
    assert a(b"::1") == http.AuthorityAttributes(False, b":", 1)  # best effort, as in Envoy


def test_initialize_and_validate_defaults_and_conflicts() -> None:
    options = protocol_pb2.Http2ProtocolOptions()
    out = http.initialize_and_validate_options(options)
    assert out.hpack_table_size.value == 4096
    assert out.max_concurrent_streams.value == 1024
    assert out.initial_stream_window_size.value == 16 * 1024 * 1024
    assert out.max_outbound_frames.value == 10000
    assert out.override_stream_error_on_invalid_http_message.value is False
    legacy = http.initialize_and_validate_options(options, safe_defaults=False)
    assert legacy.max_concurrent_streams.value == 2**31 - 1
    # utility_corpus/clusterfuzz-testcase-minimized-...-5091558495092736: same id, two values.
    options.custom_settings_parameters.add(identifier={"value": 11008}, value={"value": 65536})
    options.custom_settings_parameters.add(identifier={"value": 11008}, value={})
    try:
        http.initialize_and_validate_options(options)
        raise AssertionError("inconsistent custom settings accepted")
    except http.OptionsError as e:
        assert "0x2b00" in str(e)
    push = protocol_pb2.Http2ProtocolOptions()
    push.custom_settings_parameters.add(identifier={"value": 2}, value={"value": 1})
    try:
        http.initialize_and_validate_options(push)
        raise AssertionError("ENABLE_PUSH accepted")
    except http.OptionsError:
        pass


def test_pgv_ranges_match_the_api_descriptor() -> None:
    # Our hard-coded PGV ranges must be the ones xds-protos carries in validate.rules.
    from validate import validate_pb2

    for field in protocol_pb2.Http2ProtocolOptions.DESCRIPTOR.fields:
        opts = field.GetOptions()
        if not opts.HasExtension(validate_pb2.rules):
            continue
        rules = opts.Extensions[validate_pb2.rules]
        if rules.HasField("uint32"):
            low, high = http._PGV_RANGES[field.name]
            assert rules.uint32.gte == low
            assert (rules.uint32.lte if rules.uint32.HasField("lte") else None) == high


@given(st.binary(max_size=64))
def test_percent_round_trip(data: bytes) -> None:
    encoded = http.percent_encode(data)
    assert all(0x20 <= c < 0x7E for c in encoded)
    assert http.percent_decode(encoded) == data


@given(st.lists(st.tuples(st.binary(max_size=6), st.binary(max_size=6)), max_size=5))
def test_query_parameters_round_trip(pairs: list[tuple[bytes, bytes]]) -> None:
    clean = [(k.translate(None, b"&=?"), v.translate(None, b"&")) for k, v in pairs]
    query = b"&".join(k + b"=" + v for k, v in clean)
    assert http.parse_query_string(b"/p?" + query) == (clean if query else [])
