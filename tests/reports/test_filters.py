from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.filters import estimate, money, pct, plain_amount, qty


def test_money_formats_with_separators_code_and_minus():
    assert money(Decimal("1234567.5"), "USD") == "1,234,567.50 USD"
    assert money(Decimal("-380.00"), "USD") == "-380.00 USD"
    assert money(Decimal("0.00"), "EUR") == "0.00 EUR"
    assert money(Decimal("-0.00"), "EUR") == "0.00 EUR"
    assert money(Decimal("270"), "USD", sign=True) == "+270.00 USD"
    assert money(Decimal("-665"), "USD", code=False, sign=True) == "-665.00"


def test_money_uses_the_currency_minor_units():
    assert money(Decimal("1234"), "JPY") == "1,234 JPY"
    assert money(Decimal("1.234"), "BHD") == "1.234 BHD"
    assert plain_amount(Decimal("-1234.5"), "USD") == "-1234.50"


@pytest.mark.parametrize(("amount", "currency"), [("1.005", "USD"), ("0.001", "EUR"), ("1.5", "JPY"), ("2.0001", "BHD")])
def test_money_never_rounds(amount, currency):
    with pytest.raises(ValueError, match="more decimals than"):
        money(Decimal(amount), currency)
    with pytest.raises(ValueError, match="more decimals than"):
        plain_amount(Decimal(amount), currency)


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        money(1.5, "USD")


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_money_shows_exactly_the_amount(minor):
    # Any whole number of cents comes back exactly from its text.
    amount = Decimal(minor).scaleb(-2)
    text = money(amount, "USD", code=False)
    assert Decimal(text.replace(",", "")) == amount
    assert Decimal(plain_amount(amount, "USD")) == amount


def test_pct_and_qty():
    assert pct(Decimal("6")) == "6.0 %"
    assert pct(Decimal("-17.5"), sign=True) == "-17.5 %"
    assert pct(Decimal("21.578947"), sign=True) == "+21.6 %"
    assert pct(Decimal("0.01"), sign=True) == "0.0 %"
    assert qty(Decimal("1250.000")) == "1,250"
    assert qty(Decimal("12.50")) == "12.5"
    assert qty(Decimal("0E-12")) == "0"


def test_estimate_writes_a_forecast_exactly_where_money_refuses_it():
    assert estimate(Decimal("1234.5"), "USD") == "1,234.50 USD"
    assert estimate(Decimal("-12.3456"), "USD") == "-12.3456 USD"  # not rounded, not hidden
    with pytest.raises(ValueError):
        money(Decimal("12.3456"), "USD")
