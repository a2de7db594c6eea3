"""A statement as an e-mail (reports/mail.py): the headers cannot be injected into from input
names or addresses; the message carries the statement as its body and its attachment."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy

import pytest

from reports.html import render_statement
from reports.mail import Attachment, header_text, statement_message
from tests.reports import samples

DATE = dt.datetime(2026, 4, 3, 9, 0, tzinfo=dt.timezone.utc)


def _message(view, *, recipient="ada@example.com", sender_name="IT services"):
    html = render_statement(view)
    return statement_message(view=view, html=html, attachment=Attachment("2026-03-MKT.html", html, "text/html"),
                             sender="it-billing@example.com", sender_name=sender_name, recipient=recipient,
                             message_id="<1@example.com>", date=DATE)


def test_the_message_carries_the_statement_as_body_and_attachment():
    message = email.message_from_bytes(_message(samples.statement()).as_bytes(), policy=email.policy.default)
    assert message["Subject"] == "IT services statement for March 2026: Marketing (MKT)"
    assert str(message["To"]) == "Ada Lovelace <ada@example.com>"
    plain = message.get_body(("plain",)).get_content()
    assert "Total charged: 4,770.00 USD" in plain and "Change against February 2026: +270.00 USD" in plain
    assert "4,770.00" in message.get_body(("html",)).get_content()
    (attached,) = message.iter_attachments()
    assert attached.get_filename() == "2026-03-MKT.html" and attached.get_content_type() == "text/html"


@pytest.mark.parametrize("name", ["Ada\r\nBcc: eve@evil.example", "Ada\nBcc: eve@evil.example", "Ada\rTo: eve@evil.example",
                                  "Ada\u2028Bcc: eve@evil.example", "Zoë \"Eve\" <eve@evil.example>, Ada"])
def test_a_name_cannot_add_a_header_or_a_recipient(name):
    view = dataclasses.replace(samples.statement(), head_name=name, business_line_name=f"Marketing {name}")
    raw = _message(view, sender_name=f"IT {name}").as_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Bcc"] is None and message["Cc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["ada@example.com"]
    assert [a.addr_spec for a in message["From"].addresses] == ["it-billing@example.com"]
    headers = raw.split(b"\r\n\r\n")[0]  # the message's own headers, before its first body
    assert b"\nBcc:" not in headers and b"\nTo: eve" not in headers and b"\nTo: Zo" not in headers
    assert len(message.get_all("To")) == 1 and len(message.get_all("From")) == 1


@pytest.mark.parametrize("address", ["ada@example.com\r\nBcc: eve@evil.example", "ada@example.com, eve@evil.example",
                                     "Ada <ada@example.com>", "ada@example.com\n"])
def test_an_address_that_is_not_one_plain_address_is_refused(address):
    with pytest.raises(ValueError, match="not one e-mail address"):
        _message(samples.statement(), recipient=address)


def test_header_text_turns_line_breaks_and_controls_into_spaces():
    assert header_text("A\r\nB\tC\x1b[2J\u202eD") == "A B C [2J D"
    assert len(header_text("x" * 1000)) == 200
