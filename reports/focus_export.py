"""The month's bill as a FOCUS 1.2 file: CSV or Parquet bytes from ``billing.close.focus_bill`` rows.

CSV: UTF-8 without a byte-order mark (FOCUS readers take the first header as ``BilledCost``,
not ``\\ufeffBilledCost``), RFC 4180 quoting, ``\\r\\n``; a null is an empty field; amounts
with the currency's minor units, quantities exactly, no exponent, always with a point; date/times as
``YYYY-MM-DDTHH:MM:SSZ``; ``Tags`` as a JSON object.

Values are written as issued, without the leading ``'`` the CSV files for people get: this is
a machine-readable dataset, FOCUS requires strings to keep their exact value, and FinOps
tools, databases and the validator would keep the apostrophe as part of a business line's or
service's name. Opening it in a spreadsheet is not its purpose (use ``--format csv`` or
``xlsx`` for that); docs/month-end.md says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from decimal import Decimal

from billing.close.focus_bill import COLUMNS, FocusRow
from billing.core.money import minor_units, plain
from billing.core.money import amount_text

__all__ = ["focus_csv", "focus_parquet", "HEADER", "MONEY_COLUMNS"]

HEADER = tuple(column for column, _ in COLUMNS)
MONEY_COLUMNS = frozenset({"BilledCost", "ContractedCost", "EffectiveCost", "ListCost"})
_QUANTITY_COLUMNS = frozenset({"PricingQuantity"})
_DATETIME_COLUMNS = frozenset({"BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"})


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tags(tags: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(dict(tags), ensure_ascii=True, separators=(",", ":"))


def _decimal(text: str) -> str:
    """A Decimal column's value always has a point (``200.0``, ``1500.0`` for yen): readers
    that guess a column's type from the text (the validator among them) take a column of
    whole numbers for Integer, which FOCUS's Decimal columns must not be."""
    return text if "." in text else text + ".0"


def _cell(column: str, value: object, currency: str) -> str:
    if value is None:
        return ""
    if column in MONEY_COLUMNS:
        return _decimal(amount_text(value, currency, grouped=False, strict=True))
    if isinstance(value, Decimal):
        return _decimal(plain(value))
    if isinstance(value, dt.datetime):
        return _timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if column == "Tags":
        return _tags(value)
    return str(value)


def focus_csv(rows: Sequence[FocusRow]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow([_cell(column, getattr(row, name), row.billing_currency) for column, name in COLUMNS])
    return out.getvalue().encode("utf-8")


def focus_parquet(rows: Sequence[FocusRow]) -> bytes:
    """The same rows as Parquet: decimals as DECIMAL(38, s), date/times as UTC timestamps,
    ``Tags`` as JSON text, nulls as nulls."""
    import polars as pl

    scale = max((minor_units(r.billing_currency) for r in rows), default=2)
    quantity_scale = max((_scale(getattr(r, name)) for r in rows for column, name in COLUMNS
                          if column in _QUANTITY_COLUMNS), default=0)
    data: dict[str, pl.Series] = {}
    for column, name in COLUMNS:
        values = [getattr(r, name) for r in rows]
        if column in MONEY_COLUMNS:
            series = pl.Series(column, values, dtype=pl.Decimal(38, scale))
        elif column in _QUANTITY_COLUMNS:
            series = pl.Series(column, values, dtype=pl.Decimal(38, quantity_scale))
        elif column in _DATETIME_COLUMNS:
            series = pl.Series(column, values, dtype=pl.Datetime("us", "UTC"))
        elif column == "Tags":
            series = pl.Series(column, [_tags(v) for v in values], dtype=pl.String)
        elif column == "x_IssueDate":
            series = pl.Series(column, values, dtype=pl.Date)
        elif column in ("x_InvoiceLineNumber", "x_CorrectedInvoiceLineNumber"):
            series = pl.Series(column, values, dtype=pl.Int64)
        else:
            series = pl.Series(column, values, dtype=pl.String)
        data[column] = series
    out = io.BytesIO()
    pl.DataFrame(data).write_parquet(out)
    return out.getvalue()


def _scale(value: Decimal | None) -> int:
    if value is None:
        return 0
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
