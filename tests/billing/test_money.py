from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import D, allocate, amount_text, apportion, plain, round_minor, round_to_step

cents = st.integers(min_value=-10**9, max_value=10**9).map(lambda n: Decimal(n) / 100)
weights = st.lists(st.integers(min_value=0, max_value=10**6).map(Decimal), min_size=1, max_size=30)


def test_round_minor_is_half_up_away_from_zero():
    assert round_minor(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_minor(Decimal("-0.025"), "USD") == Decimal("-0.03")  # a credit mirrors its debit
    assert round_minor(Decimal("0.124999"), "USD") == Decimal("0.12")
    assert round_minor(Decimal("12.5"), "JPY") == Decimal("13")
    assert round_minor(Decimal("1.0005"), "KWD") == Decimal("1.001")


def test_decimals_come_from_text_only():
    assert D("1.10") == Decimal("1.10")
    with pytest.raises(ValueError):
        D(0.1)
    with pytest.raises(ValueError):
        D("NaN")
    with pytest.raises(ValueError):
        D("twelve")


def test_allocate_worked_example():
    # 100.00 over 1:1:1 = 33.333...: floors 33.33 each (99.99), the one cent left goes to the
    # largest remainder; all tie, so to the smallest key, "CC-A".
    assert allocate(Decimal("100.00"), [Decimal(1)] * 3, "USD", keys=["CC-B", "CC-A", "CC-C"]) == (
        Decimal("33.33"), Decimal("33.34"), Decimal("33.33"))


def test_allocate_refuses_unrounded_totals_and_negative_weights():
    with pytest.raises(ValueError):
        allocate(Decimal("1.005"), [Decimal(1)], "USD")
    with pytest.raises(ValueError):
        allocate(Decimal("1.00"), [Decimal(-1), Decimal(2)], "USD")


@given(total=cents, weights=weights)
def test_allocate_sums_to_whole_and_stays_within_a_cent(total, weights):
    if sum(weights) == 0:
        weights = weights[:-1] + [Decimal(1)]
    parts = allocate(total, weights, "USD")
    assert sum(parts) == total
    for part, weight in zip(parts, weights):
        exact = total * weight / sum(weights)
        assert abs(part - exact) < Decimal("0.01")


@given(parts=st.lists(st.integers(min_value=-10**12, max_value=10**12).map(lambda n: Decimal(n) / 10**5), min_size=1, max_size=30))
def test_apportion_rounds_signed_parts_to_their_rounded_sum(parts):
    total = round_minor(sum(parts), "USD")
    rounded = apportion(total, parts, "USD")
    assert sum(rounded) == total
    for part, exact in zip(rounded, parts):
        assert abs(part - exact) < Decimal("0.01")


def test_round_to_step():
    assert round_to_step(Decimal("12.37"), Decimal("0.05")) == Decimal("12.35")
    assert round_to_step(Decimal("12.375"), Decimal("0.05")) == Decimal("12.4")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-10**26, max_value=10**26),
       st.booleans())
def test_plain_text_reads_back_exactly_without_exponent_or_trailing_zeros(value, grouped):
    text = plain(value, grouped=grouped)
    assert "E" not in text and Decimal(text.replace(",", "")) == value
    assert not ("." in text and text.endswith(("0", "."))) and (grouped or "," not in text)


def test_plain_text_examples():
    assert plain(Decimal("0E-12")) == "0" and plain(Decimal("-0.000")) == "0"
    assert plain(Decimal("1101939148.707900000000"), grouped=True) == "1,101,939,148.7079"
    assert plain(Decimal("12345678901234567890.123456789012")) == "12345678901234567890.123456789012"


@pytest.mark.parametrize(("value", "currency", "text"), [
    ("1234.5", "USD", "1,234.50"), ("-12", "USD", "-12.00"), ("1235", "JPY", "1,235"), ("1.25", "BHD", "1.250"),
    ("0", "KWD", "0.000"),
    ("1234.5678", "USD", "1,234.5678"),  # a figure with more decimals than its currency is shown exactly, never rounded
    ("1234.5", "JPY", "1,234.5"),
])
def test_amount_text_has_the_currencys_minor_units(value, currency, text):
    assert amount_text(Decimal(value), currency) == text
    assert amount_text(Decimal(value), currency, code=True) == f"{text} {currency}"


@pytest.mark.parametrize(("value", "currency", "text"), [
    ("12", "USD", "+12.00"), ("-12", "USD", "-12.00"), ("0", "USD", "0.00"), ("1500", "JPY", "+1,500"),
    ("0.5", "BHD", "+0.500"), ("0.0005", "BHD", "+0.0005"),
])
def test_amount_text_gives_a_change_its_sign(value, currency, text):
    assert amount_text(Decimal(value), currency, sign=True) == text


@pytest.mark.parametrize(("value", "currency", "text"), [
    ("-1234.5", "USD", "-1234.50"), ("1234", "JPY", "1234"), ("1234.5", "BHD", "1234.500"), ("-0.00", "USD", "0.00"),
])
def test_amount_text_ungrouped_for_files(value, currency, text):
    assert amount_text(Decimal(value), currency, grouped=False, strict=True) == text


@pytest.mark.parametrize(("value", "currency"), [("1.005", "USD"), ("1.5", "JPY"), ("2.0001", "BHD")])
def test_amount_text_strict_refuses_an_amount_that_escaped_rounding(value, currency):
    assert amount_text(Decimal(value), currency) == value  # a forecast: written exactly
    with pytest.raises(ValueError, match="more decimals than"):
        amount_text(Decimal(value), currency, strict=True)


def test_amount_text_refuses_floats():
    with pytest.raises(TypeError):
        amount_text(1.5, "USD")  # type: ignore[arg-type]
