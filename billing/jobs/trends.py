"""The figures behind a statement's pictures, read from the store: each business line's cost
by service over thirteen months (billing.close.trends) and its fiscal year's budget burn with
a forecast to the year's end (billing.planning.burn). A close freezes them with the rest of
the statement's figures (billing/jobs/documents.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.close.trends import HISTORY_MONTHS, CostHistory, cost_history
from billing.core.money import ZERO
from billing.core.periods import add_months, fiscal_months, fiscal_year, month_range
from billing.core.records import DocumentRole
from billing.planning.burn import BudgetBurn, budget_burn
from billing.planning.forecasting import forecast_many
from billing.store import audit
from billing.store import budgets as budget_store
from billing.store import charges as charge_store
from billing.store import documents
from tariffs.model import ChargingMode

__all__ = ["FORECAST_HISTORY", "cost_histories", "budget_burns"]

FORECAST_HISTORY = 36
"""Months of a business line's charges its year-end forecast is fitted to (at most)."""


def cost_histories(session: Session, month: str, lines: Iterable[str]) -> dict[str, CostHistory]:
    """Each of ``lines``' cost by service over the thirteen months to ``month``, on the
    statement's basis: chargeback charges of each month's latest run and the notes dated in it."""
    wanted = set(lines)
    months = [add_months(month, i - HISTORY_MONTHS + 1) for i in range(HISTORY_MONTHS)]
    amounts: dict[str, dict[tuple[str, str], Decimal]] = {line: defaultdict(lambda: ZERO) for line in wanted}
    for figure in budget_store.rated_figures(session, months):
        if figure.business_line in wanted and figure.charging_mode is ChargingMode.CHARGEBACK:
            amounts[figure.business_line][(figure.month, figure.service)] += figure.amount
    corrections = [r for r in DocumentRole if r.is_correction]
    for when in months:
        for note in documents.documents_for_month(session, when, roles=corrections):
            if note.business_line in wanted:
                for line in note.lines:
                    amounts[note.business_line][(when, line.service)] += line.amount
    return {line: cost_history(month, figures) for line, figures in amounts.items()}


def budget_burns(session: Session, month: str, lines: Iterable[str]) -> dict[str, BudgetBurn]:
    """The fiscal year's burn of each of ``lines`` that has a budget for the year containing
    ``month``: budget and actual by month on the budget's basis (billing/jobs/budgets.py: every
    charge of the latest run), and the line's monthly charges forecast to the year's end."""
    start = audit.settings(session).fiscal_year_start_month
    currency = audit.settings(session).currency
    year = fiscal_year(month, start)
    months = fiscal_months(year, start)
    wanted = set(lines)
    budget: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for entry in budget_store.budget_entries(session, months=months):
        if entry.business_line in wanted:
            budget[entry.business_line][entry.month] += entry.amount
    if not budget:
        return {}
    rated = [m for m in charge_store.rated_months(session) if m <= month]
    span = month_range(rated[0], month)[-FORECAST_HISTORY:] if rated else [month]
    actual: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for figure in budget_store.rated_figures(session, span):
        if figure.business_line in budget:
            actual[figure.business_line][figure.month] += figure.amount
    codes = sorted(budget)
    left = sum(1 for m in months if m > month)
    forecasts = forecast_many([[float(actual[code].get(m, ZERO)) for m in span] for code in codes], left, workers=1) \
        if left else [None] * len(codes)
    return {code: budget_burn(fiscal_year=year, months=months, month=month, budget=budget[code],
                              actual={m: actual[code].get(m, ZERO) for m in months if m <= month},
                              forecast=forecast, currency=currency)
            for code, forecast in zip(codes, forecasts)}
