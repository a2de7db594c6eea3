"""What the planning workbook shows (records only, pure): the rate card, its price bands, and
one entry per business line (``PlanSheet``) with each service's drivers, forecast, budget and
history (the workbook writes them as rows of its Drivers and Workings sheets).

``billing.jobs.plan.build_plan`` fills a :class:`PlanView`; ``reports.plan_xlsx.plan_workbook``
writes it as the .xlsx with live formulas (docs/planning.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.core.periods import first_day, fiscal_months, last_day
from billing.planning.plan_months import fees_due
from tariffs.model import BandEdges, Catalogue, PricingModel, TierPrice, UnknownValue
from tariffs.pricing import describe_price

__all__ = ["OPEN_BAND", "RateRow", "BandRow", "AgreementRow", "PlanService", "PlanSheet", "PlanView", "rate_key",
           "agreement_key", "agreement_rows", "price_bands", "rate_card"]

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
    #: the quarterly and annual fees due in each month of the fiscal year for the tier held all
    #: year under this version (``billing.planning.plan_months.fees_due``); empty: none
    fees_due: tuple[Decimal, ...] = ()
    by_value: int = 0  # 1: a price by dimension (its usage and the tier's terms are lines of their own)
    #: a price by dimension's value: the row prices that value's usage (no fee, minimum or included
    #: quantity); "" for the tier's own row
    value: str = ""
    held: int = 0  # 1: a price by dimension under ``unknown: quarantine`` (an unlisted value is held, not priced)

    @property
    def key(self) -> str:
        return rate_key(self.service, self.version, self.tier, self.value)


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
    value: str = ""  # the band of a dimension value's price

    @property
    def key(self) -> str:
        return rate_key(self.service, self.version, self.tier, self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementRow:
    """A business line's agreement for a service in the plan's fiscal year, as the rate card's
    Agreements table shows it: the discount (a percent or an amount a month, before or after
    the minimum) and the commitment (an amount, or a quantity at a tier)."""

    business_line: str
    service: str
    fiscal_year: int
    discount_pct: Decimal
    discount_amount: Decimal
    before_minimum: bool
    commitment_amount: Decimal
    commitment_quantity: Decimal | None
    commitment_tier: str
    #: a quantity commitment's price: the rate card key of its tier under the version in force on
    #: the fiscal year's last day ("" when none is)
    commitment_price: str = ""

    @property
    def key(self) -> str:
        return agreement_key(self.business_line, self.service)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanService:
    """A business line's service (a row of the Drivers); every tuple has one value per month (12)."""

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
    #: a dimension value's row, after its service's (same service, same tier): its volumes name
    #: the value; "" for the service's own row (the volume naming no value, the month's cost)
    value: str = ""


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
    agreements: tuple[AgreementRow, ...] = ()  # the fiscal year's agreements of the business lines planned


def rate_key(service: str, version: str, tier: str, value: str = "") -> str:
    return f"{service}|{version}|{tier}" + (f"|{value}" if value else "")


def agreement_key(business_line: str, service: str) -> str:
    return f"{business_line}|{service}"


def price_bands(service: str, version: str, tier: str, price: TierPrice, value: str = "") -> list[BandRow]:
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
                            fee_at_zero="charged" if n == 1 and price.fee_at_zero else "", value=value))
        lower = band.up_to if band.up_to is not None else lower
    return rows


def agreement_rows(catalogue: Catalogue, fiscal_year: int, pairs: set[tuple[str, str]],
                   fiscal_year_start: int = 1) -> list[AgreementRow]:
    """The agreements of ``fiscal_year`` for the (business line, service) ``pairs`` planned, as
    the rate card's Agreements table shows them."""
    year_end = last_day(fiscal_months(fiscal_year, fiscal_year_start)[-1])
    rows = []
    for a in sorted(catalogue.agreements, key=lambda a: (a.business_line, a.service)):
        if a.fiscal_year != fiscal_year or (a.business_line, a.service) not in pairs:
            continue
        discount, commitment = a.discount, a.commitment
        price = ""
        if commitment is not None and commitment.quantity is not None:
            version = catalogue.tariff_at(a.service, year_end)
            if version is not None and version.price(commitment.tier or "") is not None:
                price = rate_key(a.service, version.version, commitment.tier or "")
        rows.append(AgreementRow(
            business_line=a.business_line, service=a.service, fiscal_year=fiscal_year,
            discount_pct=(discount.percent or Decimal(0)) if discount else Decimal(0),
            discount_amount=(discount.amount or Decimal(0)) if discount else Decimal(0),
            before_minimum=bool(discount and discount.before_minimum),
            commitment_amount=(commitment.amount or Decimal(0)) if commitment else Decimal(0),
            commitment_quantity=commitment.quantity if commitment else None,
            commitment_tier=(commitment.tier or "") if commitment else "", commitment_price=price))
    return rows


def rate_card(catalogue: Catalogue, services: list[str], months: tuple[str, ...], currency: str,
              fiscal_year_start: int) -> tuple[list[RateRow], list[BandRow]]:
    """Every tier price of every version of ``services`` in force at some time in ``months``, with
    each price's bands and the fees due in each month for its tier held all year."""
    start, end = first_day(months[0]), last_day(months[-1])
    rates, bands = [], []
    for version in catalogue.tariffs:
        if version.service not in services:
            continue
        if version.effective_from > end or (version.effective_to is not None and version.effective_to < start):
            continue
        service = catalogue.service(version.service)
        if service is None:
            continue
        for tier_code, price in version.prices:
            tier = service.tier(tier_code)
            rates.append(RateRow(
                service=service.code, service_name=service.name, version=version.version,
                effective_from=version.effective_from.isoformat(),
                effective_to=version.effective_to.isoformat() if version.effective_to else "",
                tier=tier_code, tier_name=tier.name if tier else tier_code, model=price.model.value,
                unit_price=price.unit_price, block_size=price.block_size, block_price=price.block_price,
                markup_pct=price.markup_pct, monthly_fee=price.monthly_fee, included=price.included_quantity,
                minimum=price.minimum_charge, currency=version.currency or currency, unit=service.unit,
                description=describe_price(price, service.unit),
                fees_due=fees_due(version, tier_code, months, fiscal_year_start=fiscal_year_start,
                                  currency=version.currency or currency) if price.fees else (),
                by_value=int(price.by_dimension),
                held=int(price.by_dimension and price.unknown is not UnknownValue.DEFAULT)))
            bands += price_bands(service.code, version.version, tier_code, price)
            for value, own in price.by_value:  # each value's usage price, after the tier's row
                rates.append(RateRow(
                    service=service.code, service_name=service.name, version=version.version,
                    effective_from=version.effective_from.isoformat(),
                    effective_to=version.effective_to.isoformat() if version.effective_to else "",
                    tier=tier_code, tier_name=tier.name if tier else tier_code, model=own.model.value,
                    unit_price=own.unit_price, block_size=own.block_size, block_price=own.block_price,
                    markup_pct=own.markup_pct, monthly_fee=Decimal(0), included=Decimal(0), minimum=Decimal(0),
                    currency=version.currency or currency, unit=service.unit,
                    description=f"{service.dimension or 'value'} {value}: " + describe_price(own, service.unit),
                    by_value=1, value=value))
                bands += price_bands(service.code, version.version, tier_code, own, value)
    return rates, bands
