"""Downloads on SQLite and PostgreSQL: a head saves its own line's statement as HTML, PDF (headless
Chromium; skipped saying why without it) and an Excel workbook of its line only; finance saves
the month's journal, FOCUS bill and workbook, the same bytes the commands write; file names
reach the header escaped."""

from __future__ import annotations

import io
import shutil
import subprocess

import openpyxl
import pytest

from billing import api
from portal.security import attachment
from reports.browser import find_chromium
from tests.portal.conftest import MONTH, signed_in


def test_a_head_saves_its_lines_workbook_with_nothing_of_another_line(app, books):
    head, _ = signed_in(app, books, "head")
    answer = head.get(f"/lines/FIN/statements/{MONTH}/xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["content-disposition"].startswith(f'attachment; filename="chargeback-FIN-{MONTH}.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True)
    cells = {str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c is not None}
    assert "FIN" in cells and books.fin_invoice in cells
    assert "OPS" not in cells and books.ops_invoice not in cells and "IT Operations" not in cells
    whole = openpyxl.load_workbook(io.BytesIO(api.export_month(app.state.portal.store, MONTH, "xlsx")), read_only=True)
    assert "OPS" in {str(c) for s in whole.worksheets for r in s.iter_rows(values_only=True) for c in r if c is not None}


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (apt-get install chromium): no PDF")
def test_a_head_saves_its_statement_as_pdf(app, books):
    head, _ = signed_in(app, books, "head")
    answer = head.get(f"/lines/FIN/statements/{MONTH}/pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert answer.headers["content-disposition"].startswith(f'attachment; filename="statement-FIN-{MONTH}.pdf"')
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text is not read")
    text = subprocess.run(["pdftotext", "-", "-"], input=answer.content, capture_output=True, check=True).stdout.decode()
    assert "Finance & Procurement" in text and books.fin_invoice in text
    assert "IT Operations" not in text and books.ops_invoice not in text


def test_finance_saves_the_months_journal_focus_bill_and_workbook_as_the_commands_write_them(app, books):
    store = app.state.portal.store
    finance, _ = signed_in(app, books, "fin")
    journal = finance.get(f"/months/{MONTH}/journal.csv")
    assert journal.status_code == 200 and journal.headers["content-type"].startswith("text/csv")
    assert journal.content == api.journal(store, MONTH).csv
    assert f'filename="journal-{MONTH}.csv"' in journal.headers["content-disposition"]
    focus = finance.get(f"/months/{MONTH}/focus.csv")
    assert focus.status_code == 200 and focus.content == api.export_month(store, MONTH, "focus")
    assert b"BilledCost" in focus.content.split(b"\n", 1)[0]
    workbook = finance.get(f"/months/{MONTH}/export.xlsx")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    head, _ = signed_in(app, books, "head")
    assert head.get(f"/months/{MONTH}/journal.csv").status_code == 403


def test_an_open_months_journal_is_refused_saying_why(app, books):
    finance, _ = signed_in(app, books, "fin")
    answer = finance.get("/months/2031-01/journal.csv")
    assert answer.status_code == 409 and "2031-01" in answer.text


@pytest.mark.parametrize("name,header", [
    ("statement-FIN-2026-03.pdf", 'attachment; filename="statement-FIN-2026-03.pdf"; '
                                  "filename*=UTF-8''statement-FIN-2026-03.pdf"),
    ('a"b\r\nSet-Cookie: x=1/../é.pdf', 'attachment; filename="a_b_Set-Cookie_x_1_.._.pdf"; '
                                        "filename*=UTF-8''a%22b%0D%0ASet-Cookie%3A%20x%3D1%2F..%2F%C3%A9.pdf"),
    ("", 'attachment; filename="download"; filename*=UTF-8\'\''),
])
def test_a_download_names_its_file_in_the_header_escaped(name, header):
    assert attachment(name) == header
