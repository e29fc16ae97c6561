"""StringUtil: Envoy's unit-test expectations (test/common/common/utility_test.cc) + properties."""

from hypothesis import given
from hypothesis import strategies as st

from harness.util import strings


def test_atoull_envoy_examples() -> None:
    # TEST(StringUtil, atoull)
    assert strings.atoull(b"123b") is None
    assert strings.atoull(b"") is None
    assert strings.atoull(b"b123") is None
    assert strings.atoull(b"123") == 123
    assert strings.atoull(b"  456") == 456
    assert strings.atoull(b"00789") == 789
    assert strings.atoull(b"18446744073709551616") is None
    assert strings.atoull(b"18446744073709551615") == 18446744073709551615


def test_strtoull_envoy_examples() -> None:
    # TEST(StringUtil, strtoull): the returned index points at the first unparsed byte.
    assert strings.strtoull(b"0x1234567890abcdefg", 16) == (0x1234567890ABCDEF, 18)
    assert strings.strtoull(b"01234567890A", 10) == (1234567890, 11)
    assert strings.strtoull(b"012345678", 8) == (0o1234567, 8)
    assert strings.strtoull(b"01010101012", 2) == (0b101010101, 10)


def test_atoull_c_string_quirks() -> None:
    # strtoull semantics Envoy inherits: NUL ends the string, '-' wraps modulo 2^64,
    # trailing whitespace is not consumed.
    assert strings.atoull(b"12\x0034") == 12
    assert strings.atoull(b"-1") == strings.UINT64_MAX
    assert strings.atoull(b"-18446744073709551616") is None
    assert strings.atoull(b"1 ") is None
    assert strings.atoull(b"+") is None


def test_trim_and_crop_envoy_examples() -> None:
    # TEST(StringUtil, StringViewTrim / StringViewCropRight / StringViewCropLeft)
    assert strings.trim(b" \t\f\v\n\r he llo \t\f\v\n\r") == b"he llo"
    assert strings.crop_right(b"hello; world\t\f\v\n\r", b";") == b"hello"
    assert strings.crop_right(b";hello world\t\f\v\n\r", b";") == b""
    assert strings.crop_right(b" hello alo\t\f\v\n\r", b"lo") == b" hel"
    assert strings.crop_right(b"abcd", b";") == b"abcd"
    assert strings.crop_left(b"hello; world\t\f\v\n\r", b";") == b" world\t\f\v\n\r"
    assert strings.crop_left(b"foo ; ; ; ; ; ", b";") == b" ; ; ; ; "
    assert strings.crop_left(b"abcd", b"abcd") == b""


def test_find_token_envoy_examples() -> None:
    # TEST(StringUtil, StringViewFindToken)
    assert strings.find_token(b"hello; world", b";", b"hello")
    assert strings.find_token(b"abc; type=text", b";=", b"text")
    assert strings.find_token(b"abc; type=text", b";=", b"type")
    assert not strings.find_token(b"abc; type=text", b";=", b" ")
    assert strings.find_token(b"abc; type=text", b";=", b" type", False)
    assert not strings.find_token(b"hello; world", b".", b"hello")
    assert strings.find_token(b"", b",", b"")
    assert not strings.find_token(b"", b"", b"a")
    assert strings.find_token(b" ", b" ", b"", True)
    assert not strings.find_token(b" ", b" ", b"", False)


def test_empty_delimiter_splits_every_character() -> None:
    # absl::ByAnyChar("") special case, reached by utility_fuzz_test's findToken call.
    assert strings.split_by_any_char(b"abc", b"") == [b"a", b"b", b"c"]
    assert strings.split_by_any_char(b"", b"") == [b""]
    assert strings.find_token(b"abc", b"", b"b", False)
    assert not strings.find_token(b"abc", b"", b"ab", False)


def test_escape() -> None:
    assert strings.escape(b'a\r\n\t"b\\') == b'a\\r\\n\\t\\"b\\'


@given(st.binary(max_size=64))
def test_trim_properties(data: bytes) -> None:
    t = strings.trim(data)
    assert t == strings.ltrim(strings.rtrim(data)) == strings.rtrim(strings.ltrim(data))
    assert strings.trim(t) == t
    assert t in data


@given(st.binary(max_size=32), st.binary(min_size=1, max_size=4))
def test_crop_recomposes(source: bytes, delimiter: bytes) -> None:
    right, left = strings.crop_right(source, delimiter), strings.crop_left(source, delimiter)
    if delimiter in source:
        assert right + delimiter + left == source
    else:
        assert right == left == source


@given(st.integers(min_value=0, max_value=strings.UINT64_MAX))
def test_atoull_round_trips_decimal(value: int) -> None:
    assert strings.atoull(str(value).encode()) == value
    assert strings.atoull(b"%x" % value, 16) == value


@given(st.binary(max_size=16), st.binary(max_size=16))
def test_case_compare_is_ascii_case_insensitive(a: bytes, b: bytes) -> None:
    assert strings.case_compare(a, a.swapcase())
    assert strings.case_compare(a, b) == (a.lower() == b.lower())
