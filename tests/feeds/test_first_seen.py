"""Repeated record ids are found exactly, batch by batch, even when ids share a hash."""

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.feeds.first_seen import FirstSeen, HashRows

hashes = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(hashes, max_size=300), max_size=70), st.lists(hashes, max_size=50))
def test_hash_rows_answer_like_a_multimap(batches, probes):
    stored, expected = HashRows(), {}
    for number, batch in enumerate(batches):
        rows = np.arange(len(batch)) + 1000 * number
        stored.add(np.array(batch, dtype=np.uint64), rows)
        for h, row in zip(batch, rows.tolist()):
            expected.setdefault(h, []).append(row)
        asked = [*expected, *probes]
        at, found = stored.rows_of(np.array(asked, dtype=np.uint64))
        pairs = sorted(zip(at.tolist(), found.tolist()))
        assert pairs == sorted((i, row) for i, h in enumerate(asked) for row in expected.get(h, ()))
    assert len(stored) == sum(len(rows) for rows in expected.values())


def test_many_hashes_grow_the_bitmap_and_are_all_found():
    stored = HashRows()
    values = np.arange(1, 300_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for start in range(0, len(values), 7_000):
        chunk = values[start:start + 7_000]
        stored.add(chunk, np.arange(start, start + len(chunk)))
    at, rows = stored.rows_of(values)
    assert (at == rows).all() and sorted(at.tolist()) == list(range(300_000))
    assert len(stored.rows_of(values + np.uint64(1))[0]) == 0


def _seen(frames: list[list[tuple[int, str | None]]], hash_of=None):
    """Feed ``frames`` (batches of (row, id)) through FirstSeen; duplicates as (row, original)."""
    rows = {row: key for frame in frames for row, key in frame}
    recalled: list[set[int]] = []

    def recall(wanted: set[int]) -> pl.DataFrame:
        recalled.append(wanted)
        return pl.DataFrame({"row_no": sorted(wanted), "key": [rows[row] for row in sorted(wanted)]},
                            schema={"row_no": pl.Int64, "key": pl.String})

    seen = FirstSeen(file="f.csv", column="record_id", recall=recall, hash_of=hash_of)
    found = []
    for frame in frames:
        batch = pl.DataFrame({"row_no": [r for r, _ in frame], "key": [k for _, k in frame]},
                             schema={"row_no": pl.Int64, "key": pl.String})
        duplicate, conflict, problems = seen.check(seen.ids(batch))
        assert duplicate.sum() == len(problems) and not conflict.any()
        found += [(p.source.row, int(p.message.split(" on row ")[1].split(";")[0])) for p in problems]
    return found, recalled


def test_duplicates_within_and_across_batches_name_the_first_row():
    found, recalled = _seen([
        [(2, "a"), (3, "b"), (4, "a"), (5, None)],
        [(6, "b"), (7, "c"), (8, None), (9, "c")],
        [(10, "a"), (11, "d")],
    ])
    assert found == [(4, 2), (6, 3), (9, 7), (10, 2)]
    assert recalled == [{3}, {2}]  # only rows whose hash came back are read again


def test_ids_sharing_a_hash_are_never_taken_for_one_another():
    def by_length(key):  # "ab", "cd" and "ef" collide
        return key.str.len_bytes().cast(pl.UInt64)

    found, _ = _seen([
        [(2, "ab"), (3, "cd"), (4, "x")],
        [(5, "ef"), (6, "cd"), (7, "y"), (8, "ab")],
        [(9, "ef"), (10, "gh"), (11, "z"), (12, "gh")],
    ], hash_of=by_length)
    assert found == [(6, 3), (8, 2), (9, 5), (12, 10)]
