"""The month review and the month list as printed lines (`chargeback month review`, `month status`).

Takes the records the review job returns (billing.close.review.MonthReview, MonthStatus) and
writes nothing but text; the shell prints the lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from billing.close.review import MonthReview, MonthStatus, Movement
from billing.core.money import amount_text, round_minor, round_to_step
from billing.planning.variance import BudgetSummary
from billing.recovery.over_under import RecoverySummary
from reports.text import table_lines

__all__ = ["review_lines", "budget_summary_line", "recovery_summary_line", "month_status_rows", "MONTH_STATUS_HEADERS"]


ANOMALIES_LISTED = 10
"""Anomalies a review lists by default (largest first); ``--all`` lists every one."""


def _fmt(amount: Decimal, currency: str, *, sign: bool = False) -> str:
    """A review figure in ``currency``: a total is whole minor units; a median or a share of the
    total (an expected change, the anomaly floor) is shown rounded to them."""
    return amount_text(round_minor(amount, currency), currency, sign=sign)


def _pct(m: Movement) -> str:
    return "new" if m.change_pct is None else f"{m.change_pct:+}%"


def review_lines(found: MonthReview) -> list[str]:
    """The review's lines: totals, movers, anomalies, rejects, unallocated, flagged charges and
    idle subscriptions (the first ``found.listed`` of each), budget and recovery."""
    month, review, run = found.month, found.review, found.run
    c = review.currency
    limit = found.listed
    out = [
        f"Month {month} ({found.status}), rated {run.run_at:%Y-%m-%d %H:%M} by {run.run_by} from {run.usage_rows:,} usage rows",
        f"Total to invoice: {_fmt(review.total, c)} {review.currency}   last month ({review.previous_month}): "
        f"{_fmt(review.previous_total, c)}   change: {_fmt(review.total - review.previous_total, c)}",
    ]
    if found.stale:
        out.append(f"NOTE: usage, tariffs, subscriptions or service levels changed since this run: "
                   f"run `chargeback month run {month}` again before closing")
    if found.warnings:
        out.append(f"WARNING: closing {month} needs `chargeback month close {month} --confirm`, because:")
        out += [f"  - {w.message}" for w in found.warnings]
    if review.showback_total:
        out.append(f"Showback (not invoiced): {_fmt(review.showback_total, c)}")
    if review.sla_credits:
        out.append(f"Service credits included: {_fmt(review.sla_credits, c)}")
    out.append("")
    out.append("By service:")
    out += ["  " + line for line in table_lines(
        ["service", f"this month ({review.currency})", f"last month ({review.currency})", "change %"],
        [[m.key, _fmt(m.current, c), _fmt(m.previous, c), _pct(m)] for m in review.by_service], right={1, 2, 3})]
    out.append("")
    out.append("Largest movers (business lines):")
    out += ["  " + line for line in table_lines(
        ["business line", f"this month ({review.currency})", f"change ({review.currency})", "change %"],
        [[m.key, _fmt(m.current, c), _fmt(m.change, c, sign=True), _pct(m)] for m in review.largest_movers], right={1, 2, 3})]
    out.append("")
    floor = f"{_fmt(review.anomaly_floor, c)} {review.currency}".strip()
    if review.anomalies:
        shown = review.anomalies[:ANOMALIES_LISTED if limit is not None else None]
        out.append(f"Anomalies: {len(review.anomalies)} moved beyond what their own history expects "
                   f"(by at least {floor}; largest first; docs/month-end.md, \"Anomalies\"):")
        out += ["  " + line for line in table_lines(
            ["", "code", f"last month ({review.currency})", f"this month ({review.currency})", f"expected change ({review.currency})",
             f"unexpected ({review.currency})", "score", "judged against"],
            [[a.kind, a.key, _fmt(a.movement.previous, c), _fmt(a.movement.current, c), _fmt(a.expected, c, sign=True),
              _fmt(a.unexpected, c, sign=True), "" if a.score is None else f"{a.score:+}", a.basis] for a in shown],
            right={2, 3, 4, 5, 6})]
        if len(shown) < len(review.anomalies):
            out += _hidden(len(review.anomalies), len(shown), month)
    else:
        out.append(f"Anomalies: none moved beyond what their own history expects by at least {floor}")
    out.append(f"Quarantined rows still open: {found.open_rejects:,}"
               + (f" (see `chargeback usage rejects --month {month}`)" if found.open_rejects else ""))
    out.append(f"Unallocated (no business line found): {_fmt(review.unallocated, c)}")
    if review.flagged:
        out.append(f"Flagged charges: {len(review.flagged)}")
        out += [f"  {f.business_line} {f.service} {f.tier}: {'; '.join(f.flags)} ({_fmt(f.amount, c)})" for f in review.flagged[:limit]]
        out += _hidden(len(review.flagged), limit, month)
    if review.idle_subscriptions:
        out.append(f"Subscriptions without usage: {len(review.idle_subscriptions)}")
        out += [f"  {s.business_line} {s.service} {s.tier}" for s in review.idle_subscriptions[:limit]]
        out += _hidden(len(review.idle_subscriptions), limit, month)
    if found.budget is not None:
        out.append(budget_summary_line(found.budget))
    if found.recovery is not None:
        out.append(recovery_summary_line(found.recovery))
    return out


def _hidden(count: int, limit: int | None, month: str) -> list[str]:
    if limit is None or count <= limit:
        return []
    return [f"  ... and {count - limit:,} more not listed: `chargeback month review {month} --all` lists every one"]


def budget_summary_line(summary: BudgetSummary) -> str:
    """One line: the year-to-date budget, actual and variance, and the business lines most over budget."""
    months, variance, c = summary.months, summary.variance, summary.currency
    text = (f"Budget FY{summary.fiscal_year} to date ({months[0]}..{months[-1]}): budget {_fmt(summary.budget_ytd, c)}, "
            f"actual {_fmt(summary.actual_ytd, c)} {c}, {'over' if variance > 0 else 'under'} by {_fmt(abs(variance), c)}")
    if summary.variance_pct is not None:
        text += f" ({summary.variance_pct:+.1f}%)"
    over = summary.over_budget
    if over:
        worst = ", ".join(f"{r.business_line} {'+' + format(r.variance_pct, '.1f') + '%' if r.variance_pct is not None else 'unbudgeted'}"
                          for r in over[:3])
        text += f"; {len(over)} of {len(summary.rows)} business lines over budget, most: {worst}"
    return text


def recovery_summary_line(summary: RecoverySummary) -> str:
    """One line: cost, recovered, allocated, recovery % and what sits in overhead, or why not computed."""
    month = summary.month
    if summary.missing_rules:
        return f"Recovery: costs are loaded but there are no allocation rules at {summary.rules}"
    if summary.refused is not None or summary.total is None:
        return f"Recovery: not computed ({summary.refused}); see `chargeback allocation explain --month {month}`"
    total, c = summary.total, summary.currency
    pct = "n/a" if total.recovery_pct is None else f"{round_to_step(total.recovery_pct, Decimal('0.1'))}%"
    word = "over-recovered" if total.over_under > 0 else "under-recovered"
    return (f"Recovery: cost {_fmt(total.cost, c)}, recovered {_fmt(total.recovered, c)} + allocated {_fmt(total.allocated, c)}"
            f" = {pct}; {word} {_fmt(abs(total.over_under), c)}; in overhead {_fmt(total.in_overhead, c)} {summary.currency}"
            f" (see `chargeback recovery --month {month}`)")


MONTH_STATUS_HEADERS = ["month", "status", "rated", "charges total", "held rows", "closed by"]


def month_status_rows(statuses: Sequence[MonthStatus]) -> list[list[object]]:
    """The `month status` table's rows (MONTH_STATUS_HEADERS)."""
    return [[s.month, s.status, s.rated_at.strftime("%Y-%m-%d %H:%M") if s.rated_at else "-",
             _fmt(s.total, s.currency) if s.total is not None else "", f"{s.held_rows:,}" if s.held_rows else "",
             s.closed_by] for s in statuses]
