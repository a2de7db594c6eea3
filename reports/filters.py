"""How numbers are written on statements and in exports. Formatting only: nothing here rounds.

Amounts reach the reports already rounded to the currency's minor unit (billing.core.money is the
only module that rounds). An amount is written by :func:`billing.core.money.amount_text`, the one
money formatter; :func:`money` and :func:`plain_amount` are its two spellings for templates, and
refuse an amount with more decimals than its currency has, so a figure that escaped rounding is
caught, never hidden.

:func:`register` puts the filters on a Jinja2 environment; it is the one place that does.
"""

from __future__ import annotations

from decimal import Decimal

from billing.core.money import amount_text, plain

__all__ = ["money", "estimate", "plain_amount", "pct", "qty", "register"]


def money(amount: Decimal, currency: str, *, code: bool = True, sign: bool = False) -> str:
    """The statements' ``money`` filter: :func:`billing.core.money.amount_text` with the
    currency's code (``1,234.50 USD``), strict (an amount must have been rounded)."""
    return amount_text(amount, currency, code=code, sign=sign, strict=True)


def estimate(amount: Decimal, currency: str) -> str:
    """The ``estimate`` filter, for a figure no document books (a forecast, its interval):
    :func:`billing.core.money.amount_text` with the currency's code, written exactly when it
    has more decimals than the currency (as ``chargeback forecast`` prints it)."""
    return amount_text(amount, currency, code=True)


def plain_amount(amount: Decimal, currency: str) -> str:
    """The ``plain_amount`` filter: ``1234.50``, :func:`billing.core.money.amount_text` ungrouped, strict."""
    return amount_text(amount, currency, grouped=False, strict=True)


def pct(value: Decimal, places: int = 1, *, sign: bool = False) -> str:
    """A percentage already multiplied by 100: ``5.2 %``, ``+5.2 %`` with ``sign``.

    A ratio is shown to ``places`` decimals (half-even, Python's default for formatting);
    percentages are not money and are never booked.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"a percentage must be a finite Decimal, not {value!r}")
    text = f"{value:{'+' if sign else ''}.{places}f}"
    if text.lstrip("+-") == f"{0:.{places}f}":
        text = text.lstrip("+-")
    return f"{text} %"


def qty(value: Decimal) -> str:
    """A quantity as written by people: ``1,250``, ``12.5`` (no trailing zeros)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"a quantity must be a finite Decimal, not {value!r}")
    return plain(value, grouped=True)


def register(environment) -> None:
    """Put every report filter on ``environment`` (a ``jinja2.Environment``)."""
    environment.filters.update(money=money, estimate=estimate, plain_amount=plain_amount, pct=pct, qty=qty)
