"""A document's role is a typed field: no behaviour reads the text of a reason.

Month-end fixtures as in test_month_end: FIN and OPS subscribe to DESK gold (470.00 a month each).
"""

import datetime as dt
import json
from contextlib import contextmanager
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from billing.close.invoicing import adjustment_note, cancellation
from billing.core.problems import ChargebackError
from billing.core.records import DocumentKind, DocumentRole, Invoice, InvoiceLine
from billing.store import documents
from billing.store.db import alembic_config, make_engine, open_store, upgrade
from billing.store.schema import Base
from tests.billing.test_month_end import setup_store
from tests.cli_helpers import run


@contextmanager
def store(db_url):
    """A session on the store, its connections closed afterwards."""
    factory = open_store(db_url)
    try:
        with factory.begin() as session:
            yield session
    finally:
        factory.kw["bind"].dispose()


def _net(db_url, month):
    with store(db_url) as session:
        return sum((d.total for d in documents.documents_for_month(session, month)), D(0))


def test_a_note_whose_reason_reads_like_a_reopen_does_not_hide_its_invoice_from_reopen(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "10.00",
        "--reason", "month reopened: the desk was down on the 3rd")
    reopened = run(db_url, "month", "reopen", "2026-03", "--reason", "wrong tier").stdout
    assert "2 invoice(s) cancelled" in reopened
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    # 940.00 invoiced, cancelled (-940.00), invoiced again (940.00): each line billed once
    assert _net(db_url, "2026-03") == D("940.00")
    with store(db_url) as session:
        live = documents.live_invoices(session, "2026-03")
        roles = [d.role for d in documents.documents_for_month(session, "2026-03")]
        note = documents.by_number(session, "CB-2026-000003")
    assert [d.number for d in live] == ["CB-2026-000006", "CB-2026-000007"]
    assert roles.count(DocumentRole.REOPEN_CANCELLATION) == 2 and roles.count(DocumentRole.INVOICE) == 4
    assert note.role is DocumentRole.CREDIT_NOTE and note.kind is DocumentKind.CREDIT_NOTE


def test_a_reopen_cancellation_is_typed_whatever_the_reason_says(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    run(db_url, "month", "reopen", "2026-03", "--reason", "credit note for the desk outage")
    with store(db_url) as session:
        notes = [d for d in documents.documents_for_month(session, "2026-03") if d.kind is DocumentKind.CREDIT_NOTE]
        assert {d.role for d in notes} == {DocumentRole.REOPEN_CANCELLATION}
        assert documents.live_invoices(session, "2026-03") == []
    refused = run(db_url, "adjust", "--invoice", "CB-2026-000003", "--reason", "x", ok=False)
    assert refused.exit_code == 1


def _invoice() -> Invoice:
    line = InvoiceLine(line_no=1, kind="usage", service="DESK", service_name="Desk", tier="gold", tier_name="Gold",
                       description="Desk, Gold", quantity=D(1), unit="user", detail="", amount=D("470.00"))
    return Invoice(number="CB-2026-000001", kind="invoice", month="2026-03", issue_date=dt.date(2026, 4, 1),
                   business_line="FIN", buyer_name="Finance", buyer_head=None, currency="USD", lines=(line,),
                   total=D("470.00"))


def test_roles_are_checked_against_kinds():
    invoice = _invoice()
    assert invoice.role is DocumentRole.INVOICE and invoice.kind is DocumentKind.INVOICE
    cancelled = cancellation(invoice, month="2026-03", issue_date=dt.date(2026, 4, 5), reason="anything at all")
    assert cancelled.role is DocumentRole.REOPEN_CANCELLATION and cancelled.kind is DocumentKind.CREDIT_NOTE
    with pytest.raises(ValueError, match="is a credit_note, not a invoice"):
        Invoice(**{**{f: getattr(invoice, f) for f in Invoice.__dataclass_fields__}, "role": DocumentRole.REOPEN_CANCELLATION})
    numbered = Invoice(**{**{f: getattr(cancelled, f) for f in Invoice.__dataclass_fields__}, "number": "CB-2026-000002"})
    with pytest.raises(ChargebackError, match="adjust the invoice it corrects"):
        adjustment_note(numbered, month="2026-04", issue_date=dt.date(2026, 4, 5), reason="x")
    note = adjustment_note(invoice, month="2026-04", issue_date=dt.date(2026, 4, 5), reason="month reopened: x",
                           line_no=1, amount=D("10.00"))
    assert note.role is DocumentRole.CREDIT_NOTE


def test_the_migration_types_existing_documents_and_freezes_closed_months(db_url):
    """A store at 0001 with an invoice, a reopen's cancellation, an adjust note whose reason
    reads like a reopen, and a debit note: the upgrade tells them apart by structure (a
    cancellation is dated in its invoice's month; an adjust note always in a later one)."""
    from alembic import command

    from billing.store.locks import schema_transaction

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0001")
    at = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.timezone.utc)
    common = dict(fiscal_year=2026, issue_date=dt.date(2026, 4, 1), business_line_id=1, buyer_code="FIN",
                  buyer_name="Finance", buyer_head=None, currency="USD", issued_at=at, issued_by="t")
    with schema_transaction(engine) as c:  # written as a migration would: no command's lock covers it
        tables = Base.metadata.tables  # only the columns 0001 has are written
        c.execute(tables["business_line"].insert(), [dict(id=1, code="FIN", name="Finance")])
        c.execute(tables["setting"].insert(), [dict(key="currency", value="EUR"), dict(key="expense_account", value="6999")])
        c.execute(tables["catalogue_service"].insert(), [dict(code="DESK", definition='{"code":"DESK","name":"Desk"}',
                                                              content_hash="h", loaded_at=at)])
        c.execute(tables["period"].insert(), [dict(month="2026-03", status="closed", closed_at=at, closed_by="ada"),
                                              dict(month="2026-04", status="open", closed_at=None, closed_by=None)])
        c.execute(tables["invoice"].insert(), [
            dict(id=1, number="CB-2026-000001", seq=1, kind="invoice", month="2026-03", total=D("470.00"),
                 original_invoice_id=None, reason=None, **common),
            dict(id=2, number="CB-2026-000002", seq=2, kind="credit_note", month="2026-04", total=D("-10.00"),
                 original_invoice_id=1, reason="month reopened: not really, a credit", **common),
            dict(id=3, number="CB-2026-000003", seq=3, kind="credit_note", month="2026-03", total=D("-470.00"),
                 original_invoice_id=1, reason="month reopened: wrong tier", **common),
            dict(id=4, number="CB-2026-000004", seq=4, kind="debit_note", month="2026-04", total=D("5.00"),
                 original_invoice_id=1, reason="late usage", **common),
        ])
        c.execute(tables["tariff_version"].insert(), [dict(id=1, service_code="DESK", version="2026.1",
                  effective_from=dt.date(2026, 1, 1), currency="USD", definition="{}", content_hash="h", loaded_at=at)])
        c.execute(tables["rating_run"].insert(), [dict(id=7, month="2026-03", run_at=at, run_by="t", usage_rows=0,
                                                       total=D(0), inputs_hash="x")])
        charge = dict(run_id=7, month="2026-03", business_line_id=1, service_code="DESK", tier_code="gold",
                      tariff_version_id=1, charging_mode="chargeback", segment_from=dt.date(2026, 3, 1),
                      segment_to=dt.date(2026, 3, 31), model="fixed", quantity=D(0), included=D(0), billable=D(0),
                      cost=D(0), exact_amount=D(0), amount=D(0), currency="USD", usage_rows=0)
        c.execute(tables["charge"].insert(), [
            dict(charge, line_no=1, kind="usage", credit_of_line=None, detail="fee"),
            dict(charge, line_no=2, kind="sla_credit", credit_of_line=1,
                 detail="service credit 10% of 470.00: response minutes target 30, achieved 45"),
        ])
    assert upgrade(engine) is True
    engine.dispose()
    with store(db_url) as session:
        roles = {number: DocumentRole(role) for number, role in session.execute(sa.text("SELECT number, role FROM invoice"))}
        metrics = session.execute(sa.text("SELECT line_no, credit_metric FROM charge ORDER BY line_no")).all()
        closes = session.execute(sa.text("SELECT id, month, run_id, closed_by FROM month_close")).all()
        snapshot = dict(session.execute(sa.text("SELECT section || ':' || key, data FROM close_snapshot")).all())
    assert roles == {"CB-2026-000001": DocumentRole.INVOICE, "CB-2026-000002": DocumentRole.CREDIT_NOTE,
                     "CB-2026-000003": DocumentRole.REOPEN_CANCELLATION, "CB-2026-000004": DocumentRole.DEBIT_NOTE}
    assert [tuple(m) for m in metrics] == [(1, None), (2, "response_minutes")]
    assert [tuple(c)[1:] for c in closes] == [("2026-03", 7, "ada")]
    settings = json.loads(snapshot["settings:"])
    assert settings["currency"] == "EUR" and settings["expense_account"] == "6999" and settings["recovery_account"] == "4810"
    assert json.loads(snapshot["business_line:FIN"])["name"] == "Finance"
    assert json.loads(snapshot["service:DESK"])["name"] == "Desk"
