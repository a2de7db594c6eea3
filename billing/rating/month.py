"""Rating: a month's usage priced into charges per business line, service and tier.

Pure: plain data in (the catalogue, subscriptions, ownerships, daily usage as a polars frame,
measured service levels), charges and problems out. The rules are in docs/pricing.md:

- Each usage day is priced at the tier the business line is subscribed to on that day, under
  the tariff version in force on that day. A feed naming another tier changes nothing but a
  flag. On a day without a subscription, usage is priced at the tier the feed names, else the
  service's default tier, flagged, with that tier's monthly fee, included quantity and minimum
  prorated over the days of the month the business line had no subscription to the service
  (the whole month when it had none).
- The month splits into segments (business line, service, tier, tariff version); each segment
  is priced on its own quantity. Monthly fee, included quantity and minimum charge are prorated
  by the days the segment was in force over the days of the month, by the tariff version's
  proration convention (``tariffs.pricing.proration_fraction``).
- A subscribed business line with no usage still pays its tier's monthly fee and minimum (and
  the first band's flat fee where the price says ``flat_fee_at_zero: charged``).
- A missed service level adds a separate credit line (a share of the segment's charge).
- A tier's quarterly and annual fees (``fees:``) are charge lines of their own (kind ``fee``),
  by the periods of the fiscal year (``billing.rating.fees``); computed only for the services
  whose tariff versions have any, so a catalogue without them costs nothing more.
- Each charge is rounded once (half-up, minor unit); its cost-centre split sums exactly to it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from decimal import Decimal, localcontext
from fractions import Fraction

import polars as pl

from billing.core.limits import MONTH_AMOUNT
from billing.core.money import EXACT, ZERO, apportion, exact_sum, plain, round_minor
from billing.core.periods import days_in_month, first_day, last_day, month_days, month_of
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.core.records import Charge, ChargeKind, CostCenterShare, Ownership, SlaResult, Subscription
from billing.organisation.subscriptions import tiers_by_day
from billing.rating.agreements import YearToDate, agreement_charges
from billing.rating.fees import FeeBilled, FeePart, FeePeriod, fee_part, fee_period
from tariffs.model import (Catalogue, ChargingMode, FeeEvery, Metric, PeriodicFee, PricingModel, Service, TariffVersion,
                           dimension_key)
from tariffs.pricing import (THIRTY_DAY_MONTH, PriceBreakdown, Working, WorkingKind, price_by_value, price_usage,
                             proration_fraction, service_credit)

#: Columns of the usage frame ``rate_month`` takes (one row per day, business line, cost
#: centre, service and tier named by the feed).
USAGE_SCHEMA = {
    "usage_date": pl.Date,
    "business_line": pl.String,
    "cost_center": pl.String,
    "service": pl.String,
    "tier": pl.String,
    "quantity": pl.Decimal(38, 12),
    "cost": pl.Decimal(38, 12),
    "rows": pl.Int64,
}
#: The column a usage frame may add: the value of its service's dimension (region, storage
#: class; docs/pricing.md, "Price dimensions"); null, or the column left out: none.
DIMENSION_COLUMN = {"dimension_value": pl.String}
#: What rating reads, and the store keeps per day: ``USAGE_SCHEMA`` and the dimension value.
DAILY_SCHEMA = USAGE_SCHEMA | DIMENSION_COLUMN

NO_SUBSCRIPTION = "no subscription: priced at the default tier"
NO_SUBSCRIPTION_NAMED = "no subscription: priced at the tier the feed names"
OTHER_TIER_NAMED = "the feed names another tier: priced at the subscribed tier"
NO_COST_CENTER = "no cost centre"


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldUsage:
    """Usage a price by dimension did not price (``unknown: quarantine``): held, with its value,
    for the month review; it is priced once the tariff lists the value (or the feed is corrected)
    and the month is run again."""

    business_line: str
    service: str
    tier: str
    tariff_version: str
    dimension: str
    value: str  # as the usage has it; "" when the usage names none
    quantity: Decimal
    cost: Decimal
    rows: int
    hint: str
    first_day: dt.date | None = None  # the first and last days of the usage held
    last_day: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RatedMonth:
    month: str
    charges: tuple[Charge, ...]
    problems: tuple[Problem, ...]
    usage_rows: int
    held: tuple[HeldUsage, ...] = ()  # usage not priced: values a price by dimension quarantines

    def total(self, *, charging_mode: ChargingMode | None = ChargingMode.CHARGEBACK) -> Decimal:
        return sum((c.amount for c in self.charges if charging_mode is None or c.charging_mode is charging_mode), ZERO)


class _SegmentKey(NamedTuple):  # a tuple: hashed and compared in C, tens of thousands of times a month
    business_line: str
    service: str
    tier: str
    version: str


def empty_usage() -> pl.DataFrame:
    return pl.DataFrame(schema=USAGE_SCHEMA)


def rate_month(
    *,
    month: str,
    catalogue: Catalogue,
    subscriptions: Sequence[Subscription],
    ownerships: Sequence[Ownership],
    usage: pl.DataFrame,
    sla: Iterable[SlaResult] = (),
    tier_override: dict[tuple[str, str], str] | None = None,
    fiscal_year_start: int = 1,
    year_to_date: Mapping[tuple[str, str], YearToDate] | None = None,
    business_lines: frozenset[str] | None = None,
    fees_billed: Sequence[FeeBilled] = (),
) -> RatedMonth:
    """Price ``month``. ``tier_override`` maps (business line, service) to a tier used instead
    of any other (what-if pricing: "this month at silver"). ``fiscal_year_start`` (the month
    number the fiscal year starts in) places the quarters and years of periodic fees and agreements;
    ``year_to_date`` gives, for a commitment trued-up this month, the year's earlier charges;
    ``business_lines`` the organisation's codes (an agreement naming another is reported);
    ``fees_billed`` the fee lines of the fiscal year's earlier months for the tiers whose days in
    a fee's period end this month (an in-advance fee billed for more is credited)."""
    start, end = first_day(month), last_day(month)
    days = month_days(month)
    services = {s.code: s for s in catalogue.services}
    subscribed = _tiers_in_force(subscriptions, services, days, tier_override)
    version_at = _versions_in_force(catalogue, services, days)
    priced = _priced_days(_usage_of(usage, start, end), services, subscribed, version_at, tier_override)
    problems = _feed_problems(priced, month)
    usage_by_segment, flags = _segments(priced.frame)
    segment_days = _days_in_force(priced.frame, subscribed, version_at, days)
    terms: dict[int, tuple[Decimal, Decimal]] | None = {} if catalogue.agreements else None
    charges, held, charge_problems = _charges(terms=terms,
        month=month, catalogue=catalogue, services=services, usage_by_segment=usage_by_segment, flags=flags,
        segment_days=segment_days, ends=_subscription_ends(subscriptions, start, end),
        owners=_cost_centers_by_line(ownerships, end), sla_by_key=_sla_index(sla))
    problems += charge_problems
    charges += _fee_charges(month=month, catalogue=catalogue, services=services, subscriptions=subscriptions,
                            tier_override=tier_override, owners=_cost_centers_by_line(ownerships, end),
                            fiscal_year_start=fiscal_year_start, first_line_no=len(charges) + 1, fees_billed=fees_billed)
    if catalogue.agreements:  # no agreement, no per-charge work
        made, agreement_problems = agreement_charges(
            month=month, catalogue=catalogue, services=services, subscriptions=subscriptions, charges=charges,
            terms=terms or {}, year_to_date=year_to_date or {}, fiscal_year_start=fiscal_year_start,
            business_lines=business_lines, owners=_cost_centers_by_line(ownerships, end), first_line_no=len(charges) + 1)
        charges += made
        problems += agreement_problems
    problems += _line_total_problems(charges, month)
    return RatedMonth(month=month, charges=tuple(charges), problems=tuple(problems), usage_rows=priced.rows,
                      held=tuple(held))


class _PricedDays(NamedTuple):
    """The month's usage per day, each day with the tier and tariff version that price it."""

    frame: pl.DataFrame  # per day, business line, service, feed tier and cost centre: _tier, _version, _flag
    rows: int  # usage rows read (every service)
    unknown_services: frozenset[str]
    missing_tariff: dict[str, tuple[dt.date, dt.date]]  # service → first and last day used without a version


def _usage_of(usage: pl.DataFrame, start: dt.date, end: dt.date) -> pl.DataFrame:
    """The usage frame in ``USAGE_SCHEMA``, days of the month only (a frame without dimension
    values: none)."""
    if "dimension_value" not in usage.columns:
        usage = usage.with_columns(pl.lit(None, dtype=pl.String).alias("dimension_value"))
    usage = usage.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA)
    return usage.filter(pl.col("usage_date").is_between(start, end))


def _tiers_in_force(subscriptions: Sequence[Subscription], services: dict[str, Service], days: Sequence[dt.date],
                    tier_override: dict[tuple[str, str], str] | None) -> dict[tuple[str, str, dt.date], str]:
    """(business line, service, day) → the tier subscribed that day (the override's tier, for
    an overridden pair), for the services of the catalogue."""
    subscribed = tiers_by_day([s for s in subscriptions if s.service in services], days)
    if tier_override:
        for (line, service), tier in tier_override.items():
            for day in days:
                if (line, service, day) in subscribed:
                    subscribed[(line, service, day)] = tier
    return subscribed


def _versions_in_force(catalogue: Catalogue, services: dict[str, Service],
                       days: Sequence[dt.date]) -> dict[tuple[str, dt.date], TariffVersion]:
    """(service, day) → the tariff version in force that day."""
    version_at: dict[tuple[str, dt.date], TariffVersion] = {}
    for service in services:
        for day in days:
            version = catalogue.tariff_at(service, day)
            if version is not None:
                version_at[(service, day)] = version
    return version_at


def _priced_days(usage: pl.DataFrame, services: dict[str, Service], subscribed: dict[tuple[str, str, dt.date], str],
                 version_at: dict[tuple[str, dt.date], TariffVersion],
                 tier_override: dict[tuple[str, str], str] | None) -> _PricedDays:
    """Every usage day joined (vectorised) with the tier that prices it (docs/pricing.md,
    "Which tier prices a usage") and the tariff version in force that day, with its flag. The
    daily sums are joined as they come (several feeds may repeat a key): every later step sums
    or takes distinct values, so grouping them first would only cost a pass over the month."""
    per_day = usage.with_columns(pl.col("cost").fill_null(0))
    total_rows = int(per_day["rows"].sum() or 0)
    known = per_day["service"].is_in(list(services))
    unknown_services = frozenset(per_day.filter(~known)["service"].unique().to_list())
    day_tiers = pl.DataFrame(  # built column by column: tens of thousands of (line, service, day)
        {"business_line": [k[0] for k in subscribed], "service": [k[1] for k in subscribed],
         "usage_date": [k[2] for k in subscribed], "_subscribed": list(subscribed.values())},
        schema={"business_line": pl.String, "service": pl.String, "usage_date": pl.Date, "_subscribed": pl.String},
    )
    day_versions = pl.DataFrame(
        [(service, day, version.version) for (service, day), version in version_at.items()],
        schema={"service": pl.String, "usage_date": pl.Date, "_version": pl.String}, orient="row",
    )
    overrides = pl.DataFrame(
        [(line, service, tier) for (line, service), tier in (tier_override or {}).items()],
        schema={"business_line": pl.String, "service": pl.String, "_override": pl.String}, orient="row",
    )
    defaults = {code: service.default_tier for code, service in services.items()}
    joined = (
        per_day.filter(known)
        .join(day_tiers, on=["business_line", "service", "usage_date"], how="left")
        .join(day_versions, on=["service", "usage_date"], how="left")
        .join(overrides, on=["business_line", "service"], how="left")
    )
    missing_tariff = {
        service_code: (first_missing, last_missing)
        for service_code, first_missing, last_missing in (
            joined.filter(pl.col("_version").is_null()).group_by("service")
            .agg(pl.col("usage_date").min().alias("a"), pl.col("usage_date").max().alias("b")).iter_rows()
        )
    }
    unsubscribed = pl.col("_override").is_null() & pl.col("_subscribed").is_null()
    other_tier = pl.col("_override").is_null() & pl.col("tier").is_not_null() & (pl.col("tier") != pl.col("_subscribed"))
    priced = joined.filter(pl.col("_version").is_not_null()).with_columns(
        pl.coalesce("_override", "_subscribed", "tier",
                    pl.col("service").replace_strict(defaults, default=None, return_dtype=pl.String)).alias("_tier"),
        pl.when(unsubscribed & pl.col("tier").is_null()).then(pl.lit(NO_SUBSCRIPTION))
        .when(unsubscribed).then(pl.lit(NO_SUBSCRIPTION_NAMED))
        .when(other_tier).then(pl.lit(OTHER_TIER_NAMED)).otherwise(None).alias("_flag"),
    )
    return _PricedDays(frame=priced, rows=total_rows, unknown_services=unknown_services, missing_tariff=missing_tariff)


def _feed_problems(priced: _PricedDays, month: str) -> list[Problem]:
    """Usage that cannot be priced: a service not in the catalogue, days without a tariff version."""
    problems = [_problem(ProblemCode.UNKNOWN_SERVICE, f"usage for service {code}, which is not in the catalogue", month,
                         "load a catalogue that has it, or correct the feed")
                for code in sorted(priced.unknown_services)]
    problems += [_problem(ProblemCode.INCONSISTENT, f"no tariff version for {code} is in force on {first}..{last}", month,
                          "add a tariff version covering these dates and load it")
                 for code, (first, last) in sorted(priced.missing_tariff.items())]
    return problems


_SEGMENT_COLUMNS = ["business_line", "service", "_tier", "_version"]


_Used = dict[str | None, list]  # cost centre → [quantity, cost, rows, first day, last day]


def _segments(priced: pl.DataFrame) -> tuple[dict[_SegmentKey, dict[str | None, _Used]], dict[_SegmentKey, set[str]]]:
    """Usage summed per segment, dimension value and cost centre, and the flags of each
    segment's days."""
    segments = (
        priced.group_by([*_SEGMENT_COLUMNS, "dimension_value", "cost_center"])
        .agg(pl.col("quantity").sum(), pl.col("cost").sum(), pl.col("rows").sum(),
             pl.col("usage_date").min().alias("_first"), pl.col("usage_date").max().alias("_last"))
        .sort([*_SEGMENT_COLUMNS, "dimension_value", "cost_center"], nulls_last=True)
    )
    usage_by_segment: dict[_SegmentKey, dict[str | None, _Used]] = defaultdict(dict)
    flags: dict[_SegmentKey, set[str]] = defaultdict(set)
    for line, service_code, tier, version, value, center, quantity, cost, rows, first, last in segments.iter_rows():
        usage_by_segment[_SegmentKey(line, service_code, tier, version)].setdefault(value, {})[center] = [
            quantity, cost, rows, first, last]
    for line, service_code, tier, version, flag in (
        priced.filter(pl.col("_flag").is_not_null()).select(*_SEGMENT_COLUMNS, "_flag").unique().iter_rows()
    ):
        flags[_SegmentKey(line, service_code, tier, version)].add(flag)
    return usage_by_segment, flags


def _days_in_force(priced: pl.DataFrame, subscribed: dict[tuple[str, str, dt.date], str],
                   version_at: dict[tuple[str, dt.date], TariffVersion], days: Sequence[dt.date]) -> dict[_SegmentKey, set[dt.date]]:
    """Days each segment is in force: subscribed days at that tier and version; usage on days
    without a subscription adds those days (under its version) to the segment it is priced in,
    so its terms are never prorated over no days."""
    segment_days: dict[_SegmentKey, set[dt.date]] = defaultdict(set)
    for (line, service_code, day), tier in subscribed.items():
        version = version_at.get((service_code, day))
        if version is not None:
            segment_days[_SegmentKey(line, service_code, tier, version.version)].add(day)
    for line, service_code, tier, version in (
        priced.filter(pl.col("_subscribed").is_null()).select(_SEGMENT_COLUMNS).unique().iter_rows()
    ):
        segment_days[_SegmentKey(line, service_code, tier, version)] |= {
            d for d in days
            if (line, service_code, d) not in subscribed and (service_code, d) in version_at
            and version_at[(service_code, d)].version == version
        }
    return segment_days


def _charges(*, month: str, catalogue: Catalogue, services: dict[str, Service],
             usage_by_segment: dict[_SegmentKey, dict[str | None, _Used]], flags: dict[_SegmentKey, set[str]],
             segment_days: dict[_SegmentKey, set[dt.date]], ends: set[tuple[str, str, dt.date]],
             owners: dict[str, tuple[str, ...]], sla_by_key: dict,
             terms: dict[int, tuple[Decimal, Decimal]] | None = None) -> tuple[list[Charge], list[HeldUsage], list[Problem]]:
    """One usage charge per segment (in line order), each followed by its service credit; a
    price by dimension gives one per dimension value priced, after its tier's terms (monthly
    fee, minimum top-up), and the usage of the values it holds. ``terms``, when given, gets each
    usage charge's (minimum top-up, prorated minimum) by line number, the minimum on the first
    charge of its segment (what a discount taken before the minimum needs)."""
    charges: list[Charge] = []
    held: list[HeldUsage] = []
    problems: list[Problem] = []
    keys = sorted(set(segment_days) | set(usage_by_segment), key=lambda k: _order(k, services, segment_days))
    for key in keys:
        service = services[key.service]
        version = next(v for v in catalogue.tariffs if v.service == key.service and v.version == key.version)
        price = version.price(key.tier)
        if price is None:
            problems.append(_problem(ProblemCode.UNKNOWN_TIER, f"{key.service} {version.version} has no price for tier {key.tier}", month,
                                     "price every tier in every tariff version"))
            continue
        in_force = sorted(segment_days.get(key, ()))
        by_value = usage_by_segment.get(key, {})
        fraction = proration_fraction(in_force, version.proration,
                                      ends=[d for d in in_force if (key.business_line, key.service, d) in ends])
        basis = THIRTY_DAY_MONTH if version.proration is not None and version.proration.thirty_day else days_in_month(month)
        if price.by_value:
            parts, segment_held = _value_parts(price, by_value, fraction, basis)
            dimension = service.dimension or ""
            held += [HeldUsage(business_line=key.business_line, service=key.service, tier=key.tier,
                               tariff_version=version.version, dimension=dimension, value=value, quantity=quantity,
                               cost=cost, rows=rows, first_day=first, last_day=last,
                               hint=_held_hint(key, dimension, value))
                     for value, quantity, cost, rows, first, last in segment_held]
        else:
            used = _merged(by_value)
            quantity = exact_sum(v[0] for v in used.values())
            cost = exact_sum(v[1] for v in used.values())
            parts = [(None, used, price_usage(price, quantity, cost=cost, fraction=fraction, basis=basis))]
            dimension = None
        segment_flags = set(flags.get(key, ()))
        if NO_SUBSCRIPTION in segment_flags:
            segment_flags.discard(NO_SUBSCRIPTION_NAMED)
        minimum = None
        if terms is not None:
            minimum = price.minimum_charge * Decimal(fraction.numerator) / Decimal(fraction.denominator) \
                if fraction != 1 else price.minimum_charge
        for value, used, breakdown in parts:
            if not used and breakdown.amount == 0:
                continue
            amount = round_minor(breakdown.amount, version.currency)
            if abs(amount) >= MONTH_AMOUNT:
                what = f"{key.business_line} {key.service} {key.tier}" + (f" {dimension} {value}" if value else "")
                problems.append(_beyond(f"{what} comes to {amount:,f} {version.currency}", month))
                continue
            shares = _split(amount, breakdown, used, price.model, owners.get(key.business_line, ()), version.currency)
            charge_flags = set(segment_flags)
            if any(share.cost_center == "" for share in shares):
                charge_flags.add(NO_COST_CENTER)
            usage_charge = Charge(
                line_no=len(charges) + 1, kind=ChargeKind.USAGE, business_line=key.business_line, service=key.service,
                tier=key.tier, tariff_version=version.version, charging_mode=service.charging_mode,
                segment_from=min([*in_force, *(v[3] for v in used.values())]),
                segment_to=max([*in_force, *(v[4] for v in used.values())]), days_in_force=len(in_force), model=price.model,
                quantity=breakdown.quantity, included=breakdown.included, billable=breakdown.billable,
                cost=breakdown.cost, exact_amount=breakdown.amount, amount=amount, currency=version.currency,
                detail=breakdown.detail, flags=tuple(sorted(charge_flags)), usage_rows=sum(v[2] for v in used.values()),
                cost_centers=shares, dimension=dimension, dimension_value=value or None, workings=breakdown.workings,
            )
            charges.append(usage_charge)
            if terms is not None:
                terms[usage_charge.line_no] = (breakdown.minimum_topup, minimum or ZERO)
                minimum = None  # once a segment
            credit = _credit(usage_charge, service, price, sla_by_key, len(charges) + 1)
            if credit is not None:
                charges.append(credit)
    return charges, held, problems


def _merged(by_value: dict[str | None, _Used]) -> _Used:
    """A segment's usage per cost centre over every dimension value (a price not by dimension)."""
    if len(by_value) == 1:
        return next(iter(by_value.values()))
    merged: _Used = {}
    with localcontext(EXACT):
        for used in by_value.values():
            for center, (quantity, cost, rows, first, last) in used.items():
                if center in merged:
                    was = merged[center]
                    merged[center] = [was[0] + quantity, was[1] + cost, was[2] + rows, min(was[3], first), max(was[4], last)]
                else:
                    merged[center] = [quantity, cost, rows, first, last]
    return merged


def _value_parts(price, by_value: dict[str | None, _Used], fraction,
                 basis: int | None = None) -> tuple[list, list[tuple]]:
    """A price by dimension's parts: (None, no usage, the tier's terms), then (value, its usage
    per cost centre, its breakdown) per value priced; and (value, quantity, cost, rows, first
    day, last day) per value held."""
    totals = {value: (exact_sum(v[0] for v in used.values()), exact_sum(v[1] for v in used.values()))
              for value, used in by_value.items()}
    result = price_by_value(price, totals, fraction=fraction, basis=basis)
    by_key: dict[str, dict[str | None, _Used]] = defaultdict(dict)
    for value, used in by_value.items():
        by_key[dimension_key(value)][value] = used
    parts: list = [(None, {}, result.terms)]
    for charge in result.values:
        parts.append((charge.value, _merged(by_key[dimension_key(charge.value)]), charge.breakdown))
    held = []
    for h in result.held:
        sums = [v for centers in by_key[dimension_key(h.value)].values() for v in centers.values()]
        held.append((h.value, h.quantity, h.cost, sum(v[2] for v in sums), min(v[3] for v in sums),
                     max(v[4] for v in sums)))
    return parts, held


def _held_hint(key: _SegmentKey, dimension: str, value: str) -> str:
    what = f"{dimension} {value!r}" if value else f"usage naming no {dimension}"
    fix = (f"add {value!r} under by_value of tier {key.tier}" if value else
           f"have the source send the {dimension} (docs/feeds.md)")
    return (f"{key.service} {key.version} holds {what}: its tier {key.tier} has unknown: quarantine; {fix}, or write "
            f"unknown: default, or correct the feed; then run the month again")


def _fee_charges(*, month: str, catalogue: Catalogue, services: dict[str, Service],
                 subscriptions: Sequence[Subscription], tier_override: dict[tuple[str, str], str] | None,
                 owners: dict[str, tuple[str, ...]], fiscal_year_start: int, first_line_no: int,
                 fees_billed: Sequence[FeeBilled] = ()) -> list[Charge]:
    """The month's part of each subscribed tier's quarterly and annual fees (docs/pricing.md,
    "Quarterly and annual fees"): one charge per fee, after the month's other charges. A fee is
    the one of the tariff version in force on the tier's first day in force in the period, and
    prorated by that version's convention; usage without a subscription carries none. In the
    month a tier's days in a period end before the period does, an in-advance fee billed in an
    earlier month for more than the days held is credited: a fee line below zero."""
    everies: dict[str, set[FeeEvery]] = defaultdict(set)
    for version in catalogue.tariffs:
        for _tier, price in version.prices:
            for fee in price.fees:
                everies[version.service].add(fee.every)
    if not everies:
        return []
    by_pair: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for sub in subscriptions:
        if sub.service in everies and sub.service in services:
            by_pair[(sub.business_line, sub.service)].append(sub)
    charges: list[Charge] = []
    for (line, service_code), subs in sorted(by_pair.items()):
        for every in sorted(everies[service_code], key=lambda e: e.months):
            period = fee_period(every, month, fiscal_year_start)
            tier_days = _tier_days(subs, period, (tier_override or {}).get((line, service_code)))
            ends = {day for _l, _s, day in _subscription_ends(subs, period.first, period.last)}
            for tier, days in tier_days.items():
                billed = [b for b in fees_billed if (b.business_line, b.service, b.tier) == (line, service_code, tier)
                          and period.first <= b.period_from <= period.last]
                charges += _tier_fees(month, period, every, line, services[service_code], tier, days, ends, catalogue,
                                      owners.get(line, ()), first_line_no + len(charges), billed)
    return charges


def _tier_days(subs: Sequence[Subscription], period: FeePeriod, override: str | None) -> dict[str, list[dt.date]]:
    """Tier → the days of ``period`` a business line held it (at ``override``'s tier, if given)."""
    if len(subs) == 1:  # most pairs: one subscription, its days in the period in order
        sub = subs[0]
        first, last = max(sub.effective_from, period.first), min(sub.effective_to or period.last, period.last)
        count = (last - first).days + 1
        return {override or sub.tier: [first + dt.timedelta(days=i) for i in range(count)]} if count > 0 else {}
    tier_on: dict[dt.date, str] = {}
    for sub in subs:  # the first subscription in force on a day holds it, as in the month's rating
        day = max(sub.effective_from, period.first)
        last = min(sub.effective_to or period.last, period.last)
        while day <= last:
            tier_on.setdefault(day, sub.tier)
            day += dt.timedelta(days=1)
    held: dict[str, list[dt.date]] = defaultdict(list)
    for day in sorted(tier_on):
        held[override or tier_on[day]].append(day)
    return held


def _tier_fees(month: str, period: FeePeriod, every: FeeEvery, line: str, service: Service, tier: str,
               days: list[dt.date], ends: set[dt.date], catalogue: Catalogue, owned: tuple[str, ...],
               line_no: int, billed: Sequence[FeeBilled] = ()) -> list[Charge]:
    version = catalogue.tariff_at(service.code, days[0])
    price = version.price(tier) if version is not None else None
    if version is None or price is None:
        return []  # the month's usage charges report a missing version or price
    fees = [fee for fee in price.fees if fee.every is every]
    if not fees:
        return []
    by_month: dict[str, list[dt.date]] = defaultdict(list)
    for day in days:
        by_month[month_of(day)].append(day)
    fractions = {m: proration_fraction(d, version.proration, ends=[x for x in d if x in ends]) for m, d in by_month.items()}
    charges: list[Charge] = []
    own = by_month.get(month) or [first_day(month)]  # the month's days in force (in advance: none
    # when the tier starts later in the period; the fee then falls in that later month)
    for fee in fees:
        part = fee_part(fee, period, fractions, month, version.currency)
        if part is None and not fee.spread and month_of(days[-1]) == month and days[-1] < period.last:
            part = _advance_credit(fee, period, fractions, days, version.currency, billed)
        if part is None or part.amount == 0:
            continue
        shares = (CostCenterShare(cost_center=owned[0] if owned else "", quantity=ZERO, amount=part.amount),)
        charges.append(Charge(
            line_no=line_no + len(charges), kind=ChargeKind.FEE, business_line=line, service=service.code, tier=tier,
            tariff_version=version.version, charging_mode=service.charging_mode, segment_from=own[0],
            segment_to=own[-1], days_in_force=len(own), model=price.model, quantity=ZERO, included=ZERO,
            billable=ZERO, cost=ZERO, exact_amount=part.exact_amount, amount=part.amount, currency=version.currency,
            detail=part.detail, flags=(NO_COST_CENTER,) if not owned else (), usage_rows=0, cost_centers=shares,
            label=fee.name, period_from=days[0], period_to=days[-1],
            workings=(Working(kind=WorkingKind.FEE, text=part.detail, amount=part.exact_amount),),
        ))
    return charges


def _advance_credit(fee: PeriodicFee, period: FeePeriod, fractions: Mapping[str, Fraction], days: list[dt.date],
                   currency: str, billed: Sequence[FeeBilled]) -> FeePart | None:
    """In the month a tier's days in ``period`` end (before the period does): the in-advance fee
    as now due for the days held (``fee_part`` in the month it was billed, the end known) less
    what the earlier months' lines of it billed; a credit (below zero), or None."""
    lines = [b for b in billed if b.label == fee.name]
    billed_month = month_of(days[0])
    if not lines or billed_month not in period.months:
        return None
    due = fee_part(fee, period, fractions, billed_month, currency)
    if due is None:
        return None
    charged = sum((b.amount for b in lines), ZERO)
    credit = due.amount - charged
    if credit >= 0:
        return None
    detail = (f"{due.detail}; {plain(due.amount, grouped=True)} due for the days held to {days[-1]:%d %b %Y}, "
              f"{plain(charged, grouped=True)} billed: credit {plain(credit, grouped=True)}")
    return FeePart(exact_amount=credit, amount=credit, period_amount=due.amount, detail=detail)


def _line_total_problems(charges: Sequence[Charge], month: str) -> list[Problem]:
    """A business line whose month comes to more than an invoice carries."""
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for charge in charges:
        totals[(charge.business_line, charge.currency)].append(charge.amount)
    problems = []
    for (line, currency), amounts in sorted(totals.items()):
        total = exact_sum(amounts)
        if abs(total) >= MONTH_AMOUNT:
            problems.append(_beyond(f"the month's charges to {line} come to {total:,f} {currency}", month))
    return problems


def _beyond(what: str, month: str) -> Problem:
    return _problem(ProblemCode.OUT_OF_RANGE,
                    f"{what}, beyond the {plain(MONTH_AMOUNT, grouped=True)} an invoice carries (billing/core/limits.py)", month,
                    "find the usage rows with the largest quantities (`chargeback usage feeds`) and replace the feed")


def _order(key: _SegmentKey, services: dict[str, Service], segment_days) -> tuple:
    service = services.get(key.service)
    tier = service.tier(key.tier) if service else None
    first = min(segment_days.get(key) or {dt.date.max})
    return (key.business_line, key.service, first, tier.rank if tier else 99, key.tier, key.version)


def _subscription_ends(subscriptions: Sequence[Subscription], start: dt.date, end: dt.date) -> set[tuple[str, str, dt.date]]:
    """(business line, service, day) of each subscription ending in the month with none of the
    line to the service the day after (a tier change hands over; it does not end)."""
    by_line: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for sub in subscriptions:
        by_line[(sub.business_line, sub.service)].append(sub)
    found = set()
    for (line, service), subs in by_line.items():
        for sub in subs:
            if sub.effective_to is not None and start <= sub.effective_to <= end:
                after = sub.effective_to + dt.timedelta(days=1)
                if not any(other.in_force(after) for other in subs):
                    found.add((line, service, sub.effective_to))
    return found


def _cost_centers_by_line(ownerships: Sequence[Ownership], day: dt.date) -> dict[str, tuple[str, ...]]:
    lines: dict[str, list[str]] = defaultdict(list)
    for owner in ownerships:
        if owner.in_force(day):
            lines[owner.business_line].append(owner.cost_center)
    return {line: tuple(sorted(codes)) for line, codes in lines.items()}


def _split(amount: Decimal, breakdown: PriceBreakdown, used: dict, model: PricingModel, owned: tuple[str, ...], currency: str) -> tuple[CostCenterShare, ...]:
    """Split a charge over cost centres: by each one's share of the cost (pass-through) or of
    the quantity; what no cost centre carries (usage without one, a fee with no usage) goes to
    the business line's first cost centre by code."""
    primary = owned[0] if owned else ""
    weights: dict[str, Decimal] = defaultdict(lambda: ZERO)
    quantities: dict[str, Decimal] = defaultdict(lambda: ZERO)
    basis_total = ZERO
    with localcontext(EXACT):  # sums of 12-decimal quantities need more than 28 digits
        for center, (quantity, cost, *_rest) in used.items():
            code = center or primary
            basis = cost if model is PricingModel.PASS_THROUGH else quantity
            weights[code] += basis
            quantities[code] += quantity
            basis_total += basis
    if not weights or basis_total == 0:
        return (CostCenterShare(cost_center=primary, quantity=exact_sum(quantities.values()), amount=amount),)
    codes = sorted(weights)
    with localcontext() as ctx:
        ctx.prec = 60
        exact = [breakdown.amount * weights[c] / basis_total for c in codes]
    parts = apportion(amount, exact, currency, keys=codes)
    return tuple(CostCenterShare(cost_center=c, quantity=quantities[c], amount=p) for c, p in zip(codes, parts))


def _sla_index(sla: Iterable[SlaResult]) -> dict[tuple[str, str, str | None], dict[Metric, Decimal]]:
    index: dict[tuple[str, str, str | None], dict[Metric, Decimal]] = defaultdict(dict)
    for result in sla:
        index[(result.service, result.tier, result.business_line)][Metric(result.metric)] = result.achieved
    return index


def _credit(charge: Charge, service: Service, price, sla_by_key, line_no: int) -> Charge | None:
    achieved = dict(sla_by_key.get((charge.service, charge.tier, None), {}))
    achieved.update(sla_by_key.get((charge.service, charge.tier, charge.business_line), {}))
    tier = service.tier(charge.tier)
    if not achieved or tier is None or charge.amount <= 0:
        return None
    assessment = service_credit(price, tier.service_level, achieved)
    if assessment.credit_pct <= 0:
        return None
    with localcontext(EXACT):
        exact = -charge.exact_amount * assessment.credit_pct / 100
    amount = round_minor(exact, charge.currency)
    shares = ()
    if charge.cost_centers:
        parts = apportion(amount, [exact * s.amount / charge.amount for s in charge.cost_centers], charge.currency,
                          keys=[s.cost_center for s in charge.cost_centers])
        shares = tuple(CostCenterShare(cost_center=s.cost_center, quantity=ZERO, amount=p) for s, p in zip(charge.cost_centers, parts))
    metric = assessment.metric.value if assessment.metric else ""
    detail = (f"service credit {assessment.credit_pct}% of {charge.amount}: {metric.replace('_', ' ')} "
              f"target {assessment.target}, achieved {assessment.achieved}")
    return Charge(
        line_no=line_no, kind=ChargeKind.SLA_CREDIT, business_line=charge.business_line, service=charge.service, tier=charge.tier,
        tariff_version=charge.tariff_version, charging_mode=charge.charging_mode, segment_from=charge.segment_from,
        segment_to=charge.segment_to, days_in_force=charge.days_in_force, model=charge.model, quantity=ZERO, included=ZERO, billable=ZERO, cost=ZERO,
        exact_amount=exact, amount=amount, currency=charge.currency, detail=detail, flags=charge.flags,
        credit_of_line=charge.line_no, usage_rows=0, cost_centers=shares, credit_metric=assessment.metric,
        dimension=charge.dimension, dimension_value=charge.dimension_value,
        workings=(Working(kind=WorkingKind.CREDIT, amount=exact, quantity=charge.exact_amount, rate=-assessment.credit_pct / 100,
                          text=f"{plain(assessment.credit_pct)} % of the month's charge for this tier"),),
    )


def _problem(code: ProblemCode, message: str, month: str, hint: str) -> Problem:
    return Problem(code=code, message=message, source=SourceRef(file=f"month {month}"), hint=hint, severity=Severity.ERROR)
