"""Money: the one doorway for numbers and the only module that rounds.

Rules (docs/pricing.md, "Rounding"):
- Amounts stay exact ``Decimal`` until an invoice line is made; each line is rounded once
  with :func:`round_minor` (half-up, ties away from zero, to the currency's minor unit);
  totals are sums of rounded lines.
- Decimals are made from text only (:func:`D`); floats, NaN and infinities are refused.
- Splitting an amount into parts (:func:`allocate`) uses largest remainder, so the parts
  always sum exactly to the whole.
- Every amount shown to people or written to a text file goes through :func:`amount_text`
  (the currency's minor units: ``1,234.50`` USD, ``1,235`` JPY, ``1.250`` BHD); no other module
  formats money itself (tests/test_architecture.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from decimal import (
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

__all__ = [
    "D",
    "ZERO",
    "minor_units",
    "quantum",
    "round_minor",
    "round_to_step",
    "allocate",
    "apportion",
    "is_money_text",
    "plain",
    "amount_text",
    "EXACT",
    "exact_sum",
]

ZERO = Decimal(0)

EXACT = Context(prec=100, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
"""A context for sums and products that must be exact: 100 digits, and it raises rather than
round. Python's default context keeps 28 digits, fewer than a sum of usage quantities with
12 decimals can need (billing/core/limits.py)."""


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``values``."""
    with localcontext(EXACT):
        return sum(values, ZERO)

# ISO 4217 minor units for currencies that differ from the default of 2.
_MINOR_UNITS = {
    "BHD": 3, "CLP": 0, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}


def D(value: object) -> Decimal:
    """Make a finite Decimal from text, an int or a Decimal.

    Floats are refused: ``D(0.1)`` would carry the binary error of the float.
    Raises ``ValueError`` with a readable message on anything that is not a number.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        if not text:
            raise ValueError("empty value where a number is expected")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r} ({type(value).__name__}); give it as text")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def is_money_text(value: str) -> bool:
    """True when ``value`` is text that :func:`D` accepts."""
    try:
        D(value)
    except ValueError:
        return False
    return True


def plain(value: Decimal, *, grouped: bool = False) -> str:
    """A decimal as people write it, exactly: no exponent and no trailing zeros (``12.5``,
    ``0``, ``20.52022672899``); with ``grouped``, thousands separated (``1,101,939,148.7079``)."""
    text = f"{value:,f}" if grouped else f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def amount_text(amount: Decimal, currency: str, *, code: bool = False, sign: bool = False, grouped: bool = True,
                strict: bool = False) -> str:
    """The one way an amount is written: ``1,234.50`` (USD), ``1,235`` (JPY), ``1.250`` (BHD).

    The currency's minor units, thousands separated (``grouped=False``: ``1234.50`` for CSV
    files and journals), ``-`` before a negative amount, ``+`` before a positive one with
    ``sign`` (a change), the currency code after it with ``code``. Never rounds: a figure with
    more decimals than the currency has (a forecast, an exact share of a cost) is written
    exactly (``12.3456``), and with ``strict`` (a document's amount, which must have been
    rounded) it raises ``ValueError`` so a figure that escaped rounding is caught, not hidden.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"an amount must be a finite Decimal, not {amount!r}")
    places = minor_units(currency)
    if amount % quantum(currency) == 0:
        text = f"{abs(amount):{',' if grouped else ''}.{places}f}"  # exact: at most ``places`` decimals
    elif strict:
        raise ValueError(f"{amount} has more decimals than {currency} allows ({places}); "
                         "it must be rounded before it is shown")
    else:
        text = plain(abs(amount), grouped=grouped)
    if amount < 0 and text.strip("0.,"):
        text = "-" + text
    elif sign and amount > 0:
        text = "+" + text
    return f"{text} {currency}" if code and currency else text


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (ISO 4217; 2 unless listed)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for EUR, 1 for JPY."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_minor(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the currency's minor unit, half-up (ties away from zero).

    This is the only rounding of money in the engine. ``-0.025`` becomes ``-0.03`` so a credit
    mirrors its debit, and Excel's ROUND gives the same answer.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP) + ZERO


def round_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """Round a price to the nearest multiple of ``step`` (half-up), for proposed rates."""
    if step <= 0:
        raise ValueError("a price step must be positive")
    with localcontext() as ctx:
        ctx.prec = 60
        steps = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return (steps * step).normalize() if steps else ZERO


def allocate(
    total: Decimal,
    weights: Sequence[Decimal],
    currency: str,
    *,
    keys: Sequence[Hashable] | None = None,
) -> tuple[Decimal, ...]:
    """Split ``total`` into parts proportional to ``weights`` that sum exactly to ``total``.

    Largest remainder: every part is first cut down (toward zero) to the minor unit, then the
    minor units left over go one each to the parts with the largest remainders. Ties go to
    the part with the smaller key (``keys`` default to the position), never to input order
    alone, so the same data always splits the same way. The sign of ``total`` is re-applied.

    ``total`` must already be a whole number of minor units. Weights must be non-negative and
    not all zero (unless ``total`` is zero, when every part is zero).
    """
    unit = quantum(currency)
    total = D(total)
    if total != total.quantize(unit):
        raise ValueError(f"{total} has more decimals than {currency} allows; round it first")
    weights = [D(w) for w in weights]
    if any(w < 0 for w in weights):
        raise ValueError("allocation weights must not be negative")
    if keys is None:
        keys = list(range(len(weights)))
    if len(keys) != len(weights):
        raise ValueError("allocation needs one key per weight")
    if not weights:
        if total:
            raise ValueError(f"cannot allocate {total} {currency} over nothing")
        return ()
    weight_sum = exact_sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError(f"cannot allocate {total} {currency}: every weight is zero")
        return tuple(ZERO for _ in weights)

    sign = -1 if total < 0 else 1
    with localcontext() as ctx:
        ctx.prec = 60
        units_total = int((abs(total) / unit).to_integral_value())
        exact = [Decimal(units_total) * w / weight_sum for w in weights]
        floors = [int(x.to_integral_value(rounding=ROUND_DOWN)) for x in exact]
        remainders = [x - f for x, f in zip(exact, floors)]
    leftover = units_total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], _sort_key(keys[i])))
    for i in order[:leftover]:
        floors[i] += 1
    parts = tuple((sign * Decimal(f) * unit) + ZERO for f in floors)
    if exact_sum(parts) != total:  # never an assert: this must hold even with -O
        raise ArithmeticError(f"allocation of {total} {currency} does not sum to the whole")
    return parts


def apportion(
    total: Decimal,
    exact_parts: Sequence[Decimal],
    currency: str,
    *,
    keys: Sequence[Hashable] | None = None,
) -> tuple[Decimal, ...]:
    """Round exact parts (of either sign) so that they sum to ``total``, their rounded sum.

    Each part is first cut down (toward minus infinity) to the minor unit; the minor units
    still missing go one each to the parts with the largest remainders, ties by key. Used where
    the exact share of each part is known (a charge split by each cost centre's own exact
    amount). ``total`` must equal :func:`round_minor` of the parts' exact sum.
    """
    unit = quantum(currency)
    parts = [D(p) for p in exact_parts]
    if keys is None:
        keys = list(range(len(parts)))
    with localcontext() as ctx:
        ctx.prec = 60
        if abs(total - sum(parts, ZERO)) > unit * len(parts):
            raise ValueError(f"{total} is not the rounded sum of the parts")
    with localcontext() as ctx:
        ctx.prec = 60
        floors = [int((p / unit).to_integral_value(rounding=ROUND_FLOOR)) for p in parts]
        remainders = [p / unit - f for p, f in zip(parts, floors)]
        leftover = int(total / unit) - sum(floors)
    if not 0 <= leftover <= len(parts):
        raise ArithmeticError(f"cannot apportion {total} {currency} over {len(parts)} parts")
    order = sorted(range(len(parts)), key=lambda i: (-remainders[i], _sort_key(keys[i])))
    for i in order[:leftover]:
        floors[i] += 1
    result = tuple(Decimal(f) * unit + ZERO for f in floors)
    if exact_sum(result) != total:
        raise ArithmeticError(f"apportioning {total} {currency} does not sum to the whole")
    return result


def _sort_key(key: Hashable) -> tuple[str, str]:
    return (type(key).__name__, str(key)) if not isinstance(key, int) else ("", f"{key:020d}")
