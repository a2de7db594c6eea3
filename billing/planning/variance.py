"""Budget against actual year to date, per business line and over all of them (pure).

The month review's budget line reads a :class:`BudgetSummary`; ``billing.jobs.budgets`` fills
it from the stored budget and charges (variance = actual − budget, its share of the budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO

__all__ = ["LineBudget", "BudgetSummary"]


@dataclass(frozen=True, slots=True)
class LineBudget:
    """A business line's budget against actual, year to date (variance = actual − budget)."""

    business_line: str
    budget_ytd: Decimal
    actual_ytd: Decimal

    @property
    def variance(self) -> Decimal:
        return self.actual_ytd - self.budget_ytd

    @property
    def variance_pct(self) -> Decimal | None:
        return self.variance / self.budget_ytd * 100 if self.budget_ytd else None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSummary:
    """The fiscal year's budget against actual to date, over every business line (what the
    month review shows): ``rows`` has one line per business line with a budget or charges."""

    fiscal_year: int
    months: tuple[str, ...]  # the fiscal year's months up to the month reviewed
    currency: str
    rows: tuple[LineBudget, ...]

    @property
    def budget_ytd(self) -> Decimal:
        return sum((r.budget_ytd for r in self.rows), ZERO)

    @property
    def actual_ytd(self) -> Decimal:
        return sum((r.actual_ytd for r in self.rows), ZERO)

    @property
    def variance(self) -> Decimal:
        return self.actual_ytd - self.budget_ytd

    @property
    def variance_pct(self) -> Decimal | None:
        return self.variance / self.budget_ytd * 100 if self.budget_ytd else None

    @property
    def over_budget(self) -> tuple[LineBudget, ...]:
        """The business lines over budget, the most over first (by share; unbudgeted first)."""
        over = (r for r in self.rows if r.variance > 0)
        return tuple(sorted(over, key=lambda r: (-(r.variance_pct or Decimal(10**9)), r.business_line)))
