"""The billing vocabulary: organisation, subscriptions, usage summaries, charges, documents.

Frozen records, no I/O. The store returns these; the pure core takes and makes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billing.money import ZERO
from billing.problems import SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessLine:
    code: str
    name: str
    head_name: str | None = None
    head_email: str | None = None
    division: str | None = None
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CostCenter:
    code: str
    name: str
    gl_code: str
    business_line: str
    effective_from: dt.date
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ownership:
    """A cost centre belongs to a business line from one date to another (both inclusive)."""

    cost_center: str
    business_line: str
    effective_from: dt.date
    effective_to: dt.date | None

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    business_line: str
    service: str
    tier: str
    effective_from: dt.date
    effective_to: dt.date | None = None
    source: SourceRef | None = None

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyUsage:
    """Accepted usage of one day summed per business line, cost centre, service and tier."""

    usage_date: dt.date
    business_line: str
    cost_center: str | None
    service: str
    tier: str | None
    quantity: Decimal
    cost: Decimal
    rows: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaResult:
    """A measured service level for a month; ``business_line`` None means every business line."""

    service: str
    tier: str
    metric: str
    achieved: Decimal
    business_line: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CostCenterShare:
    cost_center: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Charge:
    """One priced segment of a month, or the service credit on one.

    ``amount`` is ``exact_amount`` rounded once (billing.money.round_minor): it is the invoice
    line's amount, and ``cost_centers`` split it exactly.
    """

    line_no: int
    kind: str  # usage | sla_credit
    business_line: str
    service: str
    tier: str
    tariff_version: str
    charging_mode: str
    segment_from: dt.date
    segment_to: dt.date
    model: str
    quantity: Decimal
    included: Decimal
    billable: Decimal
    cost: Decimal
    exact_amount: Decimal
    amount: Decimal
    currency: str
    detail: str
    flags: tuple[str, ...] = ()
    credit_of_line: int | None = None
    usage_rows: int = 0
    cost_centers: tuple[CostCenterShare, ...] = ()

    def __post_init__(self) -> None:
        if self.cost_centers and sum((c.amount for c in self.cost_centers), ZERO) != self.amount:
            raise ValueError(f"charge line {self.line_no}: cost-centre parts do not sum to {self.amount}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCostCenter:
    cost_center: str  # "" when the business line has no cost centre
    gl_code: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceLine:
    """A line as issued: names and amounts are copied on, so it reads the same forever."""

    line_no: int
    kind: str  # usage | sla_credit | adjustment
    service: str
    service_name: str
    tier: str
    tier_name: str
    description: str
    quantity: Decimal
    unit: str
    detail: str
    amount: Decimal
    cost_centers: tuple[LineCostCenter, ...] = ()
    charge_line_no: int | None = None  # the month's charge line it came from
    original_invoice: str | None = None  # credit/debit notes: the corrected invoice's number
    original_line_no: int | None = None

    def __post_init__(self) -> None:
        if self.cost_centers and sum((c.amount for c in self.cost_centers), ZERO) != self.amount:
            raise ValueError(f"invoice line {self.line_no}: cost-centre parts do not sum to {self.amount}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Invoice:
    """An invoice, credit note or debit note for one business line. Issued documents never
    change; ``number`` is empty on a draft, before the close numbers it."""

    number: str
    kind: str  # invoice | credit_note | debit_note
    month: str
    issue_date: dt.date
    business_line: str
    buyer_name: str
    buyer_head: str | None
    currency: str
    lines: tuple[InvoiceLine, ...]
    total: Decimal
    fiscal_year: int = 0
    original_invoice: str | None = None
    reason: str | None = None
    issued_by: str = ""

    def __post_init__(self) -> None:
        if sum((line.amount for line in self.lines), ZERO) != self.total:
            raise ValueError(f"invoice {self.number or self.business_line}: lines do not sum to the total {self.total}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalLine:
    """One line of the general-ledger journal; exactly one of debit and credit is non-zero."""

    posting_date: dt.date
    period: str
    document_number: str
    line: int
    account: str
    cost_center: str
    debit: Decimal
    credit: Decimal
    currency: str
    text: str
    reference: str

    def __post_init__(self) -> None:
        if self.debit < 0 or self.credit < 0 or (self.debit and self.credit):
            raise ValueError(f"journal line {self.document_number}/{self.line}: one non-negative side only")
