"""The shape of mapped usage rows, shared by every feed format."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from billing.feeds.values import DECIMAL
from billing.problems import Problem

__all__ = ["ROW_SCHEMA", "Checked", "empty_rows", "select_rows"]

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
}
"""Columns and dtypes of :attr:`billing.feeds.read.UsageBatch.rows`, in order."""


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


def empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema=ROW_SCHEMA)


def select_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The :data:`ROW_SCHEMA` columns of ``frame``, cast to their dtypes, in order."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in ROW_SCHEMA.items()])
