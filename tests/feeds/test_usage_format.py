"""Our own usage format: every row ends as a good row or a problem with file, row and column."""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from billing.feeds import file_digest, row_schema
from billing.core.problems import Severity
from tests.feeds.conftest import read, source_from, write

MIXED = """
    record_id,usage_date,cost_center,business_line,service,tier,quantity,unit,description,cost
    r1,2024-09-01,CC-100,,STORAGE,GOLD,10.5,GB,good,
    r2,2024-09-31,CC-100,,STORAGE,,1,GB,no such day,
    r3,2024-09-02,CC-999,,STORAGE,,1,GB,unknown cost centre,
    r4,2024-09-02,CC-100,,STORAGE,,ten,GB,text quantity,
    r1,2024-09-03,CC-100,,STORAGE,,2,GB,repeats r1,
    r5,2024-09-02,,OPS,COMPUTE,SILVER,-3,HOUR,a correction,-7.5
    r6,2024-09-15,CC-200,,COMPUTE,,4,HOUR,last day with OPS,
    r7,2024-09-16,CC-200,,COMPUTE,,5,HOUR,first day with ENG,
    r8,2024-09-16,CC-200,OPS,COMPUTE,,5,HOUR,OPS no longer owns CC-200,
    r9,2024-09-02,CC-300,,STORAGE,,1,GB,CC-300 has no owner after June,
    r10,2024-09-02,CC-100,,NOPE,,1,GB,unknown service,
    r11,2024-09-02,CC-100,,STORAGE,PLATINUM,1,GB,unknown tier,
    r12,2024-09-02,CC-100,,STORAGE,,1,HOUR,not the service's unit,
    r13,2024-09-02,CC-100,,STORAGE,,0.0000000000001,GB,13 decimals,
    ,2024-09-02,CC-100,,STORAGE,,1,GB,no record id,
    r14,2023-12-31,CC-100,,STORAGE,,1,GB,before the accepted range,
    r15,2024-09-02,,,STORAGE,,1,GB,nobody to charge,
    r16,2024-09-02,,NOBODY,STORAGE,,1,GB,unknown business line,
    r17,2024-09-02,CC-100,,STORAGE,,,GB,empty quantity,
    r18,2024-09-02 13:45:00,cc-100,,storage,gold,1.000000000000000,gb,codes in any case,12.50
    r19,2024-09-02,CC-100,,STORAGE,,1,PB,unknown unit,
"""

# (row, code, column): the header is row 1, r1 is row 2.
MIXED_PROBLEMS = [
    (3, "not-a-date", "usage_date"),
    (4, "unknown-cost-center", "cost_center"),
    (5, "not-a-number", "quantity"),
    (6, "conflict", "record_id"),  # r1 again, with other values
    (10, "inconsistent", "business_line"),
    (11, "unmapped", "cost_center"),
    (12, "unknown-service", "service"),
    (13, "unknown-tier", "tier"),
    (14, "unknown-unit", "unit"),
    (15, "too-precise", "quantity"),
    (16, "value-missing", "record_id"),
    (17, "date-out-of-range", "usage_date"),
    (18, "value-missing", "cost_center"),
    (19, "unknown-business-line", "business_line"),
    (20, "value-missing", "quantity"),
    (22, "unknown-unit", "unit"),
]


@pytest.fixture
def internal(examples):
    return examples["internal"]


def test_mixed_rows_each_become_a_row_or_a_problem(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", MIXED), internal, ctx)

    assert result.codes() == MIXED_PROBLEMS
    assert result.rows.get_column("record_id").to_list() == ["r1", "r5", "r6", "r7", "r18"]
    assert result.rows.schema == pl.Schema(row_schema(ctx))
    t = result.tally
    assert (t.rows_read, t.good, t.rejected, t.duplicates, t.conflicts, t.excluded) == (21, 5, 15, 0, 1, 0)
    assert t.balanced


def test_problems_are_actionable(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", MIXED), internal, ctx)
    rendered = {p.source.row: p.render() for p in result.problems}

    assert rendered[3] == (
        f"{tmp_path}/usage.csv:3:usage_date: not-a-date '2024-09-31' is not a date (write dates as YYYY-MM-DD)"
    )
    assert rendered[6] == (
        f"{tmp_path}/usage.csv:6:record_id: conflict record id 'r1' is also on row 2 with other values (usage_date "
        f"'2024-09-03' here, '2024-09-01' there; tier empty here, 'GOLD' there; quantity '2' here, '10.5' there); "
        f"row 2 is loaded, this row is not (a record is sent once: "
        f"correct the export; a feed already loaded is corrected by loading its corrected file as a replacement of "
        f"the feed)")
    assert "cost centre CC-200 belongs to ENG on 2024-09-16, not to OPS" in rendered[10]
    assert "cost centre CC-300 belongs to no business line on 2024-09-02 (owners: DATA 2024-01-01..2024-06-30)" in rendered[11]
    assert "unit HOUR is not the unit of service STORAGE, which is measured in GB" in rendered[14]
    assert "has 13 decimals; at most 12 are kept" in rendered[15]
    assert "known: COMPUTE, STORAGE" in rendered[12].replace("CLOUD, CLOUD-DATA, ", "")


def test_business_line_comes_from_the_owner_on_the_usage_date(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", MIXED), internal, ctx)

    assert result.by_id("r1")["business_line"] == "FIN"
    assert result.by_id("r5")["business_line"] == "OPS"  # given directly
    assert result.by_id("r6")["business_line"] == "OPS"  # CC-200 on 15 September
    assert result.by_id("r7")["business_line"] == "ENG"  # CC-200 from 16 September


def test_values_are_normalised_and_exact(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", MIXED), internal, ctx)
    r18 = result.by_id("r18")

    assert (r18["usage_date"], r18["cost_center"], r18["service"], r18["tier"], r18["unit"]) == (
        dt.date(2024, 9, 2), "CC-100", "STORAGE", "GOLD", "GB")
    assert r18["quantity"] == Decimal("1") and r18["cost"] == Decimal("12.50")
    assert result.by_id("r1")["tier"] == "GOLD" and result.by_id("r6")["tier"] is None
    assert result.by_id("r1")["cost"] is None


def test_values_may_have_surrounding_spaces_and_blank_is_missing(tmp_path, ctx, internal):
    text = (
        "record_id,usage_date,cost_center,business_line,service,tier,quantity,unit,description,cost\n"
        '" s1 "," 2024-09-02 "," cc-100 ",," storage "," gold "," 2.50 "," gb ","  spaced  "," 1e1 "\n'
        's2,2024-09-02,CC-100,,STORAGE,,"   ",GB,blank quantity,\n'
        's3,"  ",CC-100,,STORAGE,,1,GB,blank date,\n'
        's4,2024-09-02,"  ",,STORAGE,,1,GB,blank cost centre,\n'
        's5,2024-09-02,CC-100,," ",,1,GB,blank service,\n'
        's6,2024-09-02,CC-100,,STORAGE," ",1," ",blank tier and unit,\n'
    )
    result = read(write(tmp_path, "usage.csv", text), internal, ctx)

    assert result.codes() == [(3, "value-missing", "quantity"), (4, "value-missing", "usage_date"),
                              (5, "value-missing", "cost_center"), (6, "value-missing", "service"),
                              (7, "value-missing", "unit")]
    s1 = result.by_id("s1")
    assert (s1["usage_date"], s1["cost_center"], s1["service"], s1["tier"], s1["unit"], s1["description"]) == (
        dt.date(2024, 9, 2), "CC-100", "STORAGE", "GOLD", "GB", "spaced")
    assert (s1["quantity"], s1["cost"], s1["business_line"]) == (Decimal("2.5"), Decimal(10), "FIN")


def test_negative_quantity_is_a_noted_correction(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", MIXED), internal, ctx)
    r5 = result.by_id("r5")

    assert r5["quantity"] == Decimal("-3") and r5["cost"] == Decimal("-7.5")
    assert r5["note"] == "correction: negative quantity"


def test_control_totals(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", MIXED), internal, ctx)
    t = result.tally

    # read: every parseable quantity, rejected rows included ('ten', '' and 1e-13 are not):
    # r1 10.5 + dup 2 + r5 -3 + r6 4 + r7 5 + r8 5 + twelve rows of 1 = 35.5
    assert t.quantity_read == Decimal("35.5")
    # loaded: r1 10.5 + r5 -3 + r6 4 + r7 5 + r18 1 = 17.5
    assert t.quantity_loaded == Decimal("17.5")
    assert (t.cost_read, t.cost_loaded) == (Decimal("5"), Decimal("5"))  # -7.5 + 12.50
    assert t.render() == (
        "rows read 21 = good 5 + rejected 15 + duplicates 0 + conflicts 1 + excluded 0; usage rows loaded 5; "
        "quantity read 35.5, loaded 17.5; cost read 5, loaded 5"
    )


@pytest.mark.parametrize("batch_rows", [1, 3, 7])
def test_small_batches_give_the_same_result(tmp_path, ctx, internal, batch_rows):
    path = write(tmp_path, "usage.csv", MIXED)
    whole = read(path, internal, ctx)
    seen: list[int] = []
    batched = read(path, internal, ctx, batch_rows=batch_rows, on_progress=seen.append)

    assert batched.rows.equals(whole.rows)
    assert batched.problems == whole.problems  # the duplicate of row 2 on row 6 is found across batches
    assert batched.tally == whole.tally
    assert seen[-1] == 21 and len(seen) == len(batched.batches) >= 21 // batch_rows
    assert all(b.rows_read <= batch_rows for b in batched.batches)


def test_row_numbers_count_physical_lines_across_quoted_line_breaks(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", '''
        record_id,usage_date,cost_center,service,quantity,unit,description
        a,2024-09-01,CC-100,STORAGE,1,GB,"two
        lines"
        b,2024-09-01,CC-100,STORAGE,x,GB,plain

        c,2024-09-01,CC-100,STORAGE,2,GB,"three
        more
        lines"
        d,2024-09-01,CC-100,STORAGE,y,GB,plain
    ''')
    for batch_rows in (1, 2, 100):
        result = read(path, internal, ctx, batch_rows=batch_rows)
        assert result.codes() == [(4, "not-a-number", "quantity"), (9, "not-a-number", "quantity")]
        assert result.rows.get_column("row_no").to_list() == [2, 6]
        assert result.by_id("a")["description"] == "two\nlines"
        assert (result.tally.rows_read, result.tally.blank_rows) == (4, 1)


def test_header_names_ignore_case_and_spaces_and_may_be_renamed(tmp_path, ctx):
    source = source_from("""
        name: legacy
        format: usage
        columns: {quantity: Qty, cost_center: CostCentre}
    """)
    path = write(tmp_path, "usage.csv", """
        " Record_ID ",USAGE_DATE,costcentre,Service,qty,Unit,Comment
        a,2024-09-01,CC-100,STORAGE,1,GB,x
    """)
    result = read(path, source, ctx)

    assert result.rows.height == 1
    assert result.codes() == [(1, "unknown-key", None)]
    assert result.problems[0].severity is Severity.WARNING
    assert "column(s) not used: Comment" in result.problems[0].message


def test_wrong_header_is_one_problem_and_nothing_loads(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", """
        id,date,service,amount,unit
        a,2024-09-01,STORAGE,1,GB
    """)
    result = read(path, internal, ctx)

    assert result.codes() == [(1, "header-missing", None)]
    assert result.problems[0].message == (
        "missing column(s): record_id, usage_date, quantity, cost_center or business_line; "
        "found: id, date, service, amount, unit"
    )
    assert result.rows.height == 0 and not result.tally.complete


def test_semicolons_are_named_with_what_to_do(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", "record_id;usage_date;cost_center\na;2024-09-01;CC-100\n"), internal, ctx)

    assert result.codes() == [(1, "wrong-delimiter", None)]
    assert "separated by semicolons (;), not by commas" in result.problems[0].message
    assert "the delimiter ';' and the decimal mark comma" in result.problems[0].hint


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, ctx, internal, content):
    path = tmp_path / "usage.csv"
    path.write_bytes(content)
    result = read(path, internal, ctx)

    assert [p.code.value for p in result.problems] == ["file-empty"]
    assert result.rows.height == 0


def test_header_without_rows_is_a_warning(tmp_path, ctx, internal):
    result = read(write(tmp_path, "usage.csv", "record_id,usage_date,cost_center,service,quantity,unit\n"), internal, ctx)

    assert [(p.code.value, p.severity) for p in result.problems] == [("file-empty", Severity.WARNING)]
    assert result.tally.rows_read == 0


def test_utf8_bom_loads(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    path.write_bytes("\ufeffrecord_id,usage_date,cost_center,service,quantity,unit\r\nå,2024-09-01,CC-100,STORAGE,1,GB\r\n"
                     .encode("utf-8"))
    result = read(path, internal, ctx)

    assert result.problems == [] and result.by_id("å")["row_no"] == 2


def test_random_bytes_are_unreadable_not_a_traceback(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    path.write_bytes(random.Random(7).randbytes(4096))
    result = read(path, internal, ctx)

    assert [p.code.value for p in result.problems] == ["file-unreadable"]
    assert result.rows.height == 0


def test_workbook_renamed_to_csv_is_unreadable_with_a_hint(tmp_path, ctx, internal):
    book = openpyxl.Workbook()
    book.active.append(["record_id"])
    book.save(tmp_path / "usage.csv")
    result = read(tmp_path / "usage.csv", internal, ctx)

    assert [p.code.value for p in result.problems] == ["file-unreadable"]
    assert ".xlsx" in result.problems[0].message and ".xlsx" in result.problems[0].hint


def test_latin1_file_names_the_line(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    path.write_bytes("record_id,usage_date,cost_center,service,quantity,unit,description\n"
                     "a,2024-09-01,CC-100,STORAGE,1,GB,Café\n".encode("latin-1"))
    result = read(path, internal, ctx)

    assert result.codes() == [(2, "file-unreadable", None)]
    assert "byte 0xE9 on line 2" in result.problems[0].message


def test_more_fields_than_the_header(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", """
        record_id,usage_date,cost_center,service,quantity,unit
        a,2024-09-01,CC-100,STORAGE,1,000,GB
        b,2024-09-01,CC-100,STORAGE,1,GB
    """)
    result = read(path, internal, ctx)

    assert result.codes() == [(2, "too-many-fields", None)]  # and no other problem about its shifted values
    assert "the row has 7 fields, the header 6" in result.problems[0].message
    assert "extra: 'GB'" in result.problems[0].message
    assert result.rows.get_column("record_id").to_list() == ["b"]


def test_an_unclosed_quote_breaks_the_file_off(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,description
        a,2024-09-01,CC-100,STORAGE,1,GB,"never closed
        b,2024-09-01,CC-100,STORAGE,1,GB,x
    """)
    result = read(path, internal, ctx)

    assert [p.code.value for p in result.problems] == ["file-unreadable"]
    assert not result.tally.complete and "broke off" in result.tally.render()


def test_xlsx_feed_matches_the_csv(tmp_path, ctx, internal):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Record_ID", "Usage_Date", "Cost_Center", "Service", "Tier", "Quantity", "Unit", "Cost"])
    sheet.append(["x1", dt.datetime(2024, 9, 14), "CC-200", "COMPUTE", None, 4, "HOUR", 0.1])
    sheet.append([])  # a blank row keeps the numbering of the sheet
    sheet.append(["x2", dt.datetime(2024, 9, 16, 8, 30), "CC-200", "COMPUTE", "gold", 2.5, "HOUR", None])
    sheet.append(["x3", "2024-09-16", "CC-200", "COMPUTE", None, "lots", "HOUR", None])
    sheet.append(["x4", 45550, "CC-200", "COMPUTE", None, 1, "HOUR", None])  # a date typed as a number
    book.save(tmp_path / "usage.xlsx")
    result = read(tmp_path / "usage.xlsx", internal, ctx, batch_rows=2)

    assert result.codes() == [(5, "not-a-number", "Quantity"), (6, "not-a-date", "Usage_Date")]
    x1, x2 = result.by_id("x1"), result.by_id("x2")
    assert (x1["row_no"], x1["usage_date"], x1["business_line"], x1["quantity"], x1["cost"]) == (
        2, dt.date(2024, 9, 14), "OPS", Decimal("4"), Decimal("0.1"))
    assert (x2["row_no"], x2["usage_date"], x2["business_line"], x2["tier"]) == (4, dt.date(2024, 9, 16), "ENG", "GOLD")
    assert result.tally.blank_rows == 1 and result.tally.balanced


def test_damaged_workbook_is_unreadable(tmp_path, ctx, internal):
    (tmp_path / "usage.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    result = read(tmp_path / "usage.xlsx", internal, ctx)

    assert [p.code.value for p in result.problems] == ["file-unreadable"]


def test_missing_sheet_is_named(tmp_path, ctx):
    book = openpyxl.Workbook()
    book.active.title = "Data"
    book.save(tmp_path / "usage.xlsx")
    source = source_from("{name: s, format: usage, sheet: Usage}")
    result = read(tmp_path / "usage.xlsx", source, ctx)

    assert "no sheet 'Usage' (sheets: Data)" in result.problems[0].message


def test_file_digest_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(3 << 20))
    import hashlib

    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_scan_digests_the_file_and_finds_what_is_not_text(tmp_path):
    import hashlib

    from billing.feeds.raw import scan_file

    text = tmp_path / "usage.csv"
    text.write_bytes(("record_id,usage_date\n" + "a,2024-09-01\n" * 200_000).encode())
    binary = tmp_path / "broken.csv"
    binary.write_bytes(b"record_id\n" + b"x\n" * 600_000 + b"\x00\x01" + b"y\n" * 600_000)
    for path, code in ((text, None), (binary, "file-unreadable")):
        scan = scan_file(path)
        assert scan.digest == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (scan.problem.code.value if scan.problem else None) == code
    assert "(a NUL byte) on line 600002" in scan_file(binary).problem.message  # 3 MB into the file


def test_wide_records_come_in_smaller_batches_with_the_same_result(tmp_path, ctx, internal, monkeypatch):
    from billing.feeds import raw

    header = "record_id,usage_date,cost_center,service,quantity,unit,description\n"
    lines = [f"r{n},2024-09-01,CC-100,STORAGE,{n},GB,{'wide ' * (40 if n % 2 else 1)}\n" for n in range(40)]
    path = tmp_path / "usage.csv"
    path.write_text(header + "".join(lines))
    whole = read(path, internal, ctx, batch_rows=1000)
    monkeypatch.setattr(raw, "_BATCH_BYTES", 1000)  # about eight of these ~125-byte records
    result = read(path, internal, ctx, batch_rows=1000)
    sizes = [b.rows_read for b in result.batches]
    assert sum(sizes) == 40 and len(sizes) > 1 and max(sizes) < 20
    assert result.rows.equals(whole.rows) and result.tally == whole.tally


def test_records_read_in_small_blocks_keep_their_rows_and_line_breaks(tmp_path, ctx, internal, monkeypatch):
    from billing.feeds import raw

    text = '''
        record_id,usage_date,cost_center,service,quantity,unit,description
        a,2024-09-01,CC-100,STORAGE,1,GB,"two
        lines, and ""quotes"""
        b,2024-09-01,CC-100,STORAGE,x,GB,plain

        c,2024-09-01,CC-100,STORAGE,2,GB,"three
        more
        lines"
        d,2024-09-01,CC-100,STORAGE,y,GB,"never closed
        e,2024-09-01,CC-100,STORAGE,3,GB,x
    '''
    path = write(tmp_path, "usage.csv", text)
    whole = read(path, internal, ctx)
    monkeypatch.setattr(raw, "_BLOCK", 5)
    monkeypatch.setattr(raw, "_MAX_RECORD", 10_000)
    for batch_rows in (1, 2, 100):
        result = read(path, internal, ctx, batch_rows=batch_rows)
        assert result.rows.get_column("row_no").to_list() == [2, 6]
        assert result.by_id("a")["description"] == 'two\nlines, and "quotes"'
        assert result.codes() == whole.codes() == [(4, "not-a-number", "quantity"), (9, "file-unreadable", None)]
        assert "never closed; nothing from row 9 on was read" in result.problems[-1].message
