"""The GL journal: the worked example of docs/journal.md and the balancing property."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.close.journal import build_journal, journal_totals
from billing.core.records import Invoice, InvoiceLine, JournalLine, LineCostCenter

D = Decimal
ACCOUNTS = dict(expense_account="640100", recovery_account="640900", recovery_cost_center="IT-100")
POSTING = dict(period="2026-03", posting_date=dt.date(2026, 3, 31))


def line(line_no, amount, parts=(), *, kind="usage", service="Virtual machines", tier="Silver") -> InvoiceLine:
    return InvoiceLine(line_no=line_no, kind=kind, service="VM", service_name=service, tier="silver", tier_name=tier,
                       description=f"{service}, {tier}", quantity=D(0), unit="vCPU-month", detail="", amount=D(amount),
                       cost_centers=tuple(LineCostCenter(cost_center=f"CC-{gl}", gl_code=gl, amount=D(a)) for gl, a in parts))


def document(number, lines, *, kind="invoice", month="2026-03", currency="USD") -> Invoice:
    return Invoice(number=number, kind=kind, month=month, issue_date=dt.date(2026, 3, 31), business_line="MKT",
                   buyer_name="Marketing", buyer_head=None, currency=currency, lines=tuple(lines),
                   total=sum((l.amount for l in lines), D(0)))


def worked_example() -> list[Invoice]:
    # INV-2026-0001: VM silver 1,000.00 (600.00 on 4100-10, 400.00 on 4100-20) and its service
    # credit -100.00 (-60.00, -40.00); total 900.00. CN-2026-0001: -250.00 with no split.
    invoice = document("INV-2026-0001", [
        line(1, "1000.00", [("4100-10", "600.00"), ("4100-20", "400.00")]),
        line(2, "-100.00", [("4100-10", "-60.00"), ("4100-20", "-40.00")], kind="sla_credit"),
    ])
    note = document("CN-2026-0001", [line(1, "-250.00", kind="adjustment")], kind="credit_note")
    return [invoice, note]


def test_worked_example():
    journal = build_journal(worked_example(), **POSTING, **ACCOUNTS)
    got = [(j.document_number, j.line, j.account, j.cost_center, j.debit, j.credit, j.reference) for j in journal]
    assert got == [
        ("INV-2026-0001", 1, "640100", "4100-10", D("600.00"), D(0), "INV-2026-0001/1"),
        ("INV-2026-0001", 2, "640100", "4100-20", D("400.00"), D(0), "INV-2026-0001/1"),
        ("INV-2026-0001", 3, "640900", "IT-100", D(0), D("1000.00"), "INV-2026-0001/1"),
        ("INV-2026-0001", 4, "640100", "4100-10", D(0), D("60.00"), "INV-2026-0001/2"),
        ("INV-2026-0001", 5, "640100", "4100-20", D(0), D("40.00"), "INV-2026-0001/2"),
        ("INV-2026-0001", 6, "640900", "IT-100", D("100.00"), D(0), "INV-2026-0001/2"),
        ("CN-2026-0001", 1, "640100", "", D(0), D("250.00"), "CN-2026-0001/1"),
        ("CN-2026-0001", 2, "640900", "IT-100", D("250.00"), D(0), "CN-2026-0001/1"),
    ]
    # Debits 600 + 400 + 100 + 250 = 1,350.00 = credits 1,000 + 60 + 40 + 250.
    assert journal_totals(journal) == {"USD": (D("1350.00"), D("1350.00"))}
    assert {j.text for j in journal} == {"Virtual machines Silver 2026-03"}
    assert {(j.posting_date, j.period, j.currency) for j in journal} == {(dt.date(2026, 3, 31), "2026-03", "USD")}


def test_refuses_drafts_unrounded_amounts_and_one_account():
    with pytest.raises(ValueError, match="no number"):
        build_journal([document("", [line(1, "1.00")])], **POSTING, **ACCOUNTS)
    with pytest.raises(ValueError, match="minor unit"):
        build_journal([document("INV-1", [line(1, "1.005")])], **POSTING, **ACCOUNTS)
    with pytest.raises(ValueError, match="must differ"):
        build_journal([], **POSTING, expense_account="640100", recovery_account="640100", recovery_cost_center="IT")


def test_zero_lines_make_no_journal_lines():
    assert build_journal([document("INV-1", [line(1, "0.00")])], **POSTING, **ACCOUNTS) == ()


@st.composite
def documents(draw):
    made = []
    for n in range(draw(st.integers(min_value=0, max_value=5))):
        currency = draw(st.sampled_from(["USD", "JPY", "BHD"]))
        scale = {"USD": -2, "JPY": 0, "BHD": -3}[currency]
        lines = []
        for line_no in range(1, draw(st.integers(min_value=1, max_value=6)) + 1):
            cents = draw(st.integers(min_value=-10**9, max_value=10**9))
            pieces = draw(st.lists(st.integers(min_value=-10**9, max_value=10**9), max_size=3))
            parts = []
            if pieces or draw(st.booleans()):
                # Parts of any sign that sum to the line: the last takes what is left.
                values = [*pieces, cents - sum(pieces)]
                parts = [(f"GL{i}", D(v).scaleb(scale)) for i, v in enumerate(values)]
            lines.append(line(line_no, D(cents).scaleb(scale), parts))
        kind = draw(st.sampled_from(["invoice", "credit_note", "debit_note"]))
        made.append(document(f"DOC-{n}", lines, kind=kind, currency=currency))
    return made


@given(documents())
def test_journal_balances_per_document_and_overall(docs):
    journal = build_journal(docs, **POSTING, **ACCOUNTS)
    for j in journal:
        assert isinstance(j, JournalLine)
        assert j.debit >= 0 and j.credit >= 0 and (j.debit == 0) != (j.credit == 0)
    for doc in docs:
        own = [j for j in journal if j.document_number == doc.number]
        assert sum((j.debit for j in own), D(0)) == sum((j.credit for j in own), D(0))
        assert sum((j.debit - j.credit for j in own if j.account == "640100"), D(0)) == doc.total
        assert sum((j.debit - j.credit for j in own if j.account == "640900"), D(0)) == -doc.total
        assert [j.line for j in own] == list(range(1, len(own) + 1))
    for debit, credit in journal_totals(journal).values():
        assert debit == credit
