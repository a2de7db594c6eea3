"""Trace an invoice line back to its charge, tariff version and usage rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.core.problems import ChargebackError
from billing.core.records import ChargeKind
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import usage as usage_store


def explain_line(session: Session, reference: str, *, limit: int = 20) -> list[str]:
    number, _, line_text = reference.partition("/")
    if not line_text.isdigit():
        raise ChargebackError(f"{reference!r}: write the invoice number and line as NUMBER/LINE, e.g. CB-2026-000003/2")
    document = documents.by_number(session, number)
    if document is None:
        raise ChargebackError(f"no document numbered {number!r}")
    line = next((l for l in document.lines if l.line_no == int(line_text)), None)
    if line is None:
        raise ChargebackError(f"{number} has no line {line_text}; it has lines 1 to {len(document.lines)}")
    out = [
        f"{document.kind.replace('_', ' ')} {number} line {line.line_no}: {line.description}",
        f"  amount {line.amount} {document.currency}; quantity {line.quantity.normalize()} {line.unit}; {line.detail}",
    ]
    for part in line.cost_centers:
        out.append(f"  cost centre {part.cost_center or '(none)'} (GL {part.gl_code or '-'}): {part.amount}")
    if line.original_invoice:
        out.append(f"  corrects {line.original_invoice} line {line.original_line_no}; reason: {document.reason}")
        return out
    charges = {c.line_no: c for c in charge_store.month_charges(session, document.month)}
    charge = charges.get(line.charge_line_no)
    if charge is None:
        out.append("  (the month has been re-rated since; its charge lines no longer match this document)")
        return out
    version = catalogue_store.tariff_version(session, charge.service, charge.tariff_version)
    out.append(f"  charge line {charge.line_no} of {document.month}: {charge.kind}, tier {charge.tier}, "
               f"{charge.segment_from}..{charge.segment_to}")
    out.append(f"  tariff {charge.service} version {charge.tariff_version} ({version.effective_from}.."
               f"{version.effective_to or 'open'}, {version.currency}), model {charge.model}")
    out.append(f"  quantity {charge.quantity.normalize()} = included {charge.included.normalize()} + billable "
               f"{charge.billable.normalize()}; source cost {charge.cost.normalize()}; exact amount {charge.exact_amount}")
    if charge.flags:
        out.append(f"  flags: {'; '.join(charge.flags)}")
    if charge.kind is ChargeKind.SLA_CREDIT:
        out.append(f"  service credit on charge line {charge.credit_of_line}")
        return out
    count, rows = usage_store.usage_rows_for(session, document.month, charge.business_line, charge.service, limit=limit)
    out.append(f"  usage rows for {charge.business_line} {charge.service} in {document.month}: {count:,}"
               + (f" (the first {len(rows):,} listed; `chargeback explain {reference} --rows {count}` lists all)"
                  if count > len(rows) else ""))
    for file, row_no, record_id, day, center, tier, quantity, cost, description, note, invoice in rows:
        out.append(f"    {file}:{row_no} record {record_id} {day} {center or '-'} {tier or ''} qty {quantity}"
                   + (f" cost {cost}" if cost is not None else "") + (f" {description}" if description else "")
                   + (f" [provider invoice {invoice}]" if invoice else "") + (f" ({note})" if note else ""))
    return out
