"""A statement as an e-mail message (RFC 5322, built with the standard library's ``email``).

:func:`statement_message` makes the message a head receives: the statement's HTML as the
body, a short plain-text part with the month's total and change for mail readers that show no
HTML, and the statement attached (a PDF when one is given, else the HTML page). Nothing here
connects to a server or writes a file (billing.api.delivery does).

Headers are safe against input: an address must be one plain ``local@domain``
(billing.core.addresses, refused otherwise); a name (the head's, the business line's, the
provider's) has every control character, line break included, turned into a space before it
is written, and the ``email`` package encodes it (RFC 2047) where it is not ASCII, so no
name can add a header or a recipient. The envelope's recipient is given apart from the
headers (billing.api.delivery), never read back from them.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from billing.core.money import amount_text
from billing.core.addresses import address_problem
from reports.views import StatementView

__all__ = ["Attachment", "statement_message", "header_text"]

HEADER_TEXT = 200
"""The longest name or subject written into a header (a longer one is cut)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str  # application/pdf | text/html


def header_text(text: str | None) -> str:
    """``text`` for a header: control characters, line breaks and invisible format characters
    become spaces, runs of spaces one, at most :data:`HEADER_TEXT` characters."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text or "")
    return " ".join(cleaned.split())[:HEADER_TEXT]


def _address(name: str | None, address: str) -> Address:
    problem = address_problem(address)
    if problem:
        raise ValueError(f"{address!r} is not one e-mail address: {problem}")
    local, domain = address.split("@")
    return Address(display_name=header_text(name), username=local, domain=domain)


def statement_message(*, view: StatementView, html: bytes, attachment: Attachment, sender: str, sender_name: str,
                      recipient: str, message_id: str, date: dt.datetime) -> EmailMessage:
    """The e-mail of ``view``'s statement to ``recipient`` (its head) from ``sender``."""
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(sender_name, sender)
    message["To"] = _address(view.head_name or view.business_line_name, recipient)
    message["Subject"] = header_text(f"{sender_name} statement for {view.month_label}: {view.business_line_name} "
                                     f"({view.business_line_code})")
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message.set_content(_text_body(view, sender_name, attachment.filename), charset="utf-8")
    message.add_alternative(html.decode("utf-8"), subtype="html", charset="utf-8")
    maintype, subtype = attachment.mime_type.split("/")
    message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message


def _text_body(view: StatementView, sender_name: str, filename: str) -> str:
    greeting = f"Dear {header_text(view.head_name)}," if view.head_name else "Hello,"
    lines = [
        greeting, "",
        f"your {sender_name} statement for {view.month_label} is attached ({filename}).", "",
        f"{view.business_line_name} ({view.business_line_code})",
    ]
    if view.invoice_number:
        lines.append(f"Invoice {view.invoice_number}")
    lines.append(f"Total charged: {amount_text(view.total, view.currency, code=True)}")
    if view.change is not None:
        lines.append(f"Change against {view.previous_month_label}: {amount_text(view.change, view.currency, code=True, sign=True)}")
    if view.showback_total:
        lines.append(f"Shown, not charged (showback): {amount_text(view.showback_total, view.currency, code=True)}")
    lines += ["", "Every line of the statement is in the attachment. To question a line, reply to this message."]
    return "\n".join(lines) + "\n"
