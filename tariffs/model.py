"""The catalogue's vocabulary: services, tiers, tariff versions and their price parts.

Plain frozen records, no I/O. ``tariffs.load`` builds them from YAML, ``tariffs.validate``
checks them together, ``tariffs.pricing`` prices a quantity with them.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal

from billing.core.problems import SourceRef


class ServiceKind(enum.StrEnum):
    IT = "it"
    NON_IT = "non-it"


class ChargingMode(enum.StrEnum):
    CHARGEBACK = "chargeback"  # invoiced and journaled
    SHOWBACK = "showback"  # shown on statements, labelled, never invoiced or journaled


class PricingModel(enum.StrEnum):
    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"
    PASS_THROUGH = "pass_through"
    FIXED = "fixed"  # monthly fee only


class BandEdges(enum.StrEnum):
    """Which band a quantity exactly on a band's upper edge falls in (graduated, volume)."""

    INCLUSIVE = "inclusive"  # in the band the edge ends (the default): up to 250 holds 250
    EXCLUSIVE = "exclusive"  # in the next band (CloudKitty's thresholds): 250 starts the band above


class FeeAtZero(enum.StrEnum):
    """Whether the first band's flat fee is charged when nothing is billable (graduated, volume)."""

    NOT_CHARGED = "not_charged"  # the default: no band is entered, no flat fee
    CHARGED = "charged"  # Lago's: the first band's flat fee whatever the usage


class ProrationMonth(enum.StrEnum):
    """How long a month is when a monthly fee, included quantity or minimum is prorated."""

    ACTUAL = "actual"  # the days of the calendar month (the default): a day of February is 1/28 or 1/29
    THIRTY_DAY = "thirty_day"  # every month 30 days (Kill Bill's fixed proration): the 31st adds
    # nothing, the last day of February the days up to the 30th


class ProrationEnd(enum.StrEnum):
    """Whether the day a subscription ends counts as a day in force when prorating."""

    INCLUSIVE = "inclusive"  # the default: a subscription to 20 Feb is charged 20 Feb
    EXCLUSIVE = "exclusive"  # its end date is not charged (Kill Bill's): to 20 Feb is charged to 19 Feb


class UnknownValue(enum.StrEnum):
    """What a price by dimension does with usage whose value it does not list (docs/pricing.md,
    "Price dimensions")."""

    DEFAULT = "default"  # priced at the tier's default price (the price written beside by_value)
    QUARANTINE = "quarantine"  # not priced: held, shown in the month review with its value


class FeeEvery(enum.StrEnum):
    """How often a periodic fee (a licence, a maintenance contract) falls due."""

    QUARTERLY = "quarterly"  # each quarter of the fiscal year (the first starts in the fiscal year's first month)
    ANNUAL = "annual"  # each fiscal year

    @property
    def months(self) -> int:
        return 3 if self is FeeEvery.QUARTERLY else 12


class FeeBilling(enum.StrEnum):
    """Which months carry a periodic fee."""

    IN_ADVANCE = "in_advance"  # the default: all of it in the first month of its period in force
    SPREAD = "spread"  # an even part in each month of its period (largest remainder, parts sum to the fee)


class DiscountApplies(enum.StrEnum):
    """Whether a negotiated discount is taken before or after the tier's minimum charge."""

    AFTER_MINIMUM = "after_minimum"  # the default: off the month's charge, minimum top-up included
    BEFORE_MINIMUM = "before_minimum"  # off the usage and fee; the minimum still holds


class Metric(enum.StrEnum):
    """Service-level metrics and which way is better."""

    AVAILABILITY_PCT = "availability_pct"  # higher is better; shortfall = target - achieved (points)
    RESPONSE_MINUTES = "response_minutes"  # lower is better; shortfall = achieved - target (minutes)
    RESTORE_HOURS = "restore_hours"  # lower is better; shortfall = achieved - target (hours)

    @property
    def higher_is_better(self) -> bool:
        return self is Metric.AVAILABILITY_PCT


#: FOCUS 1.2's service categories and the subcategories each allows (FOCUS specification,
#: columns/servicecategory.md and servicesubcategory.md): a service's ``service_category`` and
#: ``service_subcategory``, written on the month's bill as FOCUS.
SERVICE_SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "AI and Machine Learning": ("AI Platforms", "Bots", "Generative AI", "Machine Learning",
                                "Natural Language Processing", "Other (AI and Machine Learning)"),
    "Analytics": ("Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics",
                  "Other (Analytics)"),
    "Business Applications": ("Productivity and Collaboration", "Other (Business Applications)"),
    "Compute": ("Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines",
                "Other (Compute)"),
    "Databases": ("Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases",
                  "Time Series Databases", "Other (Databases)"),
    "Developer Tools": ("Developer Platforms", "Continuous Integration and Deployment", "Development Environments",
                        "Source Code Management", "Quality Assurance", "Other (Developer Tools)"),
    "Identity": ("Identity and Access Management", "Other (Identity)"),
    "Integration": ("API Management", "Messaging", "Workflow Orchestration", "Other (Integration)"),
    "Internet of Things": ("IoT Analytics", "IoT Platforms", "Other (Internet of Things)"),
    "Management and Governance": ("Architecture", "Compliance", "Cost Management", "Data Governance",
                                  "Disaster Recovery", "Endpoint Management", "Observability", "Support",
                                  "Other (Management and Governance)"),
    "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality", "Other (Media)"),
    "Migration": ("Data Migration", "Resource Migration", "Other (Migration)"),
    "Mobile": ("Other (Mobile)",),
    "Multicloud": ("Multicloud Integration", "Other (Multicloud)"),
    "Networking": ("Application Networking", "Content Delivery", "Network Connectivity", "Network Infrastructure",
                   "Network Routing", "Network Security", "Other (Networking)"),
    "Security": ("Secret Management", "Security Posture Management", "Threat Detection and Response",
                 "Other (Security)"),
    "Storage": ("Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms",
                "Other (Storage)"),
    "Web": ("Application Platforms", "Other (Web)"),
    "Other": ("Other (Other)",),
}
SERVICE_CATEGORIES = tuple(SERVICE_SUBCATEGORIES)


class WorkingKind(enum.StrEnum):
    """What one step of a charge's arithmetic is (``Working``)."""

    USAGE = "usage"  # billable quantity × unit price (per unit, a band, a package's blocks)
    FLAT_FEE = "flat_fee"  # a band's flat fee, once the band is entered
    COST = "cost"  # a pass-through's source cost
    MARKUP = "markup"  # a pass-through's markup (or discount) on the cost
    INCLUDED = "included"  # the quantity the tier includes: no amount, said for the reader
    NOTE = "note"  # how the quantity was counted (blocks, a band edge): no amount
    MONTHLY_FEE = "monthly_fee"  # the tier's monthly fee, prorated by the days in force
    MINIMUM = "minimum"  # the top-up to the tier's minimum charge
    FEE = "fee"  # the month's part of a quarterly or annual fee
    DISCOUNT = "discount"  # a negotiated discount
    TRUE_UP = "true_up"  # a commitment's shortfall
    CREDIT = "credit"  # a service credit
    CORRECTION = "correction"  # what a credit or debit note takes off or adds to an issued line


@dataclass(frozen=True, slots=True, kw_only=True)
class Working:
    """One step of how a charge was priced, in words and as an exact amount.

    A charge's workings add up to its exact amount (before its one rounding): the statement
    shows them as the line's arithmetic. ``quantity`` × ``rate`` is ``amount`` where both are
    given (a band: its units and unit price; a package: its blocks and block price; a markup: the
    cost and the markup as a share); ``base`` is a figure before proration (the monthly fee, the
    minimum) and ``share`` the days fraction it was prorated by, as (numerator, denominator).
    """

    kind: WorkingKind
    text: str
    amount: Decimal
    quantity: Decimal | None = None
    rate: Decimal | None = None
    base: Decimal | None = None
    share: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, WorkingKind):
            object.__setattr__(self, "kind", WorkingKind(self.kind))


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    code: str
    name: str
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceLevel:
    """Targets in business terms. ``support_hours`` is text such as ``24x7`` or ``Mon-Fri 08-18``."""

    availability_pct: Decimal | None = None
    response_minutes: Decimal | None = None
    restore_hours: Decimal | None = None
    support_hours: str | None = None

    def target(self, metric: Metric) -> Decimal | None:
        return getattr(self, metric.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    code: str
    name: str
    funding_level: str
    service_level: ServiceLevel
    rank: int  # 0 = the highest tier as written first in the file
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """A part of a composite business service: ``quantity`` units of ``service`` per unit."""

    service: str
    quantity: Decimal
    source: SourceRef | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    code: str
    name: str
    unit: str
    kind: ServiceKind
    owner: str
    tiers: tuple[Tier, ...]
    default_tier: str
    charging_mode: ChargingMode = ChargingMode.CHARGEBACK
    description: str = ""
    components: tuple[Component, ...] = ()
    service_category: str | None = None  # one of SERVICE_CATEGORIES; None: "Other"
    service_subcategory: str | None = None  # one of its category's; None: "Other (<category>)"
    dimension: str | None = None  # the attribute of its usage its prices may depend on (region, storage_class)
    source: SourceRef | None = None

    def tier(self, code: str) -> Tier | None:
        return next((t for t in self.tiers if t.code == code), None)

    def focus_category(self) -> tuple[str, str]:
        """FOCUS's (ServiceCategory, ServiceSubcategory) for the service."""
        category = self.service_category or "Other"
        return category, self.service_subcategory or f"Other ({category})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """A price band. ``up_to`` is the inclusive upper bound; ``None`` means open-ended.

    With bands up to 250 and above, 250 units fall in the first band.
    """

    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)
    source: SourceRef | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditBand:
    """A service credit: ``credit_pct`` of the tier's charge when the shortfall against the
    target is at most ``shortfall_up_to`` (inclusive; ``None`` = any larger shortfall)."""

    shortfall_up_to: Decimal | None
    credit_pct: Decimal
    source: SourceRef | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicFee:
    """A fee of a tier charged each quarter or fiscal year, not each month (docs/pricing.md,
    "Quarterly and annual fees"): ``amount`` for the whole period, prorated by the months of it
    the tier is in force, billed in advance or spread over the period's months."""

    name: str
    amount: Decimal
    every: FeeEvery
    billing: FeeBilling | None = None  # None (not written) = in advance
    source: SourceRef | None = field(default=None, compare=False)

    @property
    def spread(self) -> bool:
        return self.billing is FeeBilling.SPREAD


@dataclass(frozen=True, slots=True, kw_only=True)
class TierPrice:
    """How one tier is priced in one tariff version."""

    model: PricingModel
    unit_price: Decimal | None = None  # per_unit
    bands: tuple[Band, ...] = ()  # graduated, volume
    block_size: Decimal | None = None  # package; graduated, volume: bands sold in blocks of this size
    block_price: Decimal | None = None  # package
    markup_pct: Decimal | None = None  # pass_through
    monthly_fee: Decimal = Decimal(0)
    included_quantity: Decimal = Decimal(0)
    minimum_charge: Decimal = Decimal(0)
    service_credits: tuple[tuple[Metric, tuple[CreditBand, ...]], ...] = ()
    band_edges: BandEdges | None = None  # graduated, volume; None (not written) = inclusive
    flat_fee_at_zero: FeeAtZero | None = None  # graduated, volume; None (not written) = not charged
    #: (value, its price) per value of the service's dimension, as written; each prices that
    #: value's usage only (the tier's monthly fee, included quantity, minimum and credits stay here)
    by_value: tuple[tuple[str, TierPrice], ...] = ()
    unknown: UnknownValue | None = None  # with by_value: a value not listed is priced at default or held
    fees: tuple[PeriodicFee, ...] = ()  # quarterly and annual fees of the tier
    source: SourceRef | None = field(default=None, compare=False)  # where it was written; not content

    @property
    def exclusive_edges(self) -> bool:
        return self.band_edges is BandEdges.EXCLUSIVE

    @property
    def fee_at_zero(self) -> bool:
        return self.flat_fee_at_zero is FeeAtZero.CHARGED

    @property
    def by_dimension(self) -> bool:
        return bool(self.by_value)

    def value_price(self, value: str | None) -> TierPrice | None:
        """The price of a dimension value's usage: its ``by_value`` price (values match whatever
        their case and surrounding spaces), else the default (this price's usage part) under
        ``unknown: default``, else None (held)."""
        key = dimension_key(value)
        for written, price in self.by_value:
            if dimension_key(written) == key:
                return price
        if self.by_value and self.unknown is not UnknownValue.DEFAULT:
            return None
        return self.usage_part()

    def usage_part(self) -> TierPrice:
        """This price without the tier's terms (monthly fee, included quantity, minimum, credits,
        its values): what a dimension value's usage is priced by when it takes the default."""
        return TierPrice(model=self.model, unit_price=self.unit_price, bands=self.bands, block_size=self.block_size,
                         block_price=self.block_price, markup_pct=self.markup_pct, band_edges=self.band_edges,
                         flat_fee_at_zero=self.flat_fee_at_zero, source=self.source)

    def credit_bands(self, metric: Metric) -> tuple[CreditBand, ...]:
        return next((bands for m, bands in self.service_credits if m is metric), ())


def dimension_key(value: str | None) -> str:
    """The form a dimension value is matched by: spaces around it dropped, case folded
    (``EU-West `` is ``eu-west``); no value is ``""``."""
    return "" if value is None else value.strip().casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class Proration:
    """A tariff version's proration convention; a part not written is the default."""

    month: ProrationMonth | None = None  # None (not written) = actual
    end: ProrationEnd | None = None  # None (not written) = inclusive
    source: SourceRef | None = field(default=None, compare=False)

    @property
    def thirty_day(self) -> bool:
        return self.month is ProrationMonth.THIRTY_DAY

    @property
    def exclusive_end(self) -> bool:
        return self.end is ProrationEnd.EXCLUSIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffVersion:
    """A rate card for one service, in force from ``effective_from`` to ``effective_to``
    (both inclusive; ``None`` = open-ended). Immutable once it has priced usage."""

    service: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None
    currency: str
    prices: tuple[tuple[str, TierPrice], ...]  # (tier code, price) in tier order
    source: SourceRef | None = None
    proration: Proration | None = None  # None (not written) = actual days, end inclusive

    def price(self, tier: str) -> TierPrice | None:
        return next((p for t, p in self.prices if t == tier), None)

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True, kw_only=True)
class Commitment:
    """A minimum commitment for a fiscal year: an ``amount`` of the year's charges for the
    service, or a ``quantity`` of units used at ``tier`` (docs/pricing.md, "Commitments and
    negotiated discounts")."""

    amount: Decimal | None = None
    quantity: Decimal | None = None
    tier: str | None = None
    source: SourceRef | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Discount:
    """A negotiated discount on each month's charge: ``percent`` of it, or a fixed ``amount`` a month."""

    percent: Decimal | None = None
    amount: Decimal | None = None
    applies: DiscountApplies | None = None  # None (not written) = after the minimum
    source: SourceRef | None = field(default=None, compare=False)

    @property
    def before_minimum(self) -> bool:
        return self.applies is DiscountApplies.BEFORE_MINIMUM


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """What one business line agreed for one service and fiscal year: a commitment, a discount or both."""

    business_line: str
    service: str
    fiscal_year: int | None  # None: not written (validation refuses it)
    commitment: Commitment | None = None
    discount: Discount | None = None
    source: SourceRef | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    """Everything read from a tariff directory."""

    units: tuple[Unit, ...]
    services: tuple[Service, ...]
    tariffs: tuple[TariffVersion, ...]
    agreements: tuple[Agreement, ...] = ()

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def dimensions(self) -> dict[str, str]:
        """service code → the dimension its usage carries, for the services that have one."""
        return {s.code: s.dimension for s in self.services if s.dimension}

    def tariff_at(self, service: str, day: dt.date) -> TariffVersion | None:
        return next((t for t in self.tariffs if t.service == service and t.in_force(day)), None)
