"""Rows of a small table and their typed fields (pure: no file is opened here).

A :class:`Row` is one data row of a table as ``billing.files.tables.read_table`` reads it from a
CSV or .xlsx file: its values by normalised header name, and where it came from. The field
readers turn a row's text into a value or a problem with its file, row and column, never
raising; the loaders of organisation, subscriptions, costs and budgets are functions over
rows, so they need no file to be tested or called.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from billing.core.limits import NUMBER, Range, too_long
from billing.core.money import D
from billing.core.periods import parse_month
from billing.core.problems import Problem, ProblemCode, SourceRef, excerpt, has_control
from billing.files.dialect import DECIMAL_COMMA_NUMBER

_COMMA_NUMBER = re.compile(DECIMAL_COMMA_NUMBER)
_COMMA_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+$")  # 1,234.56 (1,234 could be 1.234)


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One data row: values by normalised header name, and where it came from.
    ``decimal_comma``: the file writes its numbers with a decimal comma."""

    file: str
    row: int  # 1-based physical row where the record starts; the header is row 1
    values: dict[str, str]
    sheet: str | None = None
    decimal_comma: bool = False

    def ref(self, column: str | None = None) -> SourceRef:
        file = f"{self.file}[{self.sheet}]" if self.sheet else self.file
        return SourceRef(file=file, row=self.row, column=column)

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def normalise_header(name: object) -> str:
    return str(name or "").strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")



def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a user typed (dates as ISO, whole floats without .0)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)


# --- typed field readers: each returns (value, problem) --------------------------------------


def text_field(row: Row, column: str, *, required: bool = True, limit: int) -> tuple[str | None, Problem | None]:
    """The text of ``column`` (surrounding spaces removed), at most ``limit`` characters (the
    length the store keeps, billing/core/limits.py) and free of control characters."""
    value = row.get(column)
    if not value and required:
        return None, Problem(code=ProblemCode.VALUE_MISSING, message=f"{column} is empty", source=row.ref(column))
    if value and (message := too_long(column, value, limit)):
        return None, Problem(code=ProblemCode.TOO_LONG, message=message, source=row.ref(column),
                             hint=f"shorten it to {limit} characters")
    if value and has_control(value):
        return None, Problem(code=ProblemCode.VALUE_INVALID, message=f"{column} {excerpt(value)!r} holds a control character",
                             source=row.ref(column), hint="remove the line break, tab or control character")
    return value or None, None


def date_field(row: Row, column: str, *, required: bool = True) -> tuple[dt.date | None, Problem | None]:
    value = row.get(column)
    if not value:
        if required:
            return None, Problem(code=ProblemCode.VALUE_MISSING, message=f"{column} is empty", source=row.ref(column), hint="write a date as YYYY-MM-DD")
        return None, None
    try:
        return dt.date.fromisoformat(value[:10]), None
    except ValueError:
        return None, Problem(code=ProblemCode.NOT_A_DATE, message=f"{column} {excerpt(value)!r} is not a date", source=row.ref(column), hint="write a date as YYYY-MM-DD")


def decimal_field(row: Row, column: str, *, required: bool = True, minimum: Decimal | None = None,
                  limit: Range = NUMBER) -> tuple[Decimal | None, Problem | None]:
    """A number as the file writes it: with a decimal point (``1234.5``, ``1,234.5``) or, when
    the file's numbers show a decimal comma (``row.decimal_comma``), ``1234,5`` or ``1.234,5``;
    within ``limit`` (billing/core/limits.py) and not below ``minimum``."""
    value = row.get(column)
    if not value:
        if required:
            return None, Problem(code=ProblemCode.VALUE_MISSING, message=f"{column} is empty", source=row.ref(column))
        return None, None
    if row.decimal_comma:
        text = value.replace(".", "").replace(",", ".") if _COMMA_NUMBER.match(value) else None
        hint = "write digits with a comma for decimals, e.g. 1234,50 or 1.234,50, as the file's other numbers"
    else:
        text = value.replace(",", "") if _COMMA_GROUPED.match(value) else value
        hint = "write digits with a point for decimals, e.g. 1234.50"
    try:
        if text is None:
            raise ValueError(value)
        number = D(text)
    except ValueError:
        return None, Problem(code=ProblemCode.NOT_A_NUMBER, message=f"{column} {excerpt(value)!r} is not a number", source=row.ref(column), hint=hint)
    if (found := limit.problem(column, number)) is not None:
        return None, Problem(code=found[0], message=found[1], source=row.ref(column),
                             hint="the store, invoices and the journal carry numbers of this size exactly; check the unit")
    if minimum is not None and number < minimum:
        return None, Problem(code=ProblemCode.NEGATIVE, message=f"{column} {value} is below {minimum}", source=row.ref(column))
    return number, None


def month_field(row: Row, column: str) -> tuple[str | None, Problem | None]:
    value = row.get(column)
    try:
        return parse_month(value), None
    except ValueError:
        return None, Problem(code=ProblemCode.NOT_A_DATE, message=f"{column} {excerpt(value)!r} is not a month", source=row.ref(column), hint="write a month as YYYY-MM")
