"""The GL journal as a neutral CSV file for an ERP import (columns in docs/journal.md).

Columns, exactly: ``posting_date, period, document_number, line, account, cost_center,
debit, credit, currency, text, reference``. UTF-8 without a byte-order mark, RFC 4180
quoting, ``\\r\\n``; dates ISO (``2026-03-31``); amounts with a point and the currency's
minor units, no thousands separator; the unused side of a line is empty.

This file is read by machines, so no apostrophe is added (the ERP would store it). Instead a
free-text field (``text``, ``reference``) that starts with a formula trigger has those leading
characters removed, and line breaks inside text become spaces (:func:`reports.guard.for_machines`). GL codes (``account``, ``cost_center``) are written exactly as stored, never
rewritten: :func:`billing.close.journal.gl_code_problem` refuses the ones that could not be.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from billing.close.journal import gl_code_problem
from billing.core.records import JournalLine
from billing.core.money import amount_text
from reports.guard import for_machines

__all__ = ["JOURNAL_COLUMNS", "journal_csv"]

JOURNAL_COLUMNS = ("posting_date", "period", "document_number", "line", "account", "cost_center", "debit", "credit",
                   "currency", "text", "reference")


def _code(value: str) -> str:
    """A GL code as stored; one that would need changing is refused (build_journal refuses it first)."""
    reason = gl_code_problem(value)
    if reason:
        raise ValueError(f"GL code {value!r} cannot be written to the journal: {reason}")
    return value


def journal_csv(lines: Iterable[JournalLine]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(JOURNAL_COLUMNS)
    for j in lines:
        writer.writerow((
            j.posting_date.isoformat(), for_machines(j.period), for_machines(j.document_number), str(j.line),
            _code(j.account), _code(j.cost_center),
            amount_text(j.debit, j.currency, grouped=False, strict=True) if j.debit else "", amount_text(j.credit, j.currency, grouped=False, strict=True) if j.credit else "",
            j.currency, for_machines(j.text), for_machines(j.reference),
        ))
    return out.getvalue().encode("utf-8")
