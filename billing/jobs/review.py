"""The month review printout and the list of months."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

import datetime as dt

from billing.core.periods import month_range, parse_month, previous_month
from billing.core.problems import ChargebackError
from billing.jobs.budgets import budget_summary_line
from billing.jobs.recovery import recovery_summary_line
from billing.close.review import CloseWarning, Movement, calendar_warnings, review_month, usage_warnings
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import usage as usage_store


def _fmt(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _pct(m: Movement) -> str:
    return "new" if m.change_pct is None else f"{m.change_pct:+}%"


LISTED = 20
"""Flagged charges and idle subscriptions listed by default; ``show_all`` lists every one."""


def review_stored_month(session: Session, month: str, *, rules_path: Path | None = None, show_all: bool = False) -> list[str]:
    month = parse_month(month)
    run = charge_store.last_run(session, month)
    if run is None:
        raise ChargebackError(f"{month} has not been rated yet: run `chargeback month run {month}` first")
    before = previous_month(month)
    review = review_month(
        month=month, previous_month=before,
        charges=charge_store.month_charges(session, month),
        previous_charges=charge_store.month_charges(session, before),
        subscriptions=catalogue_store.load_subscriptions(session),
        anomaly_pct=Decimal(audit.get_setting(session, "anomaly_pct")),
        unallocated_code=audit.get_setting(session, "unallocated_business_line"),
    )
    status = charge_store.period_status(session, month)
    out = [
        f"Month {month} ({status}), rated {run.run_at:%Y-%m-%d %H:%M} by {run.run_by} from {run.usage_rows:,} usage rows",
        f"Total to invoice: {_fmt(review.total)} {review.currency}   last month ({before}): {_fmt(review.previous_total)}"
        f"   change: {_fmt(review.total - review.previous_total)}",
    ]
    if charge_store.inputs_hash(session, month) != run.inputs_hash:
        out.append(f"NOTE: usage, tariffs, subscriptions or service levels changed since this run: "
                   f"run `chargeback month run {month}` again before closing")
    if status != "closed":
        warnings = month_warnings(session, month)
        if warnings:
            out.append(f"WARNING: closing {month} needs `chargeback month close {month} --confirm`, because:")
            out += [f"  - {w.message}" for w in warnings]
    if review.showback_total:
        out.append(f"Showback (not invoiced): {_fmt(review.showback_total)}")
    if review.sla_credits:
        out.append(f"Service credits included: {_fmt(review.sla_credits)}")
    out.append("")
    out.append("By service:")
    out += [f"  {m.key:<14} {_fmt(m.current):>16} {_fmt(m.previous):>16} {_pct(m):>8}" for m in review.by_service]
    out.append("")
    out.append("Largest movers (business lines):")
    out += [f"  {m.key:<14} {_fmt(m.current):>16} {m.change:>+16,.2f} {_pct(m):>8}" for m in review.largest_movers]
    out.append("")
    threshold = audit.get_setting(session, "anomaly_pct")
    if review.anomalies:
        out.append(f"Anomalies (moved more than {threshold}%):")
        out += [f"  {kind} {m.key}: {_fmt(m.previous)} -> {_fmt(m.current)} ({_pct(m)})" for kind, m in review.anomalies]
    else:
        out.append(f"Anomalies: none moved more than {threshold}%")
    rejects = usage_store.rejects(session, month=month)
    out.append(f"Quarantined rows still open: {len(rejects):,}" + (" (see `chargeback usage rejects --month " + month + "`)" if rejects else ""))
    out.append(f"Unallocated (no business line found): {_fmt(review.unallocated)}")
    limit = None if show_all else LISTED
    if review.flagged:
        out.append(f"Flagged charges: {len(review.flagged)}")
        out += [f"  {c.business_line} {c.service} {c.tier}: {'; '.join(c.flags)} ({_fmt(c.amount)})" for c in review.flagged[:limit]]
        out += _hidden(len(review.flagged), limit, month)
    if review.idle_subscriptions:
        out.append(f"Subscriptions without usage: {len(review.idle_subscriptions)}")
        out += [f"  {s.business_line} {s.service} {s.tier}" for s in review.idle_subscriptions[:limit]]
        out += _hidden(len(review.idle_subscriptions), limit, month)
    for line in (budget_summary_line(session, month), recovery_summary_line(session, month, rules_path=rules_path)):
        if line:
            out.append(line)
    return out


def month_warnings(session: Session, month: str, *, today: dt.date | None = None) -> tuple[CloseWarning, ...]:
    """What closing ``month`` must confirm (billing.close.review: usage against the months around it,
    a month not yet ended, earlier months still open)."""
    month = parse_month(month)
    usage = usage_store.rows_by_source_month(session)
    found = usage_warnings(month=month, usage_rows=usage, low_usage_pct=Decimal(audit.get_setting(session, "low_usage_pct")))
    closed = set(charge_store.closed_months(session))
    known = {m for _, m in usage} | set(charge_store.rated_months(session)) | set(charge_store.period_months(session))
    earlier = sorted(m for m in known if m < month)
    open_before = [m for m in month_range(earlier[0], previous_month(month)) if m not in closed] if earlier else []
    return found + calendar_warnings(month=month, today=today or dt.date.today(), open_before=open_before)


def _hidden(count: int, limit: int | None, month: str) -> list[str]:
    if limit is None or count <= limit:
        return []
    return [f"  ... and {count - limit:,} more not listed: `chargeback month review {month} --all` lists every one"]


def month_statuses(session: Session) -> list[list[object]]:
    months = set(usage_store.months_with_usage(session)) | set(charge_store.rated_months(session))
    months |= set(charge_store.period_months(session))
    rows = []
    for month in sorted(months):
        closing = charge_store.closing(session, month)
        run = charge_store.last_run(session, month)
        rows.append([month, charge_store.period_status(session, month), run.run_at.strftime("%Y-%m-%d %H:%M") if run else "-",
                     _fmt(run.total) if run else "", closing[0] if closing else ""])
    return rows
