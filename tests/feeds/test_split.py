"""Exact splits at the 1e-12 scale: parts always sum to the row."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.feeds.split import split_exact

UNIT = Decimal("1e-12")


def test_worked_example():
    # 0.000000000010 (10 units) by 33.33 / 33.33 / 33.34: exact shares 3.333, 3.333, 3.334 units;
    # floors 3 + 3 + 3 = 9, the one unit left goes to the largest remainder (ENG, 0.334).
    assert split_exact(Decimal("0.000000000010"), [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")],
                       ["FIN", "OPS", "ENG"]) == (Decimal("3e-12"), Decimal("3e-12"), Decimal("4e-12"))


def test_ties_go_to_the_smaller_key_and_the_sign_is_kept():
    assert split_exact(Decimal("-0.000000000001"), [Decimal(50), Decimal(50)], ["OPS", "FIN"]) == (
        Decimal(0), Decimal("-1e-12"))


def test_refuses_what_it_cannot_split_exactly():
    with pytest.raises(ValueError):
        split_exact(Decimal("0.0000000000001"), [Decimal(100)], ["FIN"])
    with pytest.raises(ValueError):
        split_exact(Decimal(1), [Decimal(60), Decimal(30)], ["FIN", "OPS"])


@given(
    units=st.integers(min_value=-(10**37), max_value=10**37),
    percents=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=6),
)
def test_parts_sum_to_the_whole_and_stay_within_one_unit(units, percents):
    total = Decimal(f"{units}E-12")
    hundredths = [p * 10_000 // sum(percents) for p in percents]  # percentages with two decimals
    hundredths[-1] += 10_000 - sum(hundredths)
    if any(h <= 0 for h in hundredths):
        return
    shares = [Decimal(h).scaleb(-2) for h in hundredths]
    keys = [f"BL{i}" for i in range(len(shares))]
    parts = split_exact(total, shares, keys)

    with localcontext() as ctx:
        ctx.prec = 80  # Decimal(38,12) values need more than the default 28 digits
        assert sum(parts, Decimal(0)) == total
        for part, share in zip(parts, shares):
            assert abs(part - total * share / 100) < UNIT
            assert part.as_tuple().exponent >= -12
