"""Sending statement messages (``chargeback statements send``): where a message goes (the SMTP
server of the settings, or a dry run's folder of ``.eml`` files) and the one step a message is
sent in: the statement claimed as not sent yet, the message handed over and, as soon as the
server took it, recorded in the audit trail (billing.jobs.delivery), or its refusal recorded.

The message itself is made by reports/mail.py; billing.api.delivery.send_statements renders the
statements, makes the messages and runs each through :func:`send_one`, one transaction each.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from billing.close.delivery import Recipient
from billing.core.problems import ChargebackError
from billing.jobs import delivery as job
from billing.store.audit import SMTP_PASSWORD_VARIABLE

__all__ = ["SMTP_TIMEOUT", "Delivery", "Failure", "Transport", "transport_for", "send_one", "reason_of"]

SMTP_TIMEOUT = 60.0
"""Seconds to wait for the mail server at any step."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    business_line: str
    address: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """What a send did: the statements sent (or written, in a dry run), those sent before and
    left alone, the lines without a usable address, the messages the server did not take."""

    month: str
    dry_run: bool
    sent: tuple[tuple[Recipient, str], ...]  # (recipient, the address it went to)
    already_sent: tuple[Recipient, ...]
    without_address: tuple[tuple[Recipient, str], ...]
    failed: tuple[Failure, ...]
    kept: tuple[str, ...]  # the unallocated_business_line, which has no head to send to
    folder: Path | None  # where a dry run wrote its .eml files
    attachment: str  # "PDF" | "HTML"

    @property
    def complete(self) -> bool:
        """Every statement of the month is with its head (sent now or before)."""
        return not self.failed and not self.without_address


class Transport(Protocol):
    """Where messages go: opened before the first, closed after the last."""

    def open(self) -> None: ...
    def send(self, message: EmailMessage, sender: str, recipient: str, filename: str) -> None: ...
    def close(self) -> None: ...


class _Smtp:
    """The SMTP server of the settings; the envelope names the one recipient, never the headers."""

    def __init__(self, mail: job.MailSettings):
        self.mail = mail
        self.server: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect and log in before the first message; refused (nothing sent) when that fails."""
        mail = self.mail
        if mail.user and not os.environ.get(SMTP_PASSWORD_VARIABLE):
            raise ChargebackError(f"smtp_user is {mail.user!r} but {SMTP_PASSWORD_VARIABLE} is not set: put the "
                                  f"password in that environment variable (it is never stored); nothing was sent")
        try:
            self._connect()
        except smtplib.SMTPNotSupportedError:
            raise ChargebackError(f"the mail server {mail.host}:{mail.port} does not offer STARTTLS, which the "
                                  f"smtp_starttls setting requires (set it to no only for a server on this machine); "
                                  f"nothing was sent") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise ChargebackError(f"the mail server {mail.host}:{mail.port} refused the login of {mail.user!r} "
                                  f"({reason_of(exc)}); nothing was sent") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChargebackError(f"could not reach the mail server {mail.host}:{mail.port}: {reason_of(exc)}; "
                                  f"nothing was sent") from None

    def _connect(self) -> None:
        mail = self.mail
        server = smtplib.SMTP(mail.host, mail.port, timeout=SMTP_TIMEOUT)
        try:
            server.ehlo()
            if mail.starttls:
                if not server.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("STARTTLS is not offered")
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            if mail.user:
                server.login(mail.user, os.environ.get(SMTP_PASSWORD_VARIABLE, ""))
        except BaseException:
            server.close()
            raise
        self.server = server

    def send(self, message: EmailMessage, sender: str, recipient: str, filename: str) -> None:
        if self.server is None:  # the connection was lost at an earlier message: one new try
            self._connect()
        assert self.server is not None
        try:
            refused = self.server.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPServerDisconnected:
            self.server = None
            raise
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self.server is not None:
            try:
                self.server.quit()
            except (smtplib.SMTPException, OSError):
                self.server.close()
            self.server = None


class _EmlFolder:
    """A dry run: each message written as ``2026-03-FIN.eml`` in a folder, nothing sent."""

    def __init__(self, folder: Path):
        self.folder = folder

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage, sender: str, recipient: str, filename: str) -> None:
        (self.folder / (Path(filename).stem + ".eml")).write_bytes(message.as_bytes())

    def close(self) -> None:
        pass


def reason_of(exc: BaseException) -> str:
    """A refusal of the server, or a failure to reach it or write a file, in one line."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address} refused ({code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text})"
                         for address, (code, text) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def transport_for(mail: job.MailSettings, *, dry_run: bool, folder: Path | None) -> Transport:
    """The SMTP server of the settings, or in a dry run the folder the messages are written to."""
    return _EmlFolder(folder) if dry_run and folder is not None else _Smtp(mail)


def send_one(session: Session, transport: Transport, month: str, recipient: Recipient, message: EmailMessage, *,
             sender: str, address: str, message_id: str, filename: str, resend: bool = False) -> Failure | bool:
    """Send one statement's message, inside the caller's transaction: False when another send of
    the month sent it meanwhile, True when sent and recorded, a :class:`Failure` (recorded) when
    the server did not take it."""
    if not job.claim(session, month, recipient, resend=resend):
        return False
    try:
        transport.send(message, sender, address, filename)
    except (smtplib.SMTPException, OSError) as exc:
        reason = reason_of(exc)
        job.record_failed(session, month, recipient, address, reason)
        return Failure(business_line=recipient.business_line, address=address, reason=reason)
    job.record_sent(session, month, recipient, address, message_id)
    return True
