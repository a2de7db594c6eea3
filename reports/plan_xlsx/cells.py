"""How the planning workbook writes a cell: text through ``reports.xlsx.safe_text``, numbers in
plain notation, its fonts and fills (yellow: a driver to edit; grey: a formula), its tables, and
sheets protected without a password."""

from __future__ import annotations

from decimal import Decimal

from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.worksheet.table import Table, TableStyleInfo

from reports.xlsx import safe_text

VOLUME_FORMAT = "#,##0.00"
PRICE_FORMAT = "#,##0.00####"  # unit prices keep their decimals (0.146 is not shown as 0.15)
GROWTH_FORMAT = "0.0%"

BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=13)
NOTE = Font(italic=True, color="555555")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
FORMULA_FILL = PatternFill("solid", fgColor="EDEDED")
UNLOCKED = Protection(locked=False)


def _number(value: Decimal | None) -> Decimal | None:
    """A Decimal written in plain notation (``1E+2`` → ``100``)."""
    return None if value is None else Decimal(format(value, "f"))


def put_text(ws, ref: str, value: object, *, font: Font | None = None) -> None:
    cell = safe_text(ws[ref], value)
    if font:
        cell.font = font


def put(ws, ref: str, value, *, number_format: str | None = None, fill=None, unlocked: bool = False, font=None) -> None:
    cell = ws[ref]
    cell.value = _number(value) if isinstance(value, Decimal) else value
    if number_format:
        cell.number_format = number_format
    if fill:
        cell.fill = fill
    if unlocked:
        cell.protection = UNLOCKED
    if font:
        cell.font = font


def add_table(ws, name: str, first_row: int, last_row: int, last_column: str, first_column: str = "A") -> None:
    table = Table(displayName=name, ref=f"{first_column}{first_row}:{last_column}{max(last_row, first_row + 1)}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)


def protect(ws) -> None:
    """Locked cells cannot change (no password: it prevents accidents, it is not access
    control); columns may still be widened and a filter set."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.autoFilter = False
