"""A rated segment priced again: at another tariff version, another tier or another quantity (pure).

What a month would have cost had one thing been different (the variance bridge, rate setting)
is the segment's usage priced by ``tariffs.pricing`` exactly as rating prices it: a price by
dimension values by value with the tier's terms once (``price_by_value``), any other price on
the segment's whole quantity (``price_usage``), the monthly fee, included quantity and minimum
prorated by the fraction of the month the segment was in force; each line rounded once
(``billing.core.money.round_minor``), like an invoice line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, localcontext
from fractions import Fraction

from billing.core.money import EXACT, ZERO, round_minor
from billing.core.periods import days_in_month, month_of
from billing.core.records import Charge
from tariffs.model import TariffVersion, TierPrice
from tariffs.pricing import THIRTY_DAY_MONTH, PriceBreakdown, price_by_value, price_usage, proration_fraction

__all__ = ["UsageLine", "charge_fraction", "usage_lines", "priced_lines", "segment_amount"]

#: One line of a segment's usage: (dimension value or None, quantity, cost).
UsageLine = tuple[str | None, Decimal, Decimal]


def charge_fraction(charge: Charge, version: TariffVersion | None) -> Fraction:
    """The share of its month a usage charge's monthly fee, included quantity and minimum were
    prorated by: the one it kept (``Charge.fraction``), or, for a charge rated before charges
    kept it (store migration 0006) or under a tariff version with a proration convention other
    than the default (a charge keeps its calendar days, not the convention's), the fraction
    (days in force / days in the month, of 30 under ``thirty_day``) with which the tariff
    version that priced it gives its exact amount; the segment's span by the convention when
    none does."""
    if charge.fraction is not None and (version is None or version.proration is None):
        return charge.fraction
    proration = version.proration if version else None
    days = THIRTY_DAY_MONTH if proration is not None and proration.thirty_day else days_in_month(month_of(charge.segment_from))
    segment = [charge.segment_from + dt.timedelta(days=i) for i in range((charge.segment_to - charge.segment_from).days + 1)]
    span = int(proration_fraction(segment, proration) * days)  # the segment's span, by the version's convention
    price = version.price(charge.tier) if version else None
    if price is not None:
        for n in [span, *(d for d in range(days, -1, -1) if d != span)]:
            if price_usage(price, charge.quantity, cost=charge.cost, fraction=Fraction(n, days)).amount == charge.exact_amount:
                return Fraction(n, days)
    return Fraction(span, days)


def usage_lines(charges: Sequence[Charge]) -> list[UsageLine]:
    """A segment's usage charges as the lines they priced (a price by dimension's terms line,
    which prices no usage, left out)."""
    return [(c.dimension_value, c.quantity, c.cost) for c in charges
            if not (c.dimension is not None and c.dimension_value is None and c.quantity == 0 and c.cost == 0)]


def priced_lines(price: TierPrice, lines: Sequence[UsageLine], fraction: Fraction) -> list[PriceBreakdown]:
    """``lines`` priced by ``price`` as one segment in force ``fraction`` of its month, as rating
    prices it: a price by dimension gives the tier's terms and a line per value priced (a value
    it holds gives none); any other price one line for the lines' whole quantity and cost."""
    if price.by_value:
        usage: dict[str | None, tuple[Decimal, Decimal]] = {}
        with localcontext(EXACT):
            for value, quantity, cost in lines:
                was = usage.get(value or "", (ZERO, ZERO))
                usage[value or ""] = (was[0] + quantity, was[1] + cost)
        result = price_by_value(price, usage, fraction=fraction)
        return [result.terms, *(v.breakdown for v in result.values)]
    with localcontext(EXACT):
        quantity = sum((q for _v, q, _c in lines), ZERO)
        cost = sum((c for _v, _q, c in lines), ZERO)
    return [price_usage(price, quantity, cost=cost, fraction=fraction)]


def segment_amount(price: TierPrice, lines: Sequence[UsageLine], fraction: Fraction, currency: str) -> Decimal:
    """What ``lines`` come to priced by ``price`` as one segment: each line rounded once."""
    return sum((round_minor(b.amount, currency) for b in priced_lines(price, lines, fraction)), ZERO)
