"""Each head's statement by e-mail (``chargeback statements send``), or, in a dry run, as
``.eml`` files: the job says what to send and to whom (billing.jobs.delivery), reports/ makes
each message, and this module hands it to the SMTP server the settings name.

Every message is its own step, one transaction: the month is locked, the statement checked as
not sent yet (two sends of a month at once take turns and never send one twice), the message
handed to the server and, as soon as the server took it, recorded in the audit trail; so a
failure of one message (or an interrupted command) leaves the trail naming exactly the
statements sent, and the next send sends only the rest.
A message the server refuses is reported and recorded, and the others still go; a server that
cannot be reached or refuses the login stops the command before anything is sent.

The statement is attached as an A4 PDF (``attach="pdf"``, the default), printed by the
statements' renderer (reports.pdf.statement_pdfs, headless Chromium) before the server is
reached, so a missing Chromium sends nothing; or as the HTML page itself (``attach="html"``).
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from billing.close.delivery import Recipient
from billing.core.problems import Ask, ChargebackError
from billing.jobs import delivery as job
from billing.store.audit import SMTP_PASSWORD_VARIABLE

if TYPE_CHECKING:
    from billing.api import Store
    from reports.views import StatementView

__all__ = ["send_statements", "Delivery", "Failure", "PdfRenderer", "SMTP_TIMEOUT"]

PdfRenderer = Callable[[Sequence["StatementView"], Sequence[bytes]], Iterable[bytes]]
"""Statements (their views and HTML pages) in, their PDFs out, in the same order."""

ATTACHMENTS = ("pdf", "html")

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


class _Transport(Protocol):
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
                                  f"({_reason(exc)}); nothing was sent") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChargebackError(f"could not reach the mail server {mail.host}:{mail.port}: {_reason(exc)}; "
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address} refused ({code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text})"
                         for address, (code, text) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    return str(exc) or type(exc).__name__


def send_statements(store: Store, month: str, *, line: str | None = None, resend: bool = False,
                    dry_run: bool = False, folder: Path | None = None, attach: str = "pdf",
                    render_pdf: PdfRenderer | None = None, now: dt.datetime | None = None) -> Delivery:
    """E-mail each head of a closed month their own statement (``line``: one business line's),
    attached as PDF or HTML (``attach``; ``render_pdf``: the PDF renderer, by default the
    statements'); with ``dry_run``, write the messages into ``folder`` instead. Statements sent
    before for the same invoice are not sent again unless ``resend``."""
    from reports.html import render_statement, statement_filename
    from reports.mail import Attachment, statement_message
    from reports.pdf import pdf_filename
    from reports.views import statement_views

    if dry_run and folder is None:
        raise ChargebackError("a dry run writes the messages into a folder: give one")
    if attach not in ATTACHMENTS:
        raise ChargebackError(f"attach must be pdf or html, not {attach!r}")
    with store.transaction() as session:
        prepared = job.statements_to_send(session, month, line=line, resend=resend, dry_run=dry_run)
    month, mail, plan = prepared.month, prepared.mail, prepared.plan
    views = statement_views([prepared.statements[r.business_line] for r in plan.to_send])
    pages = [render_statement(view) for view in views]
    pdfs: list[bytes | None] = [None] * len(views)
    if attach == "pdf" and views:
        pdfs = list(_print(render_pdf, views, pages))
    date = now or dt.datetime.now(dt.timezone.utc)
    domain = mail.sender.split("@")[1]
    transport: _Transport = _EmlFolder(folder) if dry_run and folder is not None else _Smtp(mail)
    sent: list[tuple[Recipient, str]] = []
    failed: list[Failure] = []
    already = list(plan.already_sent)
    if plan.to_send:
        transport.open()
    try:
        for recipient, view, html, pdf in zip(plan.to_send, views, pages, pdfs):
            address = recipient.head_email or ""
            filename = statement_filename(view)
            attachment = (Attachment(pdf_filename(filename), pdf, "application/pdf") if pdf is not None
                          else Attachment(filename, html, "text/html"))
            message_id = make_msgid(domain=domain)
            message = statement_message(view=view, html=html, attachment=attachment, sender=mail.sender,
                                        sender_name=mail.sender_name, recipient=address, message_id=message_id,
                                        date=date)
            if dry_run:
                try:
                    transport.send(message, mail.sender, address, filename)
                except OSError as exc:
                    raise ChargebackError(f"could not write {filename}: {_reason(exc)}") from None
                sent.append((recipient, address))
                continue
            with store.transaction() as session:  # the send and its record: one step, taken in turn
                if not job.claim(session, month, recipient, resend=resend):
                    already.append(recipient)  # another send of the month sent it meanwhile
                    continue
                try:
                    transport.send(message, mail.sender, address, filename)
                except (smtplib.SMTPException, OSError) as exc:
                    reason = _reason(exc)
                    failed.append(Failure(business_line=recipient.business_line, address=address, reason=reason))
                    job.record_failed(session, month, recipient, address, reason)
                    continue
                job.record_sent(session, month, recipient, address, message_id)
            sent.append((recipient, address))
    finally:
        transport.close()
    if dry_run and folder is not None:
        with store.transaction() as session:
            job.record_written(session, month, len(sent), str(folder))
    return Delivery(month=month, dry_run=dry_run, sent=tuple(sent), already_sent=tuple(already),
                    without_address=plan.without_address, failed=tuple(failed), kept=prepared.kept, folder=folder if dry_run else None,
                    attachment=attach.upper())


def _print(render_pdf: PdfRenderer | None, views: Sequence[StatementView], pages: Sequence[bytes]) -> Iterable[bytes]:
    """Every statement's PDF, before anything is sent: a renderer that fails sends nothing."""
    if render_pdf is None:
        from reports.pdf import statement_pdfs

        def render_pdf(views: Sequence[StatementView], pages: Sequence[bytes]) -> Iterable[bytes]:
            return statement_pdfs(list(zip(views, pages)))
    try:
        return list(render_pdf(views, pages))
    except ChargebackError as exc:
        raise ChargebackError(f"{exc}; the statements cannot be attached as PDF (HTML attachments send the HTML "
                              f"statement instead); nothing was sent", asks_for=(Ask.ATTACH_HTML,)) from None
