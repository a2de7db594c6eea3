"""The shape of mapped usage rows, shared by every feed format."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from billing.feeds.context import UNALLOCATED, MappingContext
from billing.feeds.values import DECIMAL
from billing.core.problems import Problem

__all__ = ["ROW_SCHEMA", "CONTENT", "Checked", "code_types", "row_schema", "empty_rows", "select_rows"]

ROW_SCHEMA: dict[str, pl.DataType] = {
    "row_no": pl.Int64(),  # physical row of the record in the file (header = 1)
    "record_id": pl.String(),  # the source's id; '#<business line>' appended to split parts
    "usage_date": pl.Date(),
    "cost_center": pl.String(),
    "business_line": pl.String(),
    "service": pl.String(),
    "tier": pl.String(),  # null: the subscription's tier applies
    "unit": pl.String(),
    "quantity": DECIMAL,
    "cost": DECIMAL,  # source cost, for pass-through tariffs; null when the feed has none
    "description": pl.String(),
    "note": pl.String(),
    "invoice_id": pl.String(),  # the provider's invoice (FOCUS InvoiceId); null when the feed has none
    "attributes": pl.String(),  # the record's custom (FOCUS x_) columns as a JSON object of their text; null if none
    "dimension_value": pl.String(),  # the value of its service's price dimension (region); null: none, or no dimension
}
"""Columns of :attr:`billing.feeds.read.UsageBatch.rows`, in order, with the code columns as
text; a batch holds them as Enums of the codes its context knows (:func:`row_schema`)."""

CONTENT = ("usage_date", "cost_center", "business_line", "service", "tier", "unit", "quantity", "cost",
           "dimension_value")
"""The values a record is charged by: a record sent again with the same ones is a duplicate,
with other ones a conflict. Its description and note are not among them (a retyped
description does not make another record)."""


def code_types(ctx: MappingContext) -> dict[str, pl.Enum]:
    """The code columns as Enums of the codes ``ctx`` knows, each in sorted order.

    Codes stay small integers from validation to storage: daily sums group on them and
    Parquet stores them once per part.
    """
    services = ctx.catalogue.services
    return {
        "cost_center": pl.Enum(sorted({o.cost_center for o in ctx.cost_centers})),
        "business_line": pl.Enum(sorted(ctx.business_lines | {UNALLOCATED})),
        "service": pl.Enum(sorted(s.code for s in services)),
        "tier": pl.Enum(sorted({t.code for s in services for t in s.tiers})),
        "unit": pl.Enum(sorted({u.code for u in ctx.catalogue.units} | {s.unit for s in services})),
    }


def row_schema(ctx: MappingContext) -> dict[str, pl.DataType]:
    """:data:`ROW_SCHEMA` with the code columns as :func:`code_types`."""
    return ROW_SCHEMA | code_types(ctx)


@dataclass(frozen=True, slots=True)
class Checked:
    """One batch after validation, one row per input record.

    ``frame`` holds ``row_no``, ``key`` (the record id duplicates are judged on; null when
    the row has none), ``error`` (an ERROR problem was found), ``excluded`` (left out by a
    source rule), ``quantity_read`` and ``cost_read`` (the parseable values, for control
    totals) and the :data:`ROW_SCHEMA` columns, valid where ``error`` is false.
    """

    frame: pl.DataFrame
    problems: list[Problem]


def empty_rows(schema: dict[str, pl.DataType] = ROW_SCHEMA) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def select_rows(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The ``schema`` columns of ``frame`` (a :func:`row_schema`), cast to their dtypes, in order;
    a column ``frame`` lacks (a feed without invoices or custom columns, a part stored before
    the column existed) is null."""
    return frame.select([
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name) for name, dtype in schema.items()
    ])
