"""Price a month's quantity with one tier price, and assess service credits.

Pure and exact: Decimal in, Decimal out, nothing is rounded here. Amounts are rounded once,
on the invoice line, by ``billing.core.money.round_minor``. Every rule below has a worked example
in docs/pricing.md.

- ``included_quantity`` is taken off first: billable = max(0, quantity - included).
- Band upper edges are inclusive unless the price says ``band_edges: exclusive`` (a quantity
  on an edge is then in the band above); bands are priced in the order of their edges,
  whatever the order they were written in.
- A graduated or volume price with a ``block_size`` is sold in blocks: the part of the quantity
  in the band it ends in is rounded up to whole blocks (a started block is charged whole).
- ``flat_fee_at_zero: charged`` charges the first band's flat fee when nothing is billable.
- ``fraction`` (days in force / days in the month, :func:`proration_fraction` by the tariff's
  proration convention) prorates the monthly fee, the included quantity and the minimum charge,
  never the band edges.
- amount = max(usage + monthly fee, minimum); a negative pass-through (a refund) is never
  topped up to the minimum.
- A negative month quantity (more corrections than usage) is nothing to charge for every
  model but pass-through: billable is 0.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext
from fractions import Fraction

from tariffs.model import (Band, CreditBand, Metric, PricingModel, Proration, ServiceLevel, TierPrice, Working, WorkingKind,
                           dimension_key)

__all__ = [
    "BandUse",
    "PriceBreakdown",
    "MetricCredit",
    "CreditAssessment",
    "price_usage",
    "ValueCharge",
    "HeldValue",
    "DimensionBreakdown",
    "price_by_value",
    "service_credit",
    "segment_fraction",
    "proration_fraction",
    "THIRTY_DAY_MONTH",
    "describe_price",
    "highest_rates",
    "PRECISION",
    "Working",
    "WorkingKind",
    "workings_total",
]

PRECISION = 50
"""Significant digits of a prorating division (days in force / days in the month), the only
step that can be inexact. Everything else (sums, products, differences) is exact: it runs in
a wide context that raises ``decimal.Inexact`` rather than round."""

_DIVISION = Context(prec=PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow])
_EXACT = Context(prec=400, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])
_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class BandUse:
    """How much of the billable quantity one band priced.

    ``band_index`` counts bands in price order (lowest edge first, open-ended last), from 0.
    """

    band_index: int
    up_to: Decimal | None
    quantity: Decimal  # with blocks: the whole blocks' units
    unit_price: Decimal
    flat_fee: Decimal
    amount: Decimal  # quantity × unit_price + flat_fee
    blocks: Decimal | None = None  # the blocks this band charged (a price with a block_size)


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceBreakdown:
    """A month's (or segment's) charge for one tier price, with the arithmetic shown.

    ``amount = max(usage_amount + monthly_fee, minimum)`` and
    ``minimum_topup = amount - (usage_amount + monthly_fee)``; for a negative pass-through
    the minimum does not apply and ``minimum_topup`` is 0.
    """

    model: PricingModel
    quantity: Decimal  # as measured
    included: Decimal  # included quantity after proration
    billable: Decimal  # quantity the usage price applies to
    cost: Decimal  # source cost (pass-through), else 0
    usage_amount: Decimal
    monthly_fee: Decimal  # after proration
    minimum_topup: Decimal
    amount: Decimal
    bands: tuple[BandUse, ...]
    detail: str
    workings: tuple[Working, ...] = ()  # the arithmetic step by step: they add up to ``amount``

    def __post_init__(self) -> None:
        with localcontext(_EXACT):
            adds_up = self.amount == self.usage_amount + self.monthly_fee + self.minimum_topup
        if not adds_up:
            raise ValueError("price breakdown does not add up: amount != usage + monthly fee + minimum top-up")
        if self.workings and workings_total(self.workings) != self.amount:
            raise ValueError("price breakdown's workings do not add up to its amount")


def workings_total(workings: Sequence[Working]) -> Decimal:
    """The exact sum of the workings' amounts."""
    with localcontext(_EXACT):
        return sum((w.amount for w in workings), _ZERO)


def segment_fraction(days_in_force: int, days_in_month: int) -> Decimal:
    """The share of a month a tier or tariff version was in force: days_in_force / days_in_month.

    Computed to :data:`PRECISION` (50) significant digits; 1 and halves are exact. For a tie
    that must land exactly (0.21 × 2/28 = 0.015), pass ``Fraction(days_in_force, days_in_month)``
    to :func:`price_usage` instead: it then divides last, so any amount that can be written
    exactly is.
    """
    if isinstance(days_in_force, bool) or isinstance(days_in_month, bool):
        raise TypeError("days must be whole numbers")
    if days_in_month <= 0:
        raise ValueError(f"a month has at least one day, not {days_in_month}")
    if not 0 <= days_in_force <= days_in_month:
        raise ValueError(f"{days_in_force} days in force is not within a {days_in_month}-day month")
    with localcontext(_DIVISION):
        return Decimal(days_in_force) / Decimal(days_in_month)


THIRTY_DAY_MONTH = 30
"""The month of ``proration: {month: thirty_day}``, whatever the calendar says."""


def proration_fraction(
    days_in_force: Collection[dt.date], proration: Proration | None = None, *, ends: Collection[dt.date] = ()
) -> Fraction:
    """The share of its month a segment (a tier under a tariff version) was in force, by the
    tariff version's proration convention: the one place a days fraction is computed.

    ``days_in_force`` are the segment's days, all in one month; ``ends`` the days among them on
    which the business line's subscription ends (none the day after). The month is:

    - ``actual`` (the default): each day weighs 1, the month its calendar days (28 to 31);
    - ``thirty_day``: the month weighs 30 (Kill Bill's fixed proration). Days 1 to 29 weigh 1;
      the month's last day weighs what is left up to 30 (the 30th of a 30-day month 1, the 29th
      of a leap February 2, the 28th of a common one 3), and the 31st, whatever is left after
      the 30th: 0.

    With ``end: exclusive`` a day in ``ends`` weighs 0 (the subscription is charged up to its end
    date, not on it). So the fractions of a month's segments never add up to more than 1, and a
    segment in force the whole month (and on after it) is exactly 1 under every convention.
    """
    days = set(days_in_force)
    if not days:
        return Fraction(0)
    months = {(d.year, d.month) for d in days}
    if len(months) != 1:
        raise ValueError(f"days in force must be in one month, not {len(months)} months")
    year, month = months.pop()
    month_days = calendar.monthrange(year, month)[1]
    thirty_day = proration is not None and proration.thirty_day
    dropped = set(ends) if proration is not None and proration.exclusive_end else set()
    basis = THIRTY_DAY_MONTH if thirty_day else month_days

    def weight(day: int) -> int:
        if not thirty_day:
            return 1
        # the day's end on a 30-day month less its start: min(day, 30), the month's last day 30
        return (THIRTY_DAY_MONTH if day == month_days else min(day, THIRTY_DAY_MONTH)) - min(day - 1, THIRTY_DAY_MONTH)

    return Fraction(sum(weight(d.day) for d in days if d not in dropped), basis)


def _prorate(value: Decimal, fraction: Decimal | Fraction) -> Decimal:
    """``value × fraction``; the value as written when the fraction is 1."""
    if fraction == 1:
        return value
    if isinstance(fraction, Fraction):
        scaled = value * Decimal(fraction.numerator)
        with localcontext(_DIVISION):
            return _tidy(scaled / Decimal(fraction.denominator))
    return _tidy(value * fraction)


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros after the point (2.5000 → 2.5, 0E-50 → 0), never writing 1E+2."""
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


def _as_decimal(value: Decimal | int, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value}")
    return value


def _in_order(bands: tuple[Band, ...]) -> list[Band]:
    """Bands from the lowest upper edge to the highest, the open-ended band last."""
    return sorted(bands, key=lambda b: (b.up_to is None, b.up_to if b.up_to is not None else _ZERO))


def price_usage(
    price: TierPrice,
    quantity: Decimal,
    *,
    cost: Decimal = _ZERO,
    fraction: Decimal | Fraction = _ONE,
    basis: int | None = None,
) -> PriceBreakdown:
    """Price ``quantity`` units (and, for pass-through, ``cost``) with ``price``.

    ``fraction`` is the share of the month this price was in force (see
    :func:`segment_fraction`); it prorates the monthly fee, the included quantity and the
    minimum charge. ``basis``, the days the fraction counts over (the month's days, 30 under a
    30-day convention), only words the workings (``× 14/30``); without it a fraction is shown in
    lowest terms. Raises ``ValueError`` when the price cannot price the quantity (a tariff that
    did not pass validation) and ``TypeError`` for a float.
    """
    quantity = _as_decimal(quantity, "quantity")
    cost = _as_decimal(cost, "cost")
    if not isinstance(fraction, (Decimal, Fraction)) or not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be a Decimal or Fraction from 0 to 1, not {fraction!r}")
    with localcontext(_EXACT):
        monthly_fee = _prorate(price.monthly_fee, fraction)
        minimum = _prorate(price.minimum_charge, fraction)
        model = price.model
        if model is PricingModel.PASS_THROUGH:
            included = _ZERO
            billable = quantity  # informational: the charge follows the cost
            usage, bands, detail = _pass_through(price, cost)
        else:
            included = _prorate(price.included_quantity, fraction)
            billable = max(_ZERO, quantity - included)
            usage, bands, detail = _usage(price, billable)
        subtotal = usage + monthly_fee
        if model is PricingModel.PASS_THROUGH and cost < 0:
            amount = subtotal  # a refund is passed on in full; the minimum does not apply
        else:
            amount = max(subtotal, minimum)
        topup = _ZERO if amount == subtotal else amount - subtotal
        steps = _usage_workings(price, quantity, included, billable, cost, usage, bands, _prorated(fraction, basis))
        steps += _terms_workings(price, monthly_fee, topup, fraction, basis)
        return PriceBreakdown(
            model=model,
            quantity=quantity,
            included=included,
            billable=billable,
            cost=cost if model is PricingModel.PASS_THROUGH else _ZERO,
            usage_amount=usage,
            monthly_fee=monthly_fee,
            minimum_topup=topup,
            amount=amount,
            bands=bands,
            detail=detail,
            workings=tuple(steps) or (Working(kind=WorkingKind.USAGE, text="nothing billable", amount=_ZERO),),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueCharge:
    """One dimension value's usage priced by its own price (or the default)."""

    value: str  # as the tariff writes it when listed, else as the usage has it ("" : the usage names none)
    listed: bool  # priced by its by_value price (False: by the default)
    breakdown: PriceBreakdown


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldValue:
    """A dimension value the price does not list, under ``unknown: quarantine``: not priced."""

    value: str  # as the usage has it ("" : the usage names none)
    quantity: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionBreakdown:
    """A month's (or segment's) charge for a price by dimension: each value's usage priced on
    its own quantity (bands counted per value), the values held, and the tier's terms (its
    monthly fee and the minimum's top-up over every value's usage and the fee), charged once.

    ``amount = sum of the values' amounts + terms.amount = max(usage + monthly fee, minimum)``."""

    values: tuple[ValueCharge, ...]
    held: tuple[HeldValue, ...]
    terms: PriceBreakdown

    @property
    def amount(self) -> Decimal:
        with localcontext(_EXACT):
            return sum((v.breakdown.amount for v in self.values), self.terms.amount)


_Used = tuple[Decimal, Decimal]


def price_by_value(
    price: TierPrice,
    usage: Mapping[str | None, _Used],
    *,
    fraction: Decimal | Fraction = _ONE,
    basis: int | None = None,
) -> DimensionBreakdown:
    """Price a segment's usage per dimension value: ``usage`` maps each value as the usage has it
    (None or "": none) to its (quantity, cost). Values that differ only in case or the spaces
    around them are one value. Each value is priced by :meth:`TierPrice.value_price` with
    :func:`price_usage`; one the price neither lists nor defaults is held. The monthly fee and
    the minimum are prorated by ``fraction`` as :func:`price_usage` does, once for the tier."""
    if not isinstance(fraction, (Decimal, Fraction)) or not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be a Decimal or Fraction from 0 to 1, not {fraction!r}")
    if price.included_quantity:
        raise ValueError("a price by dimension has no included quantity (validation refuses it)")
    merged: dict[str, list] = {}
    with localcontext(_EXACT):
        for raw, (quantity, cost) in usage.items():
            shown = (raw or "").strip()
            entry = merged.setdefault(dimension_key(shown), [shown, _ZERO, _ZERO])
            entry[0] = min(entry[0], shown)
            entry[1] += _as_decimal(quantity, "quantity")
            entry[2] += _as_decimal(cost, "cost")
    written = {dimension_key(v): v for v, _ in price.by_value}
    values: list[ValueCharge] = []
    held: list[HeldValue] = []
    for key in sorted(merged, key=lambda k: written.get(k, merged[k][0])):
        shown, quantity, cost = merged[key]
        value_price = price.value_price(shown)
        if value_price is None:
            held.append(HeldValue(value=shown, quantity=quantity, cost=cost))
            continue
        values.append(ValueCharge(value=written.get(key, shown), listed=key in written,
                                  breakdown=price_usage(value_price, quantity, cost=cost)))
    with localcontext(_EXACT):
        usage_total = sum((v.breakdown.amount for v in values), _ZERO)
        monthly_fee = _prorate(price.monthly_fee, fraction)
        minimum = _prorate(price.minimum_charge, fraction)
        subtotal = usage_total + monthly_fee
        refund = price.model is PricingModel.PASS_THROUGH and sum((v.breakdown.cost for v in values), _ZERO) < 0
        topup = _ZERO if refund or subtotal >= minimum else minimum - subtotal
        parts = []
        if monthly_fee:
            parts.append(f"monthly fee {_money(monthly_fee)}")
        if topup:
            parts.append(f"minimum {_money(minimum)}: top-up {_money(topup)} over usage {_money(usage_total)}")
        steps = _terms_workings(price, monthly_fee, topup, fraction, basis, over=usage_total)
        terms = PriceBreakdown(model=PricingModel.FIXED, quantity=_ZERO, included=_ZERO, billable=_ZERO, cost=_ZERO,
                               usage_amount=_ZERO, monthly_fee=monthly_fee, minimum_topup=topup,
                               amount=monthly_fee + topup, bands=(), detail="; ".join(parts) or "no monthly fee",
                               workings=tuple(steps) or (Working(kind=WorkingKind.MONTHLY_FEE, text="no monthly fee",
                                                                 amount=_ZERO),))
    return DimensionBreakdown(values=tuple(values), held=tuple(held), terms=terms)


def _usage(price: TierPrice, billable: Decimal) -> tuple[Decimal, tuple[BandUse, ...], str]:
    model = price.model
    if model is PricingModel.FIXED:
        return _ZERO, (), "monthly fee only"
    if model is PricingModel.PER_UNIT:
        unit_price = _required(price.unit_price, "unit_price", model)
        return billable * unit_price, (), f"{_qty(billable)} @ {_money(unit_price)}"
    if model is PricingModel.PACKAGE:
        size = _required(price.block_size, "block_size", model)
        block_price = _required(price.block_price, "block_price", model)
        if size <= 0:
            raise ValueError(f"block_size must be above zero, not {size}")
        whole, rest = divmod(billable, size)
        blocks = whole + (1 if rest > 0 else 0)  # a started block counts whole
        noun = "block" if blocks == 1 else "blocks"
        return blocks * block_price, (), f"{_qty(blocks)} {noun} of {_qty(size)} @ {_money(block_price)}"
    if not price.bands:
        raise ValueError(f"a {model.value} price needs bands")
    bands = _in_order(price.bands)
    size = price.block_size
    if size is not None:
        if size <= 0:
            raise ValueError(f"block_size must be above zero, not {size}")
        off = [b.up_to for b in bands if b.up_to is not None and b.up_to % size != 0]
        if off:
            raise ValueError(f"band edge {off[0]} is not a whole number of blocks of {size}")
    if model is PricingModel.GRADUATED:
        uses = _graduated(bands, billable, price)
    elif model is PricingModel.VOLUME:
        uses = _volume(bands, billable, price)
    else:
        raise ValueError(f"unknown pricing model {model!r}")
    return sum((u.amount for u in uses), _ZERO), uses, _describe_bands(uses, billable, price)


def _in_band(billable: Decimal, up_to: Decimal | None, exclusive: bool) -> bool:
    """Whether ``billable`` lies at or below the band's upper edge (below it, edges exclusive)."""
    return up_to is None or billable < up_to or (billable == up_to and not exclusive)


def _use(i: int, band: Band, part: Decimal, size: Decimal | None, last: bool) -> BandUse:
    """A band's use; in the band the quantity ends in, a started block counts whole."""
    blocks = None
    if size is not None:
        whole, rest = divmod(part, size)
        blocks = whole + (1 if rest > 0 and last else 0)
        part = blocks * size if last else part
    return BandUse(band_index=i, up_to=band.up_to, quantity=part, unit_price=band.unit_price,
                   flat_fee=band.flat_fee, amount=part * band.unit_price + band.flat_fee, blocks=blocks)


def _graduated(bands: list[Band], billable: Decimal, price: TierPrice) -> tuple[BandUse, ...]:
    """Each band prices the part of the quantity within it; a band entered adds its flat fee.

    The first band is entered above 0 (at 0 too with ``flat_fee_at_zero: charged``); a later band
    above the previous edge (at it too with exclusive edges)."""
    uses = []
    lower = _ZERO
    for i, band in enumerate(bands):
        if i == 0:
            entered = billable > 0 or price.fee_at_zero
        else:
            entered = billable > lower or (billable == lower and price.exclusive_edges)
        if not entered:
            break
        last = _in_band(billable, band.up_to, price.exclusive_edges)
        upper = billable if band.up_to is None else min(billable, band.up_to)
        uses.append(_use(i, band, max(_ZERO, upper - lower), price.block_size, last))
        if last:
            break
        lower = band.up_to
    else:
        if billable > lower or (billable == lower and price.exclusive_edges):
            raise ValueError(f"{billable} is above the last band ({lower}) and has no price")
    return tuple(uses)


def _volume(bands: list[Band], billable: Decimal, price: TierPrice) -> tuple[BandUse, ...]:
    """Every unit at the rate of the band the whole quantity falls in, plus that band's flat fee;
    nothing billable enters no band (the first, with ``flat_fee_at_zero: charged``)."""
    if billable <= 0:
        return (_use(0, bands[0], _ZERO, price.block_size, True),) if price.fee_at_zero else ()
    for i, band in enumerate(bands):
        if _in_band(billable, band.up_to, price.exclusive_edges):
            return (_use(i, band, billable, price.block_size, True),)
    raise ValueError(f"{billable} is above the last band ({bands[-1].up_to}) and has no price")


def _pass_through(price: TierPrice, cost: Decimal) -> tuple[Decimal, tuple[BandUse, ...], str]:
    markup = _required(price.markup_pct, "markup_pct", PricingModel.PASS_THROUGH)
    amount = cost * (_ONE + markup / _HUNDRED)
    if markup > 0:
        detail = f"cost {_cost(cost)} + {_qty(markup)}% markup"
    elif markup < 0:
        detail = f"cost {_cost(cost)} - {_qty(-markup)}% discount"
    else:
        detail = f"cost {_cost(cost)} at cost"
    return amount, (), detail


def _required(value: Decimal | None, name: str, model: PricingModel) -> Decimal:
    if value is None:
        raise ValueError(f"a {model.value} price needs {name}")
    return value


# --------------------------------------------------------------------------- workings


def _usage_workings(price: TierPrice, quantity: Decimal, included: Decimal, billable: Decimal, cost: Decimal,
                    usage: Decimal, bands: tuple[BandUse, ...], prorated: str = "") -> list[Working]:
    """The usage part of a price as steps that add up to ``usage`` exactly (in ``_EXACT``)."""
    model = price.model
    steps: list[Working] = []
    if model is PricingModel.PASS_THROUGH:
        steps.append(Working(kind=WorkingKind.COST, text=f"cost {_cost(cost)}", amount=cost, quantity=cost, rate=_ONE))
        markup = price.markup_pct or _ZERO
        if markup:
            word = "markup" if markup > 0 else "discount"
            steps.append(Working(kind=WorkingKind.MARKUP, text=f"{_qty(abs(markup))}% {word} on the cost",
                                 amount=usage - cost, quantity=cost, rate=markup / _HUNDRED))
        return steps
    if model is PricingModel.FIXED:
        return steps
    if included:
        allowance = f"{_qty(price.included_quantity)}{prorated}" if prorated else _qty(included)
        if quantity <= 0:
            text = f"none used of the {allowance} included"
        elif quantity <= included:
            text = f"{_qty(quantity)} used, within the {allowance} included"
        else:
            text = f"{allowance} of {_qty(quantity)} included"
        steps.append(Working(kind=WorkingKind.INCLUDED, text=text, amount=_ZERO, quantity=included))
    if model is PricingModel.PER_UNIT:
        unit_price = _required(price.unit_price, "unit_price", model)
        if billable > 0 or not included:
            steps.append(Working(kind=WorkingKind.USAGE, text=f"{_qty(billable)} @ {_money(unit_price)}",
                                 amount=billable * unit_price, quantity=billable, rate=unit_price))
        return steps
    if model is PricingModel.PACKAGE:
        size = _required(price.block_size, "block_size", model)
        block_price = _required(price.block_price, "block_price", model)
        whole, rest = divmod(billable, size)
        blocks = whole + (1 if rest > 0 else 0)
        noun = "block" if blocks == 1 else "blocks"
        lead = "" if blocks * size == billable else f"{_qty(billable)} as "
        text = f"{lead}{_qty(blocks)} {'started ' if lead else ''}{noun} of {_qty(size)} @ {_money(block_price)}"
        steps.append(Working(kind=WorkingKind.USAGE, text=text, amount=blocks * block_price, quantity=blocks,
                             rate=block_price))
        return steps
    size = price.block_size
    if size is not None and bands and sum((u.quantity for u in bands), _ZERO) != billable:
        steps.append(Working(kind=WorkingKind.NOTE, amount=_ZERO,
                             text=f"{_qty(billable)} counted in blocks of {_qty(size)}: a started block is charged whole"))
    if price.exclusive_edges and billable > 0 and any(b.up_to == billable for b in price.bands):
        steps.append(Working(kind=WorkingKind.NOTE, amount=_ZERO,
                             text=f"{_qty(billable)} is on a band edge, priced in the band above (edges exclusive)"))
    volume = model is PricingModel.VOLUME
    for use in bands:
        if billable <= 0 and price.fee_at_zero:
            steps.append(Working(kind=WorkingKind.FLAT_FEE, amount=use.flat_fee,
                                 text="the first band's flat fee, charged at zero usage"))
            continue
        if use.blocks is not None and size is not None:
            noun = "block" if use.blocks == 1 else "blocks"
            steps.append(Working(kind=WorkingKind.USAGE, amount=use.quantity * use.unit_price, quantity=use.blocks,
                                 rate=size * use.unit_price,
                                 text=f"{_qty(use.blocks)} {noun} of {_qty(size)} @ {_money(size * use.unit_price)}"))
        else:
            steps.append(Working(kind=WorkingKind.USAGE, amount=use.quantity * use.unit_price, quantity=use.quantity,
                                 rate=use.unit_price,
                                 text=f"{'all ' if volume else ''}{_qty(use.quantity)} @ {_money(use.unit_price)}"))
        if use.flat_fee:
            steps.append(Working(kind=WorkingKind.FLAT_FEE, amount=use.flat_fee,
                                 text=f"flat fee of band {use.band_index + 1}, once entered"))
    return steps


def _terms_workings(price: TierPrice, monthly_fee: Decimal, topup: Decimal,
                    fraction: Decimal | Fraction, basis: int | None, *, over: Decimal | None = None) -> list[Working]:
    """The monthly fee and the minimum's top-up as steps, each saying its proration."""
    share = _share(fraction, basis)
    prorated = _prorated(fraction, basis)
    steps: list[Working] = []
    if price.monthly_fee:
        steps.append(Working(kind=WorkingKind.MONTHLY_FEE, amount=monthly_fee, base=price.monthly_fee, share=share,
                             text=f"monthly fee {_money(price.monthly_fee)}{prorated}"))
    if topup:
        text = f"top-up to the minimum {_money(price.minimum_charge)}{prorated}"
        if over is not None:
            text += " over every value's usage and the fee"
        steps.append(Working(kind=WorkingKind.MINIMUM, amount=topup, base=price.minimum_charge, share=share, text=text))
    return steps


def _prorated(fraction: Decimal | Fraction, basis: int | None) -> str:
    """`` × 14/30`` for a prorated figure; "" for a whole month."""
    if fraction == 1:
        return ""
    share = _share(fraction, basis)
    if share is not None:
        return f" × {share[0]}/{share[1]}"
    return f" × {_qty(Decimal(fraction.numerator) / Decimal(fraction.denominator) if isinstance(fraction, Fraction) else fraction)}"


def _share(fraction: Decimal | Fraction, basis: int | None) -> tuple[int, int] | None:
    """A days fraction as (days, of days): over ``basis`` where it comes out whole, else in
    lowest terms; None for 1 or a fraction given as an inexact Decimal."""
    if fraction == 1:
        return None
    exact = fraction if isinstance(fraction, Fraction) else Fraction(fraction)
    if basis and (exact * basis).denominator == 1:
        return int(exact * basis), basis
    if isinstance(fraction, Decimal) and exact.denominator > 1000:
        return None
    return exact.numerator, exact.denominator


# --------------------------------------------------------------------------- detail text


def _qty(value: Decimal) -> str:
    """A quantity for people: no trailing zeros, thousands separated. Long prorated quantities
    are shown to 6 decimals with ≈ (text only; the amounts keep every digit)."""
    if value == value.to_integral_value():
        return f"{value.quantize(_ONE):,f}"
    value = value.normalize()
    if value.as_tuple().exponent < -6:
        with localcontext(_DIVISION):  # rounding for display only; amounts are untouched
            shown = value.quantize(Decimal("0.000001"))
        return f"≈{shown:,f}"
    return f"{value:,f}"


def _cost(value: Decimal) -> str:
    """A source cost for people: trailing zeros of the feed's scale dropped, at least two
    decimals (2,127.840000000000 → 2,127.84; 0.000000800000 → 0.0000008)."""
    value = value.normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:,f}"


def _money(value: Decimal) -> str:
    """A price or cost as written (0.10 stays 0.10), thousands separated."""
    return f"{value:,f}"


def _describe_bands(uses: tuple[BandUse, ...], billable: Decimal, price: TierPrice) -> str:
    """``250 @ 0.12 + 80 @ 0.10``; in blocks ``1,250 as 13 blocks of 100: 10 blocks @ 12.00 +
    3 blocks @ 10.00``; with what an option changed said after it."""
    if not uses:
        return "nothing billable"
    if billable <= 0:
        return f"nothing billable: the first band's flat fee {_money(uses[0].flat_fee)}, charged at zero usage"
    size = price.block_size
    parts = []
    for use in uses:
        if use.blocks is not None and size is not None:
            noun = "block" if use.blocks == 1 else "blocks"
            part = f"{_qty(use.blocks)} {noun} @ {_money(size * use.unit_price)}"
        else:
            part = f"{_qty(use.quantity)} @ {_money(use.unit_price)}"
        if use.flat_fee:
            part += f" + flat {_money(use.flat_fee)}"
        parts.append(part)
    text = " + ".join(parts)
    if size is not None:
        blocks = sum((u.blocks or _ZERO for u in uses), _ZERO)
        noun = "block" if blocks == 1 else "blocks"
        text = f"{_qty(billable)} as {_qty(blocks)} {noun} of {_qty(size)}: {text}"
    if price.exclusive_edges and any(b.up_to == billable for b in price.bands):
        text += f" ({_qty(billable)} is on a band edge, priced in the band above: edges exclusive)"
    return text


def highest_rates(price: TierPrice) -> tuple[Decimal, Decimal]:
    """The most ``price`` charges per unit of quantity and per unit of source cost, whatever
    the quantity: the highest band's unit price (graduated, volume), the unit price, a block's
    price per unit of its size (package), ``1 + markup_pct / 100`` per unit of cost
    (pass-through). Monthly fees, flat fees and a started block come once a month, not per
    unit, and are left out. Used to bound what one usage row can be worth."""
    model = price.model
    with localcontext(_DIVISION):
        if model is PricingModel.PER_UNIT and price.unit_price is not None:
            return price.unit_price, _ZERO
        if model in (PricingModel.GRADUATED, PricingModel.VOLUME) and price.bands:
            return max(b.unit_price for b in price.bands), _ZERO
        if model is PricingModel.PACKAGE and price.block_price is not None and price.block_size:
            return price.block_price / price.block_size, _ZERO
        if model is PricingModel.PASS_THROUGH and price.markup_pct is not None:
            return _ZERO, max(_ZERO, _ONE + price.markup_pct / _HUNDRED)
    return _ZERO, _ZERO


def describe_price(price: TierPrice, unit: str) -> str:
    """A tier price in one line for a rate card, e.g.
    ``"first 1,000 @ 0.146 (+ 26.00 once entered), next to 5,000 @ 0.125, above @ 0.104 per vm-hour;
    monthly fee 156.00"``."""
    model = price.model
    if model is PricingModel.PER_UNIT and price.unit_price is not None:
        text = f"{_money(price.unit_price)} per {unit}"
    elif model is PricingModel.GRADUATED and price.bands:
        parts, lower = [], None
        exclusive = price.exclusive_edges  # "below 1,000 ..., from 1,000" rather than "first 1,000 ..., above 1,000"
        for band in _in_order(price.bands):
            fee = f" (+ {_money(band.flat_fee)} once entered)" if band.flat_fee else ""
            if band.up_to is None:
                parts.append(f"{'from' if exclusive else 'above'} {_qty(lower)} @ {_money(band.unit_price)}{fee}"
                             if lower is not None else f"all @ {_money(band.unit_price)}{fee}")
            else:
                lead = ("below" if lower is None else "next below") if exclusive else ("first" if lower is None else "next to")
                parts.append(f"{lead} {_qty(band.up_to)} @ {_money(band.unit_price)}{fee}")
            lower = band.up_to
        text = "graduated: " + ", ".join(parts) + f" per {unit}"
    elif model is PricingModel.VOLUME and price.bands:
        parts, lower = [], None
        for band in _in_order(price.bands):
            fee = f" + {_money(band.flat_fee)}" if band.flat_fee else ""
            if price.exclusive_edges:
                reach = (f"from {_qty(lower)}" if lower is not None else "any") if band.up_to is None else f"below {_qty(band.up_to)}"
            else:
                reach = "above" if band.up_to is None else f"up to {_qty(band.up_to)}"
            parts.append(f"{reach}: all @ {_money(band.unit_price)}{fee}")
            lower = band.up_to
        text = "volume (" + "; ".join(parts) + f") per {unit}"
    elif model is PricingModel.PACKAGE and price.block_size is not None and price.block_price is not None:
        text = f"{_money(price.block_price)} per started block of {_qty(price.block_size)} {unit}"
    elif model is PricingModel.PASS_THROUGH and price.markup_pct is not None:
        text = f"cost + {_qty(price.markup_pct)}% markup"
    elif model is PricingModel.FIXED:
        text = "fixed"
    else:
        text = f"{model.value} (incomplete)"
    extras = []
    if price.by_value:
        values = "; ".join(f"{value}: {describe_price(p, unit)}" for value, p in price.by_value)
        rule = "others at the price above" if price.unknown is not None and price.unknown.value == "default" else "others held"
        text = f"by value ({values}; {rule})" if rule == "others held" else f"{text}, by value ({values}; {rule})"
    if price.block_size is not None and model in (PricingModel.GRADUATED, PricingModel.VOLUME):
        extras.append(f"in started blocks of {_qty(price.block_size)} {unit}")
    if price.fee_at_zero and price.bands:
        first = _in_order(price.bands)[0]
        extras.append(f"first band's flat fee {_money(first.flat_fee)} charged at zero usage")
    if price.monthly_fee:
        extras.append(f"monthly fee {_money(price.monthly_fee)}")
    if price.included_quantity:
        extras.append(f"{_qty(price.included_quantity)} {unit} included")
    if price.minimum_charge:
        extras.append(f"minimum {_money(price.minimum_charge)}")
    for periodic in price.fees:
        billed = "spread monthly" if periodic.spread else "in advance"
        every = "a quarter" if periodic.every.months == 3 else "a year"
        extras.append(f"{periodic.name} {_money(periodic.amount)} {every}, {billed}")
    if price.service_credits:
        extras.append("service credits on " + ", ".join(m.value.replace("_", " ") for m, _ in price.service_credits))
    return "; ".join([text, *extras])


# --------------------------------------------------------------------------- service credits


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricCredit:
    """One metric's result. ``shortfall`` is None when there is no target or no measurement."""

    metric: Metric
    target: Decimal | None
    achieved: Decimal | None
    shortfall: Decimal | None
    credit_pct: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditAssessment:
    """The credit due for a month: the largest credit of any missed metric (credits do not
    stack), at most 100 %. ``metric``, ``target``, ``achieved`` and ``shortfall`` describe the
    metric that gave it (None when no credit is due)."""

    credit_pct: Decimal
    metric: Metric | None
    target: Decimal | None
    achieved: Decimal | None
    shortfall: Decimal | None
    results: tuple[MetricCredit, ...]


def _credit_for(bands: tuple[CreditBand, ...], shortfall: Decimal) -> Decimal:
    """The first band (by edge) whose shortfall_up_to is at least the shortfall; the open-ended
    band catches the rest; past a closed last band, the last band's credit applies."""
    ordered = sorted(bands, key=lambda b: (b.shortfall_up_to is None, b.shortfall_up_to or _ZERO))
    for band in ordered:
        if band.shortfall_up_to is None or shortfall <= band.shortfall_up_to:
            return band.credit_pct
    return ordered[-1].credit_pct if ordered else _ZERO


def service_credit(
    price: TierPrice, level: ServiceLevel, achieved: Mapping[Metric, Decimal]
) -> CreditAssessment:
    """Assess the credit due when service levels were missed.

    For each metric the tier price gives credits for: shortfall = target - achieved for
    availability (percentage points), achieved - target for response and restore times. No
    target or no measurement gives no credit; a shortfall of 0 or less means the target was met.
    """
    results = []
    with localcontext(_EXACT):
        for metric, bands in price.service_credits:
            target = level.target(metric)
            measured = achieved.get(metric)
            if target is None or measured is None:
                results.append(MetricCredit(metric=metric, target=target, achieved=measured,
                                            shortfall=None, credit_pct=_ZERO))
                continue
            measured = _as_decimal(measured, f"achieved {metric.value}")
            shortfall = target - measured if metric.higher_is_better else measured - target
            credit = _credit_for(bands, shortfall) if shortfall > 0 else _ZERO
            results.append(MetricCredit(metric=metric, target=target, achieved=measured,
                                        shortfall=shortfall, credit_pct=min(credit, _HUNDRED)))
    best = None
    for result in results:  # the largest credit; on a tie, the metric listed first
        if result.credit_pct > 0 and (best is None or result.credit_pct > best.credit_pct):
            best = result
    if best is None:
        return CreditAssessment(credit_pct=_ZERO, metric=None, target=None, achieved=None, shortfall=None,
                                results=tuple(results))
    return CreditAssessment(credit_pct=best.credit_pct, metric=best.metric, target=best.target,
                            achieved=best.achieved, shortfall=best.shortfall, results=tuple(results))
