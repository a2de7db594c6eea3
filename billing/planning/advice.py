"""Tier advice: what a business line's recent usage of a service would have cost at each tier,
and the service each tier would have delivered.

Pure: the months already priced at every tier (``billing.rating.tiers.price_at_every_tier``) and the
service levels measured for each tier in, one option per tier out, each with a sentence a
business-line head can act on. The rules (docs/planning.md, "Tier advice"):

- A tier's amount is the sum over the months of its usage charges and service credits (lines
  as rated, each already rounded). The difference is set against the current tier's amount.
- A tier "missed a target" in a month when the level measured for that tier (the business
  line's own measurement, else the one for every business line) is worse than that tier's
  target; each metric of each month counts once. A tier with no measurement in any month is
  "not measured": nothing is claimed about its service.
- The sentence says the cost difference in % (whole percent) and amount, and what the tier
  would have done to missed targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO, amount_text
from billing.rating.tiers import TierMonth
from tariffs.model import Metric, Service

__all__ = ["TierAdvice", "tier_options", "missed_targets"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TierAdvice:
    """One tier of a service for a business line over the months advised on."""

    service: str
    service_name: str
    tier: str
    tier_name: str
    is_current: bool
    months: int
    amount: Decimal
    difference: Decimal  # amount - the current tier's amount
    difference_pct: Decimal | None  # difference / current amount × 100, exact; None when that is zero
    credits: Decimal  # service credits included in ``amount`` (zero or below)
    missed_targets: int  # (month, metric) pairs where this tier's measured level missed its target
    measured: bool  # any level was measured for this tier
    sentence: str


def missed_targets(service: Service, tier: str, achieved: Sequence[tuple[Metric, Decimal]]) -> int:
    """How many of ``tier``'s targets the measured levels missed (metrics without a target or a
    measurement do not count)."""
    level = service.tier(tier).service_level
    missed = 0
    for metric, value in achieved:
        target = level.target(metric)
        if target is None:
            continue
        if (value < target) if metric.higher_is_better else (value > target):
            missed += 1
    return missed


def tier_options(service: Service, current_tier: str, months: Sequence[TierMonth], currency: str) -> tuple[TierAdvice, ...]:
    """One option per tier of ``service`` (best tier first) from ``months``, the months priced
    at each tier; the current tier's option has ``is_current`` and no difference."""
    by_tier: dict[str, list[TierMonth]] = {}
    for month in months:
        by_tier.setdefault(month.tier, []).append(month)
    figures = {}
    for tier in service.tiers:
        priced = by_tier.get(tier.code, [])
        figures[tier.code] = (
            sum((m.amount for m in priced), ZERO),
            sum((m.credit for m in priced), ZERO),
            sum(missed_targets(service, tier.code, m.achieved) for m in priced),
            any(m.achieved for m in priced),
            len({m.month for m in priced}),
        )
    current_amount, _credits, current_missed, current_measured, _n = figures.get(current_tier, (ZERO, ZERO, 0, False, 0))
    options = []
    for tier in service.tiers:
        if tier.code not in by_tier:
            continue
        amount, credits, missed, measured, count = figures[tier.code]
        difference = amount - current_amount
        pct = difference / current_amount * 100 if current_amount else None
        options.append(TierAdvice(
            service=service.code, service_name=service.name, tier=tier.code, tier_name=tier.name,
            is_current=tier.code == current_tier, months=count, amount=amount, difference=difference, difference_pct=pct,
            credits=credits, missed_targets=missed, measured=measured,
            sentence=_sentence(tier.code, amount, difference, pct, credits, missed, measured, count,
                               tier.code == current_tier, current_missed, current_measured, current_tier, currency),
        ))
    return tuple(options)


def _targets(count: int) -> str:
    return f"{count} missed target{'s' if count != 1 else ''}"


def _sentence(tier: str, amount: Decimal, difference: Decimal, pct: Decimal | None, credits: Decimal,
              missed: int, measured: bool, months: int, is_current: bool, current_missed: int, current_measured: bool,
              current: str, currency: str) -> str:
    span = f"the last {months} month{'s' if months != 1 else ''}"
    if is_current:
        text = f"{tier} (your tier) cost {amount_text(amount, currency, code=True)} over {span}"
        if not measured:
            return text + "; no service levels were measured"
        text += f" with {_targets(missed)}" if missed else " and met every target"
        return text + (f" (service credits {amount_text(credits, currency, code=True)})" if credits else "")
    share = f"{abs(pct):.0f} %" if pct is not None else None
    change = amount_text(difference, currency, code=True, sign=True)
    if difference < 0:
        cost = f"{tier} would have cost {share + ' less' if share else 'less'} ({change})"
    elif difference > 0:
        cost = f"{tier} would have cost {share + ' more' if share else 'more'} ({change})"
    else:
        cost = f"{tier} would have cost the same"
    if not measured:
        return cost + "; its service levels were not measured"
    if difference > 0 and current_measured and missed < current_missed:
        avoided = current_missed - missed
        return (f"{tier} would have avoided {avoided} missed target{'s' if avoided != 1 else ''} "
                f"for {'+' + share if share else 'more'} ({change})")
    if missed == 0:
        return cost + " and met every target"
    if current_measured and missed > current_missed:
        return cost + f" but with {_targets(missed)} ({missed - current_missed} more than {current})"
    return cost + f" with {_targets(missed)}"
