"""Credit and debit notes against issued invoices, dated in the next open month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.close.invoicing import adjustment_note
from billing.core.limits import AMOUNT, QUANTITY
from billing.core.periods import add_months
from billing.core.problems import Ask, ChargebackError
from billing.core.records import Invoice
from billing.store import audit
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import locks
from billing.jobs.close import fiscal_year_of


def next_open_month(session: Session, after: str) -> str:
    closed = set(charge_store.closed_months(session))
    month = add_months(after, 1)
    while month in closed:
        month = add_months(month, 1)
    return month


def adjust_invoice(
    session: Session,
    number: str,
    *,
    reason: str,
    line_no: int | None = None,
    amount: Decimal | None = None,
    quantity: Decimal | None = None,
    debit: bool = False,
    issue_date: dt.date | None = None,
) -> Invoice:
    for ask, field, value, limit in ((Ask.AMOUNT, "the amount", amount, AMOUNT),
                                     (Ask.QUANTITY, "the quantity", quantity, QUANTITY)):
        if value is not None and (beyond := limit.problem(field, value)) is not None:
            raise ChargebackError(beyond[1], asks_for=(ask,))
    locks.lock_for_writing(session)
    original = documents.by_number(session, number)
    if original is None:
        raise ChargebackError(f"no invoice numbered {number!r}; list a month's invoices with `chargeback invoices list`")
    locks.lock_month(session, original.month)  # no reopen, and no other note against it, meanwhile
    if charge_store.period_status(session, original.month) != "closed":
        meanwhile = " (another command reopened it while this one waited; nothing was done)" if locks.waited(session) else ""
        raise ChargebackError(f"{original.month} is open{meanwhile}: correct its usage or tariffs and run `chargeback month run "
                              f"{original.month}` again instead of issuing a note")
    month = next_open_month(session, original.month)
    while True:  # the note's month must stay open until it is issued: lock it, then make sure
        locks.lock_month(session, month)
        if charge_store.period_status(session, month) != "closed":
            break
        month = next_open_month(session, month)
    note = adjustment_note(
        original, month=month, issue_date=issue_date or dt.date.today(), reason=reason, line_no=line_no,
        amount=amount, quantity=quantity, debit=debit, already_adjusted=documents.adjusted_by_line(session, number),
    )
    issued = documents.issue(session, note, fiscal_year=fiscal_year_of(session, month),
                             prefix=audit.settings(session).invoice_prefix, user=audit.current_user(), at=audit.now())
    audit.record(session, f"adjust.{issued.kind}", issued.number,
                 f"against {number}{f' line {line_no}' if line_no else ''}: {issued.total} {issued.currency}; reason: {reason}")
    return issued
