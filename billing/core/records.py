"""The billing vocabulary: organisation, subscriptions, usage summaries, charges, documents.

Frozen records, no I/O. The store returns these; the pure core takes and makes them.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal, localcontext

from fractions import Fraction

from billing.core.money import EXACT, ZERO
from billing.core.periods import days_in_month, month_of
from billing.core.problems import SourceRef
from tariffs.model import ChargingMode, Metric, PricingModel, Working


class ChargeKind(enum.StrEnum):
    USAGE = "usage"  # a priced segment of the month
    SLA_CREDIT = "sla_credit"  # the service credit on one (negative)
    FEE = "fee"  # a quarterly or annual fee of a tier, or its part of the month (Charge.label names it)
    DISCOUNT = "discount"  # a negotiated discount on the month's usage charges of a service (negative)
    TRUE_UP = "true_up"  # the shortfall of a year's charges against a commitment, in the year's last month


class LineKind(enum.StrEnum):
    """What a document line is: a charge as rated, or a correction of an earlier line."""

    USAGE = "usage"
    SLA_CREDIT = "sla_credit"
    FEE = "fee"
    DISCOUNT = "discount"
    TRUE_UP = "true_up"
    ADJUSTMENT = "adjustment"


class DocumentKind(enum.StrEnum):
    """What a document is for the buyer and the ledger."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


class DocumentRole(enum.StrEnum):
    """Why a document was issued. Behaviour follows the role, never the text of a reason."""

    INVOICE = "invoice"  # the month's invoice, issued by the close
    CREDIT_NOTE = "credit_note"  # a correction issued by `chargeback adjust`
    DEBIT_NOTE = "debit_note"  # a correction issued by `chargeback adjust --debit`
    REOPEN_CANCELLATION = "reopen_cancellation"  # cancels an invoice in full when its month is reopened

    @property
    def kind(self) -> DocumentKind:
        return DocumentKind.CREDIT_NOTE if self is DocumentRole.REOPEN_CANCELLATION else DocumentKind(self.value)

    @property
    def is_correction(self) -> bool:
        """A note issued to correct an invoice (not the cancellation of a reopened month)."""
        return self in (DocumentRole.CREDIT_NOTE, DocumentRole.DEBIT_NOTE)


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectedRow:
    """A row a load refused, as the store keeps it: where it was (file, row, column), the
    problem's code and the reason (its message and hint), and the feed that brought it. A usage
    row also names the months of its feed and its source."""

    file: str
    row: int | None
    column: str | None
    code: str  # a billing.core.problems.ProblemCode value
    reason: str
    feed: int
    month: str | None = None  # usage: the months of the feed ("2026-03" or "2026-03,2026-04")
    source: str | None = None  # usage: the feed's source

    @property
    def place(self) -> str:
        """``file:row:column``, each part only when known."""
        return ":".join(str(p) for p in (self.file, self.row, self.column) if p not in (None, ""))


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
class RatingRun:
    """One run of a month's rating: who ran it, when, over how many usage rows, what it came to
    (charges to invoice), and the fingerprint of what it priced (a close compares it)."""

    id: int
    month: str
    run_at: dt.datetime
    run_by: str
    usage_rows: int
    total: Decimal
    inputs_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CostCenterShare:
    cost_center: str
    quantity: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Charge:
    """One priced segment of a month, or the service credit on one.

    ``amount`` is ``exact_amount`` rounded once (billing.core.money.round_minor): it is the invoice
    line's amount, and ``cost_centers`` split it exactly.

    A segment is one tier under one tariff version: ``days_in_force`` is the days of the month
    that tier and version were in force for the business line, and :attr:`fraction` (those days
    over the days of the month) what its monthly fee, included quantity and minimum were
    prorated by (docs/pricing.md, "Mid-month tier or tariff changes"), under the default
    proration convention: a tariff version with a ``proration`` (a 30-day month, the end day not
    counted; "Proration conventions") prorated by ``tariffs.pricing.proration_fraction`` instead,
    which these calendar days do not give. A service credit carries its charge's. None on a
    charge stored before charges kept it (store migration 0006).
    """

    line_no: int
    kind: ChargeKind
    business_line: str
    service: str
    tier: str
    tariff_version: str
    charging_mode: ChargingMode
    segment_from: dt.date
    segment_to: dt.date
    model: PricingModel
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
    credit_metric: Metric | None = None  # a service credit: the metric whose miss gave it
    days_in_force: int | None = None
    #: a price by dimension: the service's dimension (region) and the value this charge prices
    #: (eu-west); the value is None on the tier's terms (monthly fee, minimum) and on usage naming none
    dimension: str | None = None
    dimension_value: str | None = None
    label: str = ""  # a fee: its name (the tier price's fees[].name)
    period_from: dt.date | None = None  # a fee: the first and last day of the quarter or year it is for,
    period_to: dt.date | None = None  # that the tier is in force (the segment is the month's days)
    #: how the amount was priced, step by step (tariffs.pricing): the steps add up to ``exact_amount``;
    #: empty on a charge stored before charges kept them (store migration 0010)
    workings: tuple[Working, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ChargeKind):
            object.__setattr__(self, "kind", ChargeKind(self.kind))
        if not isinstance(self.charging_mode, ChargingMode):
            object.__setattr__(self, "charging_mode", ChargingMode(self.charging_mode))
        if not isinstance(self.model, PricingModel):
            object.__setattr__(self, "model", PricingModel(self.model))
        if self.credit_metric is not None and not isinstance(self.credit_metric, Metric):
            object.__setattr__(self, "credit_metric", Metric(self.credit_metric))
        if self.cost_centers and sum((c.amount for c in self.cost_centers), ZERO) != self.amount:
            raise ValueError(f"charge line {self.line_no}: cost-centre parts do not sum to {self.amount}")
        if self.days_in_force is not None and not 0 <= self.days_in_force <= days_in_month(month_of(self.segment_from)):
            raise ValueError(f"charge line {self.line_no}: {self.days_in_force} days in force is not a number of days of its month")
        if self.workings:
            with localcontext(EXACT):
                worked = sum((w.amount for w in self.workings), ZERO)
            if worked != self.exact_amount:
                raise ValueError(f"charge line {self.line_no}: its workings come to {worked}, not {self.exact_amount}")

    @property
    def fraction(self) -> Fraction | None:
        """The share of its month the segment was in force (None: not kept, see ``days_in_force``)."""
        if self.days_in_force is None:
            return None
        return Fraction(self.days_in_force, days_in_month(month_of(self.segment_from)))


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCostCenter:
    cost_center: str  # "" when the business line has no cost centre
    gl_code: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceLine:
    """A line as issued: names and amounts are copied on, so it reads the same forever."""

    line_no: int
    kind: LineKind
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
    dimension: str | None = None  # a price by dimension: the dimension (region) and the value the line prices
    dimension_value: str | None = None
    #: how the amount was reached, step by step, as issued: an invoice line's are its charge's
    #: (exact amounts, before the line's one rounding); a note line's what was charged, what it
    #: corrects and why (whole minor units adding up to the line's amount); none on lines issued
    #: before lines kept them
    workings: tuple[Working, ...] = ()

    @property
    def dimension_text(self) -> str:
        """``region eu-west`` on a line pricing a dimension value; "" on any other."""
        return f"{self.dimension} {self.dimension_value}" if self.dimension and self.dimension_value else ""

    def __post_init__(self) -> None:
        if not isinstance(self.kind, LineKind):
            object.__setattr__(self, "kind", LineKind(self.kind))
        if self.cost_centers and sum((c.amount for c in self.cost_centers), ZERO) != self.amount:
            raise ValueError(f"invoice line {self.line_no}: cost-centre parts do not sum to {self.amount}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Invoice:
    """An invoice, credit note or debit note for one business line. Issued documents never
    change; ``number`` is empty on a draft, before the close numbers it.

    ``role`` says why it was issued (default: the role of the same name as ``kind``); a note
    cites the invoice it corrects or cancels in ``original_invoice``."""

    number: str
    kind: DocumentKind
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
    role: DocumentRole | None = None

    def __post_init__(self) -> None:
        kind = self.kind if isinstance(self.kind, DocumentKind) else DocumentKind(self.kind)
        object.__setattr__(self, "kind", kind)
        role = DocumentRole(kind.value) if self.role is None else DocumentRole(self.role)
        object.__setattr__(self, "role", role)
        if role.kind is not kind:
            raise ValueError(f"document {self.number or self.business_line}: a {role.value} is a {role.kind.value}, not a {kind.value}")
        if role is DocumentRole.REOPEN_CANCELLATION and not self.original_invoice:
            raise ValueError(f"document {self.number or self.business_line}: a cancellation cites the invoice it cancels")
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
