"""The Envoy-like header map: ordering, inline coalescing, appends and size accounting."""

from hypothesis import given
from hypothesis import strategies as st

from harness.util.header_map import HeaderMap, replace_invalid_characters


def test_pseudo_headers_stay_in_front() -> None:
    h = HeaderMap()
    h.add_copy(b"x-b", b"1")
    h.add_copy(b":path", b"/")
    h.add_copy(b"X-B", 2)
    h.add_copy(b":Method", b"GET")
    assert h.items() == [(b":path", b"/"), (b":method", b"GET"), (b"x-b", b"1"), (b"x-b", b"2")]


def test_inline_headers_coalesce_and_regular_ones_repeat() -> None:
    h = HeaderMap()
    h.add_copy(b"x-forwarded-for", b"1.1.1.1")
    h.add_copy(b"x-forwarded-for", b"2.2.2.2")
    h.add_copy(b"x-forwarded-for", b"")  # appendToHeader ignores empty data
    h.add_copy(b"x-custom", b"a")
    h.add_copy(b"x-custom", b"b")
    assert h.get(b"x-forwarded-for") == [b"1.1.1.1,2.2.2.2"]
    assert h.get(b"x-custom") == [b"a", b"b"]
    assert h.byte_size() == sum(len(k) + len(v) for k, v in h.iterate())


def test_append_copy_uses_cookie_delimiter() -> None:
    h = HeaderMap()
    h.append_copy(b"cookie", b"a=b")
    h.append_copy(b"cookie", b"c=d")
    h.append_copy(b"x", b"1")
    h.add_copy(b"x", b"2")
    h.append_copy(b"x", b"3")
    assert h.get(b"cookie") == [b"a=b; c=d"]
    assert h.get(b"x") == [b"1,3", b"2"]


def test_set_remove_and_prefix() -> None:
    h = HeaderMap()
    for k in (b"x-envoy-a", b"x-envoy-b", b"x-envoy-a", b"other"):
        h.add_copy(k, b"v")
    h.set_reference(b"X-Envoy-A", b"new")
    assert h.items() == [(b"x-envoy-b", b"v"), (b"other", b"v"), (b"x-envoy-a", b"new")]
    assert h.remove_prefix(b"X-ENVOY-") == 2
    assert h.items() == [(b"other", b"v")]
    h.set_inline(b":path", b"/a")
    h.set_inline(b":path", b"/bb")
    assert h.items()[0] == (b":path", b"/bb") and h.byte_size() == len(b"otherv:path/bb")


def test_replace_invalid_characters() -> None:
    assert replace_invalid_characters(b"a\x00b\rc\nd") == b"a b c d"


_KEYS = st.sampled_from(
    [b":path", b":method", b"x-forwarded-for", b"cookie", b"X-A", b"x-a", b"x-b", b""]
)
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "append", "set", "remove", "prefix"]), _KEYS, st.binary(max_size=4)
    ),
    max_size=20,
)


@given(_OPS)
def test_invariants_hold_after_any_operation_sequence(ops: list[tuple[str, bytes, bytes]]) -> None:
    h = HeaderMap()
    for op, key, value in ops:
        if op == "add":
            h.add_copy(key, value)
        elif op == "append":
            h.append_copy(key, value)
        elif op == "set":
            h.set_copy(key, value)
            assert h.get(key) == [value]
        elif op == "remove":
            h.remove(key)
            assert h.get(key) == []
        else:
            h.remove_prefix(key)
        entries = list(h.iterate())
        assert h.size() == len(entries)
        assert h.byte_size() == sum(len(k) + len(v) for k, v in entries)
        assert list(h.iterate_reverse()) == entries[::-1]
        pseudo = [k[:1] == b":" for k, _ in entries]
        assert pseudo == sorted(pseudo, reverse=True)
        for inline in (b":path", b":method", b"x-forwarded-for"):
            assert len(h.get(inline)) <= 1
