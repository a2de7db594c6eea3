"""Finance's month pack (``chargeback month pack``): one document for the month-end meeting,
made of what the review, the recovery report, the quarantine and the service levels already
compute. Pure: records in, the pack's figures out; billing.jobs.pack reads them from the store.

Nothing is computed a second time here: totals, movers, unallocated, budget and recovery come
from the month review (billing.close.review) and the recovery report
(billing.recovery.over_under) as they are; this module only groups what they do not group:
the quarantined rows by source and reason, what sits with UNALLOCATED by service, the service
levels missed and the credits they gave.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billing.close.bridge import CompanyBridge
from billing.close.review import MonthReview
from billing.core.money import ZERO
from billing.core.records import Charge, ChargeKind, RejectedRow, SlaResult
from billing.rating.month import HeldUsage
from billing.recovery.over_under import RecoveryReport
from tariffs.model import Metric, Service

__all__ = ["RejectGroup", "ServiceAmount", "MissedLevel", "Credit", "MonthPack", "reject_groups",
           "by_service", "missed_levels", "credits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectGroup:
    """Quarantined usage rows of the month from one source for one reason."""

    source: str
    code: str
    rows: int
    example: str  # the first one: file:row:column message


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceAmount:
    service: str
    name: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class MissedLevel:
    """A measured service level below its tier's target."""

    service: str
    name: str
    tier: str
    metric: Metric
    target: Decimal
    achieved: Decimal
    business_line: str | None  # None: measured for every business line at the tier


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    """The service credit a business line received on a service and tier."""

    business_line: str
    service: str
    tier: str
    metric: str | None
    amount: Decimal  # negative: a credit


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthPack:
    """Everything the month pack shows. ``review``: the month review as `month review` prints
    it (totals, by service, movers, anomalies, unallocated, budget and recovery summaries);
    ``recovery``: the recovery report of the month (None without actual costs or rules, and
    ``recovery_note`` says why); ``bridge``: why the company's total changed, every business
    line's bridge added up by step (None when the month before was not rated); ``held``: usage
the month's run held, not priced, because a price by dimension does not list its value."""

    month: str
    status: str  # open | closed
    currency: str
    generated_at: dt.datetime
    review: MonthReview
    unallocated_code: str
    unallocated: tuple[ServiceAmount, ...]
    rejects: tuple[RejectGroup, ...]
    reject_rows: int
    missed: tuple[MissedLevel, ...]
    credits: tuple[Credit, ...]
    recovery: RecoveryReport | None = None
    recovery_note: str | None = None
    business_line_names: Mapping[str, str] = field(default_factory=dict)  # code → name
    service_names: Mapping[str, str] = field(default_factory=dict)
    bridge: CompanyBridge | None = None
    held: tuple[HeldUsage, ...] = ()  # usage a price by dimension held, not priced (unknown: quarantine)
    held_from: tuple[str, ...] = ()  # for each, the feeds, days and rows it came from

    @property
    def credit_total(self) -> Decimal:
        return sum((c.amount for c in self.credits), ZERO)


def reject_groups(rows: Iterable[RejectedRow]) -> tuple[RejectGroup, ...]:
    """Quarantined usage rows grouped by source and reason, the largest group first."""
    counts: Counter[tuple[str, str]] = Counter()
    first: dict[tuple[str, str], str] = {}
    for rejected in rows:
        key = (rejected.source or "", rejected.code)
        counts[key] += 1
        first.setdefault(key, f"{rejected.file}:{rejected.row}{':' + rejected.column if rejected.column else ''} "
                              f"{rejected.reason}")
    return tuple(RejectGroup(source=s, code=c, rows=n, example=first[(s, c)])
                 for (s, c), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def by_service(charges: Sequence[Charge], services: Mapping[str, Service], *, business_line: str) -> tuple[ServiceAmount, ...]:
    """What ``business_line`` was charged per service (chargeback and showback), the largest first."""
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for charge in charges:
        if charge.business_line == business_line:
            amounts[charge.service] += charge.amount
    return tuple(ServiceAmount(service=code, name=services[code].name if code in services else code, amount=amount)
                 for code, amount in sorted(amounts.items(), key=lambda kv: (-abs(kv[1]), kv[0])))


def missed_levels(results: Sequence[SlaResult], services: Mapping[str, Service]) -> tuple[MissedLevel, ...]:
    """Every measured service level below its tier's target (a tier without a target for the
    metric misses nothing), by service, tier and metric."""
    found = []
    for result in results:
        service = services.get(result.service)
        tier = service.tier(result.tier) if service else None
        metric = Metric(result.metric)
        target = tier.service_level.target(metric) if tier else None
        if target is None:
            continue
        met = result.achieved >= target if metric.higher_is_better else result.achieved <= target
        if not met:
            found.append(MissedLevel(service=result.service, name=service.name if service else result.service,
                                     tier=result.tier, metric=metric, target=target, achieved=result.achieved,
                                     business_line=result.business_line or None))
    return tuple(sorted(found, key=lambda m: (m.service, m.tier, list(Metric).index(m.metric), m.business_line or "")))


def credits(charges: Sequence[Charge]) -> tuple[Credit, ...]:
    """The month's service credits per business line, service and tier, the largest first."""
    amounts: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    metric: dict[tuple[str, str, str], str | None] = {}
    for charge in charges:
        if charge.kind is ChargeKind.SLA_CREDIT:
            key = (charge.business_line, charge.service, charge.tier)
            amounts[key] += charge.amount
            metric.setdefault(key, str(charge.credit_metric) if charge.credit_metric else None)
    return tuple(Credit(business_line=b, service=s, tier=t, metric=metric[(b, s, t)], amount=a)
                 for (b, s, t), a in sorted(amounts.items(), key=lambda kv: (kv[1], kv[0])))
