"""What finance looks at before closing a month (pure)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO, plain
from billing.core.periods import add_months, first_day, last_day
from billing.core.records import Charge, ChargeKind, RatingRun, Subscription
from billing.planning.variance import BudgetSummary
from billing.rating.month import HeldUsage
from billing.recovery.over_under import RecoverySummary
from tariffs.model import ChargingMode


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


ANOMALY_SCORE = Decimal("3.5")
"""How far (in robust standard deviations) a month's change must sit from what the line's own
history expects to be an anomaly: Iglewicz and Hoaglin's cut-off for the modified z-score."""
HISTORY_CHANGES = 12
"""The past month-on-month changes a line or service is judged against (its last year)."""
FEWEST_CHANGES = 4
"""Fewer past changes than this is a short history: the change is judged by ``anomaly_pct``."""
MAD_SCALE = Decimal("1.4826")
"""The median absolute deviation times this estimates a standard deviation (normal data)."""
LEAST_SPREAD_PCT = Decimal(1)
"""The spread a history is given at least, in % of its usual month: a line billed the same
every month is not an anomaly for the first cent it moves."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Anomaly:
    """A business line or service whose month moved more than its own history expects.

    ``expected`` is the change its history expects (the median of its past changes, or the
    change of the same month last year, whichever is nearer this month's); ``unexpected`` the month's change
    less that, in money (what the list is ranked by); ``score`` that over the history's robust
    spread (None when judged by ``anomaly_pct`` for a short history, or new). ``basis`` says in
    words what it was judged against."""

    kind: str  # business line | service
    movement: Movement
    expected: Decimal
    unexpected: Decimal
    score: Decimal | None
    basis: str

    @property
    def key(self) -> str:
        return self.movement.key


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
    anomalies: tuple[Anomaly, ...]  # largest unexpected change first (find_anomalies)
    anomaly_floor: Decimal = ZERO  # the least unexpected change listed, in money
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
    history: Mapping[str, Mapping[tuple[str, str], Decimal]] | None = None,
    anomaly_floor_pct: Decimal = ZERO,
) -> Review:
    """``history``: earlier months' chargeback totals, month → ("business line" | "service",
    code) → amount (see :func:`find_anomalies`); ``anomaly_floor_pct``: the least unexpected
    change an anomaly has, in % of the month's total."""
    billed = [c for c in charges if c.charging_mode is ChargingMode.CHARGEBACK]
    before = [c for c in previous_charges if c.charging_mode is ChargingMode.CHARGEBACK]
    by_line = _movements(billed, before, lambda c: c.business_line)
    by_service = _movements(billed, before, lambda c: c.service)
    largest = tuple(sorted(by_line, key=lambda m: (-abs(m.change), m.key))[:movers])
    total = sum((c.amount for c in billed), ZERO)
    floor = abs(total) * anomaly_floor_pct / 100
    anomalies = find_anomalies(month=month, movements={"business line": by_line, "service": by_service},
                               history=history or {}, anomaly_pct=anomaly_pct, floor=floor, compared=bool(before))
    used = {(c.business_line, c.service) for c in charges if c.kind is ChargeKind.USAGE and c.usage_rows}
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
        showback_total=sum((c.amount for c in charges if c.charging_mode is ChargingMode.SHOWBACK), ZERO),
        currency=currency, by_business_line=by_line, by_service=by_service, largest_movers=largest, anomalies=anomalies,
        anomaly_floor=floor,
        unallocated=sum((c.amount for c in charges if c.business_line == unallocated_code), ZERO),
        flagged=tuple(c for c in charges if c.flags), idle_subscriptions=idle,
        sla_credits=sum((c.amount for c in charges if c.kind is ChargeKind.SLA_CREDIT), ZERO),
    )


def find_anomalies(*, month: str, movements: Mapping[str, Sequence[Movement]],
                   history: Mapping[str, Mapping[tuple[str, str], Decimal]], anomaly_pct: Decimal,
                   floor: Decimal, compared: bool = True) -> tuple[Anomaly, ...]:
    """The month's anomalies, largest unexpected change first (docs/month-end.md, "Anomalies").

    Each business line and service is judged against its own past: its month-on-month changes
    over the last ``HISTORY_CHANGES`` months (from ``history``, month → (kind, code) → total;
    a month it has no total in counts as 0 once it has appeared). Their median is the usual
    change; the change of the same month last year, when the history has it, the season's; their spread is ``MAD_SCALE`` × their median absolute deviation
    from that median, at least ``LEAST_SPREAD_PCT`` % of its usual (median) month. The month is
    an anomaly when its change sits ``ANOMALY_SCORE`` spreads or more from what was expected,
    and the difference is at least ``floor`` in money. With fewer than ``FEWEST_CHANGES`` past
    changes the history is too short: a move of more than ``anomaly_pct`` % of last month (or
    from nothing, when there was a last month to compare with) is the test, with the same
    floor."""
    found: list[Anomaly] = []
    months = [add_months(month, -step) for step in range(HISTORY_CHANGES + 13)]  # this month back 2 years
    for kind, group in movements.items():
        for movement in group:
            series = {m: history.get(m, {}).get((kind, movement.key), ZERO) for m in months[2:]}
            series[months[1]], series[months[0]] = movement.previous, movement.current
            judged = _judge(kind, movement, series, months, anomaly_pct, floor, compared)
            if judged is not None:
                found.append(judged)
    return tuple(sorted(found, key=lambda a: (-abs(a.unexpected), a.kind, a.key)))


def _judge(kind: str, movement: Movement, series: Mapping[str, Decimal], months: Sequence[str],
           anomaly_pct: Decimal, floor: Decimal, compared: bool) -> Anomaly | None:
    """``months`` runs from this month back; ``series`` the totals of each."""
    seen = [m for m in months if series[m] != 0]
    first = min(seen) if seen else months[0]
    # the change into each earlier month from the one before, from the first month it was billed
    changes = {months[i]: series[months[i]] - series[months[i + 1]]
               for i in range(1, len(months) - 1) if months[i + 1] >= first}
    change = movement.change
    past = [changes[m] for m in months[1:HISTORY_CHANGES + 1] if m in changes]
    if len(past) < FEWEST_CHANGES:
        pct = movement.change_pct
        if movement.previous == 0:
            if not (compared and movement.current != 0 and abs(change) >= floor):
                return None
            return Anomaly(kind=kind, movement=movement, expected=ZERO, unexpected=change, score=None, basis="new")
        if pct is None or abs(pct) <= anomaly_pct or abs(change) < floor:
            return None
        return Anomaly(kind=kind, movement=movement, expected=ZERO, unexpected=change, score=None,
                       basis=f"short history: moved more than {anomaly_pct}%")
    centre = _median(past)
    usual = _median([abs(series[m]) for m in months[1:HISTORY_CHANGES + 1] if m >= first])
    spread = max(MAD_SCALE * _median([abs(c - centre) for c in past]), usual * LEAST_SPREAD_PCT / 100)
    if spread == 0:
        return None
    # what the history expects: its usual change, and the season's (the same month's change last
    # year); the month is judged by the one it is closer to, so a seasonal swing is no anomaly
    # and neither is a usual month after an unusual one last year
    last_year = months[12]
    expectations = [(centre, f"its last {len(past)} months' changes")]
    if last_year in changes:
        expectations.append((changes[last_year], f"the same month last year ({last_year})"))
    expected, basis = min(expectations, key=lambda e: abs(change - e[0]))
    unexpected = change - expected
    score = unexpected / spread
    if abs(score) < ANOMALY_SCORE or abs(unexpected) < floor:
        return None
    return Anomaly(kind=kind, movement=movement, expected=expected, unexpected=unexpected,
                   score=score.quantize(Decimal("0.1")), basis=basis)


def _median(values: Sequence[Decimal]) -> Decimal:
    """The median (the mean of the two middle values of an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _movements(current: Sequence[Charge], previous: Sequence[Charge], key) -> tuple[Movement, ...]:
    now: dict[str, Decimal] = defaultdict(lambda: ZERO)
    then: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for c in current:
        now[key(c)] += c.amount
    for c in previous:
        then[key(c)] += c.amount
    return tuple(Movement(key=k, current=now[k], previous=then[k]) for k in sorted(set(now) | set(then)))


# --- what must be confirmed before a month is closed ------------------------------------------

NEIGHBOUR_MONTHS = 3
"""Months on each side of the month that its usage is compared with."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseWarning:
    """Something about a month that a close must confirm: ``code`` is stable, ``message`` says it."""

    code: str  # no-usage | no-usage-from-source | low-usage | future-month | month-not-ended | earlier-open | held-usage
    message: str
    source: str | None = None


def held_warnings(held: Sequence[tuple[HeldUsage, str]]) -> tuple[CloseWarning, ...]:
    """One warning per usage the month's run held (a price by dimension that quarantines a
    value it does not list), with where it came from and what to do: closing would leave it
    uncharged."""
    found = []
    for usage, came_from in held:
        what = f"{usage.dimension} {usage.value!r}" if usage.value else f"no {usage.dimension}"
        found.append(CloseWarning(
            code="held-usage", source=usage.service,
            message=(f"{usage.rows:,} usage row(s) of {usage.business_line} {usage.service} {usage.tier} with {what} "
                     f"(quantity {plain(usage.quantity)}) are held, not priced; from {came_from}: {usage.hint}")))
    return tuple(found)


def usage_warnings(
    *, month: str, usage_rows: Mapping[tuple[str, str], int], low_usage_pct: Decimal,
    neighbours: int = NEIGHBOUR_MONTHS,
) -> tuple[CloseWarning, ...]:
    """Warnings about how much usage ``month`` has, per source, against the months around it.

    ``usage_rows`` holds the usage rows stored per (source, month). A month with no usage at
    all is always a warning (only monthly fees and minimums would be invoiced). For each
    source, the months within ``neighbours`` of ``month`` (before and after) in which it sent
    usage are its reference, and their median row count the usual volume: no rows from a
    source that has a reference is a warning, and so is fewer than ``low_usage_pct`` % of its
    usual volume. A source without a reference (new, or silent for longer) gives no warning.
    """
    found: list[CloseWarning] = []
    if not any(count for (_, m), count in usage_rows.items() if m == month):
        found.append(CloseWarning(code="no-usage", message=(
            f"{month} has no usage at all: closing it would invoice only monthly fees and minimum charges")))
    around = {add_months(month, step) for step in range(-neighbours, neighbours + 1) if step}
    for source in sorted({s for s, _ in usage_rows}):
        reference = sorted((m, c) for (s, m), c in usage_rows.items() if s == source and m in around and c > 0)
        if not reference:
            continue
        usual = median(c for _, c in reference)
        current = usage_rows.get((source, month), 0)
        months = ", ".join(m for m, _ in reference)
        if current == 0:
            found.append(CloseWarning(code="no-usage-from-source", source=source, message=(
                f"{month} has no usage from source {source}, which sent a median of {usual:,} rows a month "
                f"in the months around it ({months})")))
        elif current * 100 < low_usage_pct * usual:
            share = (Decimal(current) * 100 / usual).quantize(Decimal(1))
            found.append(CloseWarning(code="low-usage", source=source, message=(
                f"{month} has far less usage from source {source} than the months around it: {current:,} rows "
                f"against a median of {usual:,} ({share} %, below the low_usage_pct setting of {low_usage_pct} %; "
                f"months {months})")))
    return tuple(found)


def calendar_warnings(*, month: str, today: dt.date, open_before: Sequence[str]) -> tuple[CloseWarning, ...]:
    """Warnings about when ``month`` is closed: before it has ended, or while months before it
    (``open_before``: every earlier month since the store's first that is not closed) are open."""
    found: list[CloseWarning] = []
    if first_day(month) > today:
        found.append(CloseWarning(code="future-month", message=f"{month} is in the future (today is {today})"))
    elif last_day(month) >= today:
        found.append(CloseWarning(code="month-not-ended", message=(
            f"{month} has not ended yet (it ends {last_day(month)}): usage still to come would miss its invoices")))
    if open_before:
        found.append(CloseWarning(code="earlier-open", message=(
            f"{len(open_before)} earlier month(s) are still open ({month_ranges(open_before)}): months are "
            f"normally closed in order")))
    return tuple(found)


def month_ranges(months: Sequence[str]) -> str:
    """``2026-12 to 2027-04, 2027-07`` for a sorted list of months."""
    runs: list[list[str]] = []
    for m in sorted(months):
        if runs and add_months(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]} to {r[-1]}" for r in runs)


def median(values) -> int:
    """The median of whole numbers, rounded down (the lower middle of an even count)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


# --- the review of a stored month, as the shells show it ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthReview:
    """What finance reads before closing a month: its figures (``review``), the run they come
    from, whether the inputs changed since, what a close must confirm, the quarantined rows
    still open, the anomaly threshold, and the budget and recovery summaries (None when the
    month has no budget or no actual costs). ``listed`` caps the flagged charges and idle
    subscriptions a printout lists (None: every one)."""

    month: str
    status: str  # open | closed
    run: RatingRun
    review: Review
    stale: bool  # usage, tariffs, subscriptions or service levels changed since the run
    warnings: tuple[CloseWarning, ...]  # empty once the month is closed
    anomaly_pct: Decimal  # the setting
    open_rejects: int
    listed: int | None
    budget: BudgetSummary | None = None
    recovery: RecoverySummary | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthStatus:
    """A month with usage, charges or a period: open or closed, its last run and who closed it."""

    month: str
    status: str  # open | closed
    rated_at: dt.datetime | None
    total: Decimal | None  # the last run's total
    closed_by: str  # empty unless closed
    held_rows: int = 0  # usage rows the last run held (a price by dimension's quarantine)
    currency: str = ""  # the last run's charges' currency (its total's minor units)
