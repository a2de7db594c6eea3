"""What finance looks at before closing a month (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.money import ZERO
from billing.periods import first_day, last_day
from billing.records import Charge, Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class Movement:
    key: str  # business line or service code
    current: Decimal
    previous: Decimal

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def change_pct(self) -> Decimal | None:
        if self.previous == 0:
            return None
        return (self.change / abs(self.previous) * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    month: str
    previous_month: str
    total: Decimal
    previous_total: Decimal
    showback_total: Decimal
    currency: str
    by_business_line: tuple[Movement, ...]
    by_service: tuple[Movement, ...]
    largest_movers: tuple[Movement, ...]
    anomalies: tuple[tuple[str, Movement], ...]  # ("business line" | "service", movement)
    unallocated: Decimal
    flagged: tuple[Charge, ...]
    idle_subscriptions: tuple[Subscription, ...]
    sla_credits: Decimal


def review_month(
    *,
    month: str,
    previous_month: str,
    charges: Sequence[Charge],
    previous_charges: Sequence[Charge],
    subscriptions: Sequence[Subscription],
    anomaly_pct: Decimal,
    unallocated_code: str,
    movers: int = 5,
) -> Review:
    billed = [c for c in charges if c.charging_mode == "chargeback"]
    before = [c for c in previous_charges if c.charging_mode == "chargeback"]
    by_line = _movements(billed, before, lambda c: c.business_line)
    by_service = _movements(billed, before, lambda c: c.service)
    largest = tuple(sorted(by_line, key=lambda m: (-abs(m.change), m.key))[:movers])
    anomalies = tuple(
        (kind, m)
        for kind, group in (("business line", by_line), ("service", by_service))
        for m in group
        if (m.change_pct is not None and abs(m.change_pct) > anomaly_pct) or (m.previous == 0 and m.current != 0 and before)
    )
    used = {(c.business_line, c.service) for c in charges if c.kind == "usage" and c.usage_rows}
    start, end = first_day(month), last_day(month)
    idle = tuple(
        s for s in subscriptions
        if s.effective_from <= end and (s.effective_to is None or s.effective_to >= start)
        and (s.business_line, s.service) not in used
    )
    currency = charges[0].currency if charges else ""
    return Review(
        month=month, previous_month=previous_month,
        total=sum((c.amount for c in billed), ZERO), previous_total=sum((c.amount for c in before), ZERO),
        showback_total=sum((c.amount for c in charges if c.charging_mode == "showback"), ZERO),
        currency=currency, by_business_line=by_line, by_service=by_service, largest_movers=largest, anomalies=anomalies,
        unallocated=sum((c.amount for c in charges if c.business_line == unallocated_code), ZERO),
        flagged=tuple(c for c in charges if c.flags), idle_subscriptions=idle,
        sla_credits=sum((c.amount for c in charges if c.kind == "sla_credit"), ZERO),
    )


def _movements(current: Sequence[Charge], previous: Sequence[Charge], key) -> tuple[Movement, ...]:
    now: dict[str, Decimal] = defaultdict(lambda: ZERO)
    then: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for c in current:
        now[key(c)] += c.amount
    for c in previous:
        then[key(c)] += c.amount
    return tuple(Movement(key=k, current=now[k], previous=then[k]) for k in sorted(set(now) | set(then)))
