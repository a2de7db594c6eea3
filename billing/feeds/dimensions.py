"""The value of a row's price dimension (region, storage class), read where the source says.

A service of the catalogue may name a dimension its prices depend on (``dimension: region``,
docs/pricing.md, "Price dimensions"). A feed carries each row's value in a column (our
format: the column named as the dimension, unless the source definition's ``dimensions:``
names another; FOCUS: the column or the Tags key the source definition names). A row of a
service that names no dimension carries none, whatever the file holds, so its daily sums are
keyed as before. The value is kept as written, spaces around it dropped; tariffs match it
whatever its case. Vectorised: one expression for every row of a batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from billing.feeds.rules import too_long_rules
from billing.feeds.values import Check, cleaned, compiled

__all__ = ["VALUE", "dimension_value", "too_long_checks"]

VALUE = "dimension_value"
"""The row column (billing.feeds.rows.ROW_SCHEMA) holding the value."""


def dimension_value(service: str, values: Mapping[str, pl.Expr], dimension_of: Mapping[str, str]) -> pl.Expr:
    """Each row's value: ``values[d]`` (a text expression) for the rows whose service (column
    ``service``, a code) has dimension ``d`` (``dimension_of``: service code → dimension);
    null for other rows, and where the text is empty."""
    result: pl.Expr = pl.lit(None, dtype=pl.String)
    for dimension, text in values.items():
        services = _services_of(dimension, dimension_of)
        if services:
            result = pl.when(pl.col(service).cast(pl.String).is_in(services)).then(cleaned(text)).otherwise(result)
    return result.alias(VALUE)


def too_long_checks(service: str, columns: Mapping[str, str | None], dimension_of: Mapping[str, str]) -> list[Check]:
    """A value longer than the store keeps is refused, not cut (a cut value would be priced as
    another), at the column it was read from (``columns``: dimension → the file's column):
    billing.feeds.rules.too_long_rules."""
    return [compiled(rule) for rule in too_long_rules(service, columns, dimension_of, VALUE)]


def _services_of(dimension: str, dimension_of: Mapping[str, str]) -> list[str]:
    return sorted(code for code, named in dimension_of.items() if named.lower() == dimension.lower())
