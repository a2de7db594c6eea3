"""FOCUS versions: the columns each one added, renamed or deprecated, declared once.

The loader finds every column it reads through :func:`column_lookup`, so a file of any
version from 1.0 to 1.3 (and the names of the 0.5 and 1.0-preview drafts) maps onto the same
rows; :func:`detect_version` tells from the header which version a file is. Sources: the
FOCUS specification (FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec), each column's
"Introduced (version)" and "Deprecated (version)" sections; docs/feeds.md, "FOCUS versions".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["VERSIONS", "FocusColumn", "COLUMNS", "FocusVersion", "detect_version", "column_lookup", "CUSTOM_PREFIX"]

VERSIONS = ("1.0", "1.1", "1.2", "1.3")
CUSTOM_PREFIX = "x_"  # FOCUS column_handling: custom columns MUST start with it


@dataclass(frozen=True, slots=True)
class FocusColumn:
    """One FOCUS cost-and-usage column."""

    name: str
    introduced: str  # "1.0" stands for 1.0 and before
    deprecated: str | None = None
    successor: str | None = None  # the column that replaces it, read first when present
    earlier_names: tuple[str, ...] = ()  # names in the drafts before 1.0


def _columns(version: str, names: str) -> tuple[FocusColumn, ...]:
    return tuple(FocusColumn(name, version) for name in names.split())


COLUMNS: tuple[FocusColumn, ...] = (
    *_columns("1.0", """AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingCurrency
        BillingPeriodEnd BillingPeriodStart ChargeCategory ChargeClass ChargeDescription ChargeFrequency ChargePeriodEnd
        ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId CommitmentDiscountName CommitmentDiscountStatus
        CommitmentDiscountType ContractedCost ContractedUnitPrice InvoiceIssuerName ListCost ListUnitPrice
        PricingCategory PricingQuantity PricingUnit RegionId RegionName ResourceId ResourceName ResourceType
        ServiceCategory ServiceName SkuId SkuPriceId SubAccountId SubAccountName Tags"""),
    FocusColumn("ConsumedQuantity", "1.0", earlier_names=("UsageQuantity",)),
    FocusColumn("ConsumedUnit", "1.0", earlier_names=("UsageUnit",)),
    FocusColumn("EffectiveCost", "1.0", earlier_names=("AmortizedCost",)),
    FocusColumn("ProviderName", "1.0", deprecated="1.3", successor="ServiceProviderName", earlier_names=("Provider",)),
    # 1.3 has no successor for PublisherName; the service provider it adds is the seller,
    # who was the publisher (FOCUS 1.3, ServiceProviderName notes)
    FocusColumn("PublisherName", "1.0", deprecated="1.3", earlier_names=("Publisher",)),
    *_columns("1.1", """ServiceSubcategory SkuMeter SkuPriceDetails CommitmentDiscountQuantity
        CommitmentDiscountUnit CapacityReservationId CapacityReservationStatus"""),
    *_columns("1.2", """InvoiceId BillingAccountType SubAccountType PricingCurrency
        PricingCurrencyContractedUnitPrice PricingCurrencyEffectiveCost PricingCurrencyListUnitPrice"""),
    *_columns("1.3", """ServiceProviderName HostProviderName AllocatedMethodId AllocatedMethodDetails
        AllocatedResourceId AllocatedResourceName AllocatedTags ContractApplied"""),
)
_BY_NAME = {c.name.lower(): c for c in COLUMNS}
_EARLIER = {n.lower(): c for c in COLUMNS for n in c.earlier_names}
_FALLBACK = {"PublisherName": "ServiceProviderName"}  # read when the deprecated column is absent


@dataclass(frozen=True, slots=True)
class FocusVersion:
    """The version a header shows, and the columns that show it."""

    version: str  # one of VERSIONS, or "before 1.0"
    evidence: tuple[str, ...]  # the columns of that version found (none for 1.0)
    deprecated: tuple[str, ...] = ()  # deprecated columns the file still has, as FOCUS allows
    custom: tuple[str, ...] = ()  # the file's x_ columns

    def describe(self) -> str:
        text = f"FOCUS {self.version}"
        if self.evidence:
            text += f" (it has {', '.join(self.evidence[:3])}{', …' if len(self.evidence) > 3 else ''})"
        return text


def detect_version(header: Iterable[str]) -> FocusVersion:
    """The newest version whose new columns the header has (a version's columns are all
    conditional or recommended, so one is enough); 1.0 when none; "before 1.0" when only the
    drafts' names are there."""
    names = [h.strip() for h in header]
    folded = {n.lower() for n in names}
    custom = tuple(n for n in names if n.startswith(CUSTOM_PREFIX))
    for version in reversed(VERSIONS[1:]):
        evidence = tuple(c.name for c in COLUMNS if c.introduced == version and c.name.lower() in folded)
        if evidence:
            deprecated = tuple(c.name for c in COLUMNS if c.deprecated and c.deprecated <= version
                               and c.name.lower() in folded)
            return FocusVersion(version, evidence, deprecated, custom)
    drafts = tuple(sorted(n for n in names if n.lower() in _EARLIER and _EARLIER[n.lower()].name.lower() not in folded))
    if drafts and not {"consumedquantity", "effectivecost"} & folded:
        return FocusVersion("before 1.0", drafts, (), custom)
    return FocusVersion("1.0", (), (), custom)


def column_lookup(name: str) -> tuple[str, ...]:
    """The header names to look for, in order, to read FOCUS column ``name``: its successor
    first (1.3's ServiceProviderName for ProviderName), then the name, then the drafts'
    names, then a later column that stands in for a deprecated one. Any other name (a custom
    column, an unknown one) is looked for as written."""
    column = _BY_NAME.get(name.lower()) or _EARLIER.get(name.lower())
    if column is None:
        return (name,)
    found = [column.successor] if column.successor else []
    found += [column.name, *column.earlier_names]
    if column.name in _FALLBACK:
        found.append(_FALLBACK[column.name])
    return tuple(dict.fromkeys(found))
