"""FOCUS exports checked and mapped on Spark: ``usage load --engine spark`` of a FOCUS source
(docs/scale-out.md, "What it does").

The rules are billing.feeds.focus's, and nothing else: each Spark partition's records go, in
Arrow batches (``mapInArrow``), through :class:`~billing.feeds.focus.FocusMapping`'s own
``check`` in Spark's Python workers, and the rows of shared sub accounts through its own
``finish``. So the columns found by name in every FOCUS version, NULL and empty values, the
timestamps, the late-charge rule, Tags, business line keys and value maps, tiers, dimension
values, splits, unallocated rows, notes and every check are the local loader's code, and
cannot differ from it. Each row comes back with its mapped values and, pickled, the problems
found in it; record ids repeated within the file, the counts and the daily sums are Spark's
(billing.jobs.usage_spark).

The workers need the engine installed (as the command does): with a local master they run
this Python; on a cluster, the executors' Python must have ``chargeback`` installed.
pyspark and pyarrow are imported by the functions that need them, so the module imports
without them.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from billing.core.problems import Problem
from billing.feeds.context import MappingContext
from billing.feeds.focus import FocusMapping
from billing.feeds.raw import Table
from billing.feeds.rows import ROW_SCHEMA
from billing.feeds.sources import SourceDefinition
from billing.files.dialect import Dialect

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["PROBLEMS", "checked_focus", "finished_focus", "problems_of"]

PROBLEMS = "_problems"
"""The column holding a row's problems, pickled (null: none)."""
_FLAGS = {"row_no": "bigint", "key": "string", "error": "boolean", "excluded": "boolean",
          "quantity_read": "decimal(38,12)", "cost_read": "decimal(38,12)"}
_KEPT = {"SubAccountId": "string", "_split": "bigint"}  # what finish and the duplicate search read besides the rows


def _spark_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return "decimal(38,12)"
    return {pl.Int64: "bigint", pl.Date: "date"}.get(type(dtype), "string")


_ROWS = {name: _spark_type(dtype) for name, dtype in ROW_SCHEMA.items() if name != "row_no"}
CHECKED = {**_FLAGS, **_ROWS, **_KEPT, PROBLEMS: "binary"}
"""The columns :func:`checked_focus` gives, with their Spark types (codes as text)."""
FINISHED = {"row_no": "bigint", **_ROWS}


def _ddl(columns: dict[str, str]) -> str:
    return ", ".join(f"`{name}` {kind}" for name, kind in columns.items())


def _no_rows(batch_rows: int) -> Iterator[Any]:
    return iter(())


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a worker needs to make the file's mapping again (small, pickled to the workers)."""

    file: str
    header: tuple[str, ...]
    header_row: int
    dialect: Dialect | None
    source: SourceDefinition
    ctx: MappingContext

    def mapping(self) -> FocusMapping:
        table = Table(file=self.file, header=self.header, header_row=self.header_row, read=_no_rows,
                      dialect=self.dialect)
        mapping, problems = FocusMapping.prepare(table, self.source, self.ctx)
        if mapping is None:  # the command prepared the same mapping from the same header
            raise RuntimeError(f"{self.file}: the FOCUS mapping could not be prepared again: {problems}")
        return mapping


def _plan(mapping: FocusMapping, header_row: int) -> _Plan:
    return _Plan(file=mapping.file, header=tuple(mapping.header), header_row=header_row, dialect=mapping.dialect,
                 source=mapping.source, ctx=mapping.ctx)


def _arrow_schema(columns: dict[str, str]) -> Any:
    import pyarrow as pa

    types = {"bigint": pa.int64(), "string": pa.string(), "boolean": pa.bool_(), "date": pa.date32(),
             "decimal(38,12)": pa.decimal128(38, 12), "binary": pa.binary()}
    return pa.schema([(name, types[kind]) for name, kind in columns.items()])


def _to_arrow(frame: pl.DataFrame, columns: dict[str, str]) -> Any:
    """``frame``'s ``columns`` as an Arrow batch of exactly the Spark types (codes as text)."""
    schema = _arrow_schema(columns)
    out = frame.select([
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(
            pl.String if kind == "string" else frame.schema[name] if name in frame.columns else pl.Null).alias(name)
        for name, kind in columns.items()])
    return out.to_arrow(compat_level=pl.CompatLevel.oldest()).cast(schema).to_batches()


def checked_focus(raw: DataFrame, mapping: FocusMapping, header_row: int) -> DataFrame:
    """The raw records of one FOCUS file (``row_no``, ``c0`` …, ``extra``, ``fields``, as
    billing.jobs.usage_spark reads them; its header on line ``header_row``), checked and
    mapped by ``mapping``'s own code on each partition: the :data:`CHECKED` columns, one row
    per record."""
    plan = _plan(mapping, header_row)

    def check(batches: Iterator[Any]) -> Iterator[Any]:
        local = plan.mapping()
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            if frame.height == 0:
                continue
            checked = local.check(frame)
            found: dict[int, list[Problem]] = {}
            for problem in checked.problems:  # in row order, then check order (billing.feeds.values.run_checks)
                found.setdefault(problem.source.row or 0, []).append(problem)
            pickled = pl.DataFrame({"row_no": pl.Series(list(found), dtype=pl.Int64),
                                    PROBLEMS: pl.Series([pickle.dumps(p) for p in found.values()], dtype=pl.Binary)})
            out = checked.frame.join(pickled, on="row_no", how="left", maintain_order="left")
            yield from _to_arrow(out, CHECKED)

    return raw.mapInArrow(check, _ddl(CHECKED))


def finished_focus(good: DataFrame, mapping: FocusMapping, header_row: int) -> DataFrame:
    """The good rows of :func:`checked_focus` with the rows of shared sub accounts split into
    one row per business line, by ``mapping``'s own ``finish``: the :data:`FINISHED` columns."""
    plan = _plan(mapping, header_row)

    def finish(batches: Iterator[Any]) -> Iterator[Any]:
        local = plan.mapping()
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            if frame.height:
                yield from _to_arrow(local.finish(frame), FINISHED)

    return good.mapInArrow(finish, _ddl(FINISHED))



def problems_of(pickled: bytes) -> list[Problem]:
    """The problems :func:`checked_focus` found in one row."""
    found = pickle.loads(pickled)  # written by checked_focus in this command's own job
    assert isinstance(found, list)
    return found
