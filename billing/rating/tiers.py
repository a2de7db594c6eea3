"""A month priced at every tier: what a business line's usage of a service would have cost at
each tier of the service (pure). Statement tier quotes, tier options and tier advice read it.

The month is rated once per tier rank with every (business line, service) pair asked for at
that rank's tier (``rate_month(..., tier_override=...)``: the override prices the pair's usage
at that tier on every day, docs/pricing.md, "Which tier prices a usage"); pairs do not affect
one another. Each figure is the pair's charges at that tier summed (usage lines and service
credits, each already rounded), with the service levels measured for that tier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from billing.core.money import ZERO
from billing.core.records import ChargeKind, Ownership, SlaResult, Subscription
from billing.rating.agreements import YearToDate
from billing.rating.fees import FeeBilled
from billing.rating.month import rate_month
from tariffs.model import Catalogue, Metric

__all__ = ["RatingInputs", "TierMonth", "price_at_every_tier", "measured_levels", "levels_by_line"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingInputs:
    """Everything ``rate_month`` reads for one month (what the store assembles in one place,
    ``billing.store.rating_inputs``)."""

    month: str
    catalogue: Catalogue
    subscriptions: tuple[Subscription, ...]
    ownerships: tuple[Ownership, ...]
    usage: pl.DataFrame
    sla: tuple[SlaResult, ...]
    fiscal_year_start: int = 1  # the month number the fiscal year starts in (periodic fees' periods)
    year_to_date: tuple[YearToDate, ...] = ()  # commitments trued-up this month: the year's earlier charges
    business_lines: frozenset[str] | None = None  # the organisation's codes, when agreements name some
    fees_billed: tuple[FeeBilled, ...] = ()  # fee lines of the year's earlier months, for tiers ending this month

    def year_to_date_by_pair(self) -> dict[tuple[str, str], YearToDate]:
        return {(y.business_line, y.service): y for y in self.year_to_date}

    def of_business_line(self, business_line: str) -> RatingInputs:
        """Only ``business_line``'s subscriptions, cost centres and usage (service levels for
        every business line stay: they apply to it too)."""
        return RatingInputs(
            month=self.month, catalogue=self.catalogue,
            subscriptions=tuple(s for s in self.subscriptions if s.business_line == business_line),
            ownerships=tuple(o for o in self.ownerships if o.business_line == business_line),
            usage=self.usage.filter(pl.col("business_line") == business_line), sla=self.sla,
            fiscal_year_start=self.fiscal_year_start,
            year_to_date=tuple(y for y in self.year_to_date if y.business_line == business_line),
            business_lines=self.business_lines,
            fees_billed=tuple(f for f in self.fees_billed if f.business_line == business_line),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TierMonth:
    """A business line's usage of a service in one month, priced at ``tier``."""

    month: str
    tier: str
    amount: Decimal  # usage charges plus service credits, as rated (rounded lines summed)
    credit: Decimal  # the service credits in ``amount`` (zero or below)
    achieved: tuple[tuple[Metric, Decimal], ...] = ()  # measured for this tier in this month
    charged: bool = True  # any charge at all at this tier (else nothing to bill, not even 0.00)


def measured_levels(sla: Iterable[SlaResult], business_line: str) -> dict[tuple[str, str], dict[Metric, Decimal]]:
    """Measured levels per (service, tier) for ``business_line``: its own measurements over the
    all-lines ones."""
    return levels_by_line(sla, [business_line])[business_line]


def levels_by_line(sla: Iterable[SlaResult], lines: Iterable[str]) -> dict[str, dict[tuple[str, str], dict[Metric, Decimal]]]:
    """:func:`measured_levels` of each of ``lines``, reading ``sla`` once."""
    general: dict[tuple[str, str], dict[Metric, Decimal]] = defaultdict(dict)
    own: dict[str, list[SlaResult]] = defaultdict(list)
    for result in sla:
        if result.business_line is None:
            general[(result.service, result.tier)].setdefault(Metric(result.metric), result.achieved)
        else:
            own[result.business_line].append(result)
    found = {}
    for line in lines:
        levels: dict[tuple[str, str], dict[Metric, Decimal]] = defaultdict(dict, {k: dict(v) for k, v in general.items()})
        for result in own.get(line, ()):
            levels[(result.service, result.tier)][Metric(result.metric)] = result.achieved
        found[line] = levels
    return found


def price_at_every_tier(inputs: RatingInputs, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[TierMonth, ...]]:
    """The month of each (business line, service) in ``pairs`` priced at every tier of the
    service, best tier first, each figure with the service levels measured for its tier."""
    services = {s.code: s for s in inputs.catalogue.services}
    pairs = sorted({p for p in pairs if p[1] in services})
    ranks = max((len(services[service].tiers) for _line, service in pairs), default=0)
    levels = levels_by_line(inputs.sla, {line for line, _service in pairs})
    priced: dict[tuple[str, str], list[TierMonth]] = defaultdict(list)
    for rank in range(ranks):
        override = {(line, s): services[s].tiers[rank].code for line, s in pairs if rank < len(services[s].tiers)}
        amounts: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        credits: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        rated = rate_month(month=inputs.month, catalogue=inputs.catalogue, subscriptions=inputs.subscriptions,
                           ownerships=inputs.ownerships, usage=inputs.usage, sla=inputs.sla, tier_override=override,
                           fiscal_year_start=inputs.fiscal_year_start, year_to_date=inputs.year_to_date_by_pair(),
                           business_lines=inputs.business_lines, fees_billed=inputs.fees_billed)
        for charge in rated.charges:
            key = (charge.business_line, charge.service)
            amounts[key] += charge.amount  # a key in amounts: charged at this rank
            if charge.kind is ChargeKind.SLA_CREDIT:
                credits[key] += charge.amount
        for (line, service), tier in override.items():
            achieved = levels[line].get((service, tier), {})
            priced[(line, service)].append(TierMonth(
                month=inputs.month, tier=tier, amount=amounts.get((line, service), ZERO), credit=credits[(line, service)],
                achieved=tuple(sorted(achieved.items())), charged=(line, service) in amounts))
    return {pair: tuple(figures) for pair, figures in priced.items()}
