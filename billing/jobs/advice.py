"""Tier advice for a business line: its last 12 rated months priced at every tier.

Each month's usage priced at every tier (``billing.planning.advice.price_at_every_tier``: the month
rated once per tier rank, with that month's measured service levels, so service credits
follow each tier's own targets and measurements). A closed month is not rated again: its
figures were frozen at close (``tier_month`` in its snapshot). Nothing is written.
``billing.planning.advice.tier_options`` then compares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing.planning.advice import TierAdvice, tier_options
from billing.rating.tiers import TierMonth, price_at_every_tier
from billing.jobs.frozen import frozen_month, zero_months
from billing.core.periods import last_day, parse_month
from billing.core.problems import ChargebackError
from billing.core.records import ChargeKind
from billing.store import audit
from billing.store import budgets as budget_store
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import org as org_store
from billing.store.rating_inputs import month_inputs
from billing.store.snapshots import Section
from billing.organisation.subscriptions import subscription_at
from tariffs.model import Catalogue

ADVICE_MONTHS = 12


@dataclass(frozen=True, slots=True)
class AdviceResult:
    business_line: str
    months: tuple[str, ...]
    currency: str
    options: tuple[TierAdvice, ...]  # by service, then tier (best first)


def month_at_every_tier(session: Session, month: str, pairs: Iterable[tuple[str, str]], catalogue: Catalogue, *,
                        business_line: str | None = None) -> dict[tuple[str, str], tuple[TierMonth, ...]]:
    """``pairs`` (business line, service) of ``month`` priced at every tier: frozen figures for a
    closed month, else the month rated at each tier (``business_line``: read only its usage)."""
    pairs = sorted(set(pairs))
    frozen = frozen_month(session, month, sections=(Section.TIER_MONTH, Section.SLA))
    if frozen is not None and frozen.tier_months is not None:
        services = {s.code: s for s in catalogue.services}
        return {(line, service): frozen.tier_months.get((line, service)) or zero_months(services[service], month, frozen.sla or (), line)
                for line, service in pairs if service in services}
    inputs = month_inputs(session, month, catalogue=catalogue)
    return price_at_every_tier(inputs if business_line is None else inputs.of_business_line(business_line), pairs)


def _advice(session: Session, window: Sequence[str], catalogue: Catalogue, business_line: str | None,
            extra: dict[str, dict[tuple[str, str], tuple[TierMonth, ...]]] | None = None) -> dict[str, list[TierAdvice]]:
    """Tier options per business line (or for ``business_line`` only) over ``window``;
    ``extra``: figures of months already priced (month → pair → figures)."""
    if not window:
        return {}
    services = {s.code: s for s in catalogue.services}
    figures = [f for f in budget_store.rated_figures(session, window)
               if business_line is None or f.business_line == business_line]
    used = sorted({(f.business_line, f.service) for f in figures if f.service in services})
    if not used:
        return {}
    last_tier = {(f.business_line, f.service): f.tier for f in figures if f.kind == ChargeKind.USAGE}
    priced: dict[tuple[str, str], list[TierMonth]] = defaultdict(list)
    for m in window:
        known = (extra or {}).get(m)
        if known is None:
            month_figures = month_at_every_tier(session, m, used, catalogue, business_line=business_line)
        else:
            sla = charge_store.sla_results(session, m)
            month_figures = {(line, service): known.get((line, service)) or zero_months(services[service], m, sla, line)
                             for line, service in used}
        for pair in used:
            priced[pair] += month_figures.get(pair, ())
    currency = audit.settings(session).currency
    end = last_day(window[-1])
    subscriptions = catalogue_store.load_subscriptions(session)
    by_line: dict[str, list[TierAdvice]] = defaultdict(list)
    for line, service in used:
        subscription = subscription_at(subscriptions, line, service, end)
        current = subscription.tier if subscription else last_tier.get((line, service), services[service].default_tier)
        by_line[line] += tier_options(services[service], current, priced[(line, service)], currency)
    return by_line


def _window(session: Session, month: str | None, months: int) -> tuple[str, ...]:
    rated = [m for m in charge_store.rated_months(session) if month is None or m <= month]
    return tuple(rated[-months:])


def tier_options_for(session: Session, business_line: str, month: str | None = None, *,
                     months: int = ADVICE_MONTHS) -> list[TierAdvice]:
    """The tier options of every service ``business_line`` was charged for in the ``months``
    rated months up to ``month`` (default: the last rated month); an empty list when nothing
    is rated."""
    catalogue = catalogue_store.load_catalogue(session)
    return _advice(session, _window(session, month, months), catalogue, business_line).get(business_line, [])


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
                        currency=audit.settings(session).currency, options=tuple(options))


def tier_advice_by_line(session: Session, month: str, *, months: int = ADVICE_MONTHS, catalogue: Catalogue | None = None,
                        known: dict[tuple[str, str], tuple[TierMonth, ...]] | None = None,
                        business_line: str | None = None) -> dict[str, list[TierAdvice]]:
    """Tier options of every business line at once (or of ``business_line`` only), for the
    month's statements (the same figures ``tier_options_for`` gives one business line).
    ``known``: ``month`` already priced at every tier, so it is not priced again."""
    catalogue = catalogue or catalogue_store.load_catalogue(session)
    return _advice(session, _window(session, month, months), catalogue, business_line,
                   {month: known} if known is not None else None)
