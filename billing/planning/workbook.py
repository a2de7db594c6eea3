"""What the planning workbook shows (records only, pure): the rate card, its price bands, and
one sheet per business line with each service's drivers, forecast, budget and history.

``billing.jobs.plan.build_plan`` fills a :class:`PlanView`; ``reports.plan_xlsx.plan_workbook``
writes it as the .xlsx with live formulas (docs/planning.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tariffs.model import BandEdges, PricingModel, TierPrice

__all__ = ["OPEN_BAND", "RateRow", "BandRow", "PlanService", "PlanSheet", "PlanView", "rate_key", "price_bands"]

OPEN_BAND = Decimal("1E15")
"""The upper bound written for an open-ended band."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RateRow:
    """One tier price of one tariff version, as the rate card shows it."""

    service: str
    service_name: str
    version: str
    effective_from: str
    effective_to: str
    tier: str
    tier_name: str
    model: str
    unit_price: Decimal | None
    block_size: Decimal | None
    block_price: Decimal | None
    markup_pct: Decimal | None
    monthly_fee: Decimal
    included: Decimal
    minimum: Decimal
    currency: str
    unit: str
    description: str

    @property
    def key(self) -> str:
        return rate_key(self.service, self.version, self.tier)


@dataclass(frozen=True, slots=True, kw_only=True)
class BandRow:
    """A band of a graduated or volume price: from ``lower`` to ``upper`` (None = open-ended,
    written as :data:`OPEN_BAND`); ``edges`` says which band a quantity on an edge is in
    (``inclusive``: this one), ``fee_at_zero`` is ``charged`` on a first band whose flat fee is
    charged with nothing billable."""

    service: str
    version: str
    tier: str
    band: int
    lower: Decimal
    upper: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal
    edges: str = "inclusive"
    fee_at_zero: str = ""

    @property
    def key(self) -> str:
        return rate_key(self.service, self.version, self.tier)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanService:
    """A service on a business line's sheet; every tuple has one value per month (12)."""

    service: str
    service_name: str
    unit: str
    tier: str
    versions: tuple[str | None, ...]  # the tariff version in force; None when none is
    volumes: tuple[Decimal, ...]  # the drivers as written: actual, then forecast volumes
    forecast_volumes: tuple[Decimal, ...]
    forecast_amounts: tuple[Decimal, ...]
    budget_amounts: tuple[Decimal | None, ...]
    history_volumes: tuple[Decimal, ...]
    history_amounts: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSheet:
    business_line: str
    name: str
    services: tuple[PlanService, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanView:
    fiscal_year: int
    months: tuple[str, ...]  # the 12 months of the fiscal year
    history_months: tuple[str, ...]  # the 12 months before it
    actual_through: str | None  # the last month of the year already rated (None: none is)
    currency: str
    rates: tuple[RateRow, ...]
    bands: tuple[BandRow, ...]
    tiers: tuple[tuple[str, tuple[str, ...]], ...]  # (service, its tier codes), for the drop-downs
    sheets: tuple[PlanSheet, ...]


def rate_key(service: str, version: str, tier: str) -> str:
    return f"{service}|{version}|{tier}"


def price_bands(service: str, version: str, tier: str, price: TierPrice) -> list[BandRow]:
    """The bands of a graduated or volume price as the rate card shows them, lowest edge first
    (none for another model)."""
    if price.model not in (PricingModel.GRADUATED, PricingModel.VOLUME):
        return []
    rows, lower = [], Decimal(0)
    ordered = sorted(price.bands, key=lambda b: (b.up_to is None, b.up_to or Decimal(0)))
    for n, band in enumerate(ordered, start=1):
        rows.append(BandRow(service=service, version=version, tier=tier, band=n, lower=lower, upper=band.up_to,
                            unit_price=band.unit_price, flat_fee=band.flat_fee,
                            edges=(price.band_edges or BandEdges.INCLUSIVE).value,
                            fee_at_zero="charged" if n == 1 and price.fee_at_zero else ""))
        lower = band.up_to if band.up_to is not None else lower
    return rows
