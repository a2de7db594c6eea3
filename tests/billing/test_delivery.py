"""Statements e-mailed to each head (`chargeback statements send`), through a real SMTP server
(aiosmtpd) on 127.0.0.1 and a free port, stopped by each test.

The month: FIN (DESK gold, 470.00), OPS (VM gold, 182.00), ENG (NETWORK bronze, 3,120.00)
with heads' addresses, and RES (DESK gold less its agreed discount, 445.00) without one.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field

import pytest

from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS

aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed (pip install -e '.[test]')")

HTML = ("--attach", "html")  # the statement attached as its HTML page (the PDF test below needs Chromium)
HEADS = {"FIN": "ada@example.com", "OPS": "grace@example.com", "ENG": "alan@example.com"}
NAMES = {"FIN": "Finance", "OPS": "Operations", "ENG": "Engineering", "RES": "Research"}
AMOUNTS = {"FIN": "470.00", "OPS": "182.00", "ENG": "3,120.00", "RES": "445.00"}


@dataclass
class Mailbox:
    """What the server received: (envelope sender, envelope recipients, message) per DATA."""

    received: list = field(default_factory=list)
    refuse: set = field(default_factory=set)  # recipients answered 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = aiosmtpd.Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def closed_month(db_url, tmp_path, port: int | None = None) -> None:
    run(db_url, "org", "load", write(tmp_path / "bl.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance,Ada Lovelace,ada@example.com,Corporate
        OPS,Operations,Grace Hopper,grace@example.com,Operations
        ENG,Engineering,Alan Turing,alan@example.com,Technology
        RES,Research,Marie Curie,,Research
    """))
    run(db_url, "org", "load", write(tmp_path / "cc.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-100,Accounting,FIN,100100
        CC-200,Plant,OPS,200100
        CC-300,Lab,ENG,300100
        CC-400,Library,RES,400100
    """))
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,VM,gold,2026-01-01
        ENG,NETWORK,bronze,2026-01-01
        RES,DESK,gold,2026-01-01
    """))
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    run(db_url, "settings", "set", "mail_from", "it-billing@example.com")
    if port is not None:
        run(db_url, "settings", "set", "smtp_host", "127.0.0.1")
        run(db_url, "settings", "set", "smtp_port", str(port))
        run(db_url, "settings", "set", "smtp_starttls", "no")


def _text(message) -> str:
    """Every part of the message, decoded (headers, plain text, HTML body, the attachment)."""
    parts = [str(message["To"]), str(message["Subject"])]
    for part in message.walk():
        if not part.is_multipart():
            parts.append(part.get_payload(decode=True).decode("utf-8"))
    return "\n".join(parts)


def _sent_events(db_url) -> list[str]:
    return [line for line in run(db_url, "audit", "--limit", "500").stdout.splitlines() if "statements.sent" in line]


def test_each_head_gets_their_own_statement_only(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    result = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert result.exit_code == 1  # RES has no address: not every head has their statement
    assert "not sent: RES has no usable address (the organisation file gives no head_email)" in result.stderr
    assert "1 statement(s) not sent: RES" in result.stderr
    assert "3 statement(s) sent" in result.stdout
    assert len(box.received) == 3
    by_line = {}
    for sender, recipients, message in box.received:
        code = next(c for c, a in HEADS.items() if recipients == [a])  # one envelope recipient, the head
        by_line[code] = message
        assert sender == "it-billing@example.com"
        assert message["To"].addresses[0].addr_spec == HEADS[code] and len(message["To"].addresses) == 1
        assert message["Cc"] is None and message["Bcc"] is None
        text = _text(message)
        assert f"({code})" in text and AMOUNTS[code] in text and NAMES[code] in text
        for other in set(NAMES) - {code}:
            assert f"({other})" not in text and f"{other}" not in text.replace("OPEN", "")
            assert NAMES[other] not in text
        for other, amount in AMOUNTS.items():
            if other != code:
                assert amount not in text
        attachments = [p for p in message.iter_attachments()]
        assert [a.get_filename() for a in attachments] == [f"2026-03-{code}.html"]
        assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
    assert set(by_line) == set(HEADS)
    events = _sent_events(db_url)
    assert len(events) == 3 and all(f"2026-03/{c}" in " ".join(events) for c in HEADS)


def test_the_statement_is_attached_as_a_pdf_of_that_line_only(db_url, tmp_path, smtp):
    from reports.browser import find_chromium

    if find_chromium() is None or shutil.which("pdftotext") is None:
        pytest.skip("Chromium or pdftotext (poppler-utils) is not installed")
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    result = run(db_url, "statements", "send", "2026-03", ok=False)  # RES: no address
    assert "3 statement(s) sent, the statement attached as PDF" in result.stdout
    for _sender, recipients, message in box.received:
        code = next(c for c, a in HEADS.items() if recipients == [a])
        (attached,) = message.iter_attachments()
        assert attached.get_filename() == f"2026-03-{code}.pdf" and attached.get_content_type() == "application/pdf"
        pdf = tmp_path / f"{code}.pdf"
        pdf.write_bytes(attached.get_payload(decode=True))
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert f"({code})" in text or code in text
        assert AMOUNTS[code] in text
        for other in set(NAMES) - {code}:
            assert NAMES[other] not in text and AMOUNTS[other] not in text
        assert message.get_body(("html",)) is not None  # the body is still the HTML statement


def test_a_second_send_sends_nothing_without_resend(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    run(db_url, "statements", "send", "2026-03", *HTML, "--line", "FIN")
    again = run(db_url, "statements", "send", "2026-03", *HTML, "--line", "fin")
    assert "every statement was already sent; nothing sent (--resend sends them again)" in again.stdout
    assert len(box.received) == 1
    resent = run(db_url, "statements", "send", "2026-03", *HTML, "--line", "FIN", "--resend")
    assert "sent: FIN to ada@example.com" in resent.stdout and len(box.received) == 2
    assert len(_sent_events(db_url)) == 2


def test_a_refused_message_is_reported_and_only_the_missing_ones_are_sent_again(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    box.refuse.add("grace@example.com")
    first = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert first.exit_code == 1
    assert "failed: OPS to grace@example.com: grace@example.com refused (550" in first.stderr
    assert sorted(r[1][0] for r in box.received) == ["ada@example.com", "alan@example.com"]
    events = " ".join(_sent_events(db_url))
    assert "2026-03/FIN" in events and "2026-03/ENG" in events and "2026-03/OPS" not in events
    assert "statements.send-failed" in run(db_url, "audit").stdout
    box.refuse.clear()
    second = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)  # RES still has no address
    assert "sent: OPS to grace@example.com" in second.stdout and "already sent before, not sent again: 2" in second.stdout
    assert [r[1] for r in box.received[2:]] == [["grace@example.com"]]


def test_an_address_added_after_the_close_is_used(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    run(db_url, "org", "load", write(tmp_path / "res.csv", """
        business_line,name,head_name,head_email,division
        RES,Research,Marie Curie,marie@example.com,Research
    """))
    done = run(db_url, "statements", "send", "2026-03", *HTML)
    assert "sent: RES to marie@example.com" in done.stdout
    assert [r[1] for r in box.received[3:]] == [["marie@example.com"]]


def test_the_unallocated_line_is_kept_not_sent_and_does_not_fail_the_send(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    run(db_url, "settings", "set", "unallocated_business_line", "RES")  # RES plays UNALLOCATED: no head's address
    done = run(db_url, "statements", "send", "2026-03", *HTML)
    assert "kept: RES (usage no business line was found for) has no head to send it to" in done.stdout
    assert "3 statement(s) sent" in done.stdout and len(box.received) == 3


def test_two_sends_at_once_send_each_statement_once(db_url, tmp_path, smtp):
    from billing.api import Store
    from billing.api.delivery import send_statements

    box, port = smtp
    closed_month(db_url, tmp_path, port)
    barrier, results, errors = threading.Barrier(2), [], []

    def send() -> None:
        try:
            with Store(db_url) as store:
                barrier.wait()
                results.append(send_statements(store, "2026-03", attach="html"))
        except Exception as exc:  # reported below, with the other thread's result
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sorted(r[1][0] for r in box.received) == sorted(HEADS.values())  # each head once
    assert sorted(len(r.sent) for r in results) in ([0, 3], [1, 2])
    assert sum(len(r.sent) for r in results) == 3 and len(_sent_events(db_url)) == 3


def test_dry_run_writes_eml_files_and_sends_nothing(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    out = tmp_path / "mail"
    result = run(db_url, "statements", "send", "2026-03", *HTML, "--dry-run", "--out", out, ok=False)
    assert "3 statement(s) written into" in result.stdout and not box.received
    files = sorted(p.name for p in out.iterdir())
    assert files == ["2026-03-ENG.eml", "2026-03-FIN.eml", "2026-03-OPS.eml"]
    message = email.message_from_bytes((out / "2026-03-OPS.eml").read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "grace@example.com" and "182.00" in _text(message)
    assert "3,120.00" not in _text(message) and "470.00" not in _text(message)
    assert not _sent_events(db_url)  # a dry run is not a send: the real one sends every statement
    run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert len(box.received) == 3


def test_an_open_month_or_a_missing_server_sends_nothing(db_url, tmp_path, smtp):
    box, port = smtp
    closed_month(db_url, tmp_path)
    refused = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert refused.exit_code == 1 and "no mail server: set `chargeback settings set smtp_host" in refused.stderr
    assert "Traceback" not in refused.output
    run(db_url, "settings", "set", "smtp_host", "127.0.0.1")
    run(db_url, "settings", "set", "smtp_port", str(_free_port()))  # nobody listens there
    run(db_url, "settings", "set", "smtp_starttls", "no")
    unreachable = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert unreachable.exit_code == 1 and "could not reach the mail server 127.0.0.1" in unreachable.stderr
    assert "nothing was sent" in unreachable.stderr and not _sent_events(db_url)
    run(db_url, "settings", "set", "smtp_port", str(port))
    run(db_url, "settings", "set", "smtp_starttls", "yes")  # the test server offers no STARTTLS
    plain = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert "does not offer STARTTLS" in plain.stderr and not box.received
    draft = run(db_url, "statements", "send", "2026-04", ok=False)
    assert "2026-04 is not closed: its statements are drafts and are not sent" in draft.stderr


def test_a_user_without_the_password_variable_is_refused(db_url, tmp_path, smtp, monkeypatch):
    box, port = smtp
    closed_month(db_url, tmp_path, port)
    run(db_url, "settings", "set", "smtp_user", "billing")
    monkeypatch.delenv("CHARGEBACK_SMTP_PASSWORD", raising=False)
    refused = run(db_url, "statements", "send", "2026-03", *HTML, ok=False)
    assert "CHARGEBACK_SMTP_PASSWORD is not set" in refused.stderr and not box.received
    assert "CHARGEBACK_SMTP_PASSWORD" not in run(db_url, "settings", "show").stdout


@pytest.mark.parametrize(("key", "value", "message"), [
    ("mail_from", "IT <it@example.com>", "not one e-mail address"),
    ("mail_from", "it@example.com,boss@example.com", "not one e-mail address"),
    ("smtp_port", "0", "from 1 to 65535"),
    ("smtp_starttls", "maybe", "yes"),
    ("smtp_host", "smtp.example.com\r\nRCPT TO:<x@y.z>", "host name"),
])
def test_mail_settings_are_checked(sqlite_url, key, value, message):
    refused = run(sqlite_url, "settings", "set", key, value, ok=False)
    assert refused.exit_code == 2 and message in refused.stderr


@pytest.mark.parametrize("address", ["ada@example.com, eve@evil.example", "Ada <ada@example.com>", "ada@example.com eve@x.io",
                                     "ada@@example.com", "ada"])
def test_a_head_email_that_is_not_one_address_is_refused(sqlite_url, tmp_path, address):
    path = tmp_path / "bl.csv"
    path.write_text(f'business_line,name,head_email\nFIN,Finance,"{address}"\n')
    refused = run(sqlite_url, "org", "load", path, ok=False)
    assert refused.exit_code == 1 and "bl.csv:2:head_email: value-invalid" in refused.stderr
