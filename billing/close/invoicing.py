"""Invoices and credit or debit notes, made from charges (pure; the store numbers them).

- One invoice per business line and closed month, with a line per charge (service, tier,
  segment) and its service-credit lines; showback charges are never invoiced.
- Names and amounts are copied onto the lines, so an issued document reads the same forever.
- A correction is a new document: a credit note (negative) or debit note (positive) citing the
  original invoice and line, dated in an open month.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from billing.core.money import ZERO, amount_text, apportion, plain, round_minor
from billing.core.periods import first_day, last_day
from billing.core.problems import Ask, ChargebackError
from billing.core.records import (
    BusinessLine,
    Charge,
    ChargeKind,
    DocumentKind,
    DocumentRole,
    Invoice,
    InvoiceLine,
    LineCostCenter,
    LineKind,
)
from tariffs.model import ChargingMode, Service, Working, WorkingKind


def draft_invoices(
    *,
    month: str,
    charges: Sequence[Charge],
    services: Mapping[str, Service],
    business_lines: Mapping[str, BusinessLine],
    gl_codes: Mapping[str, str],
    issue_date: dt.date,
) -> list[Invoice]:
    """Unnumbered invoices for the month, one per business line with chargeback charges, in
    business-line code order (the order they are numbered in)."""
    by_line: dict[str, list[Charge]] = defaultdict(list)
    for charge in charges:
        if charge.charging_mode is ChargingMode.CHARGEBACK:
            by_line[charge.business_line].append(charge)
    invoices = []
    for code in sorted(by_line):
        own = sorted(by_line[code], key=lambda c: c.line_no)
        currencies = {c.currency for c in own}
        for currency in sorted(currencies):
            lines = tuple(
                _line(n, c, services, gl_codes, month)
                for n, c in enumerate((c for c in own if c.currency == currency), start=1)
            )
            line = business_lines[code]
            invoices.append(Invoice(
                number="", kind=DocumentKind.INVOICE, month=month, issue_date=issue_date, business_line=code,
                buyer_name=line.name, buyer_head=line.head_name, currency=currency, lines=lines,
                total=sum((l.amount for l in lines), ZERO),
            ))
    return invoices


def _line(line_no: int, charge: Charge, services: Mapping[str, Service], gl_codes: Mapping[str, str], month: str) -> InvoiceLine:
    service = services.get(charge.service)
    tier = service.tier(charge.tier) if service else None
    service_name = service.name if service else charge.service
    tier_name = tier.name if tier else charge.tier
    period = "" if _whole_month(charge, month) else f" ({charge.segment_from:%d %b}–{charge.segment_to:%d %b})"
    if charge.kind is ChargeKind.SLA_CREDIT:
        description = f"Service credit: {service_name}, {tier_name}{period}"
    elif charge.kind in (ChargeKind.FEE, ChargeKind.DISCOUNT, ChargeKind.TRUE_UP):  # with the period it is for
        description = (f"{charge.label}: {service_name}, {tier_name} "
                       f"({charge.period_from or charge.segment_from:%d %b %Y}–{charge.period_to or charge.segment_to:%d %b %Y})")
    else:
        description = f"{service_name}, {tier_name}{period}"
    dimension, value = (charge.dimension, charge.dimension_value) if charge.dimension_value else (None, None)
    if dimension and value:  # a price by dimension: the value this line prices
        description += f", {dimension} {value}"
    return InvoiceLine(
        line_no=line_no, kind=LineKind(charge.kind.value), service=charge.service, service_name=service_name, tier=charge.tier,
        tier_name=tier_name, description=description, quantity=charge.quantity, unit=service.unit if service else "",
        detail=charge.detail, amount=charge.amount,
        cost_centers=tuple(LineCostCenter(cost_center=s.cost_center, gl_code=gl_codes.get(s.cost_center, ""), amount=s.amount)
                           for s in charge.cost_centers),
        charge_line_no=charge.line_no, dimension=dimension, dimension_value=value, workings=charge.workings,
    )


def _whole_month(charge: Charge, month: str) -> bool:
    return charge.segment_from == first_day(month) and charge.segment_to == last_day(month)


def cancellation(original: Invoice, *, month: str, issue_date: dt.date, reason: str) -> Invoice:
    """A credit note reversing every line of ``original`` (used when a closed month is reopened)."""
    lines = tuple(_negated(line, n, original.number, line.amount, original.currency,
                           how=f"{original.month} reopened: the line reversed in full", reason=reason)
                  for n, line in enumerate(original.lines, start=1))
    return Invoice(
        number="", kind=DocumentKind.CREDIT_NOTE, role=DocumentRole.REOPEN_CANCELLATION, month=month,
        issue_date=issue_date, business_line=original.business_line, buyer_name=original.buyer_name,
        buyer_head=original.buyer_head, currency=original.currency, lines=lines,
        total=sum((l.amount for l in lines), ZERO), original_invoice=original.number, reason=reason,
    )


def adjustment_note(
    original: Invoice,
    *,
    month: str,
    issue_date: dt.date,
    reason: str,
    line_no: int | None = None,
    amount: Decimal | None = None,
    quantity: Decimal | None = None,
    debit: bool = False,
    already_adjusted: Mapping[int, Decimal] | None = None,
) -> Invoice:
    """A credit note (or, with ``debit``, a debit note) against ``original``.

    Whole invoice: every line reversed (no amount or quantity given). One line: the whole line,
    an ``amount`` (positive; its sign follows the note kind), or a ``quantity`` priced at the
    line's average price (amount × quantity / line quantity). A credit may not exceed what is
    left of the line after earlier notes (``already_adjusted``: line number → net of notes).
    """
    if not reason or not reason.strip():
        raise ChargebackError("a credit or debit note needs a reason", asks_for=(Ask.REASON,))
    if original.role is not DocumentRole.INVOICE:
        raise ChargebackError(f"{original.number} is a {original.kind.replace('_', ' ')}; adjust the invoice it corrects")
    already_adjusted = already_adjusted or {}
    sign = Decimal(1) if debit else Decimal(-1)
    if line_no is None:
        if amount is not None or quantity is not None:
            raise ChargebackError("an amount or quantity adjusts one line: give the invoice line too", asks_for=(Ask.LINE,))
        if debit:
            raise ChargebackError("a debit note needs a line and an amount or quantity",
                                      asks_for=(Ask.LINE, Ask.AMOUNT, Ask.QUANTITY))
        targets = [(line, line.amount + already_adjusted.get(line.line_no, ZERO)) for line in original.lines]
        targets = [(line, left) for line, left in targets if left != 0]
        if not targets:
            raise ChargebackError(f"{original.number} has already been credited in full")
        lines = tuple(_negated(line, n, original.number, left, original.currency, how="credited in full"
                               + (" (what earlier notes left of it)" if left != line.amount else ""),
                               earlier=left - line.amount, reason=reason)
                      for n, (line, left) in enumerate(targets, start=1))
    else:
        line = next((l for l in original.lines if l.line_no == line_no), None)
        if line is None:
            raise ChargebackError(f"{original.number} has no line {line_no}; it has lines 1 to {len(original.lines)}")
        left = line.amount + already_adjusted.get(line_no, ZERO)
        if amount is not None and quantity is not None:
            raise ChargebackError("give an amount or a quantity, not both")
        how = ""
        if quantity is not None:
            if line.quantity == 0:
                raise ChargebackError(f"line {line_no} has no quantity to price an adjustment by; give an amount",
                                      asks_for=(Ask.AMOUNT,))
            amount = round_minor(abs(line.amount) * quantity / line.quantity, original.currency)
            how = (f"{plain(quantity, grouped=True)} of {plain(line.quantity, grouped=True)} {line.unit} at the line's "
                   f"average price ({amount_text(abs(line.amount), original.currency)} × {plain(quantity, grouped=True)}"
                   f" / {plain(line.quantity, grouped=True)})").replace("  ", " ")
        if amount is None:
            value = -left if not debit else None
            if value is None:
                raise ChargebackError("a debit note needs an amount or a quantity", asks_for=(Ask.AMOUNT, Ask.QUANTITY),
                                      either=True)
            if value == 0:
                after = " after earlier notes" if already_adjusted.get(line_no) else ""
                raise ChargebackError(f"{original.number} line {line_no} has nothing left to credit{after}")
        else:
            if amount <= 0:
                raise ChargebackError("give the amount as a positive number; ask for a debit note to charge more",
                                      asks_for=(Ask.DEBIT,))
            if amount != round_minor(amount, original.currency):
                raise ChargebackError(f"{amount} has more decimals than {original.currency} allows")
            value = sign * amount
        if not debit and line.amount >= 0 and -value > left:
            raise ChargebackError(f"line {line_no} has {left} left to credit after earlier notes; {-value} is too much")
        if not how:
            how = ("what was left of the line" if amount is None and already_adjusted.get(line_no)
                   else "the whole line" if amount is None else f"{amount_text(amount, original.currency)} of the line")
        how = f"{'debited' if debit else 'credited'} {how}"
        lines = (_negated(line, 1, original.number, -value, original.currency, how=how,
                          earlier=already_adjusted.get(line_no, ZERO), reason=reason),)
    total = sum((l.amount for l in lines), ZERO)
    return Invoice(
        number="", kind=DocumentKind.DEBIT_NOTE if debit else DocumentKind.CREDIT_NOTE, month=month, issue_date=issue_date,
        business_line=original.business_line, buyer_name=original.buyer_name, buyer_head=original.buyer_head,
        currency=original.currency, lines=lines, total=total, original_invoice=original.number, reason=reason.strip(),
    )


def note_workings(line: InvoiceLine, original_number: str, value: Decimal, currency: str, *, how: str,
                  earlier: Decimal = ZERO, reason: str = "") -> tuple[Working, ...]:
    """A note line's workings: what ``line`` of ``original_number`` charged, what earlier notes
    took off it, what this one corrects (``value``, the note line's amount; ``how`` it was
    reached) and why: one step has an amount, so they add up to the note line's amount."""
    quantity = f"{plain(line.quantity, grouped=True)} {line.unit}".strip() if line.quantity else ""
    steps = [Working(kind=WorkingKind.NOTE, amount=ZERO,
                     text=f"charged on {original_number} line {line.line_no}: "
                          f"{quantity + ', ' if quantity else ''}{amount_text(line.amount, currency)}")]
    if earlier:
        steps.append(Working(kind=WorkingKind.NOTE, amount=ZERO, text=f"earlier notes against the line: "
                             f"{amount_text(earlier, currency, sign=True)}, left {amount_text(line.amount + earlier, currency)}"))
    steps.append(Working(kind=WorkingKind.CORRECTION, amount=value, text=how))
    if reason and reason.strip():
        steps.append(Working(kind=WorkingKind.NOTE, amount=ZERO, text=f"why: {reason.strip()}"))
    return tuple(steps)


def _negated(line: InvoiceLine, line_no: int, original_number: str, amount: Decimal, currency: str, *, how: str,
             earlier: Decimal = ZERO, reason: str = "") -> InvoiceLine:
    """A line of a note that takes ``amount`` off ``line`` (the note line is ``-amount``),
    split over the line's cost centres in the same proportions, with its workings
    (:func:`note_workings`)."""
    value = -amount
    parts: tuple[LineCostCenter, ...] = ()
    if line.cost_centers and line.amount != 0:
        currency_parts = apportion(
            value,
            [value * c.amount / line.amount for c in line.cost_centers],
            currency,
            keys=[c.cost_center for c in line.cost_centers],
        )
        parts = tuple(LineCostCenter(cost_center=c.cost_center, gl_code=c.gl_code, amount=p) for c, p in zip(line.cost_centers, currency_parts))
    elif line.cost_centers:
        first = line.cost_centers[0]
        parts = (LineCostCenter(cost_center=first.cost_center, gl_code=first.gl_code, amount=value),)
    quantity = -line.quantity if amount == line.amount else ZERO
    return InvoiceLine(
        line_no=line_no, kind=LineKind.ADJUSTMENT, service=line.service, service_name=line.service_name, tier=line.tier,
        tier_name=line.tier_name, description=f"Correction of {original_number} line {line.line_no}: {line.description}",
        quantity=quantity, unit=line.unit, detail=line.detail, amount=value, cost_centers=parts,
        original_invoice=original_number, original_line_no=line.line_no, dimension=line.dimension,
        dimension_value=line.dimension_value,
        workings=note_workings(line, original_number, value, currency, how=how, earlier=earlier, reason=reason),
    )

