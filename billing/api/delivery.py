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

This module only renders and hands over: where a message goes and the step it is sent in are
billing/jobs/sending.py's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from billing.close.delivery import Recipient
from billing.core.problems import Ask, ChargebackError
from billing.jobs import delivery as job
from billing.jobs.sending import SMTP_TIMEOUT, Delivery, Failure, reason_of, send_one, transport_for

if TYPE_CHECKING:
    from billing.api import Store
    from reports.views import StatementView

__all__ = ["send_statements", "Delivery", "Failure", "PdfRenderer", "SMTP_TIMEOUT"]

PdfRenderer = Callable[[Sequence["StatementView"], Sequence[bytes]], Iterable[bytes]]
"""Statements (their views and HTML pages) in, their PDFs out, in the same order."""

ATTACHMENTS = ("pdf", "html")

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
    transport = transport_for(mail, dry_run=dry_run, folder=folder)
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
                    raise ChargebackError(f"could not write {filename}: {reason_of(exc)}") from None
                sent.append((recipient, address))
                continue
            with store.transaction() as session:  # the send and its record: one step, taken in turn
                outcome = send_one(session, transport, month, recipient, message, sender=mail.sender, address=address,
                                   message_id=message_id, filename=filename, resend=resend)
            if isinstance(outcome, Failure):
                failed.append(outcome)
            elif outcome:
                sent.append((recipient, address))
            else:
                already.append(recipient)  # another send of the month sent it meanwhile
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
