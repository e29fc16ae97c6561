"""PathUtil: Envoy's expectations (test/common/http/path_utility_test.cc) + properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.util import path


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        # TEST_F(PathUtilityTest, AlreadyNormalPaths)
        (b"/xyz", b"/xyz"),
        (b"/x/y/z", b"/x/y/z"),
        # TEST_F(PathUtilityTest, NormalizeValidPaths)
        (b"/a/b/../c", b"/a/c"),
        (b"/a/b/./c", b"/a/b/c"),
        (b"a/b/../c", b"/a/c"),
        (b"/a/b/../../../../c", b"/c"),
        (b"/a/..\\c", b"/c"),
        (b"/%c0%af", b"/%c0%af"),
        (b"/%5c%25", b"/%5c%25"),
        (b"/a/b/%2E%2E/c", b"/a/c"),
        (b"/a/b/%2E./c", b"/a/c"),
        (b"/a/b/%2E/c", b"/a/b/c"),
        (b"..", b"/"),
        (b"/../a/b", b"/a/b"),
        (b"/./a/b", b"/a/b"),
        # TEST_F(PathUtilityTest, NormalizeCasePath)
        (b"/A/B/C", b"/A/B/C"),
        (b"/a/b/%2e%2e/c", b"/a/c"),
        (b"/a/%2F%2f/c", b"/a/%2F%2f/c"),
    ],
)
def test_canonical_path_envoy_examples(original: bytes, expected: bytes) -> None:
    assert path.canonical_path(original) == expected


@pytest.mark.parametrize("bad", [b"/xyz/.%00../abc", b"/xyz/%00.%00./abc", b"/xyz/AAAAA%%0000/abc"])
def test_canonical_path_rejects_envoy_examples(bad: bytes) -> None:
    # TEST_F(PathUtilityTest, InvalidPaths)
    assert path.canonical_path(bad) is None


def test_canonical_path_chromium_details() -> None:
    assert path.canonical_path(b"/%41%7e%2d") == b"/A~-"  # unreserved escapes are decoded
    assert path.canonical_path(b'/a b"<>`{|}\x7f\xff') == b"/a%20b%22%3C%3E%60%7B%7C%7D%7F%FF"
    assert path.canonical_path(b"/%%300") == b"/%2500"  # nested escape protection
    assert path.canonical_path(b"/a/../b?x=/../y") == b"/b?x=/../y"  # query untouched
    assert path.canonical_path(b"") == b"/"
    assert path.canonical_path(b"/a\x00") is None
    assert path.canonical_path(b"/\xc3\x28", validate_utf8=True) is None  # googleurl variant
    assert path.canonical_path(b"/\xc3\x28") == b"/%C3("


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        # TEST_F(PathUtilityTest, MergeSlashes)
        (b"", b""),
        (b"a//b/c", b"a/b/c"),
        (b"/a//b/c/", b"/a/b/c/"),
        (b"a//b/c/", b"a/b/c/"),
        (b"/a", b"/a"),
        (b"//a/b/c", b"/a/b/c"),
        (b"/a/b/c//", b"/a/b/c/"),
        (b"/a////b/c", b"/a/b/c"),
        (b"/a//b?a=///c", b"/a/b?a=///c"),
        (b"/a//b?", b"/a/b?"),
        (b"//a/?b", b"/a/?b"),
        (b"///", b"//"),  # derived from PathTransformer::mergeSlashes: prefix + "" + suffix
    ],
)
def test_merge_slashes_envoy_examples(original: bytes, expected: bytes) -> None:
    assert path.merge_slashes(original) == expected


@pytest.mark.parametrize(
    "original",
    [
        b"/abc",
        b"/abc?",
        b"/abc??param=value",
        b"/abc#fragment?param=value",
        b"/abc?#",
        b"/abc?param=value#fragment",
    ],
)
def test_remove_query_and_fragment_envoy_examples(original: bytes) -> None:
    # TEST_F(PathUtilityTest, RemoveQueryAndFragment)
    assert path.remove_query_and_fragment(original) == b"/abc"
    assert path.remove_query_and_fragment(b"") == b""


_PATHISH = st.lists(
    st.sampled_from(
        [
            b"/",
            b"\\",
            b".",
            b"..",
            b"%2e",
            b"%2E",
            b"%",
            b"%25",
            b"%41",
            b"%2f",
            b"a",
            b"?",
            b"%%30",
            b"0",
            b"\xff",
            b" ",
        ]
    ),
    max_size=12,
).map(b"".join)


@given(st.one_of(_PATHISH, st.binary(max_size=24)))
def test_canonical_path_is_idempotent(p: bytes) -> None:
    normalized = path.canonical_path(p)
    if normalized is not None:
        assert path.canonical_path(normalized) == normalized
        head = normalized.split(b"?", 1)[0]
        assert head.startswith(b"/")
        assert all(seg not in (b".", b"..") for seg in head.split(b"/"))


@given(st.one_of(_PATHISH, st.binary(max_size=24)))
def test_merge_slashes_is_idempotent(p: bytes) -> None:
    merged = path.merge_slashes(p)
    assert path.merge_slashes(merged) == merged
    head = merged.partition(b"?")[0]
    # Envoy quirk: an all-slash path ("//", "///") becomes "//" (prefix "/" + "" + suffix "/").
    assert b"//" not in head or head == b"//"
