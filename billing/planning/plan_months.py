"""A business line's planned or forecast months of a service priced as rating prices them: the
usage line, the tier's quarterly and annual fees, the agreement's negotiated discount and, in
the fiscal year's last month, the commitment's true-up (pure; docs/planning.md, "What a
planned month costs").

Every rule is rating's own, called, never copied:

- the usage line (:func:`usage_line`): ``tariffs.pricing.price_usage``, or ``price_by_value``
  for a price by dimension (the tier's terms and each value a line, each rounded once; a volume
  naming no value is priced at the default price, and held under ``unknown: quarantine``; a
  planning workbook's drivers may name values, each then priced at its own price);
- fees: ``billing.rating.fees.fee_period`` and ``fee_part``, each month of a period counting
  whole when the business line holds the tier in it (a plan prices whole months);
- the discount: ``billing.rating.agreements.discount_off`` on the usage line's exact amount,
  rounded once as a line of its own;
- the true-up: ``true_up_due`` against the year's charges (the months rated before the ones
  planned, then the planned ones), ``committed_part`` and, for a quantity, ``shortfall_value``.

Which months hold a tier: a planned month holds the tier it is planned at; a month of a fee's
period before the first planned month or after the last holds the tier of the nearest planned
month (the subscription carries on outside what is planned), unless ``held`` says the business
line holds no subscription that month; a month between planned months that is not planned
holds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from fractions import Fraction

from billing.core.money import EXACT, ZERO, round_minor
from billing.core.periods import fiscal_months, fiscal_year, last_day
from billing.core.records import Subscription
from billing.rating.agreements import committed_part, committed_share, discount_off, shortfall_value, true_up_due
from billing.rating.fees import fee_part, fee_period
from tariffs.model import Agreement, Catalogue, FeeEvery, PricingModel, TariffVersion
from tariffs.pricing import price_by_value, price_usage

__all__ = ["PlannedMonth", "PricedMonth", "YearSoFar", "UsageLine", "usage_line", "price_months", "fees_due",
           "value_parts", "SPLIT_STEP"]

#: a dimension value's part of a volume split by :func:`value_parts` is cut to this step
SPLIT_STEP = Decimal("0.0001")
_SPLITTING = Context(prec=100, rounding=ROUND_DOWN, traps=[InvalidOperation, DivisionByZero, Overflow])


def value_parts(volume: Decimal, used: Sequence[tuple[str, Decimal]], whole: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """The parts of ``volume`` that name each dimension value, split as the values shared the
    service's volume in the rated months: ``used`` is each value's volume in them (value,
    volume), ``whole`` the service's whole volume in them (the values' included). A value's part
    is ``volume`` × its volume / ``whole``, cut to :data:`SPLIT_STEP` (rounded down); the rest of
    ``volume`` names no value (priced at the default price). Nothing is split of a volume at or
    below zero, nor when the rated months used nothing; a value that used nothing or less gets
    0. The parts never add up to more than ``volume`` (``whole`` counts at least the values'
    volumes), so the rest, ``volume`` less the parts, is never below zero."""
    with localcontext(EXACT):
        whole = max(whole, sum((max(q, ZERO) for _v, q in used), ZERO))
    if volume <= 0 or whole <= 0:
        return tuple((v, ZERO) for v, _q in used)
    with localcontext(_SPLITTING):  # a product exact, a quotient cut (never rounded up) at 100 digits
        return tuple((v, (volume * max(q, ZERO) / whole).quantize(SPLIT_STEP, rounding=ROUND_DOWN)) for v, q in used)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedMonth:
    """A month's planned volume of a service at a tier under the tariff version in force
    (None: no version is, nothing is charged). For a pass-through price the volume is the cost."""

    month: str
    version: TariffVersion | None
    tier: str
    quantity: Decimal  # the whole month's volume, the values' included
    #: the parts of ``quantity`` that name a dimension value (value, volume); the rest names none
    values: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedMonth:
    """A planned month's charges, each rounded once as its invoice line would be."""

    month: str
    usage: Decimal  # usage, monthly fee and minimum top-up
    fees: Decimal = ZERO  # the quarterly and annual fees' parts due this month
    discount: Decimal = ZERO  # the negotiated discount (zero or below)
    true_up: Decimal = ZERO  # the commitment's true-up (the fiscal year's last month only)
    exact_usage: Decimal = ZERO

    @property
    def amount(self) -> Decimal:
        return self.usage + self.fees + self.discount + self.true_up


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageLine:
    """A whole month of a volume at a tier: ``amount`` rounded as invoiced (each line of a price
    by dimension rounded once), ``exact`` before rounding, the minimum's ``topup`` and the
    ``minimum`` itself (what a discount before the minimum needs)."""

    amount: Decimal
    exact: Decimal
    topup: Decimal
    minimum: Decimal
    held: Decimal = ZERO  # the volume a price by dimension under ``unknown: quarantine`` holds


def usage_line(version: TariffVersion, tier: str, volume: Decimal,
               values: Sequence[tuple[str, Decimal]] = ()) -> UsageLine:
    """A whole month of ``volume`` at ``tier`` under ``version`` (a pass-through price's volume is
    its cost), ``values`` the parts of it naming a dimension value: a price by dimension prices
    each value (one with no volume gives no line) and the rest as naming none; any other price
    prices the whole volume on one line. Raises ``ValueError`` when the version has no price for
    the tier."""
    price = version.price(tier)
    if price is None:
        raise ValueError(f"{version.service} {version.version} has no price for tier {tier}")
    passed = price.model is PricingModel.PASS_THROUGH
    cost = volume if passed else ZERO
    if not price.by_value:
        breakdown = price_usage(price, volume, cost=cost)
        return UsageLine(amount=round_minor(breakdown.amount, version.currency), exact=breakdown.amount,
                         topup=breakdown.minimum_topup, minimum=price.minimum_charge)
    with localcontext(EXACT):
        rest = volume - sum((q for _v, q in values), ZERO)
    used: dict[str | None, tuple[Decimal, Decimal]] = {"": (rest, rest if passed else ZERO)}
    used.update({v: (q, q if passed else ZERO) for v, q in values if q != 0})
    result = price_by_value(price, used)
    parts = [result.terms, *(v.breakdown for v in result.values)]
    return UsageLine(amount=sum((round_minor(b.amount, version.currency) for b in parts), ZERO), exact=result.amount,
                     topup=result.terms.minimum_topup, minimum=price.minimum_charge,
                     held=sum((h.quantity for h in result.held), ZERO))


@dataclass(frozen=True, slots=True, kw_only=True)
class YearSoFar:
    """The charges of a fiscal year's months before the planned ones, as rated (every kind), and
    the usage quantity per tier."""

    amount: Decimal = ZERO
    quantities: Mapping[str, Decimal] = field(default_factory=dict)


def price_months(planned: Sequence[PlannedMonth], *, business_line: str, service: str, catalogue: Catalogue,
                 currency: str, fiscal_year_start: int = 1, held: Callable[[str], bool] | None = None,
                 subscriptions: Sequence[Subscription] | None = None,
                 year_so_far: Mapping[int, YearSoFar] | None = None,
                 quantity_commitments: bool = True) -> list[PricedMonth]:
    """``planned`` (one business line's months of one service, in month order) priced.

    ``held(month)``: the business line holds the service that month (None: every month);
    ``subscriptions``: its subscriptions to the service, which prorate a commitment by the days
    of the year held (None: the whole year); ``year_so_far``: per fiscal year, what the months
    before the planned ones were charged; ``quantity_commitments``: False leaves a commitment of
    a quantity untrued."""
    planned = sorted(planned, key=lambda p: p.month)
    agreements: dict[int, Agreement] = {a.fiscal_year: a for a in catalogue.agreements
                  if a.business_line == business_line and a.service == service and a.fiscal_year is not None}
    lines: list[PricedMonth] = []
    for plan in planned:
        if plan.version is None or plan.version.price(plan.tier) is None:
            lines.append(PricedMonth(month=plan.month, usage=ZERO))
            continue
        usage = usage_line(plan.version, plan.tier, plan.quantity, plan.values)
        fees = _fees(plan, planned, held, fiscal_year_start, currency)
        discount = ZERO
        agreement = agreements.get(fiscal_year(plan.month, fiscal_year_start))
        if agreement is not None and agreement.discount is not None:
            off = discount_off(agreement.discount, charge=usage.exact, subtotal=usage.exact - usage.topup,
                               minimum=usage.minimum)
            discount = round_minor(off, currency)
        lines.append(PricedMonth(month=plan.month, usage=usage.amount, fees=fees, discount=discount,
                                 exact_usage=usage.exact))
    for year, agreement in agreements.items():
        if agreement.commitment is None or (agreement.commitment.amount is None and not quantity_commitments):
            continue
        months = fiscal_months(year, fiscal_year_start)
        index = next((i for i, line in enumerate(lines) if line.month == months[-1]), None)
        if index is None:
            continue
        due = _true_up(agreement, months, lines, planned, catalogue, subscriptions,
                       (year_so_far or {}).get(year, YearSoFar()), currency)
        if due:
            line = lines[index]
            lines[index] = PricedMonth(month=line.month, usage=line.usage, fees=line.fees, discount=line.discount,
                                       true_up=due, exact_usage=line.exact_usage)
    return lines


def _fees(plan: PlannedMonth, planned: Sequence[PlannedMonth], held: Callable[[str], bool] | None,
          fiscal_year_start: int, currency: str) -> Decimal:
    assert plan.version is not None
    price = plan.version.price(plan.tier)
    if price is None or not price.fees:
        return ZERO
    total = ZERO
    for every in (FeeEvery.QUARTERLY, FeeEvery.ANNUAL):
        fees = [fee for fee in price.fees if fee.every is every]
        if not fees:
            continue
        period = fee_period(every, plan.month, fiscal_year_start)
        fractions = {m: Fraction(1) for m in period.months if _tier_in(m, planned, held) == plan.tier}
        for fee in fees:
            part = fee_part(fee, period, fractions, plan.month, currency)
            if part is not None:
                total += part.amount
    return total


def fees_due(version: TariffVersion, tier: str, months: Sequence[str], *, fiscal_year_start: int,
             currency: str) -> tuple[Decimal, ...]:
    """The quarterly and annual fees due in each of ``months`` (a fiscal year) for ``tier`` held
    in every one of them under ``version``: what :func:`price_months` gives a whole year planned
    at that tier (the planning workbook's rate card shows it per tier price)."""
    planned = [PlannedMonth(month=m, version=version, tier=tier, quantity=ZERO) for m in months]
    return tuple(_fees(plan, planned, None, fiscal_year_start, currency) for plan in planned)


def _tier_in(month: str, planned: Sequence[PlannedMonth], held: Callable[[str], bool] | None) -> str | None:
    """The tier held in ``month``: the planned one (with a tariff version in force or not), else
    outside the planned months the nearest planned month's; None between planned months or
    without a subscription."""
    if held is not None and not held(month):
        return None
    for plan in planned:
        if plan.month == month:
            return plan.tier
    if month < planned[0].month:
        return planned[0].tier
    if month > planned[-1].month:
        return planned[-1].tier
    return None


def _true_up(agreement: Agreement, months: Sequence[str], lines: Sequence[PricedMonth],
             planned: Sequence[PlannedMonth], catalogue: Catalogue, subscriptions: Sequence[Subscription] | None,
             so_far: YearSoFar, currency: str) -> Decimal:
    commitment = agreement.commitment
    assert commitment is not None
    if subscriptions is None:
        held, days = 1, 1
    else:
        held, days = committed_share(subscriptions, months)
        if held == 0:
            return ZERO  # not subscribed this year: nothing committed (as rating)
    in_year = set(months)
    with localcontext(EXACT):
        year_total = so_far.amount + sum((line.amount for line in lines if line.month in in_year), ZERO)
    if commitment.amount is not None:
        due = true_up_due(committed_part(commitment.amount, held, days), year_total)
    else:
        version = catalogue.tariff_at(agreement.service, last_day(months[-1]))
        price = version.price(commitment.tier or "") if version is not None else None
        if price is None or commitment.quantity is None:
            return ZERO
        tier = commitment.tier or ""
        with localcontext(EXACT):
            used = so_far.quantities.get(tier, ZERO) + sum(
                (p.quantity for p in planned if p.month in in_year and p.tier == tier and p.version is not None), ZERO)
        short = max(ZERO, committed_part(commitment.quantity, held, days) - used)
        due = shortfall_value(price, used, short)
    amount = round_minor(due, currency)
    return amount if amount > 0 else ZERO
