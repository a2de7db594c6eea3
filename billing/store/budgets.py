"""Budgets in the store, and the rated figures planning reads (quantities and amounts per month).

Loading a budget replaces, for each business line it covers, that business line's budget for
the fiscal year (every month of it); other business lines and years stay as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from billing.planning.budgets import BudgetEntry
from billing.core.periods import fiscal_months
from billing.core.problems import SourceRef
from billing.core.records import ChargeKind
from billing.store import schema as t
from tariffs.model import ChargingMode, PricingModel


def replace_budget(session: Session, entries: Sequence[BudgetEntry], *, file_name: str, at: dt.datetime,
                   fiscal_year_start: int) -> int:
    """Store ``entries`` in place of the budgets of the (fiscal year, business line) pairs they
    cover; returns the number of lines written."""
    covered = sorted({(e.fiscal_year, e.business_line) for e in entries})
    for year, line in covered:
        session.execute(delete(t.BudgetLine).where(
            t.BudgetLine.business_line_code == line, t.BudgetLine.month.in_(fiscal_months(year, fiscal_year_start))))
    if entries:
        session.execute(insert(t.BudgetLine), [
            dict(fiscal_year=e.fiscal_year, month=e.month, business_line_code=e.business_line, service_code=e.service,
                 amount=e.amount, quantity=e.quantity, tier_code=e.tier, file_name=file_name,
                 location=e.location()[:80], loaded_at=at)
            for e in entries
        ])
    session.flush()
    return len(entries)


def budget_entries(session: Session, *, months: Iterable[str] | None = None, business_line: str | None = None) -> list[BudgetEntry]:
    """Stored budget lines (of ``months``, of one business line), by business line, service, month."""
    query = select(t.BudgetLine)
    if months is not None:
        query = query.where(t.BudgetLine.month.in_(list(months)))
    if business_line is not None:
        query = query.where(t.BudgetLine.business_line_code == business_line)
    query = query.order_by(t.BudgetLine.business_line_code, t.BudgetLine.service_code, t.BudgetLine.month)
    return [
        BudgetEntry(fiscal_year=b.fiscal_year, month=b.month, business_line=b.business_line_code, service=b.service_code,
                    amount=b.amount, quantity=b.quantity, tier=b.tier_code,
                    source=SourceRef(file=b.file_name, location=b.location or None))
        for b in session.scalars(query)
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class RatedFigure:
    """One charge of a month's latest rating run, as planning needs it."""

    month: str
    business_line: str
    service: str
    tier: str
    kind: ChargeKind
    model: PricingModel
    charging_mode: ChargingMode
    quantity: Decimal
    cost: Decimal
    amount: Decimal
    currency: str
    dimension_value: str | None = None  # the value a price by dimension's line prices; None: any other line


def rated_figures(session: Session, months: Iterable[str]) -> list[RatedFigure]:
    """The charges of the latest rating run of each of ``months`` (months never rated give
    nothing), without their cost-centre splits."""
    months = list(months)
    if not months:
        return []
    latest = (select(func.max(t.RatingRun.id)).where(t.RatingRun.month.in_(months)).group_by(t.RatingRun.month))
    rows = session.execute(
        select(t.Charge.month, t.BusinessLine.code, t.Charge.service_code, t.Charge.tier_code, t.Charge.kind, t.Charge.model,
               t.Charge.charging_mode, t.Charge.quantity, t.Charge.cost, t.Charge.amount, t.Charge.currency,
               t.Charge.dimension_value)
        .join(t.BusinessLine, t.BusinessLine.id == t.Charge.business_line_id)
        .where(t.Charge.run_id.in_(latest))
        .order_by(t.Charge.month, t.Charge.line_no)
    )
    return [
        RatedFigure(month=m, business_line=code, service=service, tier=tier, kind=ChargeKind(kind), model=PricingModel(model),
                    charging_mode=ChargingMode(mode),
                    quantity=quantity, cost=cost, amount=amount, currency=currency, dimension_value=value)
        for m, code, service, tier, kind, model, mode, quantity, cost, amount, currency, value in rows
    ]
