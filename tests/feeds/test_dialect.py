"""Delimiters and decimal marks: a file is read the way it is written, or refused in words that
say what to do; a number is never misread."""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.core.problems import Ask, Asked
from billing.files.dialect import Dialect, parse_delimiter
from tests.feeds.conftest import read, source_from, write

ROWS = [
    ["r1", "2024-09-01", "CC-100", "STORAGE", "1.234,56", "GB", "thousands and cents", "12,5"],
    ["r2", "2024-09-02", "CC-100", "STORAGE", "0,125", "GB", "a fraction", ""],
    ["r3", "2024-09-02", "CC-100", "STORAGE", "1.5", "GB", "a point: not a number here", ""],
    ["r4", "2024-09-02", "CC-100", "STORAGE", "-3", "GB", "an integer", "-1.000,00"],
]
HEADER = ["record_id", "usage_date", "cost_center", "service", "quantity", "unit", "description", "cost"]


def semicolons(tmp_path, rows=ROWS, delimiter=";"):
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(delimiter.join(r) for r in [HEADER, *rows]) + "\n")
    return path


@pytest.fixture
def internal(examples):
    return examples["internal"]


def test_a_semicolon_file_read_as_commas_is_refused_with_what_to_do(tmp_path, ctx, internal):
    result = read(semicolons(tmp_path), internal, ctx)

    assert result.codes() == [(1, "wrong-delimiter", None)] and result.batches[0].refused
    problem = result.problems[0]
    assert problem.message == ("the values are separated by semicolons (;), not by commas: the header has 7 "
                               "semicolons and no comma")
    assert "load it with the delimiter ';' and the decimal mark comma" in problem.hint
    assert problem.asks_for == (Asked(Ask.DELIMITER, "';'"), Asked(Ask.DECIMAL, "comma"))
    assert "save it from Excel as 'CSV UTF-8 (comma delimited)'" in problem.hint


def test_a_semicolon_file_with_decimal_commas_loads_exactly(tmp_path, ctx, internal):
    result = read(semicolons(tmp_path), internal, ctx, dialect=Dialect(delimiter=";", decimal="comma"))

    assert result.codes() == [(4, "not-a-number", "quantity")]
    assert "1.234,56" in result.problems[0].hint
    assert result.by_id("r1")["quantity"] == Decimal("1234.56") and result.by_id("r1")["cost"] == Decimal("12.5")
    assert result.by_id("r2")["quantity"] == Decimal("0.125")
    assert result.by_id("r4")["cost"] == Decimal("-1000")
    assert result.tally.quantity_read == Decimal("1234.56") + Decimal("0.125") - 3


def test_a_decimal_comma_in_a_comma_file_is_a_bad_row_with_a_hint(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", """
        record_id,usage_date,cost_center,service,quantity,unit
        r1,2024-09-01,CC-100,STORAGE,2,GB
        r2,2024-09-01,CC-100,STORAGE,"12,5",GB
    """)
    result = read(path, internal, ctx)

    assert result.codes() == [(3, "not-a-number", "quantity")]
    assert "'12,5' is written with a decimal comma, and the file is read with decimal points" in result.problems[0].message
    assert "load the file with the decimal mark comma" in result.problems[0].hint
    assert result.problems[0].asks_for == (Asked(Ask.DECIMAL, "comma"),)
    assert result.rows.get_column("record_id").to_list() == ["r1"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_decimal_comma_refuses_a_semicolon_or_tab_file_whose_decimal_mark_is_unsaid(tmp_path, ctx, internal, delimiter):
    rows = [["r1", "2024-09-01", "CC-100", "STORAGE", "2", "GB", "", ""],
            ["r2", "2024-09-01", "CC-100", "STORAGE", "12,5", "GB", "", ""]]
    result = read(semicolons(tmp_path, rows, delimiter), internal, ctx, dialect=Dialect(delimiter=delimiter))

    assert result.codes() == [(3, "number-format", "quantity")]
    assert "'12,5' is written with a decimal comma; the file is not loaded" in result.problems[0].message


def test_grouped_thousands_in_a_semicolon_file_need_the_decimal_mark_said(tmp_path, ctx, internal):
    rows = [["r1", "2024-09-01", "CC-100", "STORAGE", "1.234", "GB", "1.234 hours or 1,234?", ""]]
    unsaid = read(semicolons(tmp_path, rows), internal, ctx, dialect=Dialect(delimiter=";"))
    point = read(semicolons(tmp_path, rows), internal, ctx, dialect=Dialect(delimiter=";", decimal="point"))
    comma = read(semicolons(tmp_path, rows), internal, ctx, dialect=Dialect(delimiter=";", decimal="comma"))

    assert unsaid.codes() == [(2, "number-format", "quantity")]
    assert "the decimal mark comma (1.234,56) or point (1234.56)" in unsaid.problems[0].hint
    assert unsaid.problems[0].asks_for == (Asked(Ask.DECIMAL, "comma"), Asked(Ask.DECIMAL, "point"))
    assert point.by_id("r1")["quantity"] == Decimal("1.234")
    assert comma.by_id("r1")["quantity"] == Decimal("1234")


def test_with_points_said_a_decimal_comma_is_a_bad_row(tmp_path, ctx, internal):
    rows = [ROWS[3][:7] + [""], ["r5", "2024-09-02", "CC-100", "STORAGE", "12,5", "GB", "", ""]]
    result = read(semicolons(tmp_path, rows), internal, ctx, dialect=Dialect(delimiter=";", decimal="point"))

    assert result.codes() == [(3, "not-a-number", "quantity")]
    assert "read with decimal points" in result.problems[0].message


@pytest.mark.parametrize("delimiter", ["\t", "|"])
def test_tab_and_pipe_files_load_with_their_delimiter(tmp_path, ctx, internal, delimiter):
    rows = [["r1", "2024-09-01", "CC-100", "STORAGE", "2.5", "GB", "a, b; c", ""]]
    refused = read(semicolons(tmp_path, rows, delimiter), internal, ctx)
    result = read(semicolons(tmp_path, rows, delimiter), internal, ctx, dialect=Dialect(delimiter=delimiter))

    assert refused.codes() == [(1, "wrong-delimiter", None)]
    assert result.problems == [] and result.by_id("r1")["description"] == "a, b; c"


def test_a_delimiter_given_that_the_file_does_not_use_is_refused(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", """
        record_id,usage_date,cost_center,service,quantity,unit
        r1,2024-09-01,CC-100,STORAGE,2,GB
    """)
    result = read(path, internal, ctx, dialect=Dialect(delimiter=";"))

    assert result.codes() == [(1, "wrong-delimiter", None)]
    assert "separated by commas (,), not by semicolons: the header has 5 commas and no semicolon" in result.problems[0].message
    assert "the delimiter ','" in result.problems[0].hint and result.problems[0].asks_for == (Asked(Ask.DELIMITER, "','"),)


def test_a_focus_export_saved_by_a_european_excel_loads_its_costs_exactly(tmp_path, ctx):
    source = source_from("""
        name: focus-test
        format: focus
        services: [{default: CLOUD}]
        business_line: [{column: SubAccountId, map: {"111": FIN}}]
    """)
    path = write(tmp_path, "focus.csv", """
        BilledCost;ConsumedQuantity;ChargePeriodStart;ChargeCategory;ServiceName;ServiceCategory;SubAccountId;Id
        1.234,5678;2,5;2024-09-01T00:00:00Z;Usage;S3;Storage;111;a1
        -0,01;1;2024-09-01T00:00:00Z;Credit;S3;Storage;111;a2
    """)
    result = read(path, source, ctx, dialect=Dialect(delimiter=";", decimal="comma"))

    assert result.problems == []
    assert result.by_id("a1")["cost"] == Decimal("1234.5678") and result.by_id("a1")["quantity"] == Decimal("2.5")
    assert result.tally.cost_loaded == Decimal("1234.5578")


def test_a_workbook_has_numbers_in_cells_whatever_the_decimal_mark(tmp_path, ctx, internal):
    book = openpyxl.Workbook()
    book.active.append(["record_id", "usage_date", "cost_center", "service", "quantity", "unit"])
    book.active.append(["x1", "2024-09-01", "CC-100", "STORAGE", 2.5, "GB"])
    book.active.append(["x2", "2024-09-01", "CC-100", "STORAGE", "12,5", "GB"])  # text, not a number
    book.save(tmp_path / "usage.xlsx")
    result = read(tmp_path / "usage.xlsx", internal, ctx, dialect=Dialect(decimal="comma"))

    assert result.codes() == [(3, "not-a-number", "quantity")]
    assert "enter it as a number" in result.problems[0].hint
    assert result.by_id("x1")["quantity"] == Decimal("2.5")


def test_delimiters_are_typed_as_users_type_them():
    assert [parse_delimiter(t) for t in (",", ";", "tab", "\\t", "\t", "|", "Semicolon", "pipe")] == [
        ",", ";", "\t", "\t", "\t", "|", ";", "|"]
    with pytest.raises(ValueError, match="is not a delimiter"):
        parse_delimiter(":")


def _comma_text(value: Decimal, grouped: bool) -> str:
    sign, digits = ("-" if value < 0 else ""), f"{abs(value):f}"
    whole, _, fraction = digits.partition(".")
    if grouped:
        whole = f"{int(whole):,}".replace(",", ".")
    return sign + whole + ("," + fraction if fraction else "")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False), min_size=1, max_size=20),
       grouped=st.booleans())
def test_decimal_comma_numbers_read_back_exactly(tmp_path_factory, ctx, internal, values, grouped):
    rows = [[f"r{i}", "2024-09-01", "CC-100", "STORAGE", _comma_text(v, grouped), "GB", "", ""] for i, v in enumerate(values)]
    path = semicolons(tmp_path_factory.mktemp("comma"), rows)
    result = read(path, internal, ctx, dialect=Dialect(delimiter=";", decimal="comma"))

    assert result.problems == []
    assert result.rows.sort("row_no").get_column("quantity").to_list() == values
