"""Issued documents (invoices, credit and debit notes): numbering, saving, reading.

Numbers come from a per-fiscal-year counter row incremented inside the close transaction, so
the sequence has no gaps: a failed close rolls the counter back with everything else. There is
no update path for an issued document.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from billing.core.money import ZERO
from billing.core.records import DocumentRole, Invoice, InvoiceLine, LineCostCenter
from billing.store import locks
from billing.store.charges import workings_of, workings_text
from billing.store import schema as t


def next_number(session: Session, fiscal_year: int, prefix: str) -> tuple[int, str]:
    locks.lock_invoice_numbers(session, fiscal_year)  # covers creating the counter row too
    counter = session.get(t.InvoiceCounter, fiscal_year, with_for_update=True)
    if counter is None:
        counter = t.InvoiceCounter(fiscal_year=fiscal_year, next_seq=1)
        session.add(counter)
        session.flush()
    seq = counter.next_seq
    counter.next_seq = seq + 1
    return seq, f"{prefix}-{fiscal_year}-{seq:06d}"


def issue(session: Session, document: Invoice, *, fiscal_year: int, prefix: str, user: str, at: dt.datetime,
          charge_ids: dict[int, int] | None = None) -> Invoice:
    """Number and store ``document``; returns it as issued."""
    charge_ids = charge_ids or {}
    seq, number = next_number(session, fiscal_year, prefix)
    business_line_id = session.scalar(select(t.BusinessLine.id).where(t.BusinessLine.code == document.business_line))
    original_id = None
    original_lines: dict[int, int] = {}
    if document.original_invoice:
        original = session.scalar(select(t.Invoice).where(t.Invoice.number == document.original_invoice))
        original_id = original.id
        original_lines = dict(session.execute(
            select(t.InvoiceLine.line_no, t.InvoiceLine.id).where(t.InvoiceLine.invoice_id == original.id)
        ).all())
    row = t.Invoice(
        number=number, fiscal_year=fiscal_year, seq=seq, kind=document.kind.value, role=document.role.value,
        month=document.month,
        issue_date=document.issue_date, business_line_id=business_line_id, buyer_code=document.business_line,
        buyer_name=document.buyer_name, buyer_head=document.buyer_head, currency=document.currency, total=document.total,
        original_invoice_id=original_id, reason=document.reason, issued_at=at, issued_by=user,
    )
    session.add(row)
    session.flush()
    values = [
        dict(
            invoice_id=row.id, line_no=line.line_no, kind=line.kind.value, service_code=line.service,
            service_name=line.service_name, tier_code=line.tier, tier_name=line.tier_name,
            description=line.description, quantity=line.quantity, unit=line.unit, detail=line.detail,
            amount=line.amount, charge_id=charge_ids.get(line.charge_line_no) if line.charge_line_no else None,
            original_line_id=original_lines.get(line.original_line_no) if line.original_line_no else None,
            dimension=line.dimension, dimension_value=line.dimension_value, workings=workings_text(line.workings),
        )
        for line in document.lines
    ]
    if values:
        lines = t.InvoiceLine.__table__  # the table, not the ORM's bulk insert: a close issues hundreds of invoices
        returned = session.execute(insert(lines).returning(lines.c.id, lines.c.line_no, sort_by_parameter_order=True), values)
        line_ids = {line_no: line_id for line_id, line_no in returned}
        parts = [
            dict(invoice_line_id=line_ids[line.line_no], cost_center_code=part.cost_center, gl_code=part.gl_code, amount=part.amount)
            for line in document.lines for part in line.cost_centers
        ]
        if parts:
            session.execute(insert(t.InvoiceLineCostCenter.__table__), parts)
    return replace(document, number=number, fiscal_year=fiscal_year, issued_by=user)


def _records(session: Session, rows: list[t.Invoice]) -> list[Invoice]:
    """Documents as records, read with a handful of queries however many there are."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    # columns, not ORM objects: a 10M-row month's documents have thousands of lines and tens of
    # thousands of cost-centre parts, and building an ORM object each cost most of reading them
    line = t.InvoiceLine
    columns = (line.id, line.invoice_id, line.line_no, line.kind, line.service_code, line.service_name, line.tier_code,
               line.tier_name, line.description, line.quantity, line.unit, line.detail, line.amount, line.charge_id,
               line.original_line_id, line.dimension, line.dimension_value, line.workings)
    line_rows: dict[int, list] = {}
    all_lines: list = []
    for chunk in range(0, len(ids), 5000):
        for found in session.execute(select(*columns).where(line.invoice_id.in_(ids[chunk:chunk + 5000]))
                                     .order_by(line.invoice_id, line.line_no)):
            line_rows.setdefault(found.invoice_id, []).append(found)
            all_lines.append(found)
    line_ids = [l.id for l in all_lines]
    parts: dict[int, list[LineCostCenter]] = {}
    part = t.InvoiceLineCostCenter
    for chunk in range(0, len(line_ids), 5000):
        for line_id, center, gl_code, amount in session.execute(
                select(part.invoice_line_id, part.cost_center_code, part.gl_code, part.amount)
                .where(part.invoice_line_id.in_(line_ids[chunk:chunk + 5000])).order_by(part.id)):
            parts.setdefault(line_id, []).append(LineCostCenter(cost_center=center, gl_code=gl_code, amount=amount))
    originals = {r.original_invoice_id for r in rows if r.original_invoice_id}
    original_numbers: dict[int, str] = {}
    original_line_nos: dict[int, int] = {}
    if originals:
        original_numbers = dict(session.execute(select(t.Invoice.id, t.Invoice.number).where(t.Invoice.id.in_(originals))).all())
        original_line_nos = dict(session.execute(
            select(t.InvoiceLine.id, t.InvoiceLine.line_no).where(t.InvoiceLine.invoice_id.in_(originals))).all())
    charge_ids = sorted({l.charge_id for l in all_lines if l.charge_id})
    charge_line_nos: dict[int, int] = {}
    for chunk in range(0, len(charge_ids), 5000):
        charge_line_nos.update(session.execute(
            select(t.Charge.id, t.Charge.line_no).where(t.Charge.id.in_(charge_ids[chunk:chunk + 5000]))).all())
    documents = []
    for row in rows:
        original_number = original_numbers.get(row.original_invoice_id)
        lines = tuple(
            InvoiceLine(
                line_no=l.line_no, kind=l.kind, service=l.service_code, service_name=l.service_name, tier=l.tier_code,
                tier_name=l.tier_name, description=l.description, quantity=l.quantity, unit=l.unit, detail=l.detail,
                amount=l.amount, cost_centers=tuple(parts.get(l.id, ())),
                charge_line_no=charge_line_nos.get(l.charge_id),
                original_invoice=original_number if l.original_line_id else None,
                original_line_no=original_line_nos.get(l.original_line_id),
                dimension=l.dimension, dimension_value=l.dimension_value, workings=workings_of(l.workings),
            )
            for l in line_rows.get(row.id, [])
        )
        documents.append(Invoice(
            number=row.number, kind=row.kind, month=row.month, issue_date=row.issue_date, business_line=row.buyer_code,
            buyer_name=row.buyer_name, buyer_head=row.buyer_head, currency=row.currency, lines=lines, total=row.total,
            fiscal_year=row.fiscal_year, original_invoice=original_number, reason=row.reason, issued_by=row.issued_by,
            role=DocumentRole(row.role),
        ))
    return documents


def documents_for_month(session: Session, month: str, *, roles: Iterable[DocumentRole] | None = None) -> list[Invoice]:
    """Every document dated in ``month`` (invoices and notes; with ``roles``, those of these
    roles only), in number order."""
    query = select(t.Invoice).where(t.Invoice.month == month)
    if roles is not None:
        query = query.where(t.Invoice.role.in_([role.value for role in roles]))
    rows = list(session.scalars(query.order_by(t.Invoice.fiscal_year, t.Invoice.seq)))
    return _records(session, rows)


def by_number(session: Session, number: str) -> Invoice | None:
    row = session.scalar(select(t.Invoice).where(t.Invoice.number == number))
    return _records(session, [row])[0] if row else None


def documents_of_line(session: Session, business_line: str) -> list[Invoice]:
    """Every document issued to business line ``business_line``, newest first."""
    rows = list(session.scalars(select(t.Invoice).where(t.Invoice.buyer_code == business_line)
                                .order_by(t.Invoice.fiscal_year.desc(), t.Invoice.seq.desc())))
    return _records(session, rows)


def live_invoices(session: Session, month: str) -> list[Invoice]:
    """The month's invoices that no reopen of the month cancelled."""
    documents = documents_for_month(session, month)
    cancelled = set(session.scalars(
        select(t.Invoice.number).where(t.Invoice.id.in_(
            select(t.Invoice.original_invoice_id).where(t.Invoice.role == DocumentRole.REOPEN_CANCELLATION.value)))
    ))
    return [d for d in documents if d.role is DocumentRole.INVOICE and d.number not in cancelled]


def all_notes(session: Session) -> list[Invoice]:
    rows = list(session.scalars(select(t.Invoice).where(t.Invoice.role != DocumentRole.INVOICE.value).order_by(t.Invoice.id)))
    return _records(session, rows)


def adjusted_by_line(session: Session, number: str) -> dict[int, Decimal]:
    """Net amount of every note against each line of invoice ``number``."""
    original = session.scalar(select(t.Invoice).where(t.Invoice.number == number))
    if original is None:
        return {}
    query = (
        select(t.InvoiceLine.original_line_id, t.InvoiceLine.amount)
        .join(t.Invoice, t.Invoice.id == t.InvoiceLine.invoice_id)
        .where(t.Invoice.original_invoice_id == original.id)
    )
    line_nos = dict(session.execute(select(t.InvoiceLine.id, t.InvoiceLine.line_no).where(t.InvoiceLine.invoice_id == original.id)).all())
    net: dict[int, Decimal] = {}
    for line_id, amount in session.execute(query):
        if line_id in line_nos:
            net[line_nos[line_id]] = net.get(line_nos[line_id], ZERO) + amount
    return net


def count_documents(session: Session, month: str) -> int:
    return session.scalar(select(func.count()).select_from(t.Invoice).where(t.Invoice.month == month)) or 0


def months_of(session: Session, numbers: list[str]) -> dict[str, str]:
    """Document number → the month it is dated in, for the numbers that exist."""
    found: dict[str, str] = {}
    for chunk in range(0, len(numbers), 1000):
        found.update(session.execute(
            select(t.Invoice.number, t.Invoice.month).where(t.Invoice.number.in_(numbers[chunk:chunk + 1000]))).all())
    return found


def any_numbered(session: Session) -> bool:
    """Whether any invoice or note has been numbered yet (in any month)."""
    return session.scalar(select(t.Invoice.id).limit(1)) is not None
