"""The month review and the list of months, read from the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from billing.close.review import (
    HISTORY_CHANGES,
    CloseWarning,
    MonthReview,
    MonthStatus,
    calendar_warnings,
    held_warnings,
    review_month,
    usage_warnings,
)
from billing.core.periods import add_months, month_range, parse_month, previous_month
from billing.core.problems import ChargebackError
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import usage as usage_store

LISTED = 20
"""Flagged charges and idle subscriptions listed by default; ``show_all`` lists every one."""


def review_stored_month(session: Session, month: str, *, rules_path: Path | None = None,
                        show_all: bool = False) -> MonthReview:
    """The month as finance reviews it before closing (billing.close.review.MonthReview)."""
    month = parse_month(month)
    run = charge_store.last_run(session, month)
    if run is None:
        raise ChargebackError(f"{month} has not been rated yet: run `chargeback month run {month}` first")
    before = previous_month(month)
    earlier = [add_months(month, -step) for step in range(2, HISTORY_CHANGES + 13)]
    settings = audit.settings(session)
    review = review_month(
        month=month, previous_month=before,
        charges=charge_store.month_charges(session, month),
        previous_charges=charge_store.month_charges(session, before),
        subscriptions=catalogue_store.load_subscriptions(session),
        anomaly_pct=settings.anomaly_pct,
        unallocated_code=settings.unallocated_business_line,
        history=charge_store.chargeback_totals(session, earlier),
        anomaly_floor_pct=settings.anomaly_floor_pct,
    )
    from billing.jobs.budgets import budget_summary  # the review's alone: a month run needs only its warnings
    from billing.jobs.recovery import recovery_summary

    status = charge_store.period_status(session, month)
    return MonthReview(
        month=month, status=status, run=run, review=review,
        stale=charge_store.inputs_hash(session, month) != run.inputs_hash,
        warnings=month_warnings(session, month) if status != "closed" else (),
        anomaly_pct=settings.anomaly_pct,
        open_rejects=len(usage_store.rejects(session, month=month)),
        listed=None if show_all else LISTED,
        budget=budget_summary(session, month),
        recovery=recovery_summary(session, month, rules_path=rules_path),
    )


def month_warnings(session: Session, month: str, *, today: dt.date | None = None) -> tuple[CloseWarning, ...]:
    """What closing ``month`` must confirm (billing.close.review: usage against the months around it,
    a month not yet ended, earlier months still open)."""
    month = parse_month(month)
    usage = usage_store.rows_by_source_month(session)
    found = usage_warnings(month=month, usage_rows=usage, low_usage_pct=audit.settings(session).low_usage_pct)
    closed = set(charge_store.closed_months(session))
    known = {m for _, m in usage} | set(charge_store.rated_months(session)) | set(charge_store.period_months(session))
    earlier = sorted(m for m in known if m < month)
    open_before = [m for m in month_range(earlier[0], previous_month(month)) if m not in closed] if earlier else []
    held = held_warnings([(h.usage, h.came_from) for h in charge_store.held_usage(session, month)])
    return found + held + calendar_warnings(month=month, today=today or dt.date.today(), open_before=open_before)


def month_statuses(session: Session) -> tuple[MonthStatus, ...]:
    """Every month with usage, charges or a period, oldest first."""
    months = set(usage_store.months_with_usage(session)) | set(charge_store.rated_months(session))
    months |= set(charge_store.period_months(session))
    currency = audit.settings(session).currency
    found = []
    for month in sorted(months):
        closing = charge_store.closing(session, month)
        run = charge_store.last_run(session, month)
        found.append(MonthStatus(month=month, status=charge_store.period_status(session, month),
                                 rated_at=run.run_at if run else None, total=run.total if run else None,
                                 closed_by=closing[0] if closing else "",
                                 held_rows=sum(h.usage.rows for h in charge_store.held_usage(session, month)),
                                 currency=(charge_store.run_currency(session, run.id) if run else None) or currency))
    return tuple(found)
