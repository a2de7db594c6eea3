"""Trace an invoice line back to its charge, tariff version and usage rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.close.explain import LineExplanation, TariffInForce, UsageDay, UsageTrace
from billing.core.problems import ChargebackError
from billing.core.records import ChargeKind
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import usage as usage_store


def explain_line(session: Session, reference: str, *, limit: int = 20, offset: int = 0) -> LineExplanation:
    """The line ``NUMBER/LINE`` with its charge, tariff version and ``limit`` usage rows from the
    ``offset``-th on (a page of them)."""
    number, _, line_text = reference.partition("/")
    if not line_text.isdigit():
        raise ChargebackError(f"{reference!r}: write the invoice number and line as NUMBER/LINE, e.g. CB-2026-000003/2")
    document = documents.by_number(session, number)
    if document is None:
        raise ChargebackError(f"no document numbered {number!r}")
    line = next((l for l in document.lines if l.line_no == int(line_text)), None)
    if line is None:
        raise ChargebackError(f"{number} has no line {line_text}; it has lines 1 to {len(document.lines)}")
    found = LineExplanation(reference=reference, document=document, line=line)
    if line.original_invoice:
        return found
    charges = {c.line_no: c for c in charge_store.month_charges(session, document.month)}
    charge = charges.get(line.charge_line_no)
    if charge is None:
        return LineExplanation(reference=reference, document=document, line=line, rerated=True)
    version = catalogue_store.tariff_version(session, charge.service, charge.tariff_version)
    tariff = None if version is None else TariffInForce(
        service=charge.service, version=charge.tariff_version, effective_from=version.effective_from,
        effective_to=version.effective_to, currency=version.currency)
    if charge.kind is not ChargeKind.USAGE:  # a credit or a fee: no usage rows of its own
        return LineExplanation(reference=reference, document=document, line=line, charge=charge, tariff=tariff)
    count, rows, days = usage_store.usage_trace_for(session, document.month, charge.business_line, charge.service,
                                                    limit=limit, dimension_value=charge.dimension_value, offset=offset)
    return LineExplanation(
        reference=reference, document=document, line=line, charge=charge, tariff=tariff, usage_count=count,
        usage_rows=tuple(UsageTrace(file=file, row_no=row_no, record_id=record_id, usage_date=day, cost_center=center,
                                    tier=tier, quantity=quantity, cost=cost, description=description, note=note,
                                    provider_invoice=invoice, dimension_value=value)
                         for file, row_no, record_id, day, center, tier, quantity, cost, description, note, invoice, value
                         in rows),
        usage_days=tuple(UsageDay(day=day, rows=count_of_day, quantity=quantity) for day, count_of_day, quantity in days))
