"""Disputes of invoice lines: rows in, records out (billing.core.disputes). A dispute is never
deleted; its state moves once, from open to accepted or rejected."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.core.disputes import Dispute, DisputeState
from billing.store.schema import Dispute as DisputeRow, Invoice, InvoiceLine

ACTIONS = ("dispute.raise", "dispute.accept", "dispute.reject")
"""The audit trail's actions of disputes (billing/store/bounds.py checks they fit)."""


def _query():
    note = Invoice.__table__.alias("note")
    return (select(DisputeRow, Invoice.number, Invoice.month, Invoice.currency, InvoiceLine.line_no,
                   InvoiceLine.service_name, InvoiceLine.description, InvoiceLine.quantity, InvoiceLine.unit,
                   InvoiceLine.amount, note.c.number)
            .join(InvoiceLine, InvoiceLine.id == DisputeRow.invoice_line_id)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .outerjoin(note, note.c.id == DisputeRow.note_id))


def _record(found) -> Dispute:
    row, number, month, currency, line_no, service_name, description, quantity, unit, amount, note = found
    return Dispute(
        id=row.id, business_line=row.business_line_code, invoice=number, month=month, line_no=line_no,
        service_name=service_name, description=description, line_quantity=quantity, unit=unit, line_amount=amount,
        currency=currency, reason=row.reason, amount=row.amount, quantity=row.quantity, state=DisputeState(row.state),
        raised_by=row.raised_by, raised_at=row.raised_at, decided_by=row.decided_by, decided_at=row.decided_at,
        decision=row.decision, note=note, asked_amount=row.asked_amount, accepted_amount=row.accepted_amount)


def disputes(session: Session, *, lines: Collection[str] | None = None, state: DisputeState | None = None,
             invoice: str | None = None, line_no: int | None = None) -> list[Dispute]:
    """Every dispute (of business lines ``lines`` only, when given; in ``state``; of invoice
    ``invoice``'s line ``line_no``), newest first."""
    query = _query()
    if invoice is not None:
        query = query.where(Invoice.number == invoice)
    if line_no is not None:
        query = query.where(InvoiceLine.line_no == line_no)
    if lines is not None:
        query = query.where(DisputeRow.business_line_code.in_(sorted(lines)))
    if state is not None:
        query = query.where(DisputeRow.state == state.value)
    return [_record(found) for found in session.execute(query.order_by(DisputeRow.id.desc()))]


def dispute(session: Session, dispute_id: int, *, for_update: bool = False) -> Dispute | None:
    """Dispute ``dispute_id``; ``for_update`` holds its row until the transaction ends (no two
    decisions on it at once)."""
    query = _query().where(DisputeRow.id == dispute_id)
    if for_update:
        query = query.with_for_update(of=DisputeRow)
    found = session.execute(query).first()
    return None if found is None else _record(found)


def open_dispute_of_line(session: Session, number: str, line_no: int) -> int | None:
    """The id of the open dispute of invoice ``number``'s line ``line_no``, if there is one."""
    return session.scalar(
        select(DisputeRow.id).join(InvoiceLine, InvoiceLine.id == DisputeRow.invoice_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.number == number, InvoiceLine.line_no == line_no, DisputeRow.state == DisputeState.OPEN.value))


def add_dispute(session: Session, *, number: str, line_no: int, business_line: str, reason: str,
                amount: Decimal | None, quantity: Decimal | None, by: str, at: dt.datetime) -> int:
    line_id = session.scalar(select(InvoiceLine.id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
                             .where(Invoice.number == number, InvoiceLine.line_no == line_no))
    row = DisputeRow(business_line_code=business_line, invoice_line_id=line_id, reason=reason, amount=amount,
                     quantity=quantity, state=DisputeState.OPEN.value, raised_by=by, raised_at=at)
    session.add(row)
    session.flush()
    return row.id


def decide(session: Session, dispute_id: int, *, state: DisputeState, by: str, at: dt.datetime,
           decision: str | None, note: str | None = None, asked_amount: Decimal | None = None,
           accepted_amount: Decimal | None = None) -> None:
    row = session.get(DisputeRow, dispute_id)
    assert row is not None and row.state == DisputeState.OPEN.value
    row.state, row.decided_by, row.decided_at, row.decision = state.value, by, at, decision
    row.asked_amount, row.accepted_amount = asked_amount, accepted_amount
    if note is not None:
        row.note_id = session.scalar(select(Invoice.id).where(Invoice.number == note))
    session.flush()
