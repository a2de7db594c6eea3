"""The small tables (organisation, subscriptions, costs, budgets, service levels, map files) are
read by the feeds' rules: a column named once, every record at the header's field count, the
delimiter the header shows, numbers read with the decimal mark the file's numbers show and
never guessed, records and files of bounded size."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.files.dialect import MAX_RECORD_BYTES
from billing.files.fields import decimal_field
from billing.files.tables import MAX_TABLE_BYTES, read_table
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS

COSTS = ("month", "amount")


def table(tmp_path, text: str, name: str = "t.csv"):
    return write(tmp_path / name, text)


def codes(problems):
    return [(p.source.row, p.code.value) for p in problems]


def amounts(rows):
    return [decimal_field(r, "amount")[0] for r in rows]


def test_a_record_with_another_field_count_is_a_problem_on_its_line(tmp_path):
    path = table(tmp_path, """
        month,amount,description
        2026-03,10,first
        2026-03,12.5
        2026-03,7,third,and more
        "2026-03","8","two
        lines"
        2026-03,9,after
    """)
    rows, problems = read_table(path, required=COSTS, numbers=("amount",))

    assert codes(problems) == [(3, "too-few-fields"), (4, "too-many-fields")]
    assert "the row has 2 fields, the header 3" in problems[0].message
    assert "extra: 'and more'" in problems[1].message
    assert [(r.row, r.get("description")) for r in rows] == [(2, "first"), (5, "two\nlines"), (7, "after")]


@pytest.mark.parametrize("second", ["cost_center", "Cost Center", "cost-center "])
def test_a_column_named_twice_refuses_the_table(tmp_path, second):
    path = table(tmp_path, f"""
        cost_center,name,business_line,gl_cost_center,{second}
        CC-1,One,FIN,100,CC-2
    """)
    rows, problems = read_table(path, required=("cost_center",))

    assert rows == [] and codes(problems) == [(1, "repeated-column")]
    assert "columns 1 (A)" in problems[0].message and "5 (E)" in problems[0].message


def test_a_workbook_row_beyond_the_header_and_a_repeated_heading(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["month", "amount"])
    book.active.append(["2026-03", 10.5])
    book.active.append(["2026-03", 3, None, "stray"])
    book.save(tmp_path / "t.xlsx")
    rows, problems = read_table(tmp_path / "t.xlsx", required=COSTS, numbers=("amount",))
    assert codes(problems) == [(3, "too-many-fields")] and amounts(rows) == [Decimal("10.5")]

    book = openpyxl.Workbook()
    book.active.append(["month", "amount", "Amount"])
    book.save(tmp_path / "t.xlsx")
    rows, problems = read_table(tmp_path / "t.xlsx", required=COSTS)
    assert codes(problems) == [(1, "repeated-column")]


def test_a_semicolon_table_with_decimal_commas_reads_exactly(tmp_path):
    path = table(tmp_path, """
        month;amount;description
        2026-03;1.234,56;thousands and cents
        2026-03;12,5;a comma
        2026-03;1.000;thousands only
        2026-03;-0,01;a cent back
    """)
    rows, problems = read_table(path, required=COSTS, numbers=("amount",))

    assert problems == []
    assert amounts(rows) == [Decimal("1234.56"), Decimal("12.5"), Decimal("1000"), Decimal("-0.01")]


def test_the_old_misreading_of_a_european_amount_is_gone(tmp_path):
    # "1.234,56" used to become 1.23456: the comma was dropped as if it separated thousands.
    path = table(tmp_path, 'month,amount\n2026-03,"1.234,56"\n')
    rows, problems = read_table(path, required=COSTS, numbers=("amount",))
    assert problems == [] and amounts(rows) == [Decimal("1234.56")]


def test_numbers_written_both_ways_refuse_the_table(tmp_path):
    path = table(tmp_path, 'month,amount\n2026-03,"12,5"\n2026-03,12.5\n')
    rows, problems = read_table(path, required=COSTS, numbers=("amount",))

    assert rows == [] and codes(problems) == [(2, "number-format")]
    assert "'12,5' is written with a decimal comma, but amount '12.5' on row 3 with a decimal point" in problems[0].message


def test_thousands_or_decimals_that_nothing_decides_are_refused_in_a_semicolon_table(tmp_path):
    semicolons = table(tmp_path, "month;amount\n2026-03;1.250\n2026-03;3\n")
    commas = table(tmp_path, "month,amount\n2026-03,1.250\n2026-03,3\n", "c.csv")

    rows, problems = read_table(semicolons, required=COSTS, numbers=("amount",))
    assert codes(problems) == [(2, "number-format")] and "1.250" in problems[0].message
    rows, problems = read_table(commas, required=COSTS, numbers=("amount",))
    assert problems == [] and amounts(rows) == [Decimal("1.25"), Decimal("3")]


def test_a_point_file_keeps_reading_thousands_with_commas(tmp_path):
    rows, problems = read_table(table(tmp_path, 'month,amount\n2026-03,"1,234.50"\n2026-03,"1,234"\n'),
                                required=COSTS, numbers=("amount",))
    assert problems == []
    assert decimal_field(rows[0], "amount")[0] == Decimal("1234.50")
    value, problem = decimal_field(rows[1], "amount")  # 1.234 or 1234? not guessed
    assert value is None and problem.code.value == "not-a-number"


def test_tab_and_pipe_tables_are_read_by_their_header(tmp_path):
    for delimiter in ("\t", "|"):
        path = table(tmp_path, f"month{delimiter}amount\n2026-03{delimiter}4.5\n")
        rows, problems = read_table(path, required=COSTS, numbers=("amount",))
        assert problems == [] and amounts(rows) == [Decimal("4.5")]


def test_an_unclosed_quote_is_named_but_a_quote_inside_a_value_is_fine(tmp_path):
    rows, problems = read_table(table(tmp_path, 'month,amount,note\n2026-03,1,"never closed\n2026-03,2,x\n'),
                                required=COSTS)
    assert codes(problems) == [(2, "file-unreadable")] and "never closed" in problems[0].message

    rows, problems = read_table(table(tmp_path, 'month,amount,note\n2026-03,1,a 27" screen\n'), required=COSTS)
    assert problems == [] and rows[0].get("note") == 'a 27" screen'


def test_extreme_tables_are_one_clear_problem(tmp_path):
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:
        handle.truncate(MAX_TABLE_BYTES + 1)  # sparse: nothing is written, nothing is read
    rows, problems = read_table(huge, required=COSTS)
    assert codes(problems) == [(None, "too-large")] and "64 MiB" in problems[0].message

    long_header = table(tmp_path, "x" * (MAX_RECORD_BYTES + 10) + "\n1\n", "header.csv")
    rows, problems = read_table(long_header, required=COSTS)
    assert codes(problems) == [(1, "record-too-long")] and len(problems[0].render()) < 400

    wide_value = table(tmp_path, "month,amount,note\n2026-03,1," + "n" * 200_000 + "\n", "wide.csv")
    rows, problems = read_table(wide_value, required=COSTS)  # longer than the csv module's default limit
    assert problems == [] and len(rows[0].get("note")) == 200_000


ROW = st.lists(st.sampled_from(["2026-03", "1", "2,5", "x", "", 'a "q"', "two\nlines"]), min_size=1, max_size=5)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=12))
def test_every_record_is_a_row_or_a_problem_on_its_line(tmp_path_factory, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["month", "amount", "note"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("t") / "t.csv"
    path.write_text(buffer.getvalue())
    read, problems = read_table(path, required=COSTS)

    lines, line = [], 2
    for fields in rows:
        lines.append(line)
        line += sum(v.count("\n") for v in fields) + 1
    expected = {n: ("too-few-fields" if len(f) < 3 else "too-many-fields") for n, f in zip(lines, rows)
                if len(f) != 3 and any(v.strip() for v in f)}
    assert dict(codes(problems)) == expected
    assert [r.row for r in read] == [n for n, f in zip(lines, rows) if len(f) == 3 and any(v.strip() for v in f)]


def test_an_organisation_file_with_a_short_row_loads_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'chargeback.db'}"
    result = run(db, "org", "load", write(tmp_path / "bl.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance,Ada Lovelace,ada@example.com,Corporate
        OPS,Operations,Grace Hopper,grace@example.com
    """), ok=False)

    assert result.exit_code == 1 and "bl.csv:3: too-few-fields the row has 4 fields, the header 5" in result.stderr
    assert "nothing was loaded" in result.stderr


@pytest.mark.parametrize("command", [("org", "load"), ("budget", "load"), ("costs", "load")])
def test_an_oversized_table_is_refused_without_being_read(tmp_path, command):
    db = f"sqlite:///{tmp_path / 'chargeback.db'}"
    run(db, "tariffs", "load", EXAMPLE_TARIFFS)
    huge = tmp_path / "huge.xlsx"
    with huge.open("wb") as handle:
        handle.truncate(MAX_TABLE_BYTES + 1)  # sparse: nothing is written
    result = run(db, *command, huge, ok=False)

    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "too-large" in result.stderr and "64 MiB" in result.stderr
