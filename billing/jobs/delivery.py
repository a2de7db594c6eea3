"""Statements e-mailed to each business line's head (``chargeback statements send``): what to
send, to whom and through which server, read from the store; and every send recorded.

The library (billing.api.delivery) renders each message and sends it through
billing.jobs.sending.send_one, which records it here, in a transaction of its own as soon as the server took it, so the audit trail names exactly the
statements sent even when a later one fails or the command is interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping

from sqlalchemy.orm import Session

from billing.close.delivery import (
    NO_INVOICE, DeliveryPlan, Recipient, delivery_plan, read_sent, sent_detail, sent_subject,
)
from billing.close.statement import StatementInputs
from billing.core.periods import parse_month
from billing.core.problems import Ask, Asked, ChargebackError, excerpt
from billing.jobs.documents import one_line, statements_of
from billing.store import audit
from billing.store import charges as charge_store
from billing.store import locks
from billing.store import org as org_store

SENT = "statements.sent"
FAILED = "statements.send-failed"
WRITTEN = "statements.eml"


@dataclass(frozen=True, slots=True, kw_only=True)
class MailSettings:
    """The sender and the SMTP server (settings ``mail_from``, ``provider_name``, ``smtp_*``)."""

    sender: str
    sender_name: str
    host: str
    port: int
    starttls: bool
    user: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementsToSend:
    """A closed month's statements by business line, who gets which, and how it is sent."""

    month: str
    statements: Mapping[str, StatementInputs]
    plan: DeliveryPlan
    mail: MailSettings
    kept: tuple[str, ...] = ()  # the unallocated_business_line without a head's address: not e-mailed, by design


def mail_settings(session: Session, *, server: bool = True) -> MailSettings:
    """The sender and SMTP server; refused, saying which setting to set, when the sender (or,
    with ``server``, the server) is not set."""
    settings = audit.settings(session)
    if not settings.mail_from:
        raise ChargebackError("no sender address: set it with `chargeback settings set mail_from it-billing@example.com`; "
                              "nothing was sent")
    if server and not settings.smtp_host:
        raise ChargebackError("no mail server: set `chargeback settings set smtp_host smtp.example.com` (and smtp_port, "
                              "smtp_starttls, smtp_user; the password in CHARGEBACK_SMTP_PASSWORD), or make a dry run "
                              "to write the messages as .eml files; nothing was sent", asks_for=(Ask.DRY_RUN,))
    return MailSettings(sender=settings.mail_from, sender_name=settings.provider_name, host=settings.smtp_host,
                        port=settings.smtp_port, starttls=settings.smtp_starttls, user=settings.smtp_user)


def statements_to_send(session: Session, month: str, *, line: str | None = None, resend: bool = False,
                       dry_run: bool = False) -> StatementsToSend:
    """The closed month's statements to e-mail, each to its head's address in today's
    organisation (an address added after the close is used): those sent before for the same
    invoice are left out unless ``resend``, and lines without a usable address listed. The
    ``unallocated_business_line`` has no head: without an address it is kept, not sent."""
    month = parse_month(month)
    locks.lock_month(session, month, shared=True)  # not half before and half after a reopen
    if charge_store.period_status(session, month) != "closed":
        raise ChargebackError(f"{month} is not closed: its statements are drafts and are not sent; close it first "
                              f"(`chargeback month close {month}`), or write the drafts to a folder with `chargeback "
                              f"statements {month}`; nothing was sent", asks_for=(Asked(Ask.FOLDER, "DIR"),))
    mail = mail_settings(session, server=not dry_run)
    found, any_line = statements_of(session, month, line)
    if not any_line:
        raise ChargebackError(f"{month} has no charges or notes for any business line: there is no statement to send")
    if line is not None:
        found = one_line(found, month, line, "sent")
    today = {b.code: b for b in org_store.business_lines(session)}
    unallocated = audit.settings(session).unallocated_business_line
    recipients, kept = [], []
    for inputs in found:
        code = inputs.business_line.code
        current = today.get(code, inputs.business_line)
        if code == unallocated and not current.head_email:
            kept.append(code)  # usage no business line was found for: finance's to clear, not a head's
            continue
        recipients.append(Recipient(business_line=code, invoice=inputs.invoice.number if inputs.invoice else NO_INVOICE,
                                    head_email=current.head_email or None))
    sent = read_sent(month, [(e.subject, e.detail) for e in audit.events_of(session, SENT, f"{month}/")])
    return StatementsToSend(month=month, statements={s.business_line.code: s for s in found},
                            plan=delivery_plan(recipients, sent, resend=resend), mail=mail, kept=tuple(kept))


def claim(session: Session, month: str, recipient: Recipient, *, resend: bool = False) -> bool:
    """Before one message is sent, in the transaction that records it: the month locked, so two
    sends of it take turns message by message; False when the statement was sent meanwhile
    (by another send of the month), unless ``resend``."""
    locks.lock_month(session, month)
    if resend:
        return True
    sent = read_sent(month, [(e.subject, e.detail) for e in audit.events_of(session, SENT, f"{month}/")])
    return not any(s.business_line == recipient.business_line and s.invoice == recipient.invoice for s in sent)


def record_sent(session: Session, month: str, recipient: Recipient, address: str, message_id: str) -> None:
    """One statement taken by the mail server, recorded in the transaction of its :func:`claim`."""
    locks.lock_month(session, month, shared=True)
    audit.record(session, SENT, sent_subject(month, recipient.business_line),
                 sent_detail(recipient.invoice, address, message_id))


def record_failed(session: Session, month: str, recipient: Recipient, address: str, reason: str) -> None:
    """A statement the server did not take, recorded with the reason."""
    locks.lock_month(session, month, shared=True)
    audit.record(session, FAILED, sent_subject(month, recipient.business_line),
                 f"{recipient.invoice} to {address}: {excerpt(reason, 500)}")


def record_written(session: Session, month: str, count: int, folder: str) -> None:
    """A dry run: the messages written as .eml files, not sent (a later send still sends them)."""
    locks.lock_month(session, month, shared=True)
    audit.record(session, WRITTEN, month, f"{count} messages written to {excerpt(folder, 300)}, not sent")
