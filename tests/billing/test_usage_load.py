"""Usage feeds through the command: reconciliation, idempotency, quarantine, FOCUS."""

import csv
import re
from collections import defaultdict
from decimal import Decimal

import polars as pl
import pytest

from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_SOURCES, EXAMPLE_TARIFFS, FOCUS_SAMPLE

FOCUS_LINES = """
    business_line,name
    ENG,Engineering & Design
    DATA,Data & AI
    FIN,Finance & Procurement
    OPS,IT Operations & SRE
    RES,Research
"""


def base_store(db_url, tmp_path):
    run(db_url, "org", "load", write(tmp_path / "bl.csv", FOCUS_LINES))
    run(db_url, "org", "load", write(tmp_path / "cc.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-ENG,Engineering,ENG,100
        CC-FIN,Finance,FIN,200
    """))
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)


def month_total(db_url, month):
    out = run(db_url, "month", "run", month).stdout
    found = re.search(r"chargeback: (-?[\d,]+\.\d\d) USD", out)
    return Decimal(found.group(1).replace(",", "")) if found else Decimal(0)


def test_focus_sample_reconciles_to_billed_cost_with_markup(db_url, tmp_path):
    base_store(db_url, tmp_path)
    out = run(db_url, "usage", "load", FOCUS_SAMPLE, "--source", "focus-cloud", "--sources", EXAMPLE_SOURCES).stdout
    assert "rows read 1,000 = loaded 1,000 (stored as 1,004 usage rows after splits) + quarantined 0 + duplicates skipped 0" in out
    # Expected per billing month: Σ BilledCost × (1 + markup of the default tier, silver) per service.
    from tariffs.load import load_catalogue

    catalogue, _ = load_catalogue(EXAMPLE_TARIFFS)
    storage = {"Storage", "Databases", "Analytics"}
    billed = defaultdict(lambda: defaultdict(Decimal))
    with FOCUS_SAMPLE.open(newline="") as handle:
        for line in csv.DictReader(handle):
            service = "CLOUD-DATA" if line["ServiceCategory"] in storage else "CLOUD"
            billed[line["BillingPeriodStart"][:7]][service] += Decimal(line["BilledCost"])
    for month, by_service in billed.items():
        expected = Decimal(0)
        for service, cost in by_service.items():
            version = catalogue.tariff_at(service, __import__("datetime").date.fromisoformat(month + "-01"))
            expected += cost * (1 + version.price("silver").markup_pct / 100)
        total = month_total(db_url, month)
        invoice_lines = 2 * 6 if month == "2024-09" else 2  # ≤ two services × six business lines (UNALLOCATED included)
        assert abs(total - expected) <= Decimal("0.005") * invoice_lines, (month, total, expected)


def test_loading_the_same_file_twice_charges_nothing_twice(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "desk.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,description
        T-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop
        T-2,2026-03-05,CC-FIN,DESK,12,ticket,printer
    """)
    run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    before = month_total(db_url, "2026-03")
    again = run(db_url, "usage", "load", feed, "--source", "servicedesk").stdout
    assert "already loaded as feed 1" in again and "nothing charged twice" in again
    # Same records in a different file (another export of the same data): skipped as duplicates.
    copy = write(tmp_path / "desk-copy.csv", feed.read_text() + "T-3,2026-03-09,CC-FIN,DESK,1,ticket,mouse\n")
    out = run(db_url, "usage", "load", copy, "--source", "servicedesk").stdout
    assert "rows read 3 = loaded 1 + quarantined 0 + duplicates skipped 2" in out
    assert month_total(db_url, "2026-03") > before
    replaced = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--replace").stdout
    assert "replaced feed(s) 1, 2" in replaced
    assert month_total(db_url, "2026-03") == before
    feeds = run(db_url, "usage", "feeds").stdout
    assert feeds.count("replaced") == 2


def test_bad_rows_are_quarantined_with_row_and_reason(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "mixed.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,description
        A-1,2026-03-02,CC-ENG,DESK,3,ticket,ok
        A-2,2026-02-30,CC-ENG,DESK,3,ticket,bad date
        A-3,2026-03-02,CC-NOPE,DESK,3,ticket,unknown cost centre
        A-4,2026-03-02,CC-ENG,DESK,three,ticket,text quantity
        A-1,2026-03-03,CC-ENG,DESK,1,ticket,duplicate id
        A-5,2026-03-02,CC-FIN,DESK,2,ticket,"=HYPERLINK(""http://x"",""y"")"
    """)
    result = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    assert "rows read 6 = loaded 2 + quarantined 3 + duplicates skipped 0 + conflicts quarantined 1;" in result.stdout
    for row in (3, 4, 5, 6):
        assert f"mixed.csv:{row}:" in result.stderr
    assert "Traceback" not in result.stderr
    rejects = run(db_url, "usage", "rejects", "--month", "2026-03").stdout
    assert "mixed.csv:4:cost_center" in rejects
    run(db_url, "usage", "rejects", "--out", tmp_path / "rejects.csv")
    assert "CC-NOPE" in (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig") or "cost_center" in (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig")
    strict = run(db_url, "usage", "load", write(tmp_path / "mixed2.csv", feed.read_text().replace("A-", "B-")),
                 "--source", "servicedesk", "--strict", ok=False)
    assert strict.exit_code == 1 and "nothing was loaded" in strict.stderr
    feeds = run(db_url, "usage", "feeds").stdout
    assert "mixed2.csv" not in feeds


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"who,what\n1,2\n", "missing column"),
    (bytes(range(256)) * 8, "not"),
])
def test_unloadable_files_fail_in_one_line(db_url, tmp_path, content, message):
    base_store(db_url, tmp_path)
    path = tmp_path / "feed.csv"
    path.write_bytes(content)
    result = run(db_url, "usage", "load", path, "--source", "servicedesk", "--new-source", ok=False)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "feed.csv" not in run(db_url, "usage", "feeds").stdout


def test_usage_into_a_closed_month_is_refused(db_url, tmp_path):
    base_store(db_url, tmp_path)
    first = write(tmp_path / "a.csv", """
        record_id,usage_date,cost_center,service,quantity,unit
        A-1,2026-03-02,CC-ENG,DESK,3,ticket
    """)
    run(db_url, "usage", "load", first, "--source", "servicedesk", "--new-source")
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03")
    late = write(tmp_path / "late.csv", """
        record_id,usage_date,cost_center,service,quantity,unit
        A-9,2026-03-30,CC-ENG,DESK,3,ticket
    """)
    result = run(db_url, "usage", "load", late, "--source", "servicedesk", ok=False)
    assert result.exit_code == 1 and "closed month 2026-03" in result.stderr and "reopen" in result.stderr


def test_explain_lists_the_usage_rows_behind_an_invoice_line(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "desk.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,description
        T-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop
        T-2,2026-03-05,CC-FIN,DESK,12,ticket,printer
        T-3,2026-03-06,cc-eng,desk,2,TICKET,  monitor
    """)
    run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    # a cost centre added later: the second feed's stored parts know one more code
    run(db_url, "org", "load", write(tmp_path / "cc2.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-LAB,Laboratory,ENG,300
    """))
    later = write(tmp_path / "desk-2.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,description
        T-4,2026-03-20,CC-LAB,DESK,5,ticket,microscope
    """)
    run(db_url, "usage", "load", later, "--source", "servicedesk")
    run(db_url, "month", "run", "2026-03")
    closed = run(db_url, "month", "close", "2026-03").stdout
    first = re.search(r"\((CB-\d{4}-\d{6}) to", closed).group(1)
    out = run(db_url, "explain", f"{first}/1").stdout
    assert "usage rows for ENG DESK in 2026-03: 3" in out
    assert f"{feed}:2 record T-1 2026-03-02 CC-ENG" in out and "qty 30" in out and "laptop" in out
    assert f"{feed}:4 record T-3 2026-03-06 CC-ENG" in out and "monitor" in out
    assert f"{later}:2 record T-4 2026-03-20 CC-LAB" in out


def test_invoices_show_and_explain_write_quantities_without_an_exponent(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "desk.csv", """
        record_id,usage_date,cost_center,service,quantity,unit
        Q-1,2026-03-02,CC-ENG,DESK,60,ticket
        Q-2,2026-03-03,CC-ENG,DESK,30,ticket
    """)
    run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    run(db_url, "month", "run", "2026-03")
    closed = run(db_url, "month", "close", "2026-03").stdout
    first = re.search(r"\((CB-\d{4}-\d{6}) to", closed).group(1)
    shown = run(db_url, "invoices", "show", first).stdout
    explained = run(db_url, "explain", f"{first}/1").stdout
    for out in (shown, explained):
        assert "E+" not in out and "E-" not in out
    assert re.search(r"\b90\b", shown) and "quantity 90 " in explained and "qty 60" in explained


def test_records_loaded_before_are_told_apart_exactly_even_when_hashes_collide(db_url, tmp_path, monkeypatch):
    from billing.store import usage as usage_store

    # A weak hash: every id of the same length collides, so each hit must be settled by the id.
    monkeypatch.setattr(usage_store, "id_hashes", lambda ids: ids.str.len_bytes().cast(pl.UInt64).to_numpy())
    monkeypatch.setattr(usage_store.LoadedIds, "_PARTS_KEPT", 1)  # parts read again when confirming
    base_store(db_url, tmp_path)
    header = "record_id,usage_date,cost_center,service,quantity,unit,description\n"
    for name, numbers in (("first", (1, 2, 3)), ("again", (4, 5)), ("third", (6, 7))):  # a part each
        feed = tmp_path / f"{name}.csv"
        feed.write_text(header + "".join(f"T-{n},2026-03-02,CC-ENG,DESK,1,ticket,x\n" for n in numbers))
        run(db_url, "usage", "load", feed, "--source", "servicedesk", *(["--new-source"] if name == "first" else []))
    later = tmp_path / "later.csv"
    later.write_text(header + "".join(f"T-{n},2026-03-02,CC-ENG,DESK,1,ticket,x\n" for n in (2, 8, 6, 9, 13, 1)))
    out = run(db_url, "usage", "load", later, "--source", "servicedesk").stdout
    assert "rows read 6 = loaded 3 + quarantined 0 + duplicates skipped 3" in out  # T-2, T-6 and T-1 were loaded
