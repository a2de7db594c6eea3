"""Tier advice for a business line: its last 12 rated months re-priced at every tier.

Each month is rated again from the stored usage with ``rate_month(..., tier_override=...)``,
once per tier rank (every service of the business line at its best tier, then its second,
...), with that month's measured service levels, so service credits follow each tier's own
targets and measurements. Nothing is written. ``billing.advice.tier_options`` then compares.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from sqlalchemy.orm import Session

from billing.advice import TierAdvice, TierMonth, tier_options
from billing.money import ZERO
from billing.periods import last_day, parse_month
from billing.problems import ChargebackError
from billing.rating import rate_month
from billing.store import audit
from billing.store import budgets as budget_store
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import org as org_store
from billing.store import usage as usage_store
from billing.subscriptions import subscription_at
from tariffs.model import Metric

ADVICE_MONTHS = 12


@dataclass(frozen=True, slots=True)
class AdviceResult:
    business_line: str
    months: tuple[str, ...]
    currency: str
    options: tuple[TierAdvice, ...]  # by service, then tier (best first)


def tier_options_for(session: Session, business_line: str, month: str | None = None, *,
                     months: int = ADVICE_MONTHS) -> list[TierAdvice]:
    """The tier options of every service ``business_line`` was charged for in the ``months``
    rated months up to ``month`` (default: the last rated month). For statements: call it
    with the statement's month; an empty list when nothing is rated."""
    rated = [m for m in charge_store.rated_months(session) if month is None or m <= month]
    window = tuple(rated[-months:])
    if not window:
        return []
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services}
    figures = [f for f in budget_store.rated_figures(session, window) if f.business_line == business_line]
    used = sorted({f.service for f in figures if f.service in services})
    if not used:
        return []
    last_tier = {f.service: f.tier for f in figures if f.kind == "usage"}
    subscriptions = [s for s in catalogue_store.load_subscriptions(session) if s.business_line == business_line]
    ownerships = [o for o in org_store.ownerships(session) if o.business_line == business_line]
    priced: dict[str, list[TierMonth]] = defaultdict(list)
    ranks = max(len(services[s].tiers) for s in used)
    for m in window:
        usage = usage_store.month_usage(session, m).filter(pl.col("business_line") == business_line)
        sla = charge_store.sla_results(session, m)
        achieved = _achieved(sla, business_line)
        for rank in range(ranks):
            override = {(business_line, s): services[s].tiers[rank].code for s in used if rank < len(services[s].tiers)}
            rated_month = rate_month(month=m, catalogue=catalogue, subscriptions=subscriptions, ownerships=ownerships,
                                     usage=usage, sla=sla, tier_override=override)
            amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
            credits: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for charge in rated_month.charges:
                if charge.business_line != business_line:
                    continue
                amounts[charge.service] += charge.amount
                if charge.kind == "sla_credit":
                    credits[charge.service] += charge.amount
            for (_line, service), tier in override.items():
                priced[service].append(TierMonth(month=m, tier=tier, amount=amounts[service], credit=credits[service],
                                                 achieved=tuple(sorted(achieved.get((service, tier), {}).items()))))
    currency = audit.get_setting(session, "currency")
    end = last_day(window[-1])
    options: list[TierAdvice] = []
    for service in used:
        subscription = subscription_at(subscriptions, business_line, service, end)
        current = subscription.tier if subscription else last_tier.get(service, services[service].default_tier)
        options += tier_options(services[service], current, priced[service], currency)
    return options


def _achieved(sla, business_line: str) -> dict[tuple[str, str], dict[Metric, Decimal]]:
    """Measured levels per (service, tier): the business line's own over the all-lines ones."""
    levels: dict[tuple[str, str], dict[Metric, Decimal]] = defaultdict(dict)
    for result in sla:
        if result.business_line is None:
            levels[(result.service, result.tier)].setdefault(Metric(result.metric), result.achieved)
    for result in sla:
        if result.business_line == business_line:
            levels[(result.service, result.tier)][Metric(result.metric)] = result.achieved
    return levels


def advise(session: Session, business_line: str, month: str | None = None) -> AdviceResult:
    """``chargeback advise``: tier options with their sentences, for one business line."""
    if business_line not in org_store.business_line_ids(session):
        raise ChargebackError(f"business line {business_line!r} does not exist (see `chargeback org list`)")
    month = parse_month(month) if month else None
    rated = [m for m in charge_store.rated_months(session) if month is None or m <= month]
    if not rated:
        raise ChargebackError("nothing has been rated yet" + (f" up to {month}" if month else "")
                              + ": advice re-prices rated months (`chargeback month run YYYY-MM`)")
    options = tier_options_for(session, business_line, month)
    return AdviceResult(business_line=business_line, months=tuple(rated[-ADVICE_MONTHS:]),
                        currency=audit.get_setting(session, "currency"), options=tuple(options))


def tier_advice_by_line(session: Session, month: str, *, months: int = ADVICE_MONTHS) -> dict[str, list[TierAdvice]]:
    """Tier options of every business line at once, for the month's statements: each of the
    last ``months`` rated months is read once and rated once per tier rank for every business
    line (the same figures ``tier_options_for`` gives one business line)."""
    rated = [m for m in charge_store.rated_months(session) if m <= month]
    window = tuple(rated[-months:])
    if not window:
        return {}
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services}
    figures = budget_store.rated_figures(session, window)
    used = sorted({(f.business_line, f.service) for f in figures if f.service in services})
    if not used:
        return {}
    last_tier = {(f.business_line, f.service): f.tier for f in figures if f.kind == "usage"}
    subscriptions = catalogue_store.load_subscriptions(session)
    ownerships = org_store.ownerships(session)
    ranks = max(len(services[s].tiers) for _, s in used)
    priced: dict[tuple[str, str], list[TierMonth]] = defaultdict(list)
    for m in window:
        usage = usage_store.month_usage(session, m)
        sla = charge_store.sla_results(session, m)
        achieved_by_line = {line: _achieved(sla, line) for line in {line for line, _ in used}}
        for rank in range(ranks):
            override = {(line, s): services[s].tiers[rank].code for line, s in used if rank < len(services[s].tiers)}
            amounts: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
            credits: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
            for charge in rate_month(month=m, catalogue=catalogue, subscriptions=subscriptions, ownerships=ownerships,
                                     usage=usage, sla=sla, tier_override=override).charges:
                key = (charge.business_line, charge.service)
                amounts[key] += charge.amount
                if charge.kind == "sla_credit":
                    credits[key] += charge.amount
            for (line, service), tier in override.items():
                achieved = achieved_by_line[line].get((service, tier), {})
                priced[(line, service)].append(TierMonth(month=m, tier=tier, amount=amounts[(line, service)],
                                                         credit=credits[(line, service)], achieved=tuple(sorted(achieved.items()))))
    currency = audit.get_setting(session, "currency")
    end = last_day(window[-1])
    by_line: dict[str, list[TierAdvice]] = defaultdict(list)
    for line, service in used:
        subscription = subscription_at(subscriptions, line, service, end)
        current = subscription.tier if subscription else last_tier.get((line, service), services[service].default_tier)
        by_line[line] += tier_options(services[service], current, priced[(line, service)], currency)
    return by_line
