"""Reading a feed file as text, in batches, with physical row numbers.

A :class:`Table` is a header plus batches of string columns ``c0 … c{n-1}``, each batch with
``row_no``: the 1-based physical line (CSV) or sheet row (.xlsx) where the record starts,
the header being row 1. Every value stays text here; the mappings validate it.

CSV is read in blocks of 4 MB that end where a record ends (a line break after an even
number of double quotes), each parsed by polars with no schema inference, so memory stays
bounded by a block and a batch. A quoted value may hold line breaks; such a record spans
several physical lines and later records are numbered by counting those breaks, so row
numbers stay those of a text editor. Lines that are entirely empty are skipped and counted.

Before any parsing the file is checked to be text (UTF-8, no NUL bytes, not a workbook), so
a binary or mis-encoded file gives one FILE_UNREADABLE problem, never a traceback.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from billing.problems import Problem, ProblemCode, Severity, SourceRef

__all__ = ["RawBatch", "Table", "FileScan", "scan_file", "digest", "open_table", "column_names", "EXTRA"]

EXTRA = "extra"
"""Column holding the fields of a CSV record beyond the header's width (joined by commas)."""

_SURPLUS_FIELDS = 8  # fields beyond the header read to detect (and show) ragged CSV records
_CHUNK = 1 << 20
_BLOCK = 4 << 20  # CSV bytes parsed at a time
_BATCH_BYTES = 32 << 20  # CSV bytes in a batch at most (250,000 usage rows of ~90 bytes fit)
_XLSX_BATCH = 20_000  # worksheet rows in a batch at most (a few seconds of reading)
_MAX_RECORD = 64 << 20  # a "record" this long means a quote that is never closed
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


@dataclass(frozen=True, slots=True)
class FileScan:
    """A file's text check, and its SHA-256 being computed meanwhile on another thread."""

    problem: Problem | None  # why the file is not CSV text; None for text, and for workbooks
    hashing: Future[str]

    @property
    def digest(self) -> str:
        """The SHA-256 (hex): waits for the digest thread."""
        return self.hashing.result()


def scan_file(path: Path) -> FileScan:
    """Check the file is text (unless it is a workbook) while its digest is computed on
    another thread (hashlib works outside the GIL), so the load can start before the digest
    is known; each reads the file once."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest")
    hashing = pool.submit(digest, path)
    pool.shutdown(wait=False)
    if path.suffix.lower() in _WORKBOOK_SUFFIXES:
        return FileScan(problem=None, hashing=hashing)
    return FileScan(problem=_check_text(path, str(path)), hashing=hashing)


def digest(path: Path) -> str:
    """SHA-256 of the file's bytes (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def column_names(width: int) -> list[str]:
    return [f"c{i}" for i in range(width)]


def open_table(path: Path, *, sheet: str | None = None, scan: FileScan | None = None) -> tuple[Table | None, list[Problem]]:
    """Open ``path`` (CSV, or .xlsx/.xlsm by suffix) and read its header. ``scan``, when the
    caller already has it, spares reading the file once more to check it is text.

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
    return _open_csv(path, file, scan)


# --- CSV ---------------------------------------------------------------------------------------


def _open_csv(path: Path, file: str, scan: FileScan | None) -> tuple[Table | None, list[Problem]]:
    problem = scan.problem if scan is not None else _check_text(path, file)
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
    """Batches of ``batch_rows`` records, or fewer when records are wide: a batch holds about
    ``_BATCH_BYTES`` of CSV text at most (at the records' average width so far), so that wide
    exports (a FOCUS row is about 800 bytes) keep memory as bounded as narrow ones."""
    names = [*column_names(width), EXTRA]
    next_line = 1  # physical line where the next record starts; the first record is the header
    header_pending = True
    waiting: list[pl.DataFrame] = []  # records read but not yet given out, fewer than a batch
    held = 0
    read_bytes = read_records = 0
    for block in _record_blocks(path):
        chunk: pl.DataFrame | None = None
        failure: BaseException | None = None
        if not isinstance(block, _Broken):
            try:
                chunk = _parsed(block, width)
            except pl.exceptions.PolarsError as exc:
                failure = exc
        if chunk is None:
            if held:
                yield _without_blanks(_joined(waiting), width)
            yield _broken(width, file, next_line, failure)
            return
        if chunk.height == 0:
            continue
        read_bytes, read_records = read_bytes + len(block), read_records + chunk.height
        limit = max(1, min(batch_rows, _BATCH_BYTES * read_records // read_bytes))
        starts, next_line = _record_lines(chunk, names, block, next_line)
        frame = chunk.with_columns(starts.alias("row_no"))
        if header_pending:
            frame, header_pending = frame.slice(1), False
        if frame.height == 0:
            continue
        waiting.append(frame.select("row_no", *names))
        held += frame.height
        while held >= limit:
            rows = _joined(waiting)
            yield _without_blanks(rows.slice(0, limit), width)
            rest = rows.slice(limit)
            waiting, held = ([rest] if rest.height else []), rest.height
    if held:
        yield _without_blanks(_joined(waiting), width)


def _parsed(block: bytes, width: int) -> pl.DataFrame:
    """The records of ``block``: the header's ``width`` columns as text, and ``EXTRA``, the
    fields beyond them joined by commas (null when there are none). The block is parsed with
    one spare column, and again with ``_SURPLUS_FIELDS`` when a record uses it."""
    for spare in (1, _SURPLUS_FIELDS):
        names = column_names(width + spare)
        chunk = pl.scan_csv(block, has_header=False, infer_schema=False, schema=dict.fromkeys(names, pl.String),
                            missing_columns="insert", truncate_ragged_lines=True, encoding="utf8").collect()
        surplus = names[width:]
        if chunk.get_column(surplus[0]).null_count() == chunk.height:
            return chunk.select(*names[:width], pl.lit(None, dtype=pl.String).alias(EXTRA))
    return chunk.select(
        *names[:width],
        pl.when(pl.any_horizontal([pl.col(n).is_not_null() for n in surplus]))
        .then(pl.concat_str([pl.col(n).fill_null("") for n in surplus], separator=",").str.strip_chars_end(","))
        .alias(EXTRA),
    )


def _joined(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]


class _Broken:
    """A quote opened and never closed: no record boundary in the rest of the file."""


def _record_blocks(path: Path) -> Iterator[bytes | _Broken]:
    """The file in blocks of about ``_BLOCK`` bytes, each ending where a record ends.

    A line break ends a record when the double quotes before it are even in number (RFC 4180:
    a quoted value's own quotes are doubled). The UTF-8 byte order mark is dropped.
    """
    with path.open("rb") as handle:
        carry = b""
        first = True
        while data := handle.read(_BLOCK):
            if first:
                data, first = data.removeprefix(codecs.BOM_UTF8), False
            buffer = carry + data
            end = _last_record_end(buffer)
            if end < 0:
                if len(buffer) > _MAX_RECORD:
                    yield _Broken()
                    return
                carry = buffer
                continue
            yield buffer[:end]
            carry = buffer[end:]
        if carry:
            yield _Broken() if carry.count(b'"') % 2 else carry


def _last_record_end(buffer: bytes) -> int:
    """Position just after the last line break that ends a record, or -1."""
    quotes = buffer.count(b'"')
    after = 0  # quotes after the line break looked at
    end = len(buffer)
    while (at := buffer.rfind(b"\n", 0, end)) >= 0:
        after += buffer.count(b'"', at, end)
        if (quotes - after) % 2 == 0:
            return at + 1
        end = at
    return -1


def _record_lines(chunk: pl.DataFrame, names: list[str], block: bytes, first_line: int) -> tuple[pl.Series, int]:
    """The physical line where each record of ``block`` starts, and the line after the block.

    When the block has as many lines as records, no value holds a line break and the lines
    simply count up; otherwise each record's breaks are counted.
    """
    lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    if lines == chunk.height:
        return pl.int_range(first_line, first_line + lines, dtype=pl.Int64, eager=True), first_line + lines
    breaks = chunk.select(
        pl.sum_horizontal([pl.col(n).str.count_matches("\n", literal=True).fill_null(0) for n in names])
        .cast(pl.Int64).alias("breaks")
    ).to_series()
    starts = pl.int_range(0, chunk.height, dtype=pl.Int64, eager=True) + first_line + (breaks.cum_sum() - breaks)
    return starts, int(starts[-1]) + int(breaks[-1]) + 1


def _broken(width: int, file: str, row: int, exc: BaseException | None = None) -> RawBatch:
    """Nothing from physical line ``row`` on can be read as CSV records."""
    if exc is None:
        message = f"a double quote on row {row} or after it is never closed; nothing from row {row} on was read"
    else:
        message = f"the CSV structure is broken in rows from {row} on; nothing from row {row} on was read: {_short(exc)}"
    return RawBatch(
        frame=_empty(width),
        problems=(Problem(code=ProblemCode.FILE_UNREADABLE, message=message, source=SourceRef(file=file, row=row),
                          hint="look for a quote (\") that is opened and never closed"),),
    )


def _check_text(path: Path, file: str) -> Problem | None:
    """One pass over the bytes: UTF-8 text without NUL bytes, not a workbook or UTF-16."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # of the chunk in the file
    saw_text = False
    try:
        with path.open("rb") as handle:
            first = True
            while chunk := handle.read(_CHUNK):
                start = 0
                if first:
                    first = False
                    kind = _binary_kind(chunk)
                    if kind is not None:
                        return _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                             f"this is not a CSV text file: it looks like {kind[0]}", kind[1])
                    if chunk.startswith(codecs.BOM_UTF8):
                        start = len(codecs.BOM_UTF8)
                nul = chunk.find(b"\x00", start)
                if nul >= 0:
                    at = _line_at(path, offset + nul)
                    return _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                         f"binary content (a NUL byte) on line {at}, not CSV text",
                                         "export the usage as CSV UTF-8", row=at)
                try:
                    if not (chunk.isascii() and decoder.getstate()[0] == b""):  # ASCII is UTF-8
                        decoder.decode(chunk[start:])
                except UnicodeDecodeError as exc:
                    at = _line_at(path, offset + start + max(exc.start, 0))
                    bad = chunk[start + exc.start:start + exc.start + 1].hex().upper() if start + exc.start < len(chunk) else "?"
                    return _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                         f"not UTF-8 text: byte 0x{bad} on line {at}",
                                         "save the file as 'CSV UTF-8' (Excel) or convert it with iconv", row=at)
                saw_text = saw_text or bool(chunk[start:].strip())
                offset += len(chunk)
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


def _line_at(path: Path, offset: int) -> int:
    """The line (1-based) holding byte ``offset``: counted only when a problem is found there."""
    line, done = 1, 0
    with path.open("rb") as handle:
        while done < offset and (chunk := handle.read(min(_CHUNK, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


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
    """Batches of at most ``batch_rows`` rows, and of ``_XLSX_BATCH`` at most: openpyxl reads a
    few thousand rows a second, so smaller batches keep the progress moving."""
    import openpyxl

    batch_rows = min(batch_rows, _XLSX_BATCH)
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
    """Drop the records whose fields are all empty or spaces. Only records whose first field
    is empty are looked at whole, so a normal batch costs one pass over one column."""
    names = column_names(width)
    first_empty = pl.col(names[0]).is_null() | pl.col(names[0]).str.contains(r"^\s*$")
    blank = first_empty & ~pl.any_horizontal(
        [pl.col(n).str.strip_chars().str.len_chars().fill_null(0) > 0 for n in names[1:]]
        + [pl.col(EXTRA).is_not_null()]
    )
    candidates = frame.select(first_empty.alias("_candidate")).to_series()
    if not candidates.any():
        return RawBatch(frame=frame)
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
