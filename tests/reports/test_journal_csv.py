import datetime as dt
from decimal import Decimal

from billing.close.journal import build_journal
from billing.core.records import JournalLine
from reports.journal_csv import JOURNAL_COLUMNS, journal_csv
from tests.billing.test_journal import ACCOUNTS, POSTING, worked_example


def test_journal_csv_of_the_worked_example():
    text = journal_csv(build_journal(worked_example(), **POSTING, **ACCOUNTS)).decode("utf-8")
    assert text.splitlines() == [
        "posting_date,period,document_number,line,account,cost_center,debit,credit,currency,text,reference",
        "2026-03-31,2026-03,INV-2026-0001,1,640100,4100-10,600.00,,USD,Virtual machines Silver 2026-03,INV-2026-0001/1",
        "2026-03-31,2026-03,INV-2026-0001,2,640100,4100-20,400.00,,USD,Virtual machines Silver 2026-03,INV-2026-0001/1",
        "2026-03-31,2026-03,INV-2026-0001,3,640900,IT-100,,1000.00,USD,Virtual machines Silver 2026-03,INV-2026-0001/1",
        "2026-03-31,2026-03,INV-2026-0001,4,640100,4100-10,,60.00,USD,Virtual machines Silver 2026-03,INV-2026-0001/2",
        "2026-03-31,2026-03,INV-2026-0001,5,640100,4100-20,,40.00,USD,Virtual machines Silver 2026-03,INV-2026-0001/2",
        "2026-03-31,2026-03,INV-2026-0001,6,640900,IT-100,100.00,,USD,Virtual machines Silver 2026-03,INV-2026-0001/2",
        "2026-03-31,2026-03,CN-2026-0001,1,640100,,,250.00,USD,Virtual machines Silver 2026-03,CN-2026-0001/1",
        "2026-03-31,2026-03,CN-2026-0001,2,640900,IT-100,250.00,,USD,Virtual machines Silver 2026-03,CN-2026-0001/1",
    ]
    assert "\ufeff" not in text and text.endswith("\r\n")
    assert len(JOURNAL_COLUMNS) == 11


def test_amounts_use_minor_units_and_no_separators():
    row = JournalLine(posting_date=dt.date(2026, 3, 31), period="2026-03", document_number="INV-9", line=1, account="640100",
                      cost_center="", debit=Decimal("1234567"), credit=Decimal(0), currency="JPY",
                      text='=HYPERLINK("x")\nsecond line', reference="INV-9/1")
    fields = journal_csv([row]).decode().splitlines()[1]
    assert fields == '2026-03-31,2026-03,INV-9,1,640100,,1234567,,JPY,"HYPERLINK(""x"") second line",INV-9/1'
