"""Credit and debit notes explain their lines as invoice lines do: what was charged, what the
note takes off or adds and why, in the statement, `invoices show` and the export; every note
line's steps add up to its amount (a hypothesis property over notes of every kind)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.close.invoicing import adjustment_note, cancellation
from billing.core.money import exact_sum
from billing.core.problems import ChargebackError
from billing.core.records import DocumentKind, Invoice, InvoiceLine, LineCostCenter, LineKind
from tests.billing.test_month_end import setup_store
from tests.cli_helpers import run


def _rows(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def test_a_note_line_says_what_was_charged_what_it_credits_and_why(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    invoice = _rows(run(db_url, "invoices", "show", "CB-2026-000001").stdout)
    assert "none used of the 25 included 470.00" in " | ".join(invoice)  # an invoice line's workings, a step a row
    assert "monthly fee 470.00: 470.00" in invoice
    run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "70.00",
        "--reason", "desk outage not covered by credits")
    run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--reason", "the desk was never delivered")
    first = _rows(run(db_url, "invoices", "show", "CB-2026-000003").stdout)
    assert any(r.endswith("charged on CB-2026-000001 line 1: 470.00 -70.00") for r in first)
    assert "credited 70.00 of the line: -70.00" in first and "why: desk outage not covered by credits" in first
    rest = _rows(run(db_url, "invoices", "show", "CB-2026-000004").stdout)
    assert "earlier notes against the line: -70.00, left 400.00" in rest
    assert "credited what was left of the line: -400.00" in rest and "why: the desk was never delivered" in rest

    # April's statement shows each note line's steps under "How it is priced", adding up to it
    run(db_url, "month", "run", "2026-04")
    run(db_url, "statements", "2026-04", "--out", tmp_path / "st", "--line", "FIN")
    page = (tmp_path / "st" / "2026-04-FIN.html").read_text(encoding="utf-8")
    row = page[page.index("Credit note CB-2026-000004"):]
    row = " ".join(re.sub(r"<[^>]+>", " ", row[:row.index("</tr>")]).split())
    assert ("charged on CB-2026-000001 line 1: 470.00 earlier notes against the line: -70.00, left 400.00 "
            "credited what was left of the line -400.00 why: the desk was never delivered -400.00") in row

    # the export's price detail: the same steps, one a line in a wrapped cell
    run(db_url, "month", "close", "2026-04", "--confirm")
    run(db_url, "export", "2026-04", "--format", "xlsx", "--out", tmp_path / "april.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "april.xlsx")["Detail"]
    header = [c.value for c in sheet[1]]
    detail, invoice_col = header.index("Price detail"), header.index("Invoice")
    cells = {row[invoice_col].value: row[detail] for row in sheet.iter_rows(min_row=2) if row[invoice_col].value}
    note = cells["CB-2026-000003"]
    assert note.value.split("\n") == ["charged on CB-2026-000001 line 1: 470.00", "credited 70.00 of the line: -70.00",
                                       "why: desk outage not covered by credits"]
    assert note.alignment.wrap_text
    fees = next(c for number, c in cells.items() if number not in ("CB-2026-000003", "CB-2026-000004"))
    assert fees.value.split("\n") == ["none used of the 25 included", "monthly fee 470.00: 470.00"]


def _invoice(amounts: list[int], quantities: list[int]) -> Invoice:
    lines = tuple(InvoiceLine(line_no=n, kind=LineKind.USAGE, service="VM", service_name="Virtual machines", tier="gold",
                              tier_name="Gold", description="Virtual machines, Gold", quantity=Decimal(q), unit="vm-month",
                              detail="", amount=Decimal(a) / 100,
                              cost_centers=(LineCostCenter(cost_center="CC-1", gl_code="1", amount=Decimal(a) / 100),))
                  for n, (a, q) in enumerate(zip(amounts, quantities), start=1))
    return Invoice(number="CB-2026-000001", kind=DocumentKind.INVOICE, month="2026-03", issue_date=dt.date(2026, 4, 1),
                   business_line="FIN", buyer_name="Finance", buyer_head=None, currency="USD", lines=lines,
                   total=exact_sum(l.amount for l in lines))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=4).flatmap(
           lambda amounts: st.tuples(st.just(amounts), st.lists(st.integers(0, 500), min_size=len(amounts),
                                                                 max_size=len(amounts)))),
       st.sampled_from(["invoice", "line", "amount", "quantity", "debit", "reopen"]), st.data())
def test_property_every_note_lines_steps_add_up_to_its_amount(lines, how, data):
    amounts, quantities = lines
    original = _invoice(amounts, quantities)
    line_no = data.draw(st.integers(1, len(amounts)))
    earlier = {line_no: -Decimal(data.draw(st.integers(0, amounts[line_no - 1] - 1))) / 100}
    options: dict = {}
    if how == "reopen":
        note = cancellation(original, month="2026-04", issue_date=dt.date(2026, 4, 2), reason="wrong tier")
    else:
        if how in ("line", "amount", "quantity", "debit"):
            options["line_no"] = line_no
        if how in ("amount", "debit"):
            left = amounts[line_no - 1] + int(earlier[line_no] * 100)
            options["amount"] = Decimal(data.draw(st.integers(1, left))) / 100
        if how == "quantity":
            if not quantities[line_no - 1]:
                return
            options["quantity"] = Decimal(data.draw(st.integers(1, quantities[line_no - 1])))
        try:
            note = adjustment_note(original, month="2026-04", issue_date=dt.date(2026, 4, 2), reason="a reason",
                                   debit=how == "debit", already_adjusted=earlier, **options)
        except ChargebackError as refused:  # a quantity worth less than a cent, or more than is left: refused
            assert how == "quantity" and ("positive number" in str(refused) or "too much" in str(refused))
            return
    for line in note.lines:
        assert exact_sum(w.amount for w in line.workings) == line.amount
        assert line.workings[0].text.startswith(f"charged on CB-2026-000001 line {line.original_line_no}: ")
        assert sum(1 for w in line.workings if w.amount) <= 1 and line.workings[-1].text.startswith("why: ")
