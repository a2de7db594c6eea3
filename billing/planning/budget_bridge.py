"""Year to date against budget, step by step (pure): why a business line's actual charges of
the fiscal year so far differ from its budget (the statement's "Against the budget, step by step").

For each service the difference (actual to date less budget to date, the statement's budget
table's figures) is split into pieces, in this order (docs/statements.md, "Against the budget"):

1. **not in the budget** — a service charged with nothing budgeted for it: all it was charged;
2. **budgeted, not charged** — a service budgeted and never charged: its budget, taken off;
3. **volume** — for each month whose budget gives a quantity: the usage's quantity less the
   budgeted one, at the budget's own price a unit (budget ÷ budgeted quantity), rounded once a
   month (``billing.core.money.round_minor``);
4. **service credits** — the service credits charged (a budget plans none);
5. **price, tier and fees** — the rest: what each unit, tier, fee and discount cost against what
   the budget reckoned.

Every piece is a whole number of minor units and the pieces add up to the difference exactly,
by construction (the last piece is what the others leave).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext

from billing.core.money import ZERO, exact_sum, round_minor
from billing.core.records import ChargeKind

__all__ = ["BudgetStep", "BUDGET_STEPS", "BUDGET_STEP_LABELS", "ServiceBudgetBridge", "BudgetBridge", "UsedFigure",
           "budget_bridge"]


class BudgetStep(enum.StrEnum):
    UNBUDGETED = "unbudgeted"
    UNUSED = "unused"
    VOLUME = "volume"
    SERVICE_CREDITS = "service_credits"
    RATE = "rate"


BUDGET_STEPS: tuple[BudgetStep, ...] = tuple(BudgetStep)

BUDGET_STEP_LABELS: Mapping[BudgetStep, str] = {
    BudgetStep.UNBUDGETED: "Services not in the budget",
    BudgetStep.UNUSED: "Budgeted, not charged",
    BudgetStep.VOLUME: "Volume (quantity against the budget's, at its price)",
    BudgetStep.SERVICE_CREDITS: "Service credits",
    BudgetStep.RATE: "Price, tier and fees",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class UsedFigure:
    """A charge of a month to date, as the bridge needs it."""

    month: str
    service: str
    kind: ChargeKind
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceBudgetBridge:
    """One service's actual to date against its budget, a piece per step (every step, in
    :data:`BUDGET_STEPS` order). The pieces sum to the difference, or it does not exist."""

    service: str
    budget: Decimal
    actual: Decimal
    pieces: tuple[tuple[BudgetStep, Decimal], ...]

    def __post_init__(self) -> None:
        if tuple(step for step, _ in self.pieces) != BUDGET_STEPS:
            raise ValueError(f"{self.service}: a budget bridge has a piece for every step, in order")
        if exact_sum(amount for _, amount in self.pieces) != self.difference:
            raise ValueError(f"{self.service}: the pieces do not sum to the difference {self.difference}")

    @property
    def difference(self) -> Decimal:
        return self.actual - self.budget

    def piece(self, step: BudgetStep) -> Decimal:
        return dict(self.pieces)[step]


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetBridge:
    """A business line's year to date against its budget, by service and step."""

    services: tuple[ServiceBudgetBridge, ...]

    @property
    def budget(self) -> Decimal:
        return exact_sum(s.budget for s in self.services)

    @property
    def actual(self) -> Decimal:
        return exact_sum(s.actual for s in self.services)

    @property
    def difference(self) -> Decimal:
        return self.actual - self.budget

    @property
    def pieces(self) -> tuple[tuple[BudgetStep, Decimal], ...]:
        return tuple((step, exact_sum(s.piece(step) for s in self.services)) for step in BUDGET_STEPS)


def budget_bridge(totals: Iterable[tuple[str, Decimal, Decimal]], budgeted: Iterable[tuple[str, str, Decimal, Decimal | None]],
                  used: Iterable[UsedFigure], currency: str) -> BudgetBridge:
    """The bridge of one business line: ``totals`` each service's (service, budget to date,
    actual to date) as the statement's budget table gives them; ``budgeted`` its budget entries
    to date as (month, service, amount, quantity or None); ``used`` its charges to date."""
    plan: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    planned_quantity: set[tuple[str, str]] = set()
    for month, service, amount, quantity in budgeted:
        plan[(month, service)][0] += amount
        if quantity is not None:
            plan[(month, service)][1] += quantity
            planned_quantity.add((month, service))
    usage: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    credits: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for figure in used:
        if figure.kind is ChargeKind.USAGE:
            usage[(figure.month, figure.service)] += figure.quantity
        elif figure.kind is ChargeKind.SLA_CREDIT:
            credits[figure.service] += figure.amount
    services = []
    for service, budget, actual in sorted(totals):
        pieces = dict.fromkeys(BUDGET_STEPS, ZERO)
        if not budget and actual:
            pieces[BudgetStep.UNBUDGETED] = actual
        elif budget and not actual:
            pieces[BudgetStep.UNUSED] = -budget
        else:
            pieces[BudgetStep.VOLUME] = exact_sum(
                _at_budget_price(usage[key] - quantity, amount, quantity, currency)
                for key, (amount, quantity) in plan.items() if key[1] == service and key in planned_quantity and quantity)
            pieces[BudgetStep.SERVICE_CREDITS] = credits[service]
            pieces[BudgetStep.RATE] = actual - budget - pieces[BudgetStep.VOLUME] - pieces[BudgetStep.SERVICE_CREDITS]
        services.append(ServiceBudgetBridge(service=service, budget=budget, actual=actual, pieces=tuple(pieces.items())))
    return BudgetBridge(services=tuple(services))


def _at_budget_price(quantity: Decimal, budget: Decimal, budgeted: Decimal, currency: str) -> Decimal:
    """``quantity`` at the budget's price a unit (``budget`` / ``budgeted``), rounded once."""
    with localcontext() as ctx:
        ctx.prec, ctx.traps[Inexact] = 60, False
        return round_minor(quantity * budget / budgeted, currency)

