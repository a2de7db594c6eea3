"""The recovery report as a CSV file and as a workbook (`chargeback recovery --out`, the demo).

Both write the rows of :func:`billing.recovery.over_under.recovery_table`: a ``period``
column, then service rows, the total and the cost-pool reconciliation. Text from input
(service and pool codes and names, modes, bases) passes the one formula guard
(:mod:`reports.guard`): a ``'`` in front in the CSV, a text cell in the workbook, so a
service named ``=HYPERLINK("http://x","y")`` is never a live formula.

CSV: UTF-8, ``\\n``, numbers exactly as computed. Workbook: one sheet "Recovery", numbers as
numbers, amounts with the currency's minor units (:func:`reports.xlsx.amount_format`).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from billing.recovery.over_under import RecoveryReport, recovery_table
from reports.guard import for_people
from reports.xlsx import amount_format, safe_text

__all__ = ["MONEY_COLUMNS", "recovery_csv", "recovery_xlsx"]

MONEY_COLUMNS = frozenset({"cost", "recovered", "of_which_showback", "allocated", "over_under", "in_overhead"})


def recovery_csv(report: RecoveryReport) -> bytes:
    headers, rows = recovery_table(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["period", *headers])
    for row in rows:
        writer.writerow([for_people(report.period),
                         *("" if v is None else str(v) if isinstance(v, Decimal) else for_people(v) for v in row)])
    return buffer.getvalue().encode("utf-8")


def recovery_xlsx(report: RecoveryReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    headers, rows = recovery_table(report)
    sheet.title = "Recovery"
    money = amount_format(report.currency)
    for r, values in enumerate([["period", *headers], *([report.period, *row] for row in rows)], start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, Decimal):
                cell.value = value
                if headers[c - 2] in MONEY_COLUMNS:
                    cell.number_format = money
            else:
                safe_text(cell, value)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
