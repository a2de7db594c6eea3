"""Finance's month pack laid out (``chargeback month pack``): the view model of one document
for the month-end meeting, made from billing.close.pack.MonthPack (pure).

Like reports/views.py, a frozen view of plain text; unlike a statement's, every figure is
already written here, through billing.core.money.amount_text and reports/text.py (``percent``, ``quantity``), so the
template (templates/month_pack.html) only places text. Sections, in order: the month's total
and change; why the total changed (the bridge across all lines); by service; the largest movers among business lines; cost recovery and what sits
in overhead; UNALLOCATED; quarantined usage rows; service levels missed and their credits;
the budget position for the fiscal year to date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.close.bridge import STEP_LABELS, CompanyBridge
from billing.close.pack import MonthPack
from billing.core.money import amount_text, plain
from billing.close.review import Movement
from reports.recovery_text import pool_rows, recovery_rows
from reports.text import percent, quantity
from reports.views import month_label

__all__ = ["Figure", "Table", "MonthPackView", "month_pack_view"]

_METRICS = {"availability_pct": ("Availability", " %"), "response_minutes": ("Response time", " min"),
            "restore_hours": ("Restore time", " h")}
OVER_BUDGET_LISTED = 10
BRIDGE_NAMED = 3  # the services and business lines named in each step of the bridge, the largest first


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()  # right-aligned (number) columns
    total: tuple[str, ...] | None = None  # the last row, set apart


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthPackView:
    month: str
    month_label: str
    previous_month_label: str
    is_draft: bool
    currency: str
    generated_at: dt.datetime
    headline: tuple[Figure, ...]
    bridge: Table | None  # why the total changed, by step (None: the month before was not rated)
    bridge_notes: tuple[str, ...]
    by_service: Table
    movers: Table
    anomalies: int
    recovery: Table | None
    recovery_pools: Table | None
    recovery_figures: tuple[Figure, ...]
    recovery_notes: tuple[str, ...]
    unallocated_code: str
    unallocated_total: str
    unallocated: Table
    reject_rows: str
    rejects: Table
    held_rows: str
    held: Table
    missed: Table
    credits: Table
    credit_total: str
    budget_figures: tuple[Figure, ...]
    over_budget: Table | None
    over_budget_note: str


def count(number: int) -> str:
    """A count of rows or business lines, written as every quantity is (``1,250``)."""
    return quantity(Decimal(number))


def _measure(metric: str, value: Decimal) -> str:
    return f"{quantity(value)}{_METRICS[metric][1]}"


def _movement_rows(movements: Sequence[Movement], names: Mapping[str, str], currency: str) -> tuple[tuple[str, ...], ...]:
    return tuple((f"{names.get(m.key, m.key)} ({m.key})" if m.key in names else m.key, amount_text(m.current, currency),
                  amount_text(m.previous, currency), amount_text(m.change, currency, sign=True),
                  percent(m.change_pct, sign=True, none="new")) for m in movements)


def _largest(pairs: Sequence[tuple[str, Decimal]], names: Mapping[str, str], currency: str, other: str) -> str:
    shown = [f"{names.get(key, key)} {amount_text(value, currency, sign=True)}" for key, value in pairs[:BRIDGE_NAMED]]
    rest = pairs[BRIDGE_NAMED:]
    if rest:
        shown.append(f"{count(len(rest))} other {other}{'s' if len(rest) > 1 else ''} "
                     f"{amount_text(sum((v for _, v in rest), Decimal(0)), currency, sign=True)}")
    return "; ".join(shown)


def bridge_table(bridge: CompanyBridge, pack: MonthPack) -> tuple[Table, tuple[str, ...]]:
    """The company's bridge: last month's total, each step that moved with the services and
    business lines that moved it most, this month's total; and what its totals hold."""
    c, services = bridge.currency, pack.service_names
    rows = [(month_label(bridge.previous_month), "charged, with the notes issued in it", "", amount_text(bridge.previous, c))]
    for step, piece in bridge.pieces:
        by_service, by_line = bridge.by_service(step), bridge.by_business_line(step)
        if not piece and not by_service:
            continue
        rows.append((STEP_LABELS[step], _largest(by_service, services, c, "service"),
                     _largest(by_line, {}, c, "business line"), amount_text(piece, c, sign=True)))
    table = Table(headers=("Step", "Services that moved it most", "Business lines that moved it most", "Amount"),
                  rows=tuple(rows), right=frozenset({3}),
                  total=(month_label(bridge.month), "", f"change {amount_text(bridge.change, c, sign=True)}", amount_text(bridge.current, c)))
    notes = [f"Every business line's bridge (its statement's \"Why the bill changed\") added up by step: the steps add "
             f"up to the change exactly. Totals are what was charged (chargeback) with the credit and debit notes "
             f"issued in the month, over {count(len(bridge.lines))} business lines charged in either month."]
    if bridge.showback_previous or bridge.showback_current:
        notes.append(f"Showback, for information and not in these totals: {amount_text(bridge.showback_previous, c)} in "
                     f"{month_label(bridge.previous_month)}, {amount_text(bridge.showback_current, c)} in {month_label(bridge.month)}.")
    return table, tuple(notes)


def month_pack_view(pack: MonthPack) -> MonthPackView:
    """The pack laid out."""
    found, review, c = pack.review, pack.review.review, pack.currency
    business_lines, services = pack.business_line_names, pack.service_names
    change = review.total - review.previous_total
    change_pct = change / abs(review.previous_total) * 100 if review.previous_total else None
    headline = [
        Figure(label="Total to invoice", value=amount_text(review.total, c, code=True)),
        Figure(label=f"Change against {month_label(review.previous_month)}", value=amount_text(change, c, code=True, sign=True),
               note=percent(change_pct, sign=True, none="nothing invoiced last month")),
        Figure(label=f"{month_label(review.previous_month)}", value=amount_text(review.previous_total, c, code=True)),
        Figure(label="Business lines charged", value=count(sum(1 for m in review.by_business_line if m.current))),
    ]
    if review.showback_total:
        headline.append(Figure(label="Shown, not invoiced (showback)", value=amount_text(review.showback_total, c, code=True)))
    if review.sla_credits:
        headline.append(Figure(label="Service credits included", value=amount_text(review.sla_credits, c, code=True)))
    bridge, bridge_notes = bridge_table(pack.bridge, pack) if pack.bridge is not None else (None, ())
    by_service = Table(
        headers=("Service", f"{month_label(pack.month)}", month_label(review.previous_month), "Change", "Change %"),
        rows=tuple((f"{services.get(m.key, m.key)} ({m.key})", *row[1:])
                   for m, row in zip(review.by_service, _movement_rows(review.by_service, {}, c))),
        right=frozenset({1, 2, 3, 4}),
        total=("Total", amount_text(review.total, c), amount_text(review.previous_total, c), amount_text(change, c, sign=True),
               percent(change_pct, sign=True, none="new")),
    )
    movers = Table(headers=("Business line", month_label(pack.month), month_label(review.previous_month), "Change", "Change %"),
                   rows=_movement_rows(review.largest_movers, business_lines, c), right=frozenset({1, 2, 3, 4}))

    recovery = pools = None
    recovery_figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = ()
    if pack.recovery is not None:
        headers, rows = recovery_rows(pack.recovery)
        recovery = Table(headers=tuple(headers), rows=tuple(tuple(r) for r in rows[:-1]), right=frozenset(range(3, 9)),
                         total=("Total", *rows[-1][1:]))
        headers, rows = pool_rows(pack.recovery)
        pools = Table(headers=tuple(headers), rows=tuple(tuple(r) for r in rows[:-1]), right=frozenset(range(2, 6)),
                      total=tuple(rows[-1]))
        total = pack.recovery.total
        recovery_figures = (
            Figure(label="IT's cost", value=amount_text(total.cost, pack.recovery.currency, code=True)),
            Figure(label="Recovered through tariffs and allocated",
                   value=amount_text(total.recovered + total.allocated, pack.recovery.currency, code=True),
                   note=percent(total.recovery_pct, none="no cost")),
            Figure(label="Over (+) or under (−) recovered", value=amount_text(total.over_under, pack.recovery.currency, code=True, sign=True)),
            Figure(label="Still in IT's overhead", value=amount_text(total.in_overhead, pack.recovery.currency, code=True)),
        )
        notes = tuple(note.replace("warning: warning: ", "warning: ", 1) for note in pack.recovery.notes)
    elif pack.recovery_note:
        notes = (f"Not computed: {pack.recovery_note}.",)

    unallocated_total = sum((s.amount for s in pack.unallocated), Decimal(0))
    unallocated = Table(headers=("Service", "Amount"), rows=tuple((f"{s.name} ({s.service})", amount_text(s.amount, c))
                                                               for s in pack.unallocated),
                        right=frozenset({1}), total=("Total", amount_text(unallocated_total, c)) if pack.unallocated else None)
    rejects = Table(headers=("Source", "Reason", "Rows", "First row"),
                    rows=tuple((g.source, g.code, count(g.rows), g.example) for g in pack.rejects), right=frozenset({2}))
    held = Table(headers=("Business line", "Service", "Tier", "Value", "Quantity", "Rows", "From", "What to do"),
                 rows=tuple((f"{business_lines.get(h.business_line, h.business_line)} ({h.business_line})",
                             f"{services.get(h.service, h.service)} ({h.service}) {h.tariff_version}", h.tier,
                             f"{h.dimension} {h.value}" if h.value else f"no {h.dimension}", plain(h.quantity, grouped=True),
                             count(h.rows), came_from, h.hint)
                            for h, came_from in zip(pack.held, pack.held_from)), right=frozenset({4, 5}))
    missed = Table(headers=("Service", "Tier", "Measure", "Target", "Achieved", "Measured for"),
                   rows=tuple((f"{m.name} ({m.service})", m.tier, _METRICS[m.metric][0], _measure(m.metric, m.target),
                               _measure(m.metric, m.achieved), m.business_line or "every business line at the tier")
                              for m in pack.missed), right=frozenset({3, 4}))
    credits = Table(headers=("Business line", "Service", "Tier", "Measure missed", "Credit"),
                    rows=tuple((f"{business_lines.get(k.business_line, k.business_line)} ({k.business_line})",
                                f"{services.get(k.service, k.service)} ({k.service})", k.tier,
                                _METRICS[k.metric][0] if k.metric in _METRICS else "", amount_text(k.amount, c))
                               for k in pack.credits), right=frozenset({4}),
                    total=("Total", "", "", "", amount_text(pack.credit_total, c)) if pack.credits else None)

    budget_figures: tuple[Figure, ...] = ()
    over_budget = None
    over_note = ""
    summary = found.budget
    if summary is not None:
        b = summary.currency
        budget_figures = (
            Figure(label=f"FY{summary.fiscal_year} budget to date ({month_label(summary.months[0])} to "
                         f"{month_label(summary.months[-1])})", value=amount_text(summary.budget_ytd, b, code=True)),
            Figure(label="Actual to date", value=amount_text(summary.actual_ytd, b, code=True)),
            Figure(label="Over (+) or under (−) budget", value=amount_text(summary.variance, b, code=True, sign=True),
                   note=percent(summary.variance_pct, sign=True)),
            Figure(label="Business lines over budget", value=f"{count(len(summary.over_budget))} of {count(len(summary.rows))}"),
        )
        over = summary.over_budget
        if over:
            over_budget = Table(
                headers=("Business line", "Budget to date", "Actual to date", "Over budget", "%"),
                rows=tuple((f"{business_lines.get(r.business_line, r.business_line)} ({r.business_line})",
                            amount_text(r.budget_ytd, b), amount_text(r.actual_ytd, b), amount_text(r.variance, b, sign=True),
                            percent(r.variance_pct, sign=True, none="no budget"))
                           for r in over[:OVER_BUDGET_LISTED]),
                right=frozenset({1, 2, 3, 4}))
            if len(over) > OVER_BUDGET_LISTED:
                over_note = (f"The {OVER_BUDGET_LISTED} most over budget of {count(len(over))}; "
                             f"`chargeback budget show {pack.month}` lists every one.")
    return MonthPackView(
        month=pack.month, month_label=month_label(pack.month), previous_month_label=month_label(review.previous_month),
        is_draft=pack.status != "closed", currency=c, generated_at=pack.generated_at, headline=tuple(headline),
        bridge=bridge, bridge_notes=bridge_notes,
        by_service=by_service, movers=movers, anomalies=len(review.anomalies),
        recovery=recovery, recovery_pools=pools, recovery_figures=recovery_figures, recovery_notes=notes,
        unallocated_code=pack.unallocated_code, unallocated_total=amount_text(unallocated_total, c, code=True),
        unallocated=unallocated, reject_rows=count(pack.reject_rows), rejects=rejects,
        held_rows=count(sum(h.rows for h in pack.held)), held=held, missed=missed,
        credits=credits, credit_total=amount_text(pack.credit_total, c, code=True),
        budget_figures=budget_figures, over_budget=over_budget, over_budget_note=over_note,
    )
