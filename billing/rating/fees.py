"""Quarterly and annual fees: which period a month is in, what part of a fee it carries.

Pure. The rules (docs/pricing.md, "Quarterly and annual fees"):

- Periods follow the fiscal year (the ``fiscal_year_start_month`` setting): a year starts in
  its first month, its quarters in its 1st, 4th, 7th and 10th month. With a year starting in
  April, Q1 is April to June; the fiscal year is named by the calendar year it ends in.
- Each month of a period carries 1/n of the fee (n = 3 or 12), times the share of that month
  the tier was in force, by the tariff version's proration convention
  (``tariffs.pricing.proration_fraction``, the one days fraction): the period's fee is
  ``amount × (sum of the months' fractions) / n``. A whole period is the fee exactly.
- In advance: the period's fee, rounded once, in the first month of the period the tier is in
  force. Spread: the period's fee, rounded once, split over its months in proportion to their
  fractions by largest remainder (``billing.core.money.allocate``): the parts sum to it exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from math import lcm

from billing.core.money import EXACT, ZERO, allocate, plain, round_minor
from billing.core.periods import add_months, first_day, fiscal_year, last_day
from tariffs.model import FeeEvery, PeriodicFee

__all__ = ["FeePeriod", "FeePart", "FeeBilled", "fee_period", "fee_part", "parts_of_period"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeePeriod:
    """A quarter or a fiscal year: its months in order and its name (``Q2 FY2026``, ``FY2026``)."""

    every: FeeEvery
    months: tuple[str, ...]
    name: str

    @property
    def first(self) -> dt.date:
        return first_day(self.months[0])

    @property
    def last(self) -> dt.date:
        return last_day(self.months[-1])


@dataclass(frozen=True, slots=True, kw_only=True)
class FeePart:
    """What one month carries of a periodic fee."""

    exact_amount: Decimal  # the part before rounding (in advance); the allocated part (spread)
    amount: Decimal  # rounded to the currency's minor unit
    period_amount: Decimal  # the whole period's fee after proration, rounded
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeBilled:
    """A fee line as last rated in an earlier month of the fiscal year (what was billed for a
    period): its business line, service, tier, fee name, the first day of the period it is for,
    and its amount (a credit already given is a line too, below zero)."""

    business_line: str
    service: str
    tier: str
    label: str
    period_from: dt.date
    amount: Decimal


def fee_period(every: FeeEvery, month: str, fiscal_year_start: int = 1) -> FeePeriod:
    """The quarter or fiscal year ``month`` falls in."""
    if not 1 <= fiscal_year_start <= 12:
        raise ValueError(f"a fiscal year starts in month 1 to 12, not {fiscal_year_start}")
    year = fiscal_year(month, fiscal_year_start)
    start = first_day(month)
    offset = (start.month - fiscal_year_start) % 12  # months since the fiscal year began
    size = every.months
    first = add_months(month, -(offset % size))
    months = tuple(add_months(first, i) for i in range(size))
    name = f"FY{year}" if every is FeeEvery.ANNUAL else f"Q{offset // 3 + 1} FY{year}"
    return FeePeriod(every=every, months=months, name=name)


def fee_part(fee: PeriodicFee, period: FeePeriod, fractions: Mapping[str, Fraction], month: str,
             currency: str) -> FeePart | None:
    """The part of ``fee`` that ``month`` carries, given the share of each month of ``period``
    the tier was in force (a month missing from ``fractions``: not in force). None when the
    month carries nothing."""
    if month not in period.months:
        raise ValueError(f"{month} is not in {period.name}")
    shares = [Fraction(fractions.get(m, 0)) for m in period.months]
    if any(not 0 <= s <= 1 for s in shares):
        raise ValueError("a month's share in force is from 0 to 1")
    in_force = sum(shares, Fraction(0))
    if in_force == 0:
        return None
    n = len(period.months)
    with localcontext(EXACT):
        whole = fee.amount * Decimal(in_force.numerator)
    with localcontext() as ctx:
        ctx.prec = 60
        exact = whole / Decimal(in_force.denominator * n)
    period_amount = round_minor(exact, currency)
    span = f"{period.name}, {period.first:%d %b %Y}–{period.last:%d %b %Y}"
    prorated = "" if in_force == n else f", in force {_months(in_force)} of its {n} months"
    head = f"{fee.name}: {plain(fee.amount, grouped=True)} {fee.every.value} for {span}{prorated}"
    index = period.months.index(month)
    if not fee.spread:
        billed = next(m for m, s in zip(period.months, shares) if s > 0)
        if month != billed:
            return None
        return FeePart(exact_amount=exact, amount=period_amount, period_amount=period_amount,
                       detail=f"{head}, billed in advance")
    if shares[index] == 0:
        return None
    scale = lcm(*(s.denominator for s in shares))
    weights = [Decimal(int(s * scale)) for s in shares]
    parts = allocate(period_amount, weights, currency, keys=list(period.months))
    carrying = [m for m, s in zip(period.months, shares) if s > 0]
    part = parts[index]
    return FeePart(exact_amount=part, amount=part, period_amount=period_amount,
                   detail=f"{head}: {plain(period_amount, grouped=True)} spread, part "
                          f"{carrying.index(month) + 1} of {len(carrying)}")


def _months(value: Fraction) -> str:
    """A count of months for people: 2, 1.5, or ≈1.464286."""
    if value.denominator == 1:
        return str(value.numerator)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    shown = exact.quantize(Decimal("0.000001"))
    return plain(shown) if shown == exact else f"≈{plain(shown)}"


def parts_of_period(fee: PeriodicFee, period: FeePeriod, fractions: Mapping[str, Fraction],
                    currency: str) -> Sequence[Decimal]:
    """Every month's part of ``fee`` in ``period``, in month order (0 for a month carrying none)."""
    parts = []
    for month in period.months:
        part = fee_part(fee, period, fractions, month, currency)
        parts.append(part.amount if part is not None else ZERO)
    return parts
