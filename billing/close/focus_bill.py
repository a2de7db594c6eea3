"""A closed month's bill as FinOps FOCUS 1.2 cost-and-usage rows (pure: documents in, rows out).

The rules (docs/month-end.md, "The bill as FOCUS"):

- One row per document line and cost centre, for every document dated in the month: its
  invoices, and the credit and debit notes issued in it. A line without cost centres is one row.
- ``BilledCost`` is the cost-centre part as issued, so the rows of a document sum to its
  total and the file sums to the month's documents to the cent. ``EffectiveCost``,
  ``ContractedCost`` and ``ListCost`` are the same amount: the tier's tariff is the list
  price, nothing is negotiated, and service credits and corrections are rows of their own.
- ``ChargeCategory``: ``Credit`` for a service credit, ``Adjustment`` for a line of a credit
  or debit note, ``Purchase`` for a monthly fee on its own (a fixed-fee tier, or a subscribed
  tier with nothing used in the month), ``Usage`` for every other line. A Purchase row has an
  EffectiveCost of 0 and is followed by a Usage row of its use in the month that bills nothing
  and carries the fee as its EffectiveCost (:func:`fee_in_use`), so every cost column sums to
  the documents.
- ``ChargeClass`` is ``Correction`` on a note line that corrects an invoice of an earlier
  month, and its charge period is the corrected line's; a note inside its own month (the
  cancellation of a reopened month) has none.
- The IT provider is the billing account and the invoice issuer; the business line is the
  sub-account; cost centre, tier and tariff version are tags; what FOCUS has no column for is
  in ``x_`` columns.

Names, units, descriptions and currencies are read from the documents as issued, never from
today's catalogue; only the FOCUS service category comes from the catalogue.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from billing.core.periods import first_day, last_day
from billing.core.records import Charge, Invoice, InvoiceLine, LineCostCenter
from tariffs.model import SERVICE_CATEGORIES, PricingModel

__all__ = [
    "FOCUS_VERSION",
    "SERVICE_CATEGORIES",
    "DEFAULT_SERVICE_CATEGORY",
    "Provider",
    "FocusRow",
    "COLUMNS",
    "focus_rows",
]

FOCUS_VERSION = "1.2"

DEFAULT_SERVICE_CATEGORY = "Other"

USAGE, PURCHASE, CREDIT, ADJUSTMENT = "Usage", "Purchase", "Credit", "Adjustment"
CORRECTION = "Correction"


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """The IT provider: the billing account every row is billed under, and the issuer."""

    account_id: str
    name: str
    account_type: str = "Internal IT provider"


@dataclass(frozen=True, slots=True, kw_only=True)
class FocusRow:
    """One FOCUS row. Money is as issued (already rounded); ``None`` is FOCUS's null."""

    billed_cost: Decimal
    billing_account_id: str
    billing_account_name: str
    billing_account_type: str
    billing_currency: str
    billing_period_start: dt.datetime
    billing_period_end: dt.datetime
    charge_category: str
    charge_class: str | None
    charge_description: str
    charge_frequency: str
    charge_period_start: dt.datetime
    charge_period_end: dt.datetime
    contracted_cost: Decimal
    effective_cost: Decimal
    invoice_id: str
    invoice_issuer_name: str
    list_cost: Decimal
    pricing_category: str | None
    pricing_quantity: Decimal | None
    pricing_unit: str | None
    provider_name: str
    publisher_name: str
    service_category: str
    service_name: str
    service_subcategory: str
    sub_account_id: str
    sub_account_name: str
    sub_account_type: str
    tags: tuple[tuple[str, str], ...]
    x_document_type: str
    x_issue_date: dt.date
    x_invoice_line_number: int
    x_corrected_invoice_id: str | None
    x_corrected_invoice_line_number: int | None
    x_cost_center: str | None
    x_general_ledger_cost_center: str | None
    x_service_code: str
    x_tier_code: str
    x_tier_name: str
    x_unit: str
    x_tariff_version: str | None
    x_pricing_model: str | None
    x_price_detail: str | None


#: (FOCUS column, FocusRow field) in the order they are written: FOCUS columns first,
#: alphabetically, then the custom ``x_`` columns.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("BilledCost", "billed_cost"),
    ("BillingAccountId", "billing_account_id"),
    ("BillingAccountName", "billing_account_name"),
    ("BillingAccountType", "billing_account_type"),
    ("BillingCurrency", "billing_currency"),
    ("BillingPeriodEnd", "billing_period_end"),
    ("BillingPeriodStart", "billing_period_start"),
    ("ChargeCategory", "charge_category"),
    ("ChargeClass", "charge_class"),
    ("ChargeDescription", "charge_description"),
    ("ChargeFrequency", "charge_frequency"),
    ("ChargePeriodEnd", "charge_period_end"),
    ("ChargePeriodStart", "charge_period_start"),
    ("ContractedCost", "contracted_cost"),
    ("EffectiveCost", "effective_cost"),
    ("InvoiceId", "invoice_id"),
    ("InvoiceIssuerName", "invoice_issuer_name"),
    ("ListCost", "list_cost"),
    ("PricingCategory", "pricing_category"),
    ("PricingQuantity", "pricing_quantity"),
    ("PricingUnit", "pricing_unit"),
    ("ProviderName", "provider_name"),
    ("PublisherName", "publisher_name"),
    ("ServiceCategory", "service_category"),
    ("ServiceName", "service_name"),
    ("ServiceSubcategory", "service_subcategory"),
    ("SubAccountId", "sub_account_id"),
    ("SubAccountName", "sub_account_name"),
    ("SubAccountType", "sub_account_type"),
    ("Tags", "tags"),
    ("x_DocumentType", "x_document_type"),
    ("x_IssueDate", "x_issue_date"),
    ("x_InvoiceLineNumber", "x_invoice_line_number"),
    ("x_CorrectedInvoiceId", "x_corrected_invoice_id"),
    ("x_CorrectedInvoiceLineNumber", "x_corrected_invoice_line_number"),
    ("x_CostCenter", "x_cost_center"),
    ("x_GeneralLedgerCostCenter", "x_general_ledger_cost_center"),
    ("x_ServiceCode", "x_service_code"),
    ("x_TierCode", "x_tier_code"),
    ("x_TierName", "x_tier_name"),
    ("x_Unit", "x_unit"),
    ("x_TariffVersion", "x_tariff_version"),
    ("x_PricingModel", "x_pricing_model"),
    ("x_PriceDetail", "x_price_detail"),
)

SUB_ACCOUNT_TYPE = "Business Line"


_PUNCTUATION = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u00a0": " ", "\u2026": "...", "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe",
    "\u0152": "OE", "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u00f0": "d", "\u00fe": "th",
})


def ascii_text(text: str) -> str:
    """A name or description in ASCII, as focus-validator requires of FOCUS's string columns:
    dashes and quotes made plain, accents dropped (Zürich → Zurich); what has no ASCII form
    becomes ``?``. The documents keep the exact text."""
    if text.isascii():
        return text
    folded = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return plain.encode("ascii", "replace").decode("ascii")


def ascii_id(text: str) -> str:
    """An identifier in ASCII without losing what tells two apart: a character outside ASCII
    is written as its backslash escape (``Ä`` → ``\\xc4``), so two codes never become one."""
    return text if text.isascii() else text.encode("ascii", "backslashreplace").decode("ascii")


_TIME_UNITS = {"year": "Years", "month": "Months", "day": "Days", "hour": "Hours", "minute": "Minutes",
               "second": "Seconds"}
_DATA_SIZES = {u.lower(): u for u in ("KB", "MB", "GB", "TB", "PB", "EB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")}
_COUNT = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _count_unit(word: str, *, plural: bool) -> str | None:
    if word.lower() in _DATA_SIZES:
        return _DATA_SIZES[word.lower()]
    if not _COUNT.fullmatch(word):
        return None
    if word.islower():
        word = word.upper() if len(word) <= 3 else word[0].upper() + word[1:]  # vm → VM, usd → USD, desk → Desk
    return word + "s" if plural and len(word) > 3 and not word.endswith("s") else word


def focus_unit(unit: str) -> str:
    """A catalogue unit in FOCUS's unit format: ``vm-hour`` → ``VM-Hours``, ``tb-month`` →
    ``TB-Months``, ``vCPU-month`` → ``vCPU-Months``, ``ticket`` → ``Tickets``, ``usd`` →
    ``USD``; a unit that does not fit the format is written as it is (the catalogue's unit code
    is in ``x_Unit`` either way)."""
    parts = unit.strip().split("-")
    if len(parts) == 2 and parts[1].lower().rstrip("s") in _TIME_UNITS:
        thing = _count_unit(parts[0], plural=False)
        if thing:
            return f"{thing}-{_TIME_UNITS[parts[1].lower().rstrip('s')]}"
    if len(parts) == 1:
        if parts[0].lower().rstrip("s") in _TIME_UNITS:
            return _TIME_UNITS[parts[0].lower().rstrip("s")]
        thing = _count_unit(parts[0], plural=True)
        if thing:
            return thing
    return unit


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def _period(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Inclusive start, exclusive end (the day after ``last``), at midnight UTC."""
    return _midnight(first), _midnight(last + dt.timedelta(days=1))


def charge_category(line: InvoiceLine, charge: Charge | None) -> str:
    """Credit (a service credit, a negotiated discount), Adjustment, Purchase (a monthly fee on its
    own, a quarterly or annual fee, a commitment's true-up) or Usage."""
    if line.kind == "adjustment":
        return ADJUSTMENT
    if line.kind in ("sla_credit", "discount"):  # a service credit or a negotiated discount
        return CREDIT
    if charge is not None and (charge.model is PricingModel.FIXED or charge.quantity == 0):
        return PURCHASE
    return USAGE


def _parts(line: InvoiceLine, charge: Charge | None, priced: bool) -> list[tuple[LineCostCenter | None, Decimal | None]]:
    """The line's cost-centre parts (``None`` for a line without any) with the quantity each
    was priced on: the charge's split of it; ``None`` for a credit or a note."""
    if not line.cost_centers:
        return [(None, line.quantity if priced else None)]
    if not priced:
        return [(part, None) for part in line.cost_centers]
    if len(line.cost_centers) == 1:
        return [(line.cost_centers[0], line.quantity)]
    shares = {s.cost_center: s.quantity for s in charge.cost_centers} if charge is not None else {}
    missing = [p.cost_center for p in line.cost_centers if p.cost_center not in shares]
    if missing:
        raise ValueError(f"line {line.line_no}: no quantity for cost centre(s) {', '.join(missing)} in its charge")
    return [(part, shares[part.cost_center]) for part in line.cost_centers]


def focus_rows(
    documents: Sequence[Invoice],
    *,
    month: str,
    provider: Provider,
    charges: Mapping[tuple[str, int], Charge],
    corrected_months: Mapping[str, str],
    categories: Mapping[str, tuple[str, str]],
) -> tuple[FocusRow, ...]:
    """The month's documents as FOCUS rows, in document, line and cost-centre order.

    ``charges`` maps (document number, line number) to the charge the line was issued from;
    for a note line, the charge of the line it corrects. ``corrected_months`` maps an
    invoice number to its month, for every invoice a note corrects. ``categories`` maps a
    service code to its FOCUS ServiceCategory (``Other`` when absent).
    """
    billing_start, billing_end = _period(first_day(month), last_day(month))
    provider = Provider(account_id=ascii_id(provider.account_id), name=ascii_text(provider.name),
                        account_type=ascii_text(provider.account_type))
    rows: list[FocusRow] = []
    for document in documents:
        for line in document.lines:
            if line.original_invoice:
                charge = charges.get((line.original_invoice, line.original_line_no or 0))
            else:
                charge = charges.get((document.number, line.line_no))
            category = charge_category(line, charge)
            corrected = line.original_invoice and corrected_months.get(line.original_invoice)
            is_correction = category == ADJUSTMENT and bool(corrected) and corrected != month
            if charge is not None:
                period = _period(charge.segment_from, charge.segment_to)
            elif corrected:
                period = _period(first_day(corrected), last_day(corrected))
            else:
                period = (billing_start, billing_end)
            priced = category in (USAGE, PURCHASE)
            service_category, service_subcategory = categories.get(line.service) or (
                DEFAULT_SERVICE_CATEGORY, f"Other ({DEFAULT_SERVICE_CATEGORY})")
            for part, quantity in _parts(line, charge, priced):
                amount = part.amount if part is not None else line.amount
                cost_center = part.cost_center if part is not None and part.cost_center else None
                tags = (("cost_center", cost_center),) if cost_center else ()
                tags += (("tier", line.tier),)
                if charge is not None:
                    tags += (("tariff_version", charge.tariff_version),)
                    if charge.dimension and charge.dimension_value:  # a price by dimension's value, as priced
                        tags += ((dimension_tag(charge.dimension), charge.dimension_value),)
                row = FocusRow(
                    billed_cost=amount,
                    billing_account_id=provider.account_id,
                    billing_account_name=provider.name,
                    billing_account_type=provider.account_type,
                    billing_currency=document.currency,
                    billing_period_start=billing_start,
                    billing_period_end=billing_end,
                    charge_category=category,
                    charge_class=CORRECTION if is_correction else None,
                    charge_description=ascii_text(line.description),
                    charge_frequency={USAGE: "Usage-Based", PURCHASE: "Recurring"}.get(category, "One-Time"),
                    charge_period_start=period[0],
                    charge_period_end=period[1],
                    contracted_cost=amount,
                    effective_cost=Decimal(0) if category == PURCHASE else amount,
                    invoice_id=ascii_id(document.number),
                    invoice_issuer_name=provider.name,
                    list_cost=amount,
                    pricing_category="Standard" if priced else None,
                    pricing_quantity=quantity if priced else None,
                    pricing_unit=focus_unit(line.unit) if priced else None,
                    provider_name=provider.name,
                    publisher_name=provider.name,
                    service_category=service_category,
                    service_name=ascii_text(line.service_name),
                    service_subcategory=service_subcategory,
                    sub_account_id=ascii_id(document.business_line),
                    sub_account_name=ascii_text(document.buyer_name),
                    sub_account_type=SUB_ACCOUNT_TYPE,
                    tags=tags,
                    x_document_type=document.kind,
                    x_issue_date=document.issue_date,
                    x_invoice_line_number=line.line_no,
                    x_corrected_invoice_id=line.original_invoice,
                    x_corrected_invoice_line_number=line.original_line_no,
                    x_cost_center=cost_center,
                    x_general_ledger_cost_center=(part.gl_code or None) if part is not None else None,
                    x_service_code=line.service,
                    x_tier_code=line.tier,
                    x_tier_name=line.tier_name,
                    x_unit=line.unit,
                    x_tariff_version=charge.tariff_version if charge is not None else None,
                    x_pricing_model=charge.model if charge is not None else None,
                    x_price_detail=line.detail or None,
                )
                rows.append(row)
                if category == PURCHASE:
                    rows.append(fee_in_use(row))
    return tuple(rows)


#: The tags every row may carry already; a dimension of one of these names is tagged ``dimension_<name>``.
_OWN_TAGS = ("cost_center", "tier", "tariff_version")


def dimension_tag(dimension: str) -> str:
    """The Tags key a price dimension's value is written under: its name (``region``), unless
    that is one of the bill's own tags."""
    return f"dimension_{dimension}" if dimension in _OWN_TAGS else dimension


def fee_in_use(purchase: FocusRow) -> FocusRow:
    """The month's use of a monthly fee bought on its own: FOCUS's way of carrying a purchase
    into the effective (amortised) cost. The Purchase row bills the fee with an EffectiveCost of
    0; this Usage row bills nothing and carries the fee as its EffectiveCost, over the same
    charge period, service, business line and tags. So BilledCost and EffectiveCost each sum to
    the documents, and ListCost and ContractedCost stay on the Purchase row alone."""
    return replace(purchase, charge_category=USAGE, charge_frequency="Recurring", billed_cost=Decimal(0),
                   effective_cost=purchase.billed_cost, contracted_cost=Decimal(0), list_cost=Decimal(0))
