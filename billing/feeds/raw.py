"""Reading a feed file as text, in batches, with physical row numbers.

A :class:`Table` is a header plus batches of string columns ``c0 … c{n-1}``, each batch with
``row_no``: the 1-based physical line (CSV) or sheet row (.xlsx) where the record starts,
the header being row 1. Every value stays text here; the mappings validate it.

CSV is read in blocks of 4 MB that end where a record ends (a line break after an even
number of double quotes), each parsed by polars with no schema inference, so memory stays
bounded by a block and a batch. A quoted value may hold line breaks; such a record spans
several physical lines and later records are numbered by counting those breaks, so row
numbers stay those of a text editor. Lines that are entirely empty are skipped and counted.
A record longer than ``MAX_RECORD_BYTES`` (4 MiB) stops the file there with a problem that
says so (or that a quote is never closed), and the header is read within that bound too.

Every record's field count is known exactly: before parsing, each record end gets one more
field holding a NUL byte (which a text file never has), so the column where that mark lands
is the record's field count, whether its last values are empty or missing. ``fields`` holds
the count where it is not the header's, so that the mappings quarantine such a record rather
than read its values under the wrong columns.

Before any parsing the file is checked to be text (UTF-8, no NUL bytes, not a workbook), so
a binary or mis-encoded file gives one FILE_UNREADABLE problem, never a traceback.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from billing.files.dialect import MAX_RECORD_BYTES, Dialect, likely_delimiter, wrong_delimiter_text
from billing.feeds.rules import field_count_rules
from billing.feeds.values import Check, compiled
from billing.core.problems import Ask, Asked, Problem, ProblemCode, Severity, SourceRef

__all__ = ["RawBatch", "Table", "FileScan", "scan_file", "digest", "open_table", "column_names", "EXTRA", "FIELDS",
           "field_count_checks", "shaped"]

EXTRA = "extra"
"""Column holding the fields of a CSV record beyond the header's width (joined by the delimiter)."""

FIELDS = "fields"
"""Column holding a record's field count where it is not the header's (null where it is)."""

_SURPLUS_FIELDS = 16  # fields beyond the header read (and shown) of ragged CSV records
_CHUNK = 1 << 20
_BLOCK = 4 << 20  # CSV bytes parsed at a time
_BATCH_BYTES = 32 << 20  # CSV bytes in a batch at most (250,000 usage rows of ~90 bytes fit)
_XLSX_BATCH = 20_000  # worksheet rows in a batch at most (a few seconds of reading)
_MAX_RECORD = MAX_RECORD_BYTES  # at least _BLOCK, so no record inside one block can be longer
_MARK = "\x00"  # the field added at each record end: the text check guarantees no NUL in the file
_BREAKS = "_breaks"  # line breaks inside a record's values, where they were counted while parsing
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet"}
_PARQUET_BATCH = 250_000  # Parquet rows in a batch at most


@dataclass(frozen=True, slots=True)
class RawBatch:
    """Text records: ``row_no`` (Int64), ``c0`` … (String, as written), ``extra`` and ``fields``."""

    frame: pl.DataFrame
    blank_rows: int = 0
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    file: str
    header: tuple[str, ...]
    header_row: int
    read: Callable[[int], Iterator[RawBatch]]
    dialect: Dialect | None = Dialect()  # how a CSV writes its values; None for a workbook, whose numbers are cells

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
    if path.suffix.lower() in _WORKBOOK_SUFFIXES | PARQUET_SUFFIXES:
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


def field_count_checks(table: Table) -> list[Check]:
    """A record whose field count is not the header's is quarantined (``too-few-fields`` /
    ``too-many-fields``, with both counts: billing.feeds.rules.field_count_rules), never read
    with its values under the wrong columns. The mappings run their other checks on the other
    records only (:func:`shaped`)."""
    return [compiled(rule) for rule in field_count_rules(len(table.header), table.dialect)]


def shaped(check: Check) -> Check:
    """``check`` for the records that have the header's field count only (their values are
    where their columns say)."""
    return replace(check, mask=check.mask & pl.col(FIELDS).is_null())


def open_table(path: Path, *, sheet: str | None = None, scan: FileScan | None = None,
               dialect: Dialect = Dialect()) -> tuple[Table | None, list[Problem]]:
    """Open ``path`` (CSV, or .xlsx/.xlsm by suffix) and read its header. ``scan``, when the
    caller already has it, spares reading the file once more to check it is text. A CSV is
    read with ``dialect``'s delimiter; a header that is plainly separated by another one is
    refused (``wrong-delimiter``) rather than read as one column.

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
        return _open_xlsx(path, file, sheet, dialect)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return open_parquet(path, file)
    return _open_csv(path, file, scan, dialect)


# --- CSV ---------------------------------------------------------------------------------------


def _open_csv(path: Path, file: str, scan: FileScan | None, dialect: Dialect) -> tuple[Table | None, list[Problem]]:
    problem = scan.problem if scan is not None else _check_text(path, file)
    if problem is not None:
        return None, [problem]
    header, problem = _read_header(path, file, dialect)
    if problem is not None:
        return None, [problem]
    width = len(header)

    def read(batch_rows: int) -> Iterator[RawBatch]:
        return _csv_batches(path, file, width, batch_rows, dialect.delimiter)

    return Table(file=file, header=header, header_row=1, read=read, dialect=dialect), []


def _read_header(path: Path, file: str, dialect: Dialect) -> tuple[tuple[str, ...], Problem | None]:
    """The names of the first record, read within ``_MAX_RECORD`` bytes (a file with no line
    break is refused after reading that much, never read whole)."""
    with path.open("rb") as handle:
        head = handle.read(_MAX_RECORD + 1).removeprefix(codecs.BOM_UTF8)
    end = _first_record_end(head, _MAX_RECORD)
    record = head[:end] if end >= 0 else head
    if end < 0 and (len(head) > _MAX_RECORD or record.count(b'"') % 2):
        return (), _broken(1, file, 1, _unended(record)).problems[0]
    if b"\r" in record.rstrip(b"\r\n").replace(b"\r\n", b""):
        return (), _file_problem(file, ProblemCode.FILE_UNREADABLE,
                                 "the lines end with a carriage return alone (the old Mac format), not a line feed",
                                 "save the file again as CSV UTF-8 (Windows or Unix line breaks)", row=1)
    text = record.decode("utf-8").rstrip("\r\n")
    if not text.strip(" \t" + dialect.delimiter):
        return (), _file_problem(file, ProblemCode.FILE_EMPTY, "the file has no header row",
                                 "the first line must name the columns")
    wrong = wrong_delimiter_text(text, dialect.delimiter)
    if wrong is not None:
        hint, asks = _delimiter_hint(text, dialect)
        return (), _file_problem(file, ProblemCode.WRONG_DELIMITER, wrong, hint, row=1, asks_for=asks)
    names = next(csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, strict=False), [])
    return tuple(name.strip() for name in names), None


def _delimiter_hint(header: str, dialect: Dialect) -> tuple[str, tuple[Asked, ...]]:
    likely = likely_delimiter(header) or ","
    option = "tab" if likely == "\t" else likely
    hint = f"load it with the delimiter '{option}'"
    asks = [Asked(Ask.DELIMITER, f"'{option}'")]
    if likely in (";", "\t") and dialect.decimal is None:
        hint += " and the decimal mark comma (or point: how its numbers are written, 1.234,56 or 1234.56)"
        asks.append(Asked(Ask.DECIMAL, "comma"))
    if likely != ",":
        hint += ", or save it from Excel as 'CSV UTF-8 (comma delimited)'"
    return hint + "; nothing was loaded", tuple(asks)


def _csv_batches(path: Path, file: str, width: int, batch_rows: int, delimiter: str = ",") -> Iterator[RawBatch]:
    """Batches of ``batch_rows`` records, or fewer when records are wide: a batch holds about
    ``_BATCH_BYTES`` of CSV text at most (at the records' average width so far), so that wide
    exports (a FOCUS row is about 800 bytes) keep memory as bounded as narrow ones."""
    names = [*column_names(width), EXTRA]
    kept = [*names, FIELDS]
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
                lines = _line_count(block)
                chunk = _parsed(block, width, delimiter, lines)
            except (pl.exceptions.PolarsError, csv.Error) as exc:
                failure = exc
        if chunk is None:
            if held:
                yield _without_blanks(_joined(waiting), width)
            yield _broken(width, file, next_line, block if isinstance(block, _Broken) else failure)
            return
        if chunk.height == 0:
            continue
        read_bytes, read_records = read_bytes + len(block), read_records + chunk.height
        limit = max(1, min(batch_rows, _BATCH_BYTES * read_records // read_bytes))
        starts, next_line = _record_lines(chunk, names, lines, next_line)
        frame = chunk.with_columns(starts.alias("row_no"))
        if header_pending:
            frame, header_pending = frame.slice(1), False
        if frame.height == 0:
            continue
        waiting.append(frame.select("row_no", *kept))
        held += frame.height
        while held >= limit:
            rows = _joined(waiting)
            yield _without_blanks(rows.slice(0, limit), width)
            rest = rows.slice(limit)
            waiting, held = ([rest] if rest.height else []), rest.height
    if held:
        yield _without_blanks(_joined(waiting), width)


def _line_count(block: bytes) -> int:
    """Physical lines in ``block`` (the last may lack its line break)."""
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def _parsed(block: bytes, width: int, delimiter: str = ",", lines: int | None = None) -> pl.DataFrame:
    """The records of ``block``: the header's ``width`` columns as text, ``EXTRA`` (the fields
    beyond them joined by the delimiter, null when there are none) and ``FIELDS`` (the field
    count where it is not ``width``).

    Each record end gets one more field, ``_MARK``; the block is parsed with one column beyond
    the header's, where the mark lands for a record of the header's width. Only when some
    record's mark is elsewhere are the columns looked at again (and the block parsed with
    ``_SURPLUS_FIELDS`` more columns when a record has more fields than that). Values holding a
    line break got the mark before it too, and lose it again.
    """
    mark = (delimiter + _MARK).encode()
    marked = block.replace(b"\n", mark + b"\n")
    if b"\r" in block:  # keep a carriage return with its line feed, after the mark
        marked = marked.replace(b"\r" + mark + b"\n", mark + b"\r\n")
    if not block.endswith(b"\n"):
        marked += mark
    names = column_names(width + 1)
    chunk = _scan(marked, names, delimiter)
    regular = chunk.select((pl.col(names[width]) == _MARK).fill_null(False).alias("regular")).to_series()
    if regular.all():
        frame = chunk.select(*names[:width], pl.lit(None, dtype=pl.String).alias(EXTRA),
                             pl.lit(None, dtype=pl.Int32).alias(FIELDS))
    else:
        counted = None
        if chunk.select((~pl.lit(regular) & _mark_column(names).is_null()).any()).item():
            # Some record has more fields than were read: count every record's fields, and read
            # them all (to _SURPLUS_FIELDS more). polars does not see quotes in the fields it
            # leaves out, so a line break quoted there could cut a record in two: the counts
            # show it, and such a block is read by the csv module instead.
            counted, breaks = _field_counts(block, delimiter)
            names = column_names(min(max(counted), width + _SURPLUS_FIELDS) + 1)
            chunk = _scan(marked, names, delimiter)
            if chunk.height != len(counted):
                return _read_by_csv(block, width, delimiter, counted, breaks)
            regular = chunk.select((pl.col(names[width]) == _MARK).fill_null(False).alias("regular")).to_series()
        found = _mark_column(names)
        if counted is not None:
            found = found.fill_null(pl.lit(pl.Series(counted, dtype=pl.Int32)))
        fields = pl.when(~pl.lit(regular)).then(found)
        extras = [pl.when(pl.col(n) != _MARK).then(pl.col(n)) for n in names[width:]]
        frame = chunk.select(
            *[pl.when(pl.col(n) != _MARK).then(pl.col(n)).alias(n) for n in names[:width]],
            pl.when(fields > width).then(pl.concat_str([e.fill_null("") for e in extras], separator=delimiter)
                                         .str.strip_chars_end(delimiter)).alias(EXTRA),
            fields.alias(FIELDS),
        )
        if counted is not None:  # values left unread may hold line breaks too
            frame = frame.with_columns(pl.Series(_BREAKS, breaks, dtype=pl.Int64))
    if (_line_count(block) if lines is None else lines) != frame.height:  # values hold line breaks
        frame = frame.with_columns(pl.col(n).str.replace_all(delimiter + _MARK, "", literal=True)
                                   for n in [*column_names(width), EXTRA])
    return frame


def _field_counts(block: bytes, delimiter: str) -> tuple[list[int], list[int]]:
    """Every record's field count (an empty line has one empty field) and the line breaks
    inside its values, by the csv module."""
    counts, breaks = [], []
    for fields in csv.reader(io.StringIO(block.decode("utf-8"), newline=""), delimiter=delimiter, strict=False):
        counts.append(max(len(fields), 1))
        breaks.append(sum(value.count("\n") for value in fields))
    return counts, breaks


def _read_by_csv(block: bytes, width: int, delimiter: str, counted: list[int], breaks: list[int]) -> pl.DataFrame:
    """The records of ``block`` read by the csv module (for the rare block polars cannot be
    trusted with): as :func:`_parsed` gives them, an empty value being null."""
    reader = csv.reader(io.StringIO(block.decode("utf-8"), newline=""), delimiter=delimiter, strict=False)
    rows = [fields + [""] * (width - len(fields)) for fields in reader]
    columns = {n: pl.Series([r[i] or None for r in rows], dtype=pl.String) for i, n in enumerate(column_names(width))}
    columns[EXTRA] = pl.Series([delimiter.join(r[width:]) if n > width else None for r, n in zip(rows, counted)],
                               dtype=pl.String)
    columns[FIELDS] = pl.Series([n if n != width else None for n in counted], dtype=pl.Int32)
    columns[_BREAKS] = pl.Series(breaks, dtype=pl.Int64)
    return pl.DataFrame(columns)


def _mark_column(names: list[str]) -> pl.Expr:
    """The index of the column holding the record-end mark: the record's field count."""
    return pl.coalesce([pl.when(pl.col(n) == _MARK).then(pl.lit(i, dtype=pl.Int32)) for i, n in enumerate(names)])


def _scan(data: bytes, names: list[str], delimiter: str) -> pl.DataFrame:
    return pl.scan_csv(data, has_header=False, infer_schema=False, schema=dict.fromkeys(names, pl.String),
                       separator=delimiter, missing_columns="insert", extra_columns="ignore", truncate_ragged_lines=True,
                       encoding="utf8").collect()


def _joined(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(frames, rechunk=False) if len(frames) > 1 else frames[0]


@dataclass(frozen=True, slots=True)
class _Broken:
    """No record boundary where one must be: ``quote`` (a quote opened and never closed),
    ``long`` (a record longer than ``_MAX_RECORD``) or ``cr`` (lines ended by a carriage
    return alone, so there is no line feed at all)."""

    reason: str


def _unended(data: bytes) -> _Broken:
    """Why ``data``, the start of a record, has no record end."""
    if b"\n" not in data:
        return _Broken("cr" if b"\r" in data else "long")
    return _Broken("quote" if data.count(b'"') % 2 else "long")


def _record_blocks(path: Path) -> Iterator[bytes | _Broken]:
    """The file in blocks of about ``_BLOCK`` bytes, each ending where a record ends.

    A line break ends a record when the double quotes before it are even in number (RFC 4180:
    a quoted value's own quotes are doubled). The UTF-8 byte order mark is dropped. A record
    longer than ``_MAX_RECORD`` ends the blocks with a :class:`_Broken`: at most that much
    more than a block is ever held. (A record within one block is shorter than a block, and
    ``_MAX_RECORD`` is at least a block; a record carried over from one read to the next is
    measured.)
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
                    yield _unended(buffer[:_MAX_RECORD + 1])
                    return
                carry = buffer
                continue
            if len(buffer) > _MAX_RECORD and _first_record_end(buffer, _MAX_RECORD) < 0:
                yield _Broken("long")
                return
            yield buffer[:end]
            carry = buffer[end:]
        if carry:
            yield _Broken("quote") if carry.count(b'"') % 2 else carry


def _first_record_end(buffer: bytes, limit: int | None = None) -> int:
    """Position just after the first line break that ends a record (within ``limit`` bytes), or -1."""
    limit = len(buffer) if limit is None else min(limit, len(buffer))
    quotes = 0
    start = 0
    while (at := buffer.find(b"\n", start, limit)) >= 0:
        quotes += buffer.count(b'"', start, at)
        if quotes % 2 == 0:
            return at + 1
        start = at + 1
    return -1


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


def _record_lines(chunk: pl.DataFrame, names: list[str], lines: int, first_line: int) -> tuple[pl.Series, int]:
    """The physical line where each record of a block of ``lines`` lines starts, and the line
    after the block.

    When the block has as many lines as records, no value holds a line break and the lines
    simply count up; otherwise each record's breaks are counted.
    """
    if lines == chunk.height:
        return pl.int_range(first_line, first_line + lines, dtype=pl.Int64, eager=True), first_line + lines
    if _BREAKS in chunk.columns:
        breaks = chunk.get_column(_BREAKS)
    else:
        breaks = chunk.select(
            pl.sum_horizontal([pl.col(n).str.count_matches("\n", literal=True).fill_null(0) for n in names])
            .cast(pl.Int64).alias("breaks")
        ).to_series()
    starts = pl.int_range(0, chunk.height, dtype=pl.Int64, eager=True) + first_line + (breaks.cum_sum() - breaks)
    return starts, int(starts[-1]) + int(breaks[-1]) + 1


def _broken(width: int, file: str, row: int, cause: _Broken | BaseException | None = None) -> RawBatch:
    """Nothing from physical line ``row`` on can be read as CSV records."""
    after = f"nothing from row {row} on was read"
    code, hint = ProblemCode.FILE_UNREADABLE, "look for a quote (\") that is opened and never closed"
    if isinstance(cause, _Broken) and cause.reason == "long":
        code = ProblemCode.RECORD_TOO_LONG
        message = (f"the record on row {row} runs past {_MAX_RECORD:,} bytes ({_MAX_RECORD >> 20} MiB) without "
                   f"ending, the most a record may be; {after}")
        hint = "a record is one line (several only where a quoted value holds line breaks): is this a CSV export?"
    elif isinstance(cause, _Broken) and cause.reason == "cr":
        message = f"no line feed from row {row} on: the lines end with a carriage return alone (the old Mac format); {after}"
        hint = "save the file again as CSV UTF-8 (Windows or Unix line breaks)"
    elif isinstance(cause, BaseException):
        message = f"the CSV structure is broken in rows from {row} on; {after}: {_short(cause)}"
    else:
        message = f"a double quote on row {row} or after it is never closed; {after}"
    return RawBatch(frame=_empty(width), problems=(Problem(code=code, message=message, hint=hint,
                                                           source=SourceRef(file=file, row=row)),))


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


# --- Parquet ------------------------------------------------------------------------------------

PARQUET_TYPES = "text, integers, decimals and dates"


def parquet_text_types(schema: dict[str, pl.DataType]) -> list[str]:
    """The columns of a Parquet schema that are not read as text exactly (floating point,
    timestamps, nested values …), each with its type: such a file is refused."""
    return [f"{name} ({dtype})" for name, dtype in schema.items()
            if not (dtype == pl.String or dtype.is_integer() or isinstance(dtype, pl.Decimal) or dtype == pl.Date)]


def open_parquet(path: Path, file: str) -> tuple[Table | None, list[Problem]]:
    """A Parquet file as a table: its column names are the header, each value its text (a
    decimal with its scale's digits, a date as YYYY-MM-DD), ``row_no`` the row's index in the
    file from 1 (the header is row 0). Floating-point and other columns that have no one exact
    text refuse the file."""
    try:
        schema = dict(pl.read_parquet_schema(path))
    except (OSError, pl.exceptions.PolarsError) as exc:
        return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE, f"not a readable Parquet file: {_short(exc)}",
                                    "write it again as Parquet, or export CSV UTF-8")]
    wrong = parquet_text_types(schema)
    if wrong:
        return None, [_file_problem(file, ProblemCode.FILE_UNREADABLE,
                                    f"column(s) {', '.join(wrong)} cannot be read exactly; a Parquet usage file holds "
                                    f"{PARQUET_TYPES}",
                                    "write quantities and costs as DECIMAL (never floating point), dates as DATE")]
    header = tuple(schema)

    def read(batch_rows: int) -> Iterator[RawBatch]:
        return _parquet_batches(path, header, min(batch_rows, _PARQUET_BATCH))

    return Table(file=file, header=header, header_row=0, read=read, dialect=Dialect()), []


def _parquet_batches(path: Path, header: tuple[str, ...], batch_rows: int) -> Iterator[RawBatch]:
    names = column_names(len(header))
    frame = pl.scan_parquet(path)
    start = 0
    while True:
        part = frame.slice(start, batch_rows).collect()
        if part.height == 0 and start:
            return
        yield _without_blanks(part.select(
            pl.int_range(start + 1, start + 1 + part.height, dtype=pl.Int64).alias("row_no"),
            *[pl.col(h).cast(pl.String).alias(n) for h, n in zip(header, names)],
            pl.lit(None, dtype=pl.String).alias(EXTRA), pl.lit(None, dtype=pl.Int32).alias(FIELDS)), len(header))
        if part.height < batch_rows:
            return
        start += batch_rows


# --- .xlsx -------------------------------------------------------------------------------------


def _open_xlsx(path: Path, file: str, sheet: str | None, dialect: Dialect) -> tuple[Table | None, list[Problem]]:
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

    return Table(file=file, header=header, header_row=header_row, read=read, dialect=None), []


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
        beyond: dict[int, tuple[int, str]] = {}  # row -> cells used beyond the header, and their values
        blank = 0
        for number, values in enumerate(ws.iter_rows(min_row=header_row + 1, values_only=True), start=header_row + 1):
            texts = [_cell_text(v) for v in values[:width]]
            extra = [_cell_text(v) for v in values[width:]]
            if any(extra):
                used = max(i for i, text in enumerate(extra) if text) + 1
                beyond[len(rows)] = (width + used, ",".join(extra[:used]))
            elif not any(texts):
                blank += 1
                continue
            texts += [""] * (width - len(texts))
            rows.append(number)
            for column, text in zip(columns, texts):
                column.append(text or None)
            if len(rows) >= batch_rows:
                yield RawBatch(frame=_xlsx_frame(rows, columns, names, beyond), blank_rows=blank)
                rows, columns, beyond, blank = [], [[] for _ in range(width)], {}, 0
        if rows or blank:
            yield RawBatch(frame=_xlsx_frame(rows, columns, names, beyond), blank_rows=blank)
    except Exception as exc:
        yield RawBatch(frame=_empty(width), problems=(_file_problem(
            file, ProblemCode.FILE_UNREADABLE, f"cannot read the workbook: {_short(exc)}"),))
    finally:
        book.close()


def _xlsx_frame(rows: list[int], columns: list[list[str | None]], names: list[str],
                beyond: dict[int, tuple[int, str]]) -> pl.DataFrame:
    """A sheet's rows; a row with values in columns the header does not name has as many
    fields as its last such column (``FIELDS``), and those values in ``EXTRA``."""
    data = {"row_no": pl.Series(rows, dtype=pl.Int64)}
    data.update({n: pl.Series(c, dtype=pl.String) for n, c in zip(names, columns)})
    data[EXTRA] = pl.Series([beyond[i][1] if i in beyond else None for i in range(len(rows))], dtype=pl.String)
    data[FIELDS] = pl.Series([beyond[i][0] if i in beyond else None for i in range(len(rows))], dtype=pl.Int32)
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
    schema = {"row_no": pl.Int64, **{n: pl.String for n in column_names(width)}, EXTRA: pl.String, FIELDS: pl.Int32}
    return pl.DataFrame(schema=schema)


def _file_problem(file: str, code: ProblemCode, message: str, hint: str | None = None, *,
                  row: int | None = None, asks_for: tuple[Asked, ...] = ()) -> Problem:
    return Problem(code=code, message=message, source=SourceRef(file=file, row=row), hint=hint, asks_for=asks_for,
                   severity=Severity.ERROR)


def _short(exc: BaseException, width: int = 200) -> str:
    text = str(exc)
    if "Original error:" in text:  # polars puts the cause after its generic advice
        text = text.split("Original error:", 1)[1].strip().strip("`")
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"
