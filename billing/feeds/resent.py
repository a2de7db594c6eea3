"""Records sent again: a duplicate (the same record id with the same content) is skipped; a
conflict (the same record id with other content) is quarantined, with both places and the
fields that differ, since loading either version silently would be a guess.

Used within a file (billing.feeds.first_seen) and against the feeds loaded before
(billing.jobs.usage, with billing.store.usage.LoadedIds). Pure: frames in, frames and
problems out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from billing.core.problems import Ask, Asked, Problem, ProblemCode, SourceRef, describe_changes, excerpt, path_excerpt

__all__ = ["WAS", "changes", "Resent", "against_earlier"]

WAS = "_was"
"""Suffix of the columns that hold the values a record had when it was first sent."""


def changes(frame: pl.DataFrame, columns: Sequence[str]) -> list[list[tuple[str, object, object]]]:
    """For each row of ``frame`` (which has ``columns`` and the same suffixed :data:`WAS`): the
    fields that differ, as (column, value now, value before); nulls are equal to nulls."""
    differs = [c for c in columns if frame.select(pl.col(c).ne_missing(pl.col(c + WAS)).any()).item()]
    if not differs:
        return [[] for _ in range(frame.height)]
    flags = frame.select([pl.col(c).ne_missing(pl.col(c + WAS)).alias(c) for c in differs]).iter_rows()
    values = frame.select(*differs, *[c + WAS for c in differs]).iter_rows()
    n = len(differs)
    return [[(c, v[i], v[n + i]) for i, (c, f) in enumerate(zip(differs, flag)) if f] for flag, v in zip(flags, values)]


@dataclass(frozen=True, slots=True)
class Resent:
    """A batch's rows without those an earlier feed loaded: ``duplicates`` and ``conflicts``
    count records (a split record's parts are one record), ``problems`` are the conflicts'."""

    rows: pl.DataFrame
    duplicates: int
    conflicts: int
    problems: list[Problem]


def against_earlier(rows: pl.DataFrame, earlier: pl.DataFrame, columns: Sequence[str], *, file: str,
                    id_column: str | None) -> Resent:
    """Sort out the ``rows`` of a batch (billing.feeds.rows, codes as Enums) that ``earlier``
    (billing.store.usage.LoadedIds.earlier) says were loaded before.

    A record all of whose parts were loaded before with the same values is a duplicate; one
    with any part loaded before with other values, or only some of its parts loaded before (a
    split that changed), is a conflict. Either way none of its parts are kept.
    """
    if not earlier.height:
        return Resent(rows, 0, 0, [])
    text = rows.with_row_index("at").with_columns(pl.col("at").cast(pl.Int64)).select(
        "at", "row_no", "record_id", *[pl.col(c).cast(earlier.schema[c + WAS]) for c in columns])
    matched = text.join(earlier, on="at", how="inner")
    found = changes(matched, columns)
    parts = text.group_by("row_no").agg(pl.len().alias("parts"))
    seen = matched.with_columns(pl.Series("differs", [bool(f) for f in found])).group_by("row_no").agg(
        pl.len().alias("known"), pl.col("differs").any())
    records = parts.join(seen, on="row_no")
    duplicate = records.filter((pl.col("known") == pl.col("parts")) & ~pl.col("differs")).get_column("row_no")
    conflict = records.filter((pl.col("known") < pl.col("parts")) | pl.col("differs")).get_column("row_no")
    problems = []
    split_changed = set(records.filter(pl.col("known") < pl.col("parts")).get_column("row_no").to_list())
    reported: set[int] = set()
    for row, fields in zip(matched.select("row_no", "record_id", "feed", "file", "row_no_was").iter_rows(), found):
        row_no, record_id, feed, earlier_file, earlier_row = row
        if row_no in reported or not (fields or row_no in split_changed):
            continue
        reported.add(row_no)
        what = describe_changes(fields) if fields else "its split over business lines differs"
        problems.append(Problem(
            code=ProblemCode.CONFLICT, source=SourceRef(file=file, row=row_no, column=id_column),
            message=f"record id {excerpt(record_id)!r} was loaded by feed {feed} ({path_excerpt(earlier_file)}, row "
                    f"{earlier_row}) with other values ({what}); this row is not loaded",
            hint=f"a record is loaded once: to correct feed {feed}, load its corrected complete file as a "
                 f"replacement of the feed, which takes feed {feed}'s place", asks_for=(Asked(Ask.REPLACE),)))
    skipped = pl.concat([duplicate, conflict]).implode()
    return Resent(rows.filter(~pl.col("row_no").is_in(skipped)), duplicate.len(), conflict.len(), problems)
