"""Disputes of invoice lines, end to end: a head raises one, finance accepts it (the credit or
debit note is issued through the adjustment path, in the next open month, citing the
dispute) or rejects it with a reason. The portal and ``chargeback disputes`` call these; who
may call which is theirs to check (portal/access.py), and ``lines`` keeps a head to its own
business lines here too: another line's invoice or dispute is answered as one that does not
exist. Every action is in the audit trail with the person who took it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.close.invoicing import adjustment_note
from billing.core.disputes import Dispute, DisputeState, check_claim, clean_text
from billing.core.limits import AMOUNT
from billing.core.problems import ChargebackError
from billing.core.records import DocumentRole
from billing.jobs.adjust import adjust_invoice
from billing.store import audit, documents, locks
from billing.store import disputes as store


class NotFound(ChargebackError):
    """No such invoice, line or dispute, or one of a business line the caller does not see
    (the same answer for both)."""


def _visible(code: str, lines: Collection[str] | None) -> bool:
    return lines is None or code in lines


def list_disputes(session: Session, *, lines: Collection[str] | None = None, state: DisputeState | None = None,
                  invoice: str | None = None, line_no: int | None = None) -> list[Dispute]:
    """The disputes of business lines ``lines`` (None: every line), newest first; ``state``:
    those in it; ``invoice`` and ``line_no``: those of that invoice's line."""
    return store.disputes(session, lines=lines, state=state, invoice=invoice, line_no=line_no)


def get_dispute(session: Session, dispute_id: int, *, lines: Collection[str] | None = None) -> Dispute | None:
    """Dispute ``dispute_id``, or None when there is none or it is of a line not in ``lines``."""
    found = store.dispute(session, dispute_id)
    return found if found is not None and _visible(found.business_line, lines) else None


def raise_dispute(session: Session, number: str, line_no: int, *, reason: str | None, amount: Decimal | None = None,
                  quantity: Decimal | None = None, debit: bool = False,
                  lines: Collection[str] | None = None) -> Dispute:
    """Dispute line ``line_no`` of invoice ``number`` (of a business line in ``lines``): the
    line was charged too much (a credit asked) or, ``debit``, too little, by ``amount`` or by
    ``quantity`` priced at the line's average price. Refused: a note, an invoice a reopen
    cancelled, a line already in an open dispute, more than is left of the line to credit."""
    kept, signed_amount, signed_quantity = check_claim(reason=reason, amount=amount, quantity=quantity, debit=debit)
    locks.lock_for_writing(session)
    invoice = documents.by_number(session, number)
    if invoice is None or not _visible(invoice.business_line, lines):
        raise NotFound(f"no invoice numbered {number!r}")
    line = next((l for l in invoice.lines if l.line_no == line_no), None)
    if line is None:
        raise NotFound(f"{number} has no line {line_no}")
    locks.lock_month(session, invoice.month, shared=True)  # not while a reopen cancels it
    if invoice.role is not DocumentRole.INVOICE:
        raise ChargebackError(f"{number} is a {invoice.kind.value.replace('_', ' ')}: dispute the invoice it corrects")
    if number not in {i.number for i in documents.live_invoices(session, invoice.month)}:
        raise ChargebackError(f"{number} was cancelled when {invoice.month} was reopened: dispute the invoice that "
                              f"replaced it")
    if (open_id := store.open_dispute_of_line(session, number, line_no)) is not None:
        raise ChargebackError(f"{number} line {line_no} is already in dispute {open_id}, which finance has not "
                              f"decided yet")
    # the note that would settle it must be one the adjustment path can issue (what is left to credit)
    adjustment_note(invoice, month=invoice.month, issue_date=dt.date.today(), reason=kept, line_no=line_no,
                    amount=None if signed_amount is None else abs(signed_amount),
                    quantity=None if signed_quantity is None else abs(signed_quantity), debit=debit,
                    already_adjusted=documents.adjusted_by_line(session, number))
    user, at = audit.current_user(), audit.now()
    dispute_id = store.add_dispute(session, number=number, line_no=line_no, business_line=invoice.business_line,
                                   reason=kept, amount=signed_amount, quantity=signed_quantity, by=user, at=at)
    asked = (f"{signed_amount} {invoice.currency}" if signed_amount is not None
             else f"{signed_quantity} {line.unit}")
    audit.record(session, "dispute.raise", f"dispute {dispute_id}", f"{number} line {line_no} ({invoice.business_line}):"
                 f" {asked}; reason: {kept}", user=user)
    found = store.dispute(session, dispute_id)
    assert found is not None
    return found


def _open(session: Session, dispute_id: int) -> Dispute:
    locks.lock_for_writing(session)
    found = store.dispute(session, dispute_id, for_update=True)
    if found is None:
        raise NotFound(f"no dispute {dispute_id}; list them with `chargeback disputes list`")
    if found.state is not DisputeState.OPEN:
        raise ChargebackError(f"dispute {dispute_id} was {found.state.value} by {found.decided_by} on "
                              f"{found.decided_at:%Y-%m-%d}: it is decided once")
    return found


def accept_dispute(session: Session, dispute_id: int, *, remark: str | None = None,
                   amount: Decimal | None = None) -> Dispute:
    """Accept dispute ``dispute_id``: its credit (or debit) note is issued against the
    invoice's line in the next open month, its reason citing the dispute; the closed month is
    not touched. ``amount`` (above zero, in the invoice's currency): accept that much only,
    less than the claim came to (partial acceptance), with a remark saying why; the note is
    issued for that amount. The dispute keeps what the claim came to and what was accepted.
    Returns the dispute as accepted, with the note's number."""
    kept = clean_text("a remark", remark, required=False)
    if amount is not None:
        if amount <= 0:
            raise ChargebackError("give the amount accepted as a number above zero (reject the dispute to accept none)")
        if (beyond := AMOUNT.problem("the amount accepted", amount)) is not None:
            raise ChargebackError(beyond[1])
    found = _open(session, dispute_id)
    invoice = documents.by_number(session, found.invoice)
    assert invoice is not None
    asked = adjustment_note(  # what the claim comes to: its amount, or its quantity at the line's average price
        invoice, month=invoice.month, issue_date=dt.date.today(), reason=found.reason, line_no=found.line_no,
        amount=None if found.amount is None else abs(found.amount),
        quantity=None if found.quantity is None else abs(found.quantity), debit=found.debit).total
    in_part = amount is not None and amount != abs(asked)
    if in_part:
        assert amount is not None
        if amount > abs(asked):
            raise ChargebackError(f"dispute {dispute_id} asks for {abs(asked)} {invoice.currency}: accept at most that "
                                  f"(`chargeback adjust` issues a larger note of its own)")
        if kept is None:
            raise ChargebackError(f"accepting {amount} of the {abs(asked)} {invoice.currency} asked: give a remark "
                                  f"saying why (the head reads it)")
    reason = f"dispute {dispute_id}: {found.reason}"
    if in_part:
        reason += f" (accepted {amount} of {abs(asked)} {invoice.currency})"
    note = adjust_invoice(
        session, found.invoice, reason=reason, line_no=found.line_no,
        amount=amount if in_part else None if found.amount is None else abs(found.amount),
        quantity=None if in_part or found.quantity is None else abs(found.quantity), debit=found.debit)
    user, at = audit.current_user(), audit.now()
    store.decide(session, dispute_id, state=DisputeState.ACCEPTED, by=user, at=at, decision=kept, note=note.number,
                 asked_amount=asked, accepted_amount=note.total)
    audit.record(session, "dispute.accept", f"dispute {dispute_id}",
                 f"{found.reference}: {note.kind.value.replace('_', ' ')} {note.number} dated {note.month}, "
                 f"{note.total} {note.currency}" + (f" of {asked} asked" if in_part else "")
                 + (f"; {kept}" if kept else ""), user=user)
    decided = store.dispute(session, dispute_id)
    assert decided is not None
    return decided


def reject_dispute(session: Session, dispute_id: int, *, reason: str | None) -> Dispute:
    """Reject dispute ``dispute_id`` with a reason the head reads; nothing is issued."""
    kept = clean_text("a reason", reason)
    found = _open(session, dispute_id)
    user, at = audit.current_user(), audit.now()
    store.decide(session, dispute_id, state=DisputeState.REJECTED, by=user, at=at, decision=kept)
    audit.record(session, "dispute.reject", f"dispute {dispute_id}", f"{found.reference}: {kept}", user=user)
    decided = store.dispute(session, dispute_id)
    assert decided is not None
    return decided
