"""The month workbook: a summary matrix with live totals and every line by cost centre.

``month_workbook(view) -> bytes`` (openpyxl, write-only so a month of any size streams):

- "Summary": business lines × services, amounts as numbers; row totals, column totals and a
  grand total as ``=SUM(...)`` formulas, so the sheet stays right when someone edits it.
- "Detail": one row per cost-centre part of every line, with a ``=SUBTOTAL(109, ...)`` total
  under the table (it follows the filter). Past Excel's 1,048,576 rows a sheet, the detail
  continues on "Detail (2)", "Detail (3)" ..., and the summary says so.

Each block is an Excel table; headers are frozen; amounts carry the currency's minor units
(``#,##0.00``) and the currency code is in the header. Amounts are written as ``Decimal``
(openpyxl stores their text; Excel reads a double) and are never rounded here.

A workbook with a ``prepared_at`` time (a closed month's, prepared as of its close) is the
same bytes however often it is written: the document properties and every part of the zip
carry that time, not the clock's.

Text that came from input goes through :func:`safe_text`, the one doorway for strings into
a cell: the cell is forced to a string, so ``=HYPERLINK(...)``, ``+1+1``, ``-2+3``,
``@SUM(A1)`` or a leading tab are shown as typed and never evaluated, and a cell starting
with one of those characters gets Excel's quote prefix so that editing it keeps it text. No
apostrophe is added to the text itself (in a workbook it would show).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import warnings
import zipfile
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo

from billing.core.money import minor_units
from reports.guard import is_formula
from reports.views import DetailRow, MonthExportView, month_label

__all__ = ["EXCEL_MAX_ROWS", "safe_text", "amount_format", "month_workbook", "add_table"]

EXCEL_MAX_ROWS = 1_048_576
_MAX_TEXT = 32_767  # Excel's limit per cell; openpyxl would cut silently

_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_TITLE = Font(bold=True, size=13)
_NOTE = Font(italic=True, color="7A3D00")
_TOTAL_FILL = PatternFill("solid", fgColor="E7EEF6")

_DETAIL_COLUMNS = (
    # header, width limit, how to get the value, kind: text | number | amount | int
    ("Business line code", 14, lambda r: r.business_line, "text"),
    ("Business line", 28, lambda r: r.business_line_name, "text"),
    ("Service code", 12, lambda r: r.service, "text"),
    ("Service", 28, lambda r: r.service_name, "text"),
    ("Tier code", 10, lambda r: r.tier, "text"),
    ("Tier", 22, lambda r: r.tier_name, "text"),
    ("Cost centre", 12, lambda r: r.cost_center, "text"),
    ("GL cost centre", 14, lambda r: r.gl_code, "text"),
    ("Quantity", 12, lambda r: r.quantity, "number"),
    ("Unit", 14, lambda r: r.unit, "text"),
    ("Price detail", 36, lambda r: r.detail, "text"),
    ("Amount", 16, lambda r: r.amount, "amount"),
    ("Kind", 11, lambda r: r.kind, "text"),
    ("Invoice", 16, lambda r: r.invoice_number, "text"),
    ("Line", 6, lambda r: r.line_no, "int"),
    ("Description", 44, lambda r: r.description, "text"),
    ("Dimension", 14, lambda r: r.dimension, "text"),
    ("Dimension value", 18, lambda r: r.dimension_value, "text"),
)


def safe_text(cell: Cell, value: object) -> Cell:
    """Put ``value`` into ``cell`` as plain text that no spreadsheet evaluates; return the cell.

    The cell's type is forced to string (openpyxl makes any text starting with ``=`` a
    formula), text starting with a formula trigger also gets the quote prefix (so re-editing
    keeps it text), characters a workbook cannot hold become U+FFFD, and text is cut to
    Excel's 32,767 characters. Every sheet writer puts input text into cells through here.
    """
    text = "" if value is None else str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)[:_MAX_TEXT]
    cell.value = text
    cell.data_type = "s"
    if is_formula(text):
        cell.quotePrefix = True
    return cell


def amount_format(currency: str) -> str:
    """``#,##0.00;-#,##0.00`` with the currency's minor units (``#,##0;-#,##0`` for JPY)."""
    places = minor_units(currency)
    body = "#,##0" + ("." + "0" * places if places else "")
    return f"{body};-{body}"


def add_table(ws, name: str, headers: Sequence[str], first_row: int, last_row: int, *, first_col: int = 1) -> None:
    """An Excel table over ``headers`` (already written on ``first_row``) down to ``last_row``.

    Written for write-only sheets: the table's columns are named by hand to match the header
    cells exactly (else Excel repairs the file by dropping the table).
    """
    last_col = first_col + len(headers) - 1
    ref = f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{max(last_row, first_row + 1)}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    table._initialise_columns()
    for column, header in zip(table.tableColumns, headers):
        column.name = header
    with warnings.catch_warnings():  # openpyxl warns that write-only tables need named columns: they have them
        warnings.filterwarnings("ignore", message="In write-only mode")
        ws.add_table(table)


def unique_headers(names: Iterable[str]) -> list[str]:
    """Header texts an Excel table accepts: not empty, one line, unique ignoring case."""
    seen: set[str] = set()
    result = []
    for name in names:
        base = " ".join(ILLEGAL_CHARACTERS_RE.sub(" ", str(name)).split())[:200] or "Column"
        text, n = base, 2
        while text.lower() in seen:
            text, n = f"{base} ({n})", n + 1
        seen.add(text.lower())
        result.append(text)
    return result


def month_workbook(view: MonthExportView, *, max_rows: int = EXCEL_MAX_ROWS) -> bytes:
    """The month's workbook as .xlsx bytes. ``max_rows`` (rows per sheet) is for tests."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "chargeback"
    wb.properties.title = f"Chargeback {view.month}"
    per_sheet = max_rows - 2  # the header row and the total row
    if per_sheet < 1:
        raise ValueError("a sheet must hold at least one detail row")
    chunks = [view.rows[i:i + per_sheet] for i in range(0, len(view.rows), per_sheet)] or [()]
    sheet_names = ["Detail"] + [f"Detail ({n})" for n in range(2, len(chunks) + 1)]
    _summary_sheet(wb, view, sheet_names)
    for n, (name, chunk) in enumerate(zip(sheet_names, chunks), start=1):
        _detail_sheet(wb, view, name, f"Detail{n if n > 1 else ''}", chunk)
    return workbook_bytes(wb, view.prepared_at)


def workbook_bytes(wb: Workbook, prepared_at: dt.datetime | None = None) -> bytes:
    """``wb`` as .xlsx bytes; with ``prepared_at`` its properties and zip entries are dated
    then, so the same workbook gives the same bytes (else they are dated now)."""
    when = (prepared_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    wb.properties.created = wb.properties.modified = when
    out = io.BytesIO()
    archive = _DatedZip(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    archive.date_time = max(when, dt.datetime(1980, 1, 1)).timetuple()[:6]
    ExcelWriter(wb, archive).save()  # what Workbook.save does, without dating the workbook now
    return out.getvalue()


class _DatedZip(zipfile.ZipFile):
    """A zip whose entries all carry ``date_time`` instead of the clock's or a file's time."""

    date_time: tuple[int, ...]

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=self.date_time)
            zinfo_or_arcname.compress_type = self.compression
            zinfo_or_arcname.external_attr = 0o600 << 16
        super().writestr(zinfo_or_arcname, data, compress_type=compress_type, compresslevel=compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = zipfile.ZipInfo(str(arcname or filename), date_time=self.date_time)
        info.compress_type = compress_type if compress_type is not None else self.compression
        info.external_attr = 0o600 << 16
        info.file_size = os.path.getsize(filename)  # zip64 when it needs it, as ZipFile.write does
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)


def _cell(ws, value: object, *, number_format: str | None = None, font: Font | None = None, fill=None) -> Cell:
    """A cell for numbers and formulas the engine made (never for input text: use safe_text)."""
    cell = WriteOnlyCell(ws, value=value)
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


def _text(ws, value: object, *, font: Font | None = None, fill=None) -> Cell:
    cell = safe_text(WriteOnlyCell(ws), value)
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


def _summary_sheet(wb: Workbook, view: MonthExportView, detail_sheets: list[str]) -> None:
    ws = wb.create_sheet("Summary")
    money = amount_format(view.currency)
    services = [name for _code, name in view.services]
    headers = unique_headers(["Business line code", "Business line", *services, f"Total {view.currency}"])
    widths = [14, 30, *[max(14, min(24, len(h) + 2)) for h in headers[2:-1]], 18]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "C5"

    status = ("Month closed: amounts as invoiced, including credit and debit notes given to the export."
              if view.closed else "Month OPEN: draft figures that may still change; nothing is invoiced yet.")
    ws.append([_text(ws, f"Chargeback {month_label(view.month)} by business line and service ({view.currency})", font=_TITLE)])
    ws.append([_text(ws, status, font=_NOTE if not view.closed else None)])
    ws.append([])
    ws.append([_text(ws, h, font=_BOLD) for h in headers])
    first = 5
    n_services = len(services)
    first_service_col, last_service_col = get_column_letter(3), get_column_letter(2 + n_services)
    for i, ((code, name), amounts) in enumerate(zip(view.business_lines, view.amounts)):
        row = first + i
        total = f"=SUM({first_service_col}{row}:{last_service_col}{row})" if n_services else 0
        ws.append([_text(ws, code), _text(ws, name), *[_cell(ws, a, number_format=money) for a in amounts],
                   _cell(ws, total, number_format=money, font=_BOLD)])
    last = first + len(view.business_lines) - 1
    if view.business_lines:
        add_table(ws, "Summary", headers, first - 1, last)
        totals = [_text(ws, "Total", font=_BOLD, fill=_TOTAL_FILL), _text(ws, "", fill=_TOTAL_FILL)]
        for col in range(3, 3 + n_services + 1):
            letter = get_column_letter(col)
            totals.append(_cell(ws, f"=SUM({letter}{first}:{letter}{last})", number_format=money, font=_BOLD, fill=_TOTAL_FILL))
        ws.append(totals)
    else:
        ws.append([_text(ws, "No chargeback lines for this month.")])
    ws.append([])
    if len(detail_sheets) > 1:
        ws.append([_text(ws, f"The detail has {len(view.rows):,} rows, more than one sheet holds: it continues on "
                             f"{', '.join(detail_sheets[1:])}.", font=_NOTE)])
    ws.append([_text(ws, "Totals are formulas. The detail sheets show each line split by cost centre.")])


def _detail_sheet(wb: Workbook, view: MonthExportView, title: str, table_name: str, rows: Sequence[DetailRow]) -> None:
    ws = wb.create_sheet(title)
    money = amount_format(view.currency)
    headers = [f"{h} ({view.currency})" if kind == "amount" else h for h, _w, _get, kind in _DETAIL_COLUMNS]
    sample = rows[:2000]
    for index, (header, limit, get, kind) in enumerate(_DETAIL_COLUMNS, start=1):
        longest = max([len(header)] + [len(part) for r in sample for part in str(get(r) or "").split("\n")]) \
            if kind == "text" else limit
        ws.column_dimensions[get_column_letter(index)].width = max(8, min(limit, longest + 2)) if kind == "text" else limit
    ws.freeze_panes = "A2"
    ws.append([_text(ws, h, font=_BOLD) for h in headers])
    for r in rows:
        cells = []
        for _header, _limit, get, kind in _DETAIL_COLUMNS:
            value = get(r)
            if kind == "text":
                cells.append(_text(ws, value))
                if isinstance(value, str) and "\n" in value:  # a line's workings, a step a line
                    cells[-1].alignment = _WRAP
            elif kind == "amount":
                cells.append(_cell(ws, value, number_format=money))
            else:
                cells.append(_cell(ws, value))
        ws.append(cells)
    if not rows:
        ws.append([])  # a table needs a row under its header
    last = 1 + max(len(rows), 1)
    add_table(ws, table_name, headers, 1, last)
    amount_col = get_column_letter(1 + next(i for i, c in enumerate(_DETAIL_COLUMNS) if c[3] == "amount"))
    total_row = [_text(ws, "Total (visible rows)", font=_BOLD, fill=_TOTAL_FILL)]
    total_row += [_text(ws, "", fill=_TOTAL_FILL) for _ in range(column_index_from_string(amount_col) - 2)]
    total_row.append(_cell(ws, f"=SUBTOTAL(109,{amount_col}2:{amount_col}{max(last, 2)})", number_format=money,
                           font=_BOLD, fill=_TOTAL_FILL))
    ws.append(total_row)

