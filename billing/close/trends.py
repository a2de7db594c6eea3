"""A business line's cost by service over the thirteen months to a statement's month (pure).

What the statement's first picture shows: each month's charges by service on the statement's
own basis (chargeback charges of the month's latest rating run, service credits included,
and the credit and debit notes dated in the month), so the last bar is the statement's total
and the one before it the previous month's. Amounts are added, never rounded: each is a sum
of rounded lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import ZERO
from billing.core.periods import add_months

__all__ = ["HISTORY_MONTHS", "ServiceCost", "CostHistory", "cost_history"]

HISTORY_MONTHS = 13
"""This month and the twelve before it: the same month last year is on the picture."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceCost:
    """One service's cost in each month of a :class:`CostHistory` (zero where it had none)."""

    service: str
    amounts: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CostHistory:
    """Cost by service per month, oldest month first; services by their cost over the months,
    largest first (code order among equals). Months before the line's first charge are kept,
    as zeros, so the picture always spans the same thirteen months."""

    months: tuple[str, ...]
    services: tuple[ServiceCost, ...]

    def totals(self) -> tuple[Decimal, ...]:
        """Each month's total over the services."""
        return tuple(sum((s.amounts[i] for s in self.services), ZERO) for i in range(len(self.months)))


def cost_history(month: str, amounts: Mapping[tuple[str, str], Decimal], *, months: int = HISTORY_MONTHS) -> CostHistory:
    """The ``months`` months to ``month`` from ``amounts``: (month, service) → the month's
    cost of the service (keys outside the months are ignored)."""
    span = tuple(add_months(month, i - months + 1) for i in range(months))
    position = {m: i for i, m in enumerate(span)}
    by_service: dict[str, list[Decimal]] = {}
    for (when, service), amount in amounts.items():
        if when in position:
            by_service.setdefault(service, [ZERO] * months)[position[when]] += amount
    ordered = sorted(by_service.items(), key=lambda item: (-sum(item[1], ZERO), item[0]))
    return CostHistory(months=span, services=tuple(ServiceCost(service=code, amounts=tuple(values))
                                                   for code, values in ordered))
