"""Printed lines: quantities, and the one table layout (amounts: tests/billing/test_money.py)."""

from decimal import Decimal

import pytest

from reports.text import CELL_WIDTH, quantity, table_lines


def test_a_table_pads_columns_aligns_the_right_ones_and_prints_cells_safe():
    lines = table_lines(["pool", "amount"], [["LABOUR", "2,000.00"], ["HW\x1b[2J", "900.00"], ["X" * 600, None]], right={1})
    width = len(lines[4])  # the cut cell sets the first column's width
    assert width <= CELL_WIDTH + 1 and lines[4].endswith("…")
    assert lines[0] == "pool".ljust(width) + "    amount" and lines[1] == "-" * width + "  --------"
    assert lines[2] == "LABOUR".ljust(width) + "  2,000.00"
    assert "\x1b" not in lines[3] and lines[3].endswith("    900.00")


@pytest.mark.parametrize(("value", "text"), [
    ("90", "90"), ("9E+1", "90"), ("2.9E+2", "290"), ("0.000001", "0.000001"), ("1E-6", "0.000001"),
    ("1250.500", "1,250.5"), ("0E-8", "0"), ("-3.50", "-3.5"),
])
def test_a_quantity_is_written_as_people_write_it_never_in_exponent_form(value, text):
    assert quantity(Decimal(value)) == text
