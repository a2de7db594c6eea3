"""Who gets which statement by e-mail (``chargeback statements send``), pure.

Each business line's statement goes to its head's ``head_email`` and to no one else. A send
is recorded in the audit trail, one event per message, as it is handed to the mail server
(:func:`sent_subject`, :func:`sent_detail`); :func:`delivery_plan` reads those events back, so
a second send of the month sends only the statements not sent yet, unless ``resend``. A
statement counts as sent for the invoice it showed: after a reopen and a new close its new
invoice is sent again. A line without a usable address is listed, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from billing.core.addresses import address_problem

__all__ = ["Recipient", "SentBefore", "DeliveryPlan", "delivery_plan", "sent_subject", "sent_detail", "read_sent",
           "NO_INVOICE"]

NO_INVOICE = "-"
"""The invoice token of a statement with notes but no invoice of the month."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """A business line's statement of the month and where it would go."""

    business_line: str
    invoice: str  # the invoice number the statement shows, or NO_INVOICE
    head_email: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SentBefore:
    """A statement handed to the mail server earlier (read from the audit trail)."""

    business_line: str
    invoice: str
    address: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPlan:
    to_send: tuple[Recipient, ...]
    already_sent: tuple[Recipient, ...]  # sent before for the same invoice: not sent again without resend
    without_address: tuple[tuple[Recipient, str], ...]  # (recipient, why its address cannot be used)


def delivery_plan(recipients: Sequence[Recipient], sent: Iterable[SentBefore], *, resend: bool = False) -> DeliveryPlan:
    """Which statements to send: every one with a usable address, but those already sent for the
    same invoice (unless ``resend``); the lines without a usable address, with the reason."""
    done = {(s.business_line, s.invoice) for s in sent}
    to_send, already, missing = [], [], []
    for recipient in recipients:
        problem = "the organisation file gives no head_email" if not recipient.head_email else address_problem(recipient.head_email)
        if problem:
            missing.append((recipient, problem))
        elif (recipient.business_line, recipient.invoice) in done and not resend:
            already.append(recipient)
        else:
            to_send.append(recipient)
    return DeliveryPlan(to_send=tuple(to_send), already_sent=tuple(already), without_address=tuple(missing))


def sent_subject(month: str, business_line: str) -> str:
    """The audit subject of a statement sent: ``2026-03/FIN``."""
    return f"{month}/{business_line}"


def sent_detail(invoice: str, address: str, message_id: str) -> str:
    """The audit detail of a statement sent: ``CB-2026-000012 to elena.rossi@example.com, Message-ID <...>``."""
    return f"{invoice} to {address}, Message-ID {message_id}"


def read_sent(month: str, events: Iterable[tuple[str, str | None]]) -> list[SentBefore]:
    """The statements of ``month`` sent before, from the (subject, detail) of their audit events."""
    found = []
    for subject, detail in events:
        prefix = f"{month}/"
        if not subject.startswith(prefix) or not detail or " to " not in detail:
            continue
        invoice, _, rest = detail.partition(" to ")
        found.append(SentBefore(business_line=subject[len(prefix):], invoice=invoice, address=rest.split(",")[0]))
    return found
