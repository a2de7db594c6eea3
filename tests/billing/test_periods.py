"""One rule for a month, on the command line and in every file (billing.core.periods.parse_month)."""

import pytest

from billing.core.periods import NotAMonth, parse_month
from billing.core.problems import ChargebackError


@pytest.mark.parametrize("text, month", [
    ("2026-03", "2026-03"), (" 2026-3 ", "2026-03"), ("2026-12", "2026-12"),
    ("2026-03-15", "2026-03"), ("2026-03-01 00:00:00", "2026-03"), ("2026-03-01T10:00", "2026-03"),
])
def test_a_month_is_yyyy_mm_or_a_date_in_it(text, month):
    assert parse_month(text) == month


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "March", "26-03", "2026-03-32", "2026-03-15x", "2026-3-15",
                                  "", "2026-03-01 25:00:00", "2026/03"])
def test_anything_else_is_refused_in_one_sentence(text):
    with pytest.raises(NotAMonth, match="is not a month: write it as YYYY-MM") as raised:
        parse_month(text)
    assert isinstance(raised.value, ChargebackError) and isinstance(raised.value, ValueError)


def test_the_command_line_and_a_file_read_a_month_by_the_same_rule():
    # a month written without its leading zero, or as a spreadsheet date, is the same month on
    # the command line (a usage error, exit 2, otherwise) and in a file (a problem at its cell)
    from cli import MonthType
    from billing.files.fields import Row, month_field

    for text in ("2026-3", "2026-03-01 00:00:00"):
        assert MonthType().convert(text, None, None) == "2026-03"
        assert month_field(Row(file="budget.csv", row=2, values={"month": text}), "month") == ("2026-03", None)
    value, problem = month_field(Row(file="budget.csv", row=2, values={"month": "2026-13"}), "month")
    assert value is None and problem.source.column == "month"
