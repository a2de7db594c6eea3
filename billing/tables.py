"""Reading small tabular files (CSV or .xlsx) into rows with their row numbers.

Used for organisation, subscriptions, service levels, costs, drivers and budgets; usage feeds
(which can be millions of rows) stream through ``billing.feeds`` instead. Never raises on bad
files: problems come back as values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from billing.money import D
from billing.problems import Problem, ProblemCode, SourceRef, excerpt


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One data row: values by normalised header name, and where it came from."""

    file: str
    row: int  # 1-based physical row; the header is row 1
    values: dict[str, str]
    sheet: str | None = None

    def ref(self, column: str | None = None) -> SourceRef:
        file = f"{self.file}[{self.sheet}]" if self.sheet else self.file
        return SourceRef(file=file, row=self.row, column=column)

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


def normalise_header(name: object) -> str:
    return str(name or "").strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")


def read_table(
    path: Path,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    sheet: str | None = None,
) -> tuple[list[Row], list[Problem]]:
    """Read a CSV or .xlsx file whose first row is a header.

    Returns the data rows (blank rows skipped) and file-level problems: unreadable, empty,
    or required columns missing (then no rows are returned). For .xlsx, ``sheet`` picks a
    sheet by name, else the first one.
    """
    required = [normalise_header(c) for c in required]
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [_file_problem(name, ProblemCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror}")]
    if not raw.strip():
        return [], [_file_problem(name, ProblemCode.FILE_EMPTY, "the file is empty", "export it again with a header row")]
    if zipfile.is_zipfile(io.BytesIO(raw)):
        header, rows, problem = _read_xlsx(raw, name, sheet)
    else:
        header, rows, problem = _read_csv(raw, name)
    if problem:
        return [], [problem]
    if header is None:
        return [], [_file_problem(name, ProblemCode.FILE_EMPTY, "the file has no header row")]
    missing = [c for c in required if c not in header]
    if missing:
        found = ", ".join(h for h in header if h) or "nothing"
        return [], [
            _file_problem(
                name,
                ProblemCode.HEADER_MISSING,
                f"missing column(s) {', '.join(missing)}; found {found}",
                f"the header row must name {', '.join(required)}",
            )
        ]
    return rows, []


def _file_problem(file: str, code: ProblemCode, message: str, hint: str | None = None) -> Problem:
    return Problem(code=code, message=message, source=SourceRef(file=file), hint=hint)


def _read_csv(raw: bytes, name: str):
    if b"\x00" in raw[:8192]:
        return None, [], _file_problem(name, ProblemCode.FILE_UNREADABLE, "this is not a text file", "save it as CSV (UTF-8) or .xlsx")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            return None, [], _file_problem(name, ProblemCode.FILE_UNREADABLE, "the file is not UTF-8 text", "save it as CSV UTF-8")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = None
    rows: list[Row] = []
    try:
        for record in reader:
            if header is None:
                header = [normalise_header(h) for h in record]
                continue
            if not any(v.strip() for v in record):
                continue
            rows.append(Row(file=name, row=reader.line_num, values=dict(zip(header, record))))
    except csv.Error as exc:
        return None, [], _file_problem(name, ProblemCode.FILE_UNREADABLE, f"broken CSV near row {reader.line_num}: {exc}")
    return header, rows, None


def _read_xlsx(raw: bytes, name: str, sheet: str | None):
    from openpyxl import load_workbook  # imported here: only .xlsx files need it

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types on broken files
        return None, [], _file_problem(name, ProblemCode.FILE_UNREADABLE, f"not a readable .xlsx workbook ({type(exc).__name__})")
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            return None, [], _file_problem(name, ProblemCode.HEADER_MISSING, f"no sheet named {excerpt(sheet)!r}; found {', '.join(workbook.sheetnames)}")
        ws = workbook[sheet] if sheet else workbook.worksheets[0]
        header = None
        rows: list[Row] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if header is None:
                if not any(v is not None and str(v).strip() for v in values):
                    continue
                header = [normalise_header(v) for v in values]
                continue
            if not any(v is not None and str(v).strip() for v in values):
                continue
            rows.append(Row(file=name, row=number, values={h: cell_text(v) for h, v in zip(header, values)}, sheet=ws.title))
        return header, rows, None
    finally:
        workbook.close()


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


def text_field(row: Row, column: str, *, required: bool = True) -> tuple[str | None, Problem | None]:
    value = row.get(column)
    if not value and required:
        return None, Problem(code=ProblemCode.VALUE_MISSING, message=f"{column} is empty", source=row.ref(column))
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


def decimal_field(row: Row, column: str, *, required: bool = True, minimum: Decimal | None = None) -> tuple[Decimal | None, Problem | None]:
    value = row.get(column)
    if not value:
        if required:
            return None, Problem(code=ProblemCode.VALUE_MISSING, message=f"{column} is empty", source=row.ref(column))
        return None, None
    try:
        number = D(value.replace(",", "") if value.count(",") and "." in value else value)
    except ValueError:
        return None, Problem(code=ProblemCode.NOT_A_NUMBER, message=f"{column} {excerpt(value)!r} is not a number", source=row.ref(column), hint="write digits with a point for decimals, e.g. 1234.50")
    if minimum is not None and number < minimum:
        return None, Problem(code=ProblemCode.NEGATIVE, message=f"{column} {value} is below {minimum}", source=row.ref(column))
    return number, None


def month_field(row: Row, column: str) -> tuple[str | None, Problem | None]:
    value = row.get(column)
    try:
        return parse_month(value), None
    except ValueError:
        return None, Problem(code=ProblemCode.NOT_A_DATE, message=f"{column} {excerpt(value)!r} is not a month", source=row.ref(column), hint="write a month as YYYY-MM")


def parse_month(value: str) -> str:
    """``2026-03`` (or a date in that month) → ``2026-03``; ValueError otherwise."""
    value = value.strip()
    day = dt.date.fromisoformat(value + "-01" if len(value) == 7 else value[:10])
    return f"{day.year:04d}-{day.month:02d}"
