"""Commitments and negotiated discounts: a business line's agreement for a service and fiscal
year priced into charge lines of their own (docs/pricing.md, "Commitments and negotiated discounts").

Pure. The rules:

- A **discount** applies in every month of its fiscal year to the business line's usage charges
  for the service (every tier and dimension value; not fees, service credits or true-ups).
  ``percent`` takes that share off; ``amount`` takes a fixed sum off each month. After the minimum
  (the default) it comes off the month's charge as priced; before the minimum it comes off the
  usage and monthly fee, and the tier's minimum charge still holds. It never takes the month
  below zero: a fixed discount larger than the charge takes the charge to 0, the rest is not
  carried to another month; a month with no charge (or a refund) gets no discount.
- A **commitment** is a minimum for the year: in the fiscal year's last month, when the year's
  charges for the service (every month and kind: usage, fees, credits, discounts) fall short of
  it, a true-up line charges the difference. An amount commitment is that amount; a quantity
  commitment is that many units used at its tier, and a shortfall of units is valued as the
  next units at that tier's price (its bands above the year's units; no monthly fee, included
  quantity or minimum), under the tariff version in force on the year's last day. Either is
  prorated by the days of the year the business line was subscribed to the service (one that
  leaves on 30 June commits half the year); the true-up still falls in the year's last month.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from billing.core.money import EXACT, ZERO, allocate, plain, round_minor
from billing.core.periods import first_day, fiscal_months, fiscal_year, last_day
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.core.records import Charge, ChargeKind, CostCenterShare, Subscription
from tariffs.model import Agreement, Catalogue, Discount, PricingModel, Service, TierPrice
from tariffs.pricing import Working, WorkingKind, price_usage

__all__ = ["YearToDate", "discount_off", "true_up_due", "committed_part", "shortfall_value", "committed_share",
           "agreement_charges"]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class YearToDate:
    """A business line's charges for a service in the months of a fiscal year before the one
    rated (as last rated), and the months of it not rated yet."""

    business_line: str
    service: str
    amount: Decimal = ZERO  # every kind
    quantities: tuple[tuple[str, Decimal], ...] = ()  # usage quantity per tier
    unrated: tuple[str, ...] = ()

    def quantity(self, tier: str) -> Decimal:
        return sum((q for t, q in self.quantities if t == tier), ZERO)


def discount_off(discount: Discount, *, charge: Decimal, subtotal: Decimal, minimum: Decimal) -> Decimal:
    """The discount (zero or negative) on a month's ``charge`` = max(``subtotal``, ``minimum``):
    ``subtotal`` is usage and monthly fee, ``minimum`` the prorated minimum charge. Never takes
    the charge below zero; no discount on a charge of zero or less."""
    if charge <= 0:
        return ZERO
    with localcontext(EXACT):
        if discount.before_minimum:
            base = subtotal
            if discount.percent is not None:
                after = base * (1 - discount.percent / _HUNDRED) if discount.percent else base
            else:
                after = base - (discount.amount or ZERO)
            discounted = max(after, minimum, ZERO)
        else:
            if discount.percent is not None:
                discounted = charge - charge * discount.percent / _HUNDRED
            else:
                discounted = charge - (discount.amount or ZERO)
            discounted = max(discounted, ZERO)
        return min(ZERO, discounted - charge)


def true_up_due(committed: Decimal, year_total: Decimal) -> Decimal:
    """What the year's last month carries: the shortfall of the year's charges against the commitment."""
    with localcontext(EXACT):
        return max(ZERO, committed - year_total)


def committed_part(committed: Decimal, held: int, days: int) -> Decimal:
    """A commitment (an amount or a quantity) for the ``held`` days of its year's ``days``."""
    if held == days:
        return committed
    with localcontext() as ctx:
        ctx.prec = 60
        return committed * held / days


def shortfall_value(price: TierPrice, used: Decimal, short: Decimal) -> Decimal:
    """What ``short`` units missing from a quantity commitment cost: the next units after the
    year's ``used`` at ``price``'s bands (no monthly fee, included quantity or minimum), exact."""
    if short <= 0:
        return ZERO
    bare = dataclasses.replace(price, monthly_fee=ZERO, included_quantity=ZERO, minimum_charge=ZERO, fees=())
    with localcontext(EXACT):
        return price_usage(bare, used + short).usage_amount - price_usage(bare, max(used, ZERO)).usage_amount


def committed_share(subscriptions: Sequence[Subscription], year_months: Sequence[str]) -> tuple[int, int]:
    """(days of the fiscal year a business line held the service, days of the year)."""
    first, last = first_day(year_months[0]), last_day(year_months[-1])
    held = set()
    for sub in subscriptions:
        start = max(first, sub.effective_from)
        end = min(last, sub.effective_to or last)
        day = start
        while day <= end:
            held.add(day)
            day += dt.timedelta(days=1)
    return len(held), (last - first).days + 1


def agreement_charges(*, month: str, catalogue: Catalogue, services: Mapping[str, Service],
                      subscriptions: Sequence[Subscription], charges: Sequence[Charge],
                      terms: Mapping[int, tuple[Decimal, Decimal]], year_to_date: Mapping[tuple[str, str], YearToDate],
                      fiscal_year_start: int, business_lines: frozenset[str] | None,
                      owners: Mapping[str, tuple[str, ...]], first_line_no: int) -> tuple[list[Charge], list[Problem]]:
    """The month's discount and true-up lines, after its other charges."""
    year = fiscal_year(month, fiscal_year_start)
    months = fiscal_months(year, fiscal_year_start)
    in_force = [a for a in catalogue.agreements if a.fiscal_year == year]
    problems: list[Problem] = []
    made: list[Charge] = []
    if not in_force:
        return made, problems
    by_pair: dict[tuple[str, str], list[Charge]] = defaultdict(list)
    for charge in charges:
        by_pair[(charge.business_line, charge.service)].append(charge)
    subs_of: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for sub in subscriptions:
        subs_of[(sub.business_line, sub.service)].append(sub)
    for agreement in sorted(in_force, key=lambda a: (a.business_line, a.service)):
        pair = (agreement.business_line, agreement.service)
        service = services.get(agreement.service)
        if business_lines is not None and agreement.business_line not in business_lines:
            problems.append(Problem(
                code=ProblemCode.UNKNOWN_BUSINESS_LINE,
                message=f"the FY{year} agreement for {agreement.service} names business line {agreement.business_line}, "
                        "which the organisation does not have: nothing is discounted or trued-up for it",
                source=agreement.source or SourceRef(file=f"month {month}"), severity=Severity.WARNING,
                hint="correct the business line code in the agreement (tariffs load), or load the business line (org load)"))
            continue
        if service is None:
            continue
        own = by_pair.get(pair, [])
        if agreement.discount is not None:
            line = _discount_line(agreement, own, terms, month, first_line_no + len(made))
            if line is not None:
                made.append(line)
        if agreement.commitment is not None and month == months[-1]:
            line, problem = _true_up_line(agreement, service, catalogue, own + [c for c in made if (c.business_line, c.service) == pair],
                                          subs_of.get(pair, []), year_to_date.get(pair), months, year, month,
                                          owners.get(agreement.business_line, ()), first_line_no + len(made))
            if problem is not None:
                problems.append(problem)
            if line is not None:
                made.append(line)
    return made, problems


def _discount_line(agreement: Agreement, own: Sequence[Charge], terms: Mapping[int, tuple[Decimal, Decimal]],
                   month: str, line_no: int) -> Charge | None:
    usage = [c for c in own if c.kind is ChargeKind.USAGE]
    if not usage:
        return None
    discount = agreement.discount
    assert discount is not None
    with localcontext(EXACT):
        charge = sum((c.exact_amount for c in usage), ZERO)
        topups = sum((terms.get(c.line_no, (ZERO, ZERO))[0] for c in usage), ZERO)
        minimum = sum((terms.get(c.line_no, (ZERO, ZERO))[1] for c in usage), ZERO)
        off = discount_off(discount, charge=charge, subtotal=charge - topups, minimum=minimum)
    first = usage[0]
    amount = round_minor(off, first.currency)
    if amount == 0:
        return None
    rounded = sum((c.amount for c in usage), ZERO)
    what = f"{plain(discount.percent)} %" if discount.percent is not None else f"{plain(discount.amount or ZERO, grouped=True)} a month"
    when = "before the minimum" if discount.before_minimum else "after the minimum"
    capped = " (capped at the month's charge)" if discount.amount is not None and -off < (discount.amount or ZERO) else ""
    detail = f"negotiated discount {what} {when} on {plain(rounded, grouped=True)}{capped}, FY{agreement.fiscal_year}"
    return _line(first, ChargeKind.DISCOUNT, amount, off, detail, f"Negotiated discount {what}", usage, line_no,
                 first_day(month), last_day(month))


def _true_up_line(agreement: Agreement, service: Service, catalogue: Catalogue, own: Sequence[Charge],
                  subs: Sequence[Subscription], earlier: YearToDate | None, months: Sequence[str], year: int, month: str,
                  owned: tuple[str, ...], line_no: int) -> tuple[Charge | None, Problem | None]:
    commitment = agreement.commitment
    assert commitment is not None
    held, days = committed_share(subs, months)
    if held == 0:
        return None, None  # not subscribed this year: nothing committed
    unrated = earlier.unrated if earlier is not None else tuple(months[:-1])
    if unrated:
        return None, Problem(
            code=ProblemCode.INCONSISTENT, severity=Severity.ERROR, source=SourceRef(file=f"month {month}"),
            message=f"{agreement.business_line}'s FY{year} commitment to {agreement.service} is trued-up in {month}, "
                    f"but {', '.join(unrated)} of the year {'is' if len(unrated) == 1 else 'are'} not rated",
            hint=f"run {unrated[0]} (`chargeback month run {unrated[0]}`) and the months after it first")
    version = catalogue.tariff_at(service.code, last_day(months[-1])) or catalogue.tariff_at(service.code, last_day(month))
    if version is None:
        return None, None  # the month's usage reports the missing version
    with localcontext(EXACT):
        year_total = (earlier.amount if earlier is not None else ZERO) + sum((c.amount for c in own), ZERO)
    prorated = "" if held == days else f" × {held}/{days} days subscribed"
    if commitment.amount is not None:
        committed = committed_part(commitment.amount, held, days)
        due = true_up_due(committed, year_total)
        detail = (f"commitment {plain(commitment.amount, grouped=True)} for FY{year}{prorated}; "
                  f"the year's charges {plain(year_total, grouped=True)}")
    else:
        tier = commitment.tier or ""
        price = version.price(tier)
        if price is None or commitment.quantity is None:
            return None, None
        committed_units = committed_part(commitment.quantity, held, days)
        used = (earlier.quantity(tier) if earlier is not None else ZERO) + sum(
            (c.quantity for c in own if c.kind is ChargeKind.USAGE and c.tier == tier), ZERO)
        short = max(ZERO, committed_units - used)
        due = shortfall_value(price, used, short)
        detail = (f"commitment {plain(commitment.quantity, grouped=True)} {service.unit} at {tier} for FY{year}{prorated}; "
                  f"used {plain(used, grouped=True)}, short {plain(short, grouped=True)} at {tier}'s price {version.version}")
    amount = round_minor(due, version.currency)
    if amount <= 0:
        return None, None
    template = own[0] if own else None
    tier_code = commitment.tier or (template.tier if template else service.default_tier)
    shares = (CostCenterShare(cost_center=owned[0] if owned else "", quantity=ZERO, amount=amount),)
    return Charge(
        line_no=line_no, kind=ChargeKind.TRUE_UP, business_line=agreement.business_line, service=service.code,
        tier=tier_code, tariff_version=version.version, charging_mode=service.charging_mode,
        segment_from=first_day(month), segment_to=last_day(month), days_in_force=None,
        model=_model(version, tier_code, template),
        quantity=ZERO, included=ZERO, billable=ZERO, cost=ZERO, exact_amount=due, amount=amount, currency=version.currency,
        detail=detail, flags=() if owned else ("no cost centre",), usage_rows=0, cost_centers=shares,
        label=f"Commitment true-up FY{year}", period_from=first_day(months[0]), period_to=last_day(months[-1]),
        workings=(Working(kind=WorkingKind.TRUE_UP, text=detail, amount=due),),
    ), None


def _model(version, tier: str, template: Charge | None) -> PricingModel:
    price = version.price(tier)
    if price is not None:
        return price.model
    return template.model if template is not None else PricingModel.FIXED


def _line(first: Charge, kind: ChargeKind, amount: Decimal, exact: Decimal, detail: str, label: str,
          usage: Sequence[Charge], line_no: int, period_from: dt.date, period_to: dt.date) -> Charge:
    """A line on the business line's usage of the service, split over its cost centres as that usage is."""
    weights: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for charge in usage:
        for share in charge.cost_centers:
            weights[share.cost_center] += abs(share.amount)
    codes = sorted(weights)
    if codes and any(weights.values()):
        parts = allocate(amount, [weights[c] for c in codes], first.currency, keys=codes)
        shares = tuple(CostCenterShare(cost_center=c, quantity=ZERO, amount=p) for c, p in zip(codes, parts))
    else:
        shares = (CostCenterShare(cost_center=first.cost_centers[0].cost_center if first.cost_centers else "",
                                  quantity=ZERO, amount=amount),)
    return Charge(
        line_no=line_no, kind=kind, business_line=first.business_line, service=first.service, tier=first.tier,
        tariff_version=first.tariff_version, charging_mode=first.charging_mode, segment_from=period_from,
        segment_to=period_to, days_in_force=None, model=first.model, quantity=ZERO,
        included=ZERO, billable=ZERO, cost=ZERO, exact_amount=exact, amount=amount, currency=first.currency,
        detail=detail, flags=(), usage_rows=0, cost_centers=shares, label=label, period_from=period_from, period_to=period_to,
        workings=(Working(kind=WorkingKind.DISCOUNT if kind is ChargeKind.DISCOUNT else WorkingKind.TRUE_UP, text=detail,
                          amount=exact),),
    )
