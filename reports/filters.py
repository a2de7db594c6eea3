"""How numbers are written on statements and in exports. Formatting only: nothing here rounds.

Amounts reach the reports already rounded to the currency's minor unit (billing.core.money is the
only module that rounds). :func:`money` and :func:`plain_amount` refuse an amount with more
decimals than its currency has, so a figure that escaped rounding is caught, never hidden.

:func:`register` puts the filters on a Jinja2 environment; it is the one place that does.
"""

from __future__ import annotations

from decimal import Decimal

from billing.core.money import minor_units, plain, quantum

__all__ = ["money", "plain_amount", "pct", "qty", "register"]


def _checked(amount: Decimal, currency: str) -> int:
    """The currency's minor units, after checking ``amount`` is a whole number of them."""
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"an amount must be a finite Decimal, not {amount!r}")
    places = minor_units(currency)
    if amount % quantum(currency) != 0:
        raise ValueError(f"{amount} has more decimals than {currency} allows ({places}); "
                         "it must be rounded before it is shown")
    return places


def money(amount: Decimal, currency: str, *, code: bool = True, sign: bool = False) -> str:
    """``1,234.50 USD``; ``-12.00 USD`` for a negative amount; ``+12.00`` with ``sign``.

    Thousands separators, the currency's minor units (0 for JPY), never rounded: an amount
    with more decimals than the currency has raises ``ValueError``.
    """
    places = _checked(amount, currency)
    text = f"{abs(amount):,.{places}f}"  # exact: the amount has at most ``places`` decimals
    if amount < 0:
        text = "-" + text
    elif sign and amount > 0:
        text = "+" + text
    return f"{text} {currency}" if code else text


def plain_amount(amount: Decimal, currency: str) -> str:
    """``1234.50``: a point, the currency's minor units, no thousands separator (CSV, journals)."""
    places = _checked(amount, currency)
    return f"{amount:.{places}f}"


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
    environment.filters.update(money=money, plain_amount=plain_amount, pct=pct, qty=qty)
