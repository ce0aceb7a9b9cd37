"""Human sizes (``10GiB``, ``500 MB``): parsed exactly, refused when ambiguous or malformed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.errors import InvalidInput
from registry.sizes import MAX_BYTES, format_size, parse_size

UNITS = {
    "B": 1,
    "kB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "PB": 1000**5,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "PiB": 1024**5,
}


@given(st.integers(min_value=0, max_value=MAX_BYTES))
def test_a_bare_number_is_bytes(n: int) -> None:
    assert parse_size(str(n)) == n


@given(
    st.integers(min_value=0, max_value=8000),  # 8000 PiB still fits in 63 bits
    st.sampled_from(sorted(UNITS)),
    st.sampled_from(["", " ", "  "]),
    st.sampled_from([str, str.lower, str.upper]),
)
def test_units_in_any_case_with_or_without_a_space(n: int, unit: str, space: str, case) -> None:  # type: ignore[no-untyped-def]
    assert parse_size(f"{n}{space}{case(unit)}") == n * UNITS[unit]


@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=9))
def test_one_decimal_is_exact_and_fractions_of_a_byte_round_down(whole: int, tenth: int) -> None:
    assert parse_size(f"{whole}.{tenth}GiB") == (whole * 10 + tenth) * 1024**3 // 10
    assert parse_size(f"{whole}.{tenth}") == whole


@given(st.integers(min_value=0, max_value=8000 * 1024**5))
def test_formatted_sizes_parse_back_within_the_rounding(n: int) -> None:
    text = format_size(n)
    back = parse_size(text)
    if n < 1024:
        assert (text, back) == (f"{n} B", n)
    else:  # one decimal of the unit shown: at most 0.05 of it, and the unit is <= n
        assert abs(back - n) <= n * 0.05 + 1


@pytest.mark.parametrize(
    "text",
    ["", "GiB", "10G", "10 M", "1e9", "-1", "+5", "10 GiBs", "ten", "1,000", "0x10", "1.", ".5GiB"],
)
def test_malformed_or_ambiguous_sizes_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a size"):
        parse_size(text)


def test_a_size_past_64_bits_is_refused() -> None:
    assert parse_size(str(MAX_BYTES)) == MAX_BYTES
    with pytest.raises(InvalidInput, match="more than"):
        parse_size(str(MAX_BYTES + 1))
    with pytest.raises(InvalidInput, match="more than"):
        parse_size("8193PiB")


def test_format_size_picks_the_largest_unit_below_1024() -> None:
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1024) == "1.0 KiB"
    assert format_size(10 * 1024**3) == "10.0 GiB"
    assert format_size(3 * 1024**2 // 2) == "1.5 MiB"
    assert format_size(MAX_BYTES).endswith(" PiB")
