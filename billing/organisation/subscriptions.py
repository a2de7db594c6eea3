"""The subscriptions file: which business line takes which service at which tier, and when.

Columns: business_line, service, tier, effective_from, effective_to (optional, inclusive).
A tier change is a new row from the day it takes effect; the previous row then ends the day
before (docs/pricing.md, "Mid-month tier or tariff changes").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from billing.core.problems import Problem, ProblemCode
from billing.core.records import Subscription
from billing.core.limits import CODE
from billing.files.fields import Row, date_field, text_field

COLUMNS = ("business_line", "service", "tier", "effective_from")
OPTIONAL = ("effective_to",)


def parse_subscriptions(rows: list[Row]) -> tuple[list[Subscription], list[Problem]]:
    found: list[Subscription] = []
    problems: list[Problem] = []
    for row in rows:
        line, p1 = text_field(row, "business_line", limit=CODE)
        service, p2 = text_field(row, "service", limit=CODE)
        tier, p3 = text_field(row, "tier", limit=CODE)
        start, p4 = date_field(row, "effective_from")
        end, p5 = date_field(row, "effective_to", required=False)
        row_problems = [p for p in (p1, p2, p3, p4, p5) if p]
        if start and end and end < start:
            row_problems.append(Problem(code=ProblemCode.INCONSISTENT, message=f"effective_to {end} is before effective_from {start}", source=row.ref("effective_to")))
        problems += row_problems
        if not row_problems:
            found.append(Subscription(business_line=line, service=service, tier=tier, effective_from=start, effective_to=end, source=row.ref()))
    return found, problems


def merge_subscriptions(existing: Iterable[Subscription], incoming: Iterable[Subscription]) -> tuple[list[Subscription], list[Problem]]:
    """Existing subscriptions updated by a file: a row with the same business line, service
    and start replaces the stored one; an open-ended subscription is closed the day before a
    later one starts. Overlaps that remain are problems."""
    by_key: dict[tuple[str, str, dt.date], Subscription] = {}
    for sub in existing:
        by_key[(sub.business_line, sub.service, sub.effective_from)] = sub
    seen: dict[tuple[str, str, dt.date], Subscription] = {}
    problems: list[Problem] = []
    for sub in incoming:
        key = (sub.business_line, sub.service, sub.effective_from)
        if key in seen:
            problems.append(Problem(code=ProblemCode.DUPLICATE, message=f"{sub.business_line} {sub.service} from {sub.effective_from} appears twice", source=sub.source))
            continue
        seen[key] = sub
        by_key[key] = sub
    grouped: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for sub in by_key.values():
        grouped[(sub.business_line, sub.service)].append(sub)
    merged: list[Subscription] = []
    for (line, service), subs in sorted(grouped.items()):
        subs.sort(key=lambda s: s.effective_from)
        for current, following in zip(subs, subs[1:] + [None]):
            if following is not None and (current.effective_to is None or current.effective_to >= following.effective_from):
                if current.effective_to is None:
                    current = replace(current, effective_to=following.effective_from - dt.timedelta(days=1))
                else:
                    problems.append(Problem(
                        code=ProblemCode.INCONSISTENT,
                        message=f"{line} {service}: the subscription {current.effective_from}..{current.effective_to} overlaps the one from {following.effective_from}",
                        source=following.source or current.source,
                        hint="end the earlier subscription the day before the later one starts",
                    ))
            merged.append(current)
    return merged, problems


def subscription_at(subscriptions: Iterable[Subscription], business_line: str, service: str, day: dt.date) -> Subscription | None:
    """The subscription of ``business_line`` to ``service`` in force on ``day``: the one rule for
    which tier is in force on a day, that rating (every usage day) and forecasting (every month,
    :func:`tier_of_month`) both follow. Of two that overlap (a store loaded before overlaps were
    refused) the one that started later holds; None when none is in force."""
    found = None
    for s in subscriptions:
        if s.business_line == business_line and s.service == service and s.in_force(day):
            if found is None or s.effective_from >= found.effective_from:
                found = s
    return found


def tiers_by_day(subscriptions: Iterable[Subscription], days: Sequence[dt.date]) -> dict[tuple[str, str, dt.date], str]:
    """(business line, service, day) → the tier in force that day (:func:`subscription_at`), for
    the days some subscription covers."""
    by_pair: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
    for s in subscriptions:
        by_pair[(s.business_line, s.service)].append(s)
    found: dict[tuple[str, str, dt.date], str] = {}
    for (line, service), subs in by_pair.items():
        if len(subs) == 1:  # most pairs: the one subscription holds the days it is in force
            only = subs[0]
            found.update(((line, service, day), only.tier) for day in days if only.in_force(day))
            continue
        for day in days:
            sub = subscription_at(subs, line, service, day)
            if sub is not None:
                found[(line, service, day)] = sub.tier
    return found


def tier_of_month(subscriptions: Iterable[Subscription], business_line: str, service: str,
                  days: Sequence[dt.date]) -> str | None:
    """The tier a month is forecast at: the tier in force (:func:`subscription_at`) on most of
    its ``days``, as rating charges most of them; of two on as many days, the later one. None
    when no subscription is in force on any day."""
    subs = [s for s in subscriptions if s.business_line == business_line and s.service == service]
    counted: dict[str, tuple[int, dt.date]] = {}
    for day in days:
        sub = subscription_at(subs, business_line, service, day)
        if sub is not None:
            count, _ = counted.get(sub.tier, (0, day))
            counted[sub.tier] = (count + 1, day)
    return max(counted, key=lambda tier: counted[tier]) if counted else None
