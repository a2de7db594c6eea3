"""The one formula guard (reports.guard), and every CSV and workbook writer putting text from
input through it: a service named ``=HYPERLINK("http://x","y")`` never becomes a live formula."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from billing.core.records import JournalLine
from billing.recovery.over_under import PoolRow, RecoveryReport, RecoveryRow
from billing.recovery.rates import RateProposal, ServiceProposal
from billing.core.records import RejectedRow
from reports.csv_export import month_csv, write_rejects_csv
from reports.guard import FORMULA_TRIGGERS, for_machines, for_people, is_formula
from reports.journal_csv import journal_csv
from reports.plan_xlsx import plan_workbook
from reports.proposal_csv import proposal_csv
from reports.recovery_export import recovery_csv, recovery_xlsx
from reports.xlsx import month_workbook
from tests.reports import samples
from tests.reports.test_plan_minor_units import view as plan_view

HYPERLINK = '=HYPERLINK("http://x","y")'
ZERO = Decimal(0)


def test_each_trigger_is_guarded_for_people_and_stripped_for_machines():
    for text in samples.FORMULAS + ("\r=1", "\n=1", "\0=1", "|cmd", "%0A"):
        assert is_formula(text) and for_people(text) == "'" + text
    assert [for_machines(t) for t in ("+-@=\tSUM(A1)", "=HYPERLINK(\"x\")\nsecond line", "| x", "%1")] == [
        "SUM(A1)", 'HYPERLINK("x") second line', "x", "1"]
    for plain in ("Plain 1+1", "Virtual machines", "", "'quoted"):
        assert not is_formula(plain) and for_people(plain) == plain == for_machines(plain)
    assert for_people(None) == "" == for_machines(None)
    assert len(FORMULA_TRIGGERS) == len(set(FORMULA_TRIGGERS))


def _row(service: str, name: str, cost: str) -> RecoveryRow:
    amount = Decimal(cost)
    return RecoveryRow(service=service, name=name, mode="shared", basis="use", cost=amount, recovered=ZERO, showback=ZERO,
                       allocated=amount, over_under=ZERO, recovery_pct=Decimal(100), in_overhead=ZERO)


def _recovery() -> RecoveryReport:
    row = _row("WAN", HYPERLINK, "12.50")
    return RecoveryReport(period="2026-03", months=("2026-03",), currency="USD", rows=(row,),
                          total=_row("TOTAL", "Total", "12.50"),
                          pools=(PoolRow(pool="NET", name="-1+1", category="network", total=Decimal("12.50"),
                                         to_services=Decimal("12.50"), to_business_lines=ZERO, overhead=ZERO),))


def _proposal() -> RateProposal:
    service = ServiceProposal(service="WAN", name=HYPERLINK, model="per_unit", budget=Decimal("100.00"),
                              volume=Decimal(10), last_year=Decimal("90.00"), current_prices=Decimal("90.00"),
                              expected=Decimal("100.00"), method="base rate 10", version=None)
    return RateProposal(fiscal_year=2027, version="2027.1-draft", effective_from=dt.date(2027, 1, 1), currency="USD",
                        services=(service,))


def _plan() -> bytes:
    made = plan_view("USD")
    sheet = made.sheets[0]
    service = sheet.services[0]
    hostile = type(service)(**{**{f: getattr(service, f) for f in service.__slots__}, "service_name": HYPERLINK})
    return plan_workbook(type(made)(**{**{f: getattr(made, f) for f in made.__slots__},
                                       "sheets": (type(sheet)(business_line="FIN", name=HYPERLINK, services=(hostile,)),)}))


def _journal() -> bytes:
    line = JournalLine(posting_date=dt.date(2026, 3, 31), period="2026-03", document_number="INV-1", line=1,
                       account="640100", cost_center="4100-10", debit=Decimal("1.00"), credit=ZERO, currency="USD",
                       text=HYPERLINK, reference="INV-1/1")
    return journal_csv([line])


def _csv_cells(data: bytes) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row}


def _workbook_texts(data: bytes) -> list[tuple[object, str, bool]]:
    """(value, data type, quote prefix) of every cell that mentions HYPERLINK."""
    book = load_workbook(io.BytesIO(data))
    return [(cell.value, cell.data_type, cell.quotePrefix) for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if isinstance(cell.value, str) and "HYPERLINK" in cell.value]


# Every CSV file for people: the text is there with a ' in front, never bare.
PEOPLES_CSV = {
    "month csv": lambda: month_csv(samples.export(hostile=True)),
    "rejects csv": lambda: write_rejects_csv([RejectedRow(file="usage.csv", row=2, column="service", code="unknown",
                                                               reason=HYPERLINK, month="2026-03", source="src", feed=1)]),
    "recovery csv": lambda: recovery_csv(_recovery()),
    "proposal csv": lambda: proposal_csv(_proposal()),
}
# Every workbook: the text is a text cell with Excel's quote prefix, never a formula.
WORKBOOKS = {
    "month workbook": lambda: month_workbook(samples.export(hostile=True)),
    "recovery workbook": lambda: recovery_xlsx(_recovery()),
    "plan workbook": _plan,
}


@pytest.mark.parametrize("writer", PEOPLES_CSV.values(), ids=PEOPLES_CSV.keys())
def test_every_csv_for_people_prefixes_a_formula_from_input(writer):
    cells = _csv_cells(writer())
    assert "'" + HYPERLINK in cells and HYPERLINK not in cells


@pytest.mark.parametrize("writer", WORKBOOKS.values(), ids=WORKBOOKS.keys())
def test_every_workbook_writes_a_formula_from_input_as_text(writer):
    found = _workbook_texts(writer())
    assert found and all(value == HYPERLINK and kind == "s" and prefixed for value, kind, prefixed in found), found


def test_the_journal_for_machines_strips_the_trigger_instead():
    cells = _csv_cells(_journal())
    assert 'HYPERLINK("http://x","y")' in cells and not any(is_formula(c) for c in cells)
