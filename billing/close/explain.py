"""What an invoice line is made of: its charge, the tariff version that priced it, the usage
rows behind it (records only, pure; ``billing.jobs.explain`` fills them from the store)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billing.core.records import Charge, Invoice, InvoiceLine

__all__ = ["TariffInForce", "UsageTrace", "LineExplanation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffInForce:
    """The tariff version that priced a charge."""

    service: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None  # None: open-ended
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageTrace:
    """An accepted usage row behind a charge, with the file and row it was read from."""

    file: str
    row_no: int
    record_id: str
    usage_date: dt.date
    cost_center: str | None
    tier: str | None
    quantity: Decimal
    cost: Decimal | None
    description: str | None
    note: str | None
    provider_invoice: str | None
    dimension_value: str | None = None  # as the row has it


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageDay:
    """One day of the usage behind a charge: how many accepted rows and their quantity."""

    day: dt.date
    rows: int
    quantity: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class LineExplanation:
    """An issued line traced back. A note's line corrects another document's line (``charge``
    None); an invoice line points to its charge, which is None when the month was re-rated
    since (``rerated``). A service credit has no usage rows of its own; any other charge lists
    the first of ``usage_count`` rows in ``usage_rows``."""

    reference: str  # NUMBER/LINE as asked
    document: Invoice
    line: InvoiceLine
    charge: Charge | None = None
    rerated: bool = False
    tariff: TariffInForce | None = None
    usage_count: int = 0
    usage_rows: tuple[UsageTrace, ...] = ()
    usage_days: tuple[UsageDay, ...] = ()  # every day of the rows behind the charge, not only those listed

    @property
    def is_correction(self) -> bool:
        return self.line.original_invoice is not None
