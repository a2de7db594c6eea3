"""Finding repeated record ids in one file, batch by batch, in time proportional to the file.

A record id is loaded once: its first row wins. A later row with the same id and the same
content (the values it is charged by, billing.feeds.rows.CONTENT) is a duplicate; one with
other content is a conflict, reported with both rows and the fields that differ. A row with an error claims no
id: it is rejected for its own reason, and a later good row of the same id is the first.
:class:`FirstSeen` remembers every id met so far as a 64-bit hash and the row that first had
it, in :class:`HashRows` (about 20 bytes an id). A hash met again is only a candidate: it is
confirmed by comparing the ids themselves (within a batch directly, against an earlier batch
by reading that row again through ``recall``, which also gives its content), so two ids that
happen to share a hash are never taken for one another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from billing.feeds.resent import WAS, changes
from billing.core.problems import Ask, Asked, Problem, ProblemCode, SourceRef, describe_changes, excerpt

__all__ = ["FirstSeen", "HashRows", "id_hashes", "repeat_problems"]

_HASH_SEED = 0x5EED_F00D  # fixed: hashes are compared across batches, files and loads


def id_hashes(ids: pl.Series) -> np.ndarray:
    """The 64-bit hashes of record ids (as :class:`FirstSeen` hashes them), as NumPy."""
    return ids.hash(_HASH_SEED).to_numpy()


class HashRows:
    """A multimap from 64-bit hashes to row numbers, for hashes that are almost all distinct.

    The pairs are kept as sorted runs (one per batch, merged when there are many), and a
    bitmap of about 32 bits per hash answers "certainly not here" for all but about 3% of
    the hashes looked up, so a look-up costs one pass over the batch plus a binary search of
    the few that pass the bitmap.
    """

    MAX_RUNS = 64

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._bits = np.zeros(1 << 17, dtype=np.uint8)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        hashes = np.asarray(hashes, dtype=np.uint64)
        if not len(hashes):
            return
        order = np.argsort(hashes)  # equal hashes may come in any order: look-ups return them all
        run = (hashes[order], np.asarray(rows, dtype=np.int64)[order])
        self._runs.append(run)
        self.size += len(hashes)
        if self.size * 32 > len(self._bits) * 8:
            self._resize()
        else:
            self._set(run[0])
        if len(self._runs) > self.MAX_RUNS:
            merged = (np.concatenate([h for h, _ in self._runs]), np.concatenate([r for _, r in self._runs]))
            order = np.argsort(merged[0])
            self._runs = [(merged[0][order], merged[1][order])]

    def rows_of(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (position in ``hashes``, row) pair whose hash is stored."""
        hashes = np.asarray(hashes, dtype=np.uint64)
        maybe = np.flatnonzero(self._test(hashes))
        maybe = maybe[np.argsort(hashes[maybe])]  # sorted needles search faster
        needles = hashes[maybe]
        positions: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        for run_hashes, run_rows in self._runs:
            left = np.searchsorted(run_hashes, needles, side="left")
            hit = run_hashes[np.minimum(left, len(run_hashes) - 1)] == needles
            if not hit.any():
                continue
            left = left[hit]  # a hash may repeat in a run: take every pair
            counts = np.searchsorted(run_hashes, needles[hit], side="right") - left
            positions.append(np.repeat(maybe[hit], counts))
            starts = np.repeat(left - np.cumsum(counts) + counts, counts)
            rows.append(run_rows[starts + np.arange(counts.sum())])
        if not positions:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(positions), np.concatenate(rows)

    def _slots(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = (len(self._bits) * 8).bit_length() - 1
        slot = hashes >> np.uint64(64 - width)
        return (slot >> np.uint64(3)).astype(np.int64), (slot & np.uint64(7)).astype(np.uint8)

    def _test(self, hashes: np.ndarray) -> np.ndarray:
        byte, bit = self._slots(hashes)
        return ((self._bits[byte] >> bit) & 1).astype(bool)

    def _set(self, hashes: np.ndarray) -> None:
        """Set the bits of ``hashes``, which are sorted (so their bytes are too)."""
        if not len(hashes):
            return
        byte, bit = self._slots(hashes)
        starts = np.flatnonzero(np.concatenate(([True], byte[1:] != byte[:-1])))
        self._bits[byte[starts]] |= np.bitwise_or.reduceat(np.left_shift(np.uint8(1), bit), starts)

    def _resize(self) -> None:
        size = len(self._bits)
        while self.size * 32 > size * 8:
            size *= 2
        self._bits = np.zeros(size, dtype=np.uint8)
        for run_hashes, _ in self._runs:
            self._set(run_hashes)


class FirstSeen:
    """Record ids met so far in one file: the first occurrence wins; a later one is a duplicate,
    or a conflict when its ``content`` columns differ.

    ``recall`` reads earlier rows again (row numbers -> a frame of their ``row_no``, ``key``,
    ``error`` and ``content``); it is called only for rows whose hash comes back, which in a
    file without repeated ids is almost never.
    """

    def __init__(self, *, file: str, column: str | None, recall: Callable[[set[int]], pl.DataFrame],
                 content: Sequence[str] = (), hash_of: Callable[[pl.Expr], pl.Expr] | None = None):
        self.file = file
        self.column = column
        self.recall = recall
        self.content = tuple(content)
        self.hash_of = hash_of or (lambda key: key.hash(_HASH_SEED))
        self.index = HashRows()

    def ids(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The part of the work that needs no earlier batch (safe on any thread): ``row_no``,
        ``key`` (null for a row with an error: it claims no id), its hash ``_h``, ``_first``
        (the first row of the key within ``frame``) and the content columns."""
        ids = frame.select("row_no", _claimed(frame), *self.content)
        key = pl.col("key")
        ids = ids.with_columns(pl.when(key.is_not_null()).then(self.hash_of(key)).alias("_h"))
        return ids.with_columns(_first_in_batch(ids))

    def check(self, ids: pl.DataFrame) -> tuple[pl.Series, pl.Series, list[Problem]]:
        """For the batch that :meth:`ids` prepared: which rows are duplicates and which are
        conflicts (their first row has other content), and their problems. Batches must come
        in file order."""
        key = pl.col("key")
        earlier, recalled = self._earlier(ids)
        ids = ids.with_columns(earlier)
        ids = ids.with_columns(pl.coalesce("_earlier", "_first").alias("_original"))
        repeated = ids.select((key.is_not_null() & (pl.col("_original") < pl.col("row_no"))).alias("r")).to_series()
        self._remember(ids.filter(key.is_not_null() & pl.col("_earlier").is_null() & (pl.col("_first") == pl.col("row_no"))))
        if not repeated.any():
            return repeated.alias("duplicate"), repeated.alias("conflict"), []
        again = ids.filter(repeated)
        originals = ids.select("row_no", *self.content)
        if recalled is not None:
            originals = pl.concat([originals, recalled.select("row_no", *self.content)]).unique("row_no")
        was = originals.rename({"row_no": "_original", **{c: c + WAS for c in self.content}})
        compared = again.join(was, on="_original", how="left", maintain_order="left")
        problems, conflicted = repeat_problems(compared, file=self.file, column=self.column, content=self.content)
        conflict = ids.select(pl.col("row_no").is_in(pl.Series(conflicted, dtype=pl.Int64).implode())).to_series()
        return (repeated & ~conflict).alias("duplicate"), conflict.alias("conflict"), problems

    def _earlier(self, ids: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame | None]:
        """First row of each id in earlier batches (null if none), hash hits confirmed by the id;
        and the earlier rows read again (None when none were)."""
        earlier = pl.repeat(None, ids.height, dtype=pl.Int64, eager=True).alias("_earlier")
        if not len(self.index):
            return earlier, None
        known = ids.with_row_index("_at").filter(pl.col("_h").is_not_null())
        at, rows = self.index.rows_of(known.get_column("_h").to_numpy())
        if not len(at):
            return earlier, None
        recalled = self.recall(set(rows.tolist()))
        recalled = recalled.select("row_no", _claimed(recalled), *self.content)
        ids_of = dict(recalled.select("row_no", "key").iter_rows())
        keys = known.get_column("key")
        positions = known.get_column("_at")
        matched: dict[int, int] = {}
        for i, row in zip(at.tolist(), rows.tolist()):
            if ids_of.get(row) == keys[i]:
                position = positions[i]
                matched[position] = min(row, matched.get(position, row))
        if not matched:
            return earlier, recalled
        return earlier.scatter(list(matched), list(matched.values())), recalled

    def _remember(self, first: pl.DataFrame) -> None:
        """Store the rows that are the first of their id, so far."""
        if first.height:
            self.index.add(first.get_column("_h").to_numpy(), first.get_column("row_no").to_numpy())


def _claimed(frame: pl.DataFrame) -> pl.Expr:
    """The record id a row claims: none when it has an error."""
    if "error" in frame.columns:
        return pl.when(~pl.col("error")).then(pl.col("key")).alias("key")
    return pl.col("key")


def _first_in_batch(ids: pl.DataFrame) -> pl.Series:
    """First row of each row's id within the batch (rows come in file order): a row is its own
    first unless its hash came earlier in the batch; those few are settled by the ids."""
    repeated = ids.select(pl.col("_h").is_not_null() & ~pl.col("_h").is_first_distinct()).to_series()
    first = ids.get_column("row_no").alias("_first")
    if not repeated.any():
        return first
    hashes = ids.filter(repeated).get_column("_h").unique().implode()
    shared = ids.with_row_index("_at").filter(pl.col("_h").is_in(hashes))
    exact = shared.select("_at", pl.col("row_no").min().over("key").alias("_first"))
    return first.scatter(exact.get_column("_at"), exact.get_column("_first"))


def repeat_problems(compared: pl.DataFrame, *, file: str, column: str | None,
                    content: Sequence[str]) -> tuple[list[Problem], list[int]]:
    """The problems of rows whose record id came on an earlier row of the file: ``compared``
    holds each such row's ``row_no``, ``key``, ``_original`` (the earlier row) and ``content``
    beside the earlier row's (suffixed ``_was``). Same content: a duplicate; other content: a
    conflict, whose rows come back too."""
    problems: list[Problem] = []
    conflicted: list[int] = []
    for (row_no, record, original), fields in zip(compared.select("row_no", "key", "_original").iter_rows(),
                                                  changes(compared, content)):
        source = SourceRef(file=file, row=row_no, column=column)
        if not fields:
            problems.append(Problem(
                code=ProblemCode.DUPLICATE, source=source,
                message=f"record id {excerpt(record)!r} already appears on row {original}; this row is not loaded",
                hint="a record is loaded once; remove the repeated row or give it its own id"))
            continue
        conflicted.append(row_no)
        problems.append(Problem(
            code=ProblemCode.CONFLICT, source=source,
            message=f"record id {excerpt(record)!r} is also on row {original} with other values "
                    f"({describe_changes(fields)}); row {original} is loaded, this row is not",
            hint="a record is sent once: correct the export; a feed already loaded is corrected by loading "
                 "its corrected file as a replacement of the feed", asks_for=(Asked(Ask.REPLACE),)))
    return problems, conflicted
