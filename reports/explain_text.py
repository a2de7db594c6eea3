"""An invoice line traced back, as printed lines (`chargeback explain`)."""

from __future__ import annotations

from billing.core.money import amount_text
from billing.close.explain import LineExplanation
from billing.core.records import ChargeKind
from reports.text import quantity

__all__ = ["explanation_lines"]


def explanation_lines(found: LineExplanation) -> list[str]:
    document, line, charge, reference = found.document, found.line, found.charge, found.reference
    out = [
        f"{document.kind.replace('_', ' ')} {document.number} line {line.line_no}: {line.description}",
        f"  amount {amount_text(line.amount, document.currency, code=True)}; quantity {quantity(line.quantity)} {line.unit}; {line.detail}",
    ]
    for part in line.cost_centers:
        out.append(f"  cost centre {part.cost_center or '(none)'} (GL {part.gl_code or '-'}): "
                   f"{amount_text(part.amount, document.currency)}")
    if found.is_correction:
        out.append(f"  corrects {line.original_invoice} line {line.original_line_no}; reason: {document.reason}")
        return out
    if charge is None:
        out.append("  (the month has been re-rated since; its charge lines no longer match this document)")
        return out
    tariff = found.tariff
    out.append(f"  charge line {charge.line_no} of {document.month}: {charge.kind}, tier {charge.tier}, "
               f"{charge.segment_from}..{charge.segment_to}"
               + (f", {charge.dimension} {charge.dimension_value}" if charge.dimension and charge.dimension_value else ""))
    if tariff is None:
        out.append(f"  tariff {charge.service} version {charge.tariff_version} (no longer stored), model {charge.model}")
    else:
        out.append(f"  tariff {charge.service} version {charge.tariff_version} ({tariff.effective_from}.."
                   f"{tariff.effective_to or 'open'}, {tariff.currency}), model {charge.model}")
    out.append(f"  quantity {quantity(charge.quantity)} = included {quantity(charge.included)} + billable "
               f"{quantity(charge.billable)}; source cost {amount_text(charge.cost, document.currency)}; "
               f"exact amount {amount_text(charge.exact_amount, document.currency)}")
    if charge.flags:
        out.append(f"  flags: {'; '.join(charge.flags)}")
    if charge.kind is ChargeKind.SLA_CREDIT:
        out.append(f"  service credit on charge line {charge.credit_of_line}")
        return out
    if charge.kind is not ChargeKind.USAGE:  # a quarterly or annual fee: its period and how it was reached
        out.append(f"  {charge.label}, for {charge.period_from}..{charge.period_to}: {charge.detail}")
        return out
    count, rows = found.usage_count, found.usage_rows
    out.append(f"  usage rows for {charge.business_line} {charge.service}"
               + (f" {charge.dimension} {charge.dimension_value}" if charge.dimension and charge.dimension_value else "")
               + f" in {document.month}: {count:,}"
               + (f" (the first {len(rows):,} listed; `chargeback explain {reference} --rows {count}` lists all)"
                  if count > len(rows) else ""))
    for r in rows:
        out.append(f"    {r.file}:{r.row_no} record {r.record_id} {r.usage_date} {r.cost_center or '-'} {r.tier or ''} qty {quantity(r.quantity)}"
                   + (f" cost {quantity(r.cost)}" if r.cost is not None else "") + (f" {r.description}" if r.description else "")
                   + (f" [provider invoice {r.provider_invoice}]" if r.provider_invoice else "")
                   + (f" {charge.dimension} {r.dimension_value}" if charge.dimension and r.dimension_value else "")
                   + (f" ({r.note})" if r.note else ""))
    return out
