"""A header that names a column twice: the whole file is refused, naming the column and both places."""

from __future__ import annotations

import openpyxl
import pytest

from billing.files.headers import column_letter
from tests.feeds.conftest import TAGGED_FOCUS, read, source_from, write



def test_column_letters_count_like_a_spreadsheet():
    assert [column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


@pytest.mark.parametrize("second", ["cost", "Cost", " COST "])
def test_usage_header_naming_a_column_twice_is_refused(tmp_path, ctx, examples, second):
    path = write(tmp_path, "usage.csv", f"""
        record_id,usage_date,cost_center,service,quantity,unit,cost,description,{second}
        r1,2024-09-01,CC-100,STORAGE,1,GB,5,first,7
        r2,2024-09-01,CC-100,STORAGE,1,GB,5,second,7
    """)
    result = read(path, examples["internal"], ctx)

    assert result.batches[0].refused and len(result.batches) == 1
    assert result.codes() == [(1, "repeated-column", "cost")]
    message = result.problems[0].message
    assert "named twice in the header: columns 7 (G)" in message and " and 9 (I)" in message
    assert result.rows.height == 0
    assert not any(p.code.value == "unknown-key" for p in result.problems)  # no contradictory "not used" warning


def test_an_unused_column_named_twice_is_refused_too(tmp_path, ctx, examples):
    path = write(tmp_path, "usage.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,note,note,note
        r1,2024-09-01,CC-100,STORAGE,1,GB,a,b,c
    """)
    result = read(path, examples["internal"], ctx)

    assert result.codes() == [(1, "repeated-column", "note")]
    assert "named 3 times in the header: columns 7 (G), 8 (H) and 9 (I)" in result.problems[0].message


def test_empty_header_cells_are_not_names(tmp_path, ctx, examples):
    path = write(tmp_path, "usage.csv", """
        record_id,usage_date,cost_center,service,quantity,unit,,
        r1,2024-09-01,CC-100,STORAGE,1,GB,,
    """)
    result = read(path, examples["internal"], ctx)

    assert result.rows.height == 1 and not result.problems


def test_workbook_header_naming_a_column_twice_is_refused(tmp_path, ctx, examples):
    book = openpyxl.Workbook()
    book.active.append(["record_id", "usage_date", "cost_center", "service", "quantity", "unit", "Quantity"])
    book.active.append(["r1", "2024-09-01", "CC-100", "STORAGE", 1, "GB", 2])
    book.save(tmp_path / "usage.xlsx")
    result = read(tmp_path / "usage.xlsx", examples["internal"], ctx)

    assert result.codes() == [(1, "repeated-column", "quantity")]
    assert "columns 5 (E) as 'quantity' and 7 (G) as 'Quantity' (names ignore case" in result.problems[0].message


@pytest.mark.parametrize("second", ["BilledCost", "billedcost", "x_Custom"])
def test_focus_header_naming_a_column_twice_is_refused(tmp_path, ctx, second):
    header = "BilledCost,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,x_Custom,Id"
    path = write(tmp_path, "focus.csv", f"""
        {header},{second}
        1.5,2024-09-01T00:00:00Z,Usage,S3,Storage,a,id-1,2.5
    """)
    result = read(path, source_from(TAGGED_FOCUS), ctx)

    assert [p.code.value for p in result.problems] == ["repeated-column"]
    assert result.batches[0].refused and result.rows.height == 0
    place = {"BilledCost": "1 (A)", "billedcost": "1 (A)", "x_Custom": "6 (F)"}[second]
    assert f"columns {place}" in result.problems[0].message and "8 (H)" in result.problems[0].message


def test_a_huge_repeated_name_is_shown_as_an_excerpt(tmp_path, ctx, examples):
    name = "n" * 5000
    path = write(tmp_path, "usage.csv", f"""
        record_id,usage_date,cost_center,service,quantity,unit,{name},{name}
        r1,2024-09-01,CC-100,STORAGE,1,GB,a,b
    """)
    result = read(path, examples["internal"], ctx)

    assert result.codes()[0][1] == "repeated-column"
    assert len(result.problems[0].render()) < 400
