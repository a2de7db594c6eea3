import datetime as dt
import io
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest

from billing.core.records import Invoice, InvoiceLine, LineCostCenter
from reports.views import month_export_view
from reports.xlsx import amount_format, month_workbook, safe_text
from tests.reports import samples

D = Decimal
HOSTILE = (*samples.FORMULAS, "\r=2", "|calc", "=1+1")


def _invoices() -> list[Invoice]:
    """Three business lines × three services, lines split over two cost centres, hostile names.

    Amounts are chosen so the sums need every cent: e.g. MKT VM 1,234.57 = 617.29 + 617.28.
    """
    services = [("VM", "Virtual machines"), ("STORAGE", HOSTILE[0]), ("DESK", "+1+1 desk")]
    documents = []
    for b, (code, name) in enumerate([("MKT", "Marketing"), ("FIN", "-2+3 Finance"), ("OPS", "@SUM(A1) Ops")]):
        lines = []
        for s, (service, service_name) in enumerate(services):
            amount = D(1234.57 + 1000 * b + 10.01 * s).quantize(D("0.01")) * (-1 if (b + s) % 4 == 3 else 1)
            first = (amount / 2).quantize(D("0.01"))
            parts = (LineCostCenter(cost_center=f"{code}-1", gl_code=HOSTILE[(b + s) % len(HOSTILE)], amount=first),
                     LineCostCenter(cost_center=f"{code}-2", gl_code="4100", amount=amount - first))
            lines.append(InvoiceLine(line_no=s + 1, kind="usage" if amount > 0 else "sla_credit", service=service,
                                     service_name=service_name, tier="silver", tier_name=HOSTILE[5 + s], description=HOSTILE[s],
                                     quantity=D("10.5"), unit="unit", detail=HOSTILE[b], amount=amount, cost_centers=parts))
        documents.append(Invoice(number=f"INV-{b + 1}", kind="invoice", month="2026-03", issue_date=dt.date(2026, 4, 2),
                                 business_line=code, buyer_name=name, buyer_head=None, currency="USD", lines=tuple(lines),
                                 total=sum((l.amount for l in lines), D(0))))
    return documents


@pytest.fixture
def view():
    return month_export_view(month="2026-03", closed=True, documents=_invoices())


def _load(data: bytes, **kw):
    return openpyxl.load_workbook(io.BytesIO(data), **kw)


def test_sheets_tables_panes_and_formats(view):
    wb = _load(month_workbook(view))
    assert wb.sheetnames == ["Summary", "Detail"]
    summary, detail = wb["Summary"], wb["Detail"]
    assert list(summary.tables) == ["Summary"] and summary.tables["Summary"].ref == "A4:F7"
    assert list(detail.tables) == ["Detail"] and detail.tables["Detail"].ref == f"A1:R{1 + len(view.rows)}"
    headers = [c.value for c in detail[1]]
    assert len(set(headers)) == len(headers) and "Amount (USD)" in headers
    assert [c.name for c in detail.tables["Detail"].tableColumns] == headers
    assert summary.freeze_panes == "C5" and detail.freeze_panes == "A2"
    assert summary["C5"].number_format == "#,##0.00;-#,##0.00" == detail["L2"].number_format
    assert detail.column_dimensions["D"].width > 10


def test_totals_are_formulas(view):
    wb = _load(month_workbook(view))
    summary, detail = wb["Summary"], wb["Detail"]
    assert summary["F5"].value == "=SUM(C5:E5)"
    assert [c.value for c in summary[8]][2:] == ["=SUM(C5:C7)", "=SUM(D5:D7)", "=SUM(E5:E7)", "=SUM(F5:F7)"]
    last = 1 + len(view.rows)
    assert detail.cell(row=last + 1, column=12).value == f"=SUBTOTAL(109,L2:L{last})"
    # The numbers under the formulas are the engine's, exactly.
    assert [D(str(c.value)) for c in summary[5][2:5]] == list(view.amounts[0])
    assert sum(D(str(detail.cell(row=r, column=12).value)) for r in range(2, last + 1)) == view.total


def test_a_reader_that_does_not_recalculate_sees_the_totals(view):
    """Each total formula carries its value: a preview, a mail client or pandas shows it as Excel would."""
    wb = _load(month_workbook(view), data_only=True)
    summary, detail = wb["Summary"], wb["Detail"]
    assert [D(str(summary.cell(row=5 + i, column=6).value)) for i in range(3)] == list(view.business_line_totals)
    assert [D(str(c.value)) for c in summary[8][2:]] == [*view.service_totals, view.total]
    assert D(str(detail.cell(row=2 + len(view.rows), column=12).value)) == view.total


def test_injected_text_stays_text(view):
    wb = _load(month_workbook(view))
    seen = set()
    expected = {text.replace("\r", "\n") for text in HOSTILE}  # XML reads a carriage return as a line feed
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value in expected:
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    assert cell.quotePrefix, (ws.title, cell.coordinate)
                    seen.add(cell.value)
                if cell.data_type == "f":
                    assert cell.value.startswith(("=SUM(", "=SUBTOTAL(")), cell.value
    assert seen == expected


def test_safe_text_on_a_normal_sheet():
    ws = openpyxl.Workbook().active
    cell = safe_text(ws["A1"], "=1+1\x07bell")
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1\ufffdbell", "s", True)
    assert safe_text(ws["A2"], None).value == ""
    assert not safe_text(ws["A3"], "plain").quotePrefix


def test_amount_format_follows_minor_units():
    assert amount_format("JPY") == "#,##0;-#,##0"
    assert amount_format("BHD") == "#,##0.000;-#,##0.000"


def test_detail_continues_on_more_sheets_past_the_row_limit(view):
    wb = _load(month_workbook(view, max_rows=6))  # 4 detail rows a sheet, 18 rows
    assert wb.sheetnames == ["Summary", "Detail", "Detail (2)", "Detail (3)", "Detail (4)", "Detail (5)"]
    assert [list(wb[n].tables) for n in wb.sheetnames[1:]] == [["Detail"], ["Detail2"], ["Detail3"], ["Detail4"], ["Detail5"]]
    assert all(wb[n].max_row <= 6 for n in wb.sheetnames[1:])
    notes = [c.value for row in wb["Summary"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any("continues on Detail (2), Detail (3), Detail (4), Detail (5)" in n for n in notes)


def test_empty_month(view):
    empty = month_export_view(month="2026-03", closed=False, currency="USD")
    wb = _load(month_workbook(empty))
    assert wb["Summary"]["A5"].value == "No chargeback lines for this month."
    assert wb["Detail"].tables["Detail"].ref == "A1:R2"


@pytest.mark.libreoffice
def test_libreoffice_computes_the_totals_and_keeps_text(view, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed: apt-get install libreoffice-calc-nogui")
    source = tmp_path / "month.xlsx"
    source.write_bytes(month_workbook(view))
    out = tmp_path / "out"
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                    "--convert-to", "xlsx", "--outdir", str(out), str(source)],
                   check=True, capture_output=True, timeout=120)
    wb = _load((out / "month.xlsx").read_bytes(), data_only=True)
    summary, detail = wb["Summary"], wb["Detail"]

    def cents(value) -> Decimal:
        return D(str(value)).quantize(D("0.01"))

    for i, total in enumerate(view.business_line_totals):  # row totals
        assert cents(summary.cell(row=5 + i, column=6).value) == total
    for j, total in enumerate(view.service_totals):  # column totals
        assert cents(summary.cell(row=8, column=3 + j).value) == total
    assert cents(summary["F8"].value) == view.total
    assert cents(detail.cell(row=2 + len(view.rows), column=12).value) == view.total
    texts = {c.value for row in detail.iter_rows() for c in row if c.data_type == "s"}
    assert {'=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "=1+1"} <= texts
