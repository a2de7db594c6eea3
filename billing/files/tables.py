"""Reading small tabular files (CSV or .xlsx) into rows with their row numbers (the I/O half:
the rows and their typed fields are ``billing.files.fields``, pure).

Used for organisation, subscriptions, service levels, costs, drivers, budgets and map files;
usage feeds (which can be millions of rows) stream through ``billing.feeds`` instead. Never
raises on bad files: problems come back as values.

The rules are those of the feeds (docs/inputs.md, "How every table is read"): every column
is named once; every record has the header's number of fields, else it is a problem with its
line and is not read; a record is at most ``MAX_RECORD_BYTES``; the delimiter (comma,
semicolon, tab or pipe) is the one the header holds most. A table is read whole, so it may
be at most ``MAX_TABLE_BYTES``. Numbers are read with the decimal mark the file's numbers
show; one that could be read two ways is refused, never guessed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from billing.core.limits import path_problem
from billing.core.problems import Problem, ProblemCode, SourceRef, excerpt
from billing.files.dialect import (
    GROUPED_THOUSANDS,
    LOOKS_LIKE_DECIMAL_COMMA,
    MAX_RECORD_BYTES,
    Dialect,
    likely_delimiter,
)
from billing.files.fields import Row, cell_text, normalise_header
from billing.files.headers import repeated_column_problems

MAX_TABLE_BYTES = 64 << 20
"""The largest table file read (64 MiB): tables are read whole, and an organisation, a cost or
budget file is far smaller; a larger file is most likely not the one meant."""

_LOOKS_COMMA = re.compile(LOOKS_LIKE_DECIMAL_COMMA)
_GROUPED = re.compile(GROUPED_THOUSANDS)
_POINT_ONLY = re.compile(r"^\s*[+-]?(?:[0-9]*\.[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+)\s*$")


@dataclass(frozen=True, slots=True)
class _Records:
    """What a file holds before the header is matched: its header as written, the row it is
    on, each data record with the row it starts on, the sheet, the delimiter, and problems."""

    header: list[str] | None
    header_row: int
    records: list[tuple[int, list[str]]]
    problems: list[Problem]
    where: str
    sheet: str | None = None
    delimiter: str | None = None  # None for a workbook


def read_table(
    path: Path,
    *,
    required: Iterable[str],
    optional: Iterable[str] = (),
    sheet: str | None = None,
    numbers: Iterable[str] = (),
) -> tuple[list[Row], list[Problem]]:
    """Read a CSV or .xlsx file whose first row is a header.

    Returns the data rows (blank rows skipped) and problems: about the file (unreadable,
    empty, too large, a column named twice, required columns missing, numbers that could be
    read two ways: then no rows are returned) and about records with another field count than
    the header (those records are not returned). ``numbers`` are the columns read with
    :func:`billing.files.fields.decimal_field`: their values decide the file's decimal mark (:func:`_decimal_mark`). For .xlsx, ``sheet``
    picks a sheet by name, else the first one.
    """
    required = [normalise_header(c) for c in required]
    name = str(path)
    if (too_long_path := path_problem(name)) is not None:
        return [], [_file_problem(excerpt(name), ProblemCode.TOO_LONG, too_long_path)]
    try:
        size = Path(path).stat().st_size
        if size > MAX_TABLE_BYTES:
            return [], [_file_problem(name, ProblemCode.TOO_LARGE,
                                      f"the file is {size:,} bytes; a table may be at most {MAX_TABLE_BYTES:,} "
                                      f"({MAX_TABLE_BYTES >> 20} MiB)", "is this the file meant?")]
        raw = Path(path).read_bytes()
    except OSError as exc:
        return [], [_file_problem(name, ProblemCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror}")]
    if not raw.strip():
        return [], [_file_problem(name, ProblemCode.FILE_EMPTY, "the file is empty", "export it again with a header row")]
    found = _read_xlsx(raw, name, sheet) if zipfile.is_zipfile(io.BytesIO(raw)) else _read_csv(raw, name)
    if found.problems:
        return [], found.problems
    if found.header is None:
        return [], [_file_problem(name, ProblemCode.FILE_EMPTY, "the file has no header row")]
    repeated = repeated_column_problems(found.header, file=found.where, row=found.header_row, key=normalise_header,
                                        matching="names ignore case, and spaces and dashes count as underscores")
    if repeated:
        return [], repeated
    header = [normalise_header(h) for h in found.header]
    missing = [c for c in required if c not in header]
    if missing:
        shown = excerpt(", ".join(h for h in header if h), 200) or "nothing"
        return [], [_file_problem(name, ProblemCode.HEADER_MISSING, f"missing column(s) {', '.join(missing)}; found {shown}",
                                  f"the header row must name {', '.join(required)}")]
    comma, problems = _decimal_mark(found, header, [normalise_header(c) for c in numbers])
    if problems:
        return [], problems
    rows, problems = [], []
    for number, values in found.records:
        if len(values) != len(header):
            problems.append(_field_count_problem(found, number, values, len(header)))
            continue
        rows.append(Row(file=name, row=number, values=dict(zip(header, values)), sheet=found.sheet, decimal_comma=comma))
    return rows, problems


def _field_count_problem(found: _Records, row: int, values: list[str], width: int) -> Problem:
    where = SourceRef(file=found.where, row=row)
    if len(values) < width:
        return Problem(code=ProblemCode.TOO_FEW_FIELDS, source=where,
                       message=f"the row has {_fields(len(values))}, the header {width}: a value is missing, so the values "
                               f"after it would be read under the wrong columns; the row is not read",
                       hint="every row needs a field for each column, even an empty one")
    extra = excerpt((found.delimiter or ",").join(values[width:]))
    return Problem(code=ProblemCode.TOO_MANY_FIELDS, source=where,
                   message=f"the row has {_fields(len(values))}, the header {width}; the row is not read; extra: {extra!r}",
                   hint="a value containing the delimiter must be in double quotes" if found.delimiter
                   else "clear the cells beyond the header's last column")


def _fields(count: int) -> str:
    return f"{count} field{'' if count == 1 else 's'}"


def _decimal_mark(found: _Records, header: Sequence[str], numbers: Sequence[str]) -> tuple[bool, list[Problem]]:
    """Whether a CSV's ``numbers`` columns are written with a decimal comma, from their values:
    ``12,5`` or ``1.234,56`` can only be a decimal comma, ``12.5`` or ``1,234.56`` only a point.
    Both in one file refuse it, and so does ``1.234`` in a ``;``- or tab-separated file whose
    other numbers do not tell (1.234 or 1234?). A workbook's numbers are cells: a point."""
    if found.delimiter is None or not numbers:
        return False, []
    at = [header.index(c) for c in numbers if c in header]
    comma = point = grouped = None
    for row, values in found.records:
        for i in at:
            value = values[i] if i < len(values) else ""
            if comma is None and _LOOKS_COMMA.match(value):
                comma = (row, header[i], value)
            elif point is None and _POINT_ONLY.match(value) and not _GROUPED.match(value):
                point = (row, header[i], value)
            elif grouped is None and _GROUPED.match(value):
                grouped = (row, header[i], value)
    if comma and point:
        (r1, c1, v1), (r2, c2, v2) = point, comma
        return False, [Problem(
            code=ProblemCode.NUMBER_FORMAT, source=SourceRef(file=found.where, row=r2, column=c2),
            message=f"{c2} {excerpt(v2)!r} is written with a decimal comma, but {c1} {excerpt(v1)!r} on row {r1} with a "
                    f"decimal point; one of them would be misread, so nothing was read",
            hint="write every number of the file the same way")]
    if comma or point:
        return comma is not None, []
    if grouped and Dialect(delimiter=found.delimiter).doubts_grouping:
        r, c, v = grouped
        return False, [Problem(
            code=ProblemCode.NUMBER_FORMAT, source=SourceRef(file=found.where, row=r, column=c),
            message=f"{c} {excerpt(v)!r} is a decimal or thousands by the decimal mark, and no other number of the file "
                    f"shows which (a {'semicolon' if found.delimiter == ';' else 'tab'}-separated file is often written "
                    f"with decimal commas); nothing was read",
            hint="write it without thousands separators (1234), or with its decimals (1234,00 or 1.234)")]
    return False, []


def _file_problem(file: str, code: ProblemCode, message: str, hint: str | None = None, row: int | None = None) -> Problem:
    return Problem(code=code, message=message, source=SourceRef(file=file, row=row), hint=hint)


def _read_csv(raw: bytes, name: str) -> _Records:
    def refused(problem: Problem) -> _Records:
        return _Records(header=None, header_row=1, records=[], problems=[problem], where=name)

    if b"\x00" in raw:
        return refused(_file_problem(name, ProblemCode.FILE_UNREADABLE, "this is not a text file",
                                     "save it as CSV (UTF-8) or .xlsx"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")  # what Excel's "CSV (Comma delimited)" writes on Windows
        except UnicodeDecodeError:
            return refused(_file_problem(name, ProblemCode.FILE_UNREADABLE, "the file is not UTF-8 text",
                                         "save it as CSV UTF-8"))
    first = text.split("\n", 1)[0]
    if len(first.encode()) > MAX_RECORD_BYTES:
        return refused(_file_problem(
            name, ProblemCode.RECORD_TOO_LONG, f"the header is longer than {MAX_RECORD_BYTES:,} bytes "
            f"({MAX_RECORD_BYTES >> 20} MiB), the most a record may be", "is this a CSV file?", row=1))
    delimiter = likely_delimiter(first) or ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for record in reader:
            row, start = start, reader.line_num + 1
            if sum(len(v) for v in record) > MAX_RECORD_BYTES:
                return refused(_file_problem(
                    name, ProblemCode.RECORD_TOO_LONG, f"the record on row {row} is longer than {MAX_RECORD_BYTES:,} "
                    f"bytes ({MAX_RECORD_BYTES >> 20} MiB), the most a record may be", "is this a CSV file?", row=row))
            if header is None:
                header = [h.strip() for h in record]
                continue
            if any(v.strip() for v in record):
                records.append((row, record))
    except csv.Error as exc:
        return refused(_file_problem(name, ProblemCode.FILE_UNREADABLE, f"broken CSV near row {start}: {exc}", row=start))
    if text.count('"') % 2 and _ends_inside_quotes(text, delimiter):
        opened = records[-1][0] if records else 1
        return refused(_file_problem(name, ProblemCode.FILE_UNREADABLE,
                                     f"a double quote on row {opened} or after it is never closed",
                                     "look for a quote (\") that is opened and never closed", row=opened))
    return _Records(header=header, header_row=1, records=records, problems=[], where=name, delimiter=delimiter)


def _ends_inside_quotes(text: str, delimiter: str) -> bool:
    """The file ends inside a quoted value (a quote opened and never closed, which the lenient
    reading takes to the end of the file), rather than holding a quote inside a value."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _read_xlsx(raw: bytes, name: str, sheet: str | None) -> _Records:
    from openpyxl import load_workbook  # imported here: only .xlsx files need it

    def refused(problem: Problem) -> _Records:
        return _Records(header=None, header_row=1, records=[], problems=[problem], where=name)

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types on broken files
        return refused(_file_problem(name, ProblemCode.FILE_UNREADABLE, f"not a readable .xlsx workbook ({type(exc).__name__})"))
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            return refused(_file_problem(name, ProblemCode.HEADER_MISSING,
                                         f"no sheet named {excerpt(sheet)!r}; found {', '.join(workbook.sheetnames)}"))
        ws = workbook[sheet] if sheet else workbook.worksheets[0]
        header: list[str] | None = None
        header_row = 1
        records: list[tuple[int, list[str]]] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            texts = [cell_text(v) for v in values]
            if not any(t.strip() for t in texts):
                continue
            if header is None:
                while texts and not texts[-1].strip():
                    texts.pop()
                header, header_row = texts, number
                continue
            while len(texts) > len(header) and not texts[-1].strip():
                texts.pop()  # empty cells beyond the header are no fields
            records.append((number, texts + [""] * (len(header) - len(texts))))
        return _Records(header=header, header_row=header_row, records=records, problems=[],
                        where=f"{name}[{ws.title}]", sheet=ws.title)
    finally:
        workbook.close()


def sheet_names(path: Path) -> list[str] | None:
    """The sheets of the workbook at ``path``, or None when it is no workbook small enough to
    read (a CSV, a missing file, or one over ``MAX_TABLE_BYTES``: :func:`read_table` then says
    what is wrong in words). A workbook openpyxl cannot open has no sheets."""
    try:
        if Path(path).stat().st_size > MAX_TABLE_BYTES or not zipfile.is_zipfile(path):
            return None
    except OSError:
        return None
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True)
    except Exception:
        return []
    names = list(workbook.sheetnames)
    workbook.close()
    return names
