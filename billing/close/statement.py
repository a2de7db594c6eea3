"""What a month's statements and its export are made from (records only, pure).

``billing.jobs.documents`` reads them from the store (a closed month's from what its close
froze); a shell hands them to ``reports`` (``reports.views.statement_view``,
``month_export_view``), which lays them out. The figures a statement shows beyond the charges
and documents (tier quotes, budget) are defined here because the close freezes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from billing.close.trends import CostHistory
from billing.planning.budget_bridge import BudgetBridge
from billing.close.bridge import Bridge
from billing.core.records import BusinessLine, Charge, Invoice, SlaResult
from billing.planning.burn import BudgetBurn
from tariffs.model import Service

__all__ = ["TierQuote", "BudgetFigure", "StatementInputs", "ExportInputs", "as_arguments"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TierQuote:
    """What a business line's usage of ``service`` in the month costs at ``tier`` (the month
    re-rated with that tier, e.g. ``rate_month(..., tier_override=...)``), already rounded."""

    service: str
    tier: str
    amount: Decimal
    advice: str | None = None  # a sentence on this tier over a longer period (billing.planning.advice)


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetFigure:
    """A business line's budget and actual charges for ``service``, year to date."""

    service: str
    budget_ytd: Decimal
    actual_ytd: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementInputs:
    """One business line's statement of ``month``: the arguments of ``reports.views.statement_view``."""

    business_line: BusinessLine
    month: str
    charges: Sequence[Charge]
    services: Mapping[str, Service]
    closed: bool
    generated_at: dt.datetime
    invoice: Invoice | None = None
    notes: Sequence[Invoice] = ()
    previous_total: Decimal | None = None
    sla_results: Sequence[SlaResult] = ()
    tier_quotes: Sequence[TierQuote] = ()
    budget: Sequence[BudgetFigure] = ()
    components: Mapping[int, Sequence[object]] | None = None
    currency: str | None = None
    history: CostHistory | None = None
    burn: BudgetBurn | None = None
    bridge: Bridge | None = None  # why the total changed from the month before (None: no month before)
    budget_bridge: BudgetBridge | None = None  # year to date against the budget, by step (None: no budget)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportInputs:
    """A month's export: the arguments of ``reports.views.month_export_view`` (a closed month
    from its ``documents``; an open one from its ``charges`` with services, business lines and
    GL codes)."""

    month: str
    closed: bool
    documents: Sequence[Invoice] = ()
    charges: Sequence[Charge] = ()
    services: Mapping[str, Service] | None = None
    business_lines: Mapping[str, BusinessLine] | None = None
    gl_codes: Mapping[str, str] | None = None
    currency: str | None = None
    prepared_at: dt.datetime | None = None


def as_arguments(record: StatementInputs | ExportInputs) -> dict[str, Any]:
    """The record's fields by name, unchanged (not copied), to pass on as keyword arguments."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
