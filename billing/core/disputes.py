"""Disputes: a business line's head disputes a line of an issued invoice of theirs, with a
reason and an amount or a quantity; finance accepts it (a credit or debit note is issued in
the next open month, citing the dispute) or rejects it with a reason. Pure: the record, the
states and the checks of what a person writes (billing/jobs/disputes.py keeps them).

A dispute's amount or quantity is signed as the note that would settle it: below zero a
credit (the line was charged too much), above zero a debit (too little).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from billing.core.limits import AMOUNT, QUANTITY
from billing.core.problems import ChargebackError, has_control

MAX_REASON = 2000
"""The longest reason or decision kept (characters, after runs of spaces and line breaks are
made one space)."""


class DisputeState(enum.StrEnum):
    OPEN = "open"  # raised, waiting for finance
    ACCEPTED = "accepted"  # a note was issued
    REJECTED = "rejected"  # refused, with finance's reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Dispute:
    """A dispute as kept: what was disputed, by whom and when, and what finance decided."""

    id: int
    business_line: str
    invoice: str  # the invoice's number
    month: str  # the invoice's month
    line_no: int
    service_name: str
    description: str
    line_quantity: Decimal
    unit: str
    line_amount: Decimal
    currency: str
    reason: str
    amount: Decimal | None  # signed as the note: below zero a credit
    quantity: Decimal | None
    state: DisputeState
    raised_by: str
    raised_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision: str | None = None  # finance's reason to reject, or a remark on accepting
    note: str | None = None  # the credit or debit note's number once accepted
    asked_amount: Decimal | None = None  # once accepted: what the claim came to, signed as the note (a quantity priced)
    accepted_amount: Decimal | None = None  # once accepted: the note's total, signed as the note

    @property
    def in_part(self) -> bool:
        """Whether finance accepted another amount than the claim came to (partial acceptance)."""
        return self.accepted_amount is not None and self.accepted_amount != self.asked_amount

    @property
    def debit(self) -> bool:
        """Whether the dispute asks for a debit note (the line was charged too little)."""
        asked = self.amount if self.amount is not None else self.quantity
        return asked is not None and asked > 0

    @property
    def reference(self) -> str:
        return f"{self.invoice}/{self.line_no}"


def clean_text(what: str, text: str | None, *, required: bool = True) -> str | None:
    """A reason or decision as kept: its runs of spaces and line breaks made one space; refused
    when empty (``required``), longer than :data:`MAX_REASON` or holding a control character."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        if required:
            raise ChargebackError(f"give {what}: what is wrong with the line, in a sentence or two")
        return None
    if len(cleaned) > MAX_REASON:
        raise ChargebackError(f"{what} is {len(cleaned):,} characters long: give at most {MAX_REASON:,}")
    if has_control(cleaned):
        raise ChargebackError(f"{what} holds a control character: type it again")
    return cleaned


def check_claim(*, reason: str | None, amount: Decimal | None, quantity: Decimal | None,
                debit: bool = False) -> tuple[str, Decimal | None, Decimal | None]:
    """What a head writes, checked: the reason, and the amount or the quantity signed as the
    note that would settle it (below zero a credit, above zero with ``debit``)."""
    kept = clean_text("a reason", reason)
    assert kept is not None
    if (amount is None) == (quantity is None):
        raise ChargebackError("give the amount or the quantity in dispute, one of the two")
    for what, value, limit in (("the amount", amount, AMOUNT), ("the quantity", quantity, QUANTITY)):
        if value is None:
            continue
        if value <= 0:
            raise ChargebackError(f"give {what} in dispute as a number above zero (say whether the line was "
                                  f"charged too much or too little)")
        if (beyond := limit.problem(what, value)) is not None:
            raise ChargebackError(beyond[1])
    sign = Decimal(1) if debit else Decimal(-1)
    return kept, None if amount is None else sign * amount, None if quantity is None else sign * quantity
