"""Reading a feed file as text, in batches, with physical row numbers.

A :class:`Table` is a header plus batches of string columns ``c0 … c{n-1}``, each batch with
``row_no``: the 1-based physical line (CSV) or sheet row (.xlsx) where the record starts,
the header being row 1. Every value stays text here; the mappings validate it.

CSV goes through ``polars.scan_csv(...).collect_batches()`` (streaming engine, bounded memory)
with no schema inference. A quoted value may hold line breaks; such a record spans several
physical lines and later records are numbered by counting those breaks, so row numbers stay
those of a text editor. Lines that are entirely empty are skipped and counted.

Before any parsing the file is checked to be text (UTF-8, no NUL bytes, not a workbook), so
a binary or mis-encoded file gives one FILE_UNREADABLE problem, never a traceback.
"""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from billing.problems import Problem, ProblemCode, Severity, SourceRef

__all__ = ["RawBatch", "Table", "open_table", "column_names", "EXTRA"]

EXTRA = "extra"
"""Column holding the fields of a CSV record beyond the header's width (joined by commas)."""

_SURPLUS_FIELDS = 8  # fields beyond the header read to detect (and show) ragged CSV records
_CHUNK = 1 << 20
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}


@dataclass(frozen=True, slots=True)
class RawBatch:
    """Text records: ``row_no`` (Int64), ``c0`` … (String, as written) and ``extra``."""

    frame: pl.DataFrame
    blank_rows: int = 0
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    file: str
    header: tuple[str, ...]
    header_row: int
    read: Callable[[int], Iterator[RawBatch]]

    def batches(self, batch_rows: int) -> Iterator[RawBatch]:
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        return self.read(batch_rows)


def column_names(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def open_table(path: Path, *, sheet: str | None = None) -> tuple[Table | None, list[Problem]]:
    """Open ``path`` (CSV, or .xlsx/.xlsm by suffix) and read its header.

    Returns ``(None, problems)`` when the file cannot be read as a table at all.
    """
    file = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE, f"cannot open the file: {exc.strerror or exc}")]
    if size == 0:
        return None, [_file_problem(file, ProblemCode.FILE_EMPTY, "the file is empty (0 bytes)",
                                    "export the usage again; a feed starts with a header row")]
    if path.suffix.lower() in _WORKBOOK_SUFFIXES:
        return _open_xlsx(path, file, sheet)
    return _open_csv(path, file)


# --- CSV ---------------------------------------------------------------------------------------


def _open_csv(path: Path, file: str) -> tuple[Table | None, list[Problem]]:
    problem = _check_text(path, file)
    if problem is not None:
        return None, [problem]
    try:
        first = pl.read_csv(path, has_header=False, infer_schema=False, n_rows=1, truncate_ragged_lines=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE, f"not a readable CSV file: {_short(exc)}")]
    if first.height == 0 or all(v is None or not str(v).strip() for v in first.row(0)):
        return None, [_file_problem(file, ProblemCode.FILE_EMPTY, "the file has no header row",
                                    "the first line must name the columns")]
    header = tuple((v or "").strip() for v in first.row(0))
    width = len(header)

    def read(batch_rows: int) -> Iterator[RawBatch]:
        return _csv_batches(path, file, width, batch_rows)

    return Table(file=file, header=header, header_row=1, read=read), []


def _csv_batches(path: Path, file: str, width: int, batch_rows: int) -> Iterator[RawBatch]:
    names = column_names(width + _SURPLUS_FIELDS)
    scan = pl.scan_csv(
        path,
        has_header=False,
        infer_schema=False,
        schema={name: pl.String for name in names},
        missing_columns="insert",
        truncate_ragged_lines=True,
        encoding="utf8",
    )
    next_line = 1  # physical line where the next record starts; the first record is the header
    last_row = 1
    header_pending = True
    try:
        for chunk in scan.collect_batches(chunk_size=batch_rows):
            if chunk.height == 0:
                continue
            breaks = chunk.select(
                pl.sum_horizontal(
                    [pl.col(n).str.count_matches("\n", literal=True).fill_null(0) for n in names]
                ).cast(pl.Int64).alias("breaks")
            ).to_series()
            starts = pl.int_range(0, chunk.height, dtype=pl.Int64, eager=True) + next_line + (breaks.cum_sum() - breaks)
            next_line = int(starts[-1]) + int(breaks[-1]) + 1
            frame = chunk.with_columns(starts.alias("row_no"))
            if header_pending:
                frame, header_pending = frame.slice(1), False
            if frame.height == 0:
                continue
            last_row = int(frame.get_column("row_no")[-1])
            surplus = names[width:]
            frame = frame.select(
                "row_no",
                *[pl.col(n) for n in names[:width]],
                pl.when(pl.any_horizontal([pl.col(n).is_not_null() for n in surplus]))
                .then(pl.concat_str([pl.col(n).fill_null("") for n in surplus], separator=",").str.strip_chars_end(","))
                .alias(EXTRA),
            )
            yield _without_blanks(frame, width)
    except (pl.exceptions.PolarsError, OSError) as exc:
        yield RawBatch(
            frame=_empty(width),
            problems=(Problem(
                code=ProblemCode.FILE_UNREADABLE,
                message=f"the CSV structure is broken after row {last_row}; nothing after it was read: {_short(exc)}",
                source=SourceRef(file=file, row=last_row + 1),
                hint="look for a quote (\") that is opened and never closed",
            ),),
        )


def _check_text(path: Path, file: str) -> Problem | None:
    """One pass over the bytes: UTF-8 text without NUL bytes, not a workbook or UTF-16."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    saw_text = False
    try:
        with path.open("rb") as handle:
            first = True
            while chunk := handle.read(_CHUNK):
                if first:
                    first = False
                    kind = _binary_kind(chunk)
                    if kind is not None:
                        return _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                             f"this is not a CSV text file: it looks like {kind[0]}", kind[1])
                    if chunk.startswith(codecs.BOM_UTF8):
                        chunk = chunk[len(codecs.BOM_UTF8):]
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    at = line + chunk.count(b"\n", 0, nul)
                    return _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                         f"binary content (a NUL byte) on line {at}, not CSV text",
                                         "export the usage as CSV UTF-8", row=at)
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    at = line + chunk.count(b"\n", 0, max(exc.start, 0))
                    bad = chunk[exc.start:exc.start + 1].hex().upper() if exc.start < len(chunk) else "?"
                    return _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                         f"not UTF-8 text: byte 0x{bad} on line {at}",
                                         "save the file as 'CSV UTF-8' (Excel) or convert it with iconv", row=at)
                saw_text = saw_text or bool(chunk.strip())
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return _file_problem(file, ProblemCode.FILE_UNREADABLE, "not UTF-8 text: the file ends inside a character",
                             "save the file as 'CSV UTF-8'")
    except OSError as exc:
        return _file_problem(file, ProblemCode.FILE_UNREADABLE, f"cannot read the file: {exc.strerror or exc}")
    if not saw_text:
        return _file_problem(file, ProblemCode.FILE_EMPTY, "the file holds no text",
                             "export the usage again; a feed starts with a header row")
    return None


def _binary_kind(head: bytes) -> tuple[str, str] | None:
    if head.startswith(b"PK\x03\x04"):
        return ("a zip archive or an Excel .xlsx workbook",
                "give a workbook the .xlsx extension, or export the sheet as CSV UTF-8")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ("an old Excel .xls workbook", "save it as .xlsx or as CSV UTF-8")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("UTF-16 text ('Unicode text' in Excel)", "save it as 'CSV UTF-8'")
    if head.startswith(b"%PDF"):
        return ("a PDF document", "export the usage as CSV UTF-8")
    return None


# --- .xlsx -------------------------------------------------------------------------------------


def _open_xlsx(path: Path, file: str, sheet: str | None) -> tuple[Table | None, list[Problem]]:
    import openpyxl  # the only module that needs it; keeps CSV-only callers light

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on a damaged or foreign file
        return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE, f"not a readable .xlsx workbook: {_short(exc)}",
                                    "open it in Excel and save it again as .xlsx, or export CSV UTF-8")]
    try:
        if sheet is not None and sheet not in book.sheetnames:
            return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE,
                                        f"the workbook has no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})",
                                        "rename the sheet or change `sheet:` in the source definition")]
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        ws.reset_dimensions()  # do not trust a stale <dimension>; read every row
        header: tuple[str, ...] | None = None
        header_row = 0
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if any(_cell_text(v) for v in values):
                header, header_row = tuple(_cell_text(v) for v in values), number
                break
    except Exception as exc:
        book.close()
        return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE, f"cannot read the workbook: {_short(exc)}")]
    book.close()
    if header is None:
        return None, [_file_problem(file, ProblemCode.FILE_EMPTY, f"sheet {ws.title!r} is empty",
                                    "the first non-empty row must name the columns")]
    while header and not header[-1]:
        header = header[:-1]

    def read(batch_rows: int) -> Iterator[RawBatch]:
        return _xlsx_batches(path, file, sheet, header, header_row, batch_rows)

    return Table(file=file, header=header, header_row=header_row, read=read), []


def _xlsx_batches(path: Path, file: str, sheet: str | None, header: tuple[str, ...], header_row: int,
                  batch_rows: int) -> Iterator[RawBatch]:
    import openpyxl

    width = len(header)
    names = column_names(width)
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        ws.reset_dimensions()
        rows: list[int] = []
        columns: list[list[str | None]] = [[] for _ in range(width)]
        blank = 0
        for number, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            texts = [_cell_text(v) for v in values[:width]]
            if not any(texts):
                blank += 1
                continue
            texts += [""] * (width - len(texts))
            rows.append(number)
            for column, text in zip(columns, texts):
                column.append(text or None)
            if len(rows) >= batch_rows:
                yield RawBatch(frame=_xlsx_frame(rows, columns, names), blank_rows=blank)
                rows, columns, blank = [], [[] for _ in range(width)], 0
        if rows or blank:
            yield RawBatch(frame=_xlsx_frame(rows, columns, names), blank_rows=blank)
    except Exception as exc:
        yield RawBatch(frame=_empty(width), problems=(_file_problem(
            file, ProblemCode.FILE_UNREADABLE, f"cannot read the workbook: {_short(exc)}"),))
    finally:
        book.close()


def _xlsx_frame(rows: list[int], columns: list[list[str | None]], names: list[str]) -> pl.DataFrame:
    data = {"row_no": pl.Series(rows, dtype=pl.Int64)}
    data.update({n: pl.Series(c, dtype=pl.String) for n, c in zip(names, columns)})
    data[EXTRA] = pl.Series([None] * len(rows), dtype=pl.String)
    return pl.DataFrame(data)


def _cell_text(value: object) -> str:
    """A cell as text: dates ISO, numbers as the shortest text that reads back the same."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


# --- shared ------------------------------------------------------------------------------------


def _without_blanks(frame: pl.DataFrame, width: int) -> RawBatch:
    names = column_names(width)
    blank = ~pl.any_horizontal(
        [pl.col(n).str.strip_chars().str.len_chars().fill_null(0) > 0 for n in names]
        + [pl.col(EXTRA).is_not_null()]
    )
    mask = frame.select(blank.alias("blank")).to_series()
    blanks = int(mask.sum())
    return RawBatch(frame=frame.filter(~mask) if blanks else frame, blank_rows=blanks)


def _empty(width: int) -> pl.DataFrame:
    schema = {"row_no": pl.Int64, **{n: pl.String for n in column_names(width)}, EXTRA: pl.String}
    return pl.DataFrame(schema=schema)


def _file_problem(file: str, code: ProblemCode, message: str, hint: str | None = None, *,
                  row: int | None = None) -> Problem:
    return Problem(code=code, message=message, source=SourceRef(file=file, row=row), hint=hint,
                   severity=Severity.ERROR)


def _short(exc: BaseException, width: int = 200) -> str:
    text = str(exc)
    if "Original error:" in text:  # polars puts the cause after its generic advice
        text = text.split("Original error:", 1)[1].strip().strip("`")
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"
