"""``harness.util.http.decimal_value``: a digit string's value however long it is (header values
carry thousands of digits; Python's ``int()`` raises on over 4,300, leading zeros included)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.util.http import decimal_value


@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=0, max_value=9000))
def test_leading_zeros_never_change_the_value(n: int, zeros: int) -> None:
    text = "0" * zeros + str(n)
    assert decimal_value(text) == n
    assert decimal_value(text.encode()) == n


def test_a_value_past_every_limit_stays_past_it() -> None:
    assert decimal_value("9" * 9000) > 2**64
    assert decimal_value("0" * 9000) == 0
    assert decimal_value("") == 0
