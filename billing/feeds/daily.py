"""Daily sums of usage rows, built as the batches of a feed arrive.

Rating reads a month as quantity, cost and row count per day, business line, cost centre,
service, tier and dimension value (billing.rating.month.DAILY_SCHEMA); a load stores those
sums beside the rows. A row of a service without a price dimension has no value (null), so
its sums are keyed as they were before dimensions existed.
:class:`DailySums` keeps them in bounded memory over a feed of any length.

The five keys of a row are packed into one 64-bit integer: the day, then the index of each
code in its Enum (billing.feeds.rows.code_types), with one more value for "none". Summing
is then one integer group-by, several times cheaper than grouping on five columns of text.
Rows wait unsummed until about ``fold_rows`` of them are held, then fold into the running
sums. Key columns that are not Enums, or Enums too large to pack, are grouped as they are.
The dimension value is open text (a feed may send a value no tariff lists yet): it is grouped
beside the packed key, as text, only in batches that have one.
"""

from __future__ import annotations

import polars as pl

__all__ = ["DAILY_KEYS", "SUM_KEYS", "DailySums", "daily_sums"]

DAILY_KEYS = ("usage_date", "business_line", "cost_center", "service", "tier")
"""The keys packed into one integer."""
_VALUE = "dimension_value"
SUM_KEYS = (*DAILY_KEYS, _VALUE)
"""What a daily sum is per: :data:`DAILY_KEYS` and the dimension value."""
_CODES = DAILY_KEYS[1:]
_DAY_OFFSET = 1 << 20  # days before 1970-01-01 that still pack (about 2,870 years)
_PACKED_LIMIT = 1 << 62
_FOLD_ROWS = 2_000_000


def daily_sums(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (a usage row frame) summed per :data:`SUM_KEYS`: quantity, cost (none counts
    as zero) and the number of rows."""
    sums = DailySums()
    sums.add(rows)
    return sums.total()


class DailySums:
    """The running daily sums of the row frames given to :meth:`add`, in bounded memory:
    about ``fold_rows`` rows waiting plus one row per distinct key seen."""

    def __init__(self, *, fold_rows: int = _FOLD_ROWS) -> None:
        self.fold_rows = fold_rows
        self.parts: list[pl.DataFrame] = []
        self.held = 0  # rows in ``parts``
        self.codes: dict[str, list[str]] | None = None  # Enum categories by key, when packed
        self.columns: dict[str, pl.DataType] = {}

    def add(self, rows: pl.DataFrame) -> None:
        if rows.height == 0:
            return
        if not self.columns:
            self.columns = {name: rows.schema[name] for name in _CODES}
            self.codes = _packable(self.columns)
        elif any(rows.schema[name] != dtype for name, dtype in self.columns.items()):
            raise ValueError("daily sums: a batch's code columns differ in type from the first batch's")
        keys = [self._key()] if self.codes is not None else list(DAILY_KEYS)
        value = (pl.col(_VALUE) if _VALUE in rows.columns and rows.get_column(_VALUE).null_count() < rows.height
                 else pl.lit(None, dtype=pl.String).alias(_VALUE))
        self.parts.append(rows.select(
            *keys, value, pl.col("quantity"), pl.col("cost").fill_null(0), pl.lit(1, dtype=pl.Int64).alias("rows")))
        self.held += rows.height
        if self.held >= self.fold_rows:
            self.parts = [self._summed()]
            self.held = self.parts[0].height

    def total(self) -> pl.DataFrame:
        """The sums so far, one row per distinct key, with the code columns as text."""
        if not self.parts:
            return pl.DataFrame(schema={"usage_date": pl.Date, **{name: pl.String for name in _CODES},
                                        _VALUE: pl.String, "quantity": pl.Decimal(38, 12),
                                        "cost": pl.Decimal(38, 12), "rows": pl.Int64})
        summed = self._summed()
        if self.codes is None:
            return summed.with_columns(pl.col(name).cast(pl.String) for name in _CODES).select(
                *DAILY_KEYS, _VALUE, "quantity", "cost", "rows")
        return self._unpacked(summed)

    # --- packing --------------------------------------------------------------------------------

    def _key(self) -> pl.Expr:
        key = pl.col("usage_date").cast(pl.Int64) + _DAY_OFFSET
        for name, categories in self.codes.items():
            none = len(categories)
            key = key * (none + 1) + pl.col(name).to_physical().cast(pl.Int64).fill_null(none)
        return key.alias("key")

    def _summed(self) -> pl.DataFrame:
        keys = ["key"] if self.codes is not None else list(DAILY_KEYS)
        frame = pl.concat(self.parts, rechunk=True) if len(self.parts) > 1 else self.parts[0]
        if frame.get_column(_VALUE).null_count() < frame.height:
            keys.append(_VALUE)
            return frame.group_by(keys).agg(pl.col("quantity").sum(), pl.col("cost").sum(), pl.col("rows").sum())
        return frame.group_by(keys).agg(pl.col("quantity").sum(), pl.col("cost").sum(), pl.col("rows").sum()).select(
            *keys, pl.lit(None, dtype=pl.String).alias(_VALUE), "quantity", "cost", "rows")

    def _unpacked(self, summed: pl.DataFrame) -> pl.DataFrame:
        rest = summed.get_column("key")
        columns: dict[str, pl.Series] = {}
        for name, categories in reversed(self.codes.items()):
            radix = len(categories) + 1
            texts = pl.Series([*categories, None], dtype=pl.String)
            columns[name] = texts.gather(rest % radix).alias(name)
            rest = rest // radix
        day = (rest - _DAY_OFFSET).cast(pl.Int32).cast(pl.Date).alias("usage_date")
        return pl.DataFrame([day, *(columns[name] for name in _CODES)]).with_columns(
            summed.get_column(_VALUE), summed.get_column("quantity"), summed.get_column("cost"),
            summed.get_column("rows"))


def _packable(columns: dict[str, pl.DataType]) -> dict[str, list[str]] | None:
    """The Enum categories of each code column, when every one is an Enum and the day and
    their indexes fit one 64-bit integer; else None."""
    if not all(isinstance(dtype, pl.Enum) for dtype in columns.values()):
        return None
    codes = {name: dtype.categories.to_list() for name, dtype in columns.items()}
    span = 2 * _DAY_OFFSET
    for categories in codes.values():
        span *= len(categories) + 1
    return codes if span < _PACKED_LIMIT else None
