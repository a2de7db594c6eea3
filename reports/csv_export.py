"""CSV files for people who open them in a spreadsheet: the month's detail and the rejects.

UTF-8 with a byte-order mark (so Excel reads accents right), RFC 4180 quoting, ``\\r\\n``.

Formula injection: quoting does not stop a spreadsheet from evaluating ``=...``. A text
field that came from input goes through :func:`reports.guard.for_people` (a ``'`` in front of
a formula trigger); numbers (quantities, amounts, line and row numbers) are never prefixed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

from billing.core.records import RejectedRow
from billing.core.money import amount_text
from reports.guard import for_people
from reports.views import MonthExportView

__all__ = ["DETAIL_HEADER", "REJECTS_HEADER", "month_csv", "write_rejects_csv"]

DETAIL_HEADER = (
    "business_line", "business_line_name", "service", "service_name", "tier", "tier_name", "cost_center",
    "gl_cost_center", "quantity", "unit", "price_detail", "amount", "currency", "kind", "invoice", "line",
    "description", "dimension", "dimension_value",
)
REJECTS_HEADER = ("file", "row", "column", "code", "reason", "month", "source", "feed")


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def month_csv(view: MonthExportView) -> bytes:
    """The month's detail (one row per cost-centre part); amounts with a point, no separators."""
    t = for_people
    return _csv(DETAIL_HEADER, (
        (t(r.business_line), t(r.business_line_name), t(r.service), t(r.service_name), t(r.tier), t(r.tier_name),
         t(r.cost_center), t(r.gl_code), _number(r.quantity), t(r.unit), t(r.detail),
         amount_text(r.amount, view.currency, grouped=False, strict=True), view.currency, r.kind, t(r.invoice_number), str(r.line_no),
         t(r.description), t(r.dimension), t(r.dimension_value))
        for r in view.rows
    ))


def write_rejects_csv(rows: Iterable[RejectedRow]) -> bytes:
    """Rejected usage rows (billing.core.records.RejectedRow) under the header
    ``file,row,column,code,reason,month,source,feed``."""
    made = []
    for r in rows:
        made.append((for_people(r.file), "" if r.row is None else str(r.row), for_people(r.column), for_people(r.code),
                     for_people(r.reason), for_people(r.month), for_people(r.source), str(r.feed)))
    return _csv(REJECTS_HEADER, made)
