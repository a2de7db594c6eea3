"""What keeping a feed's record-id sample costs a load (billing.feeds.overlap.IdSample).

A load adds every stored batch's record ids to the sample on its storing thread (beside the
Parquet encoding and the daily sums), and looks each batch up in the samples of other sources'
feeds. This prints both for a 10M-row feed in 250,000-row batches, the load's batch size.

    .venv/bin/python bench/overlap.py
"""

from __future__ import annotations

import time

import polars as pl

from billing.feeds.overlap import SAMPLE_SIZE, IdSample

ROWS, BATCH = 10_000_000, 250_000


def main() -> None:
    batch = pl.Series([f"REC-{i:011d}" for i in range(BATCH)])
    others = pl.Series([f"OTHER-{i}" for i in range(3 * SAMPLE_SIZE)])  # three other feeds' samples
    sample = IdSample()
    added = looked_up = 0.0
    for n in range(ROWS // BATCH):
        ids = batch.str.replace("REC-", f"R{n:03d}-", literal=True)
        start = time.perf_counter()
        sample.add(ids)
        added += time.perf_counter() - start
        start = time.perf_counter()
        ids.filter(ids.is_in(others.implode())).len()  # as billing.jobs.usage.OtherSources does
        looked_up += time.perf_counter() - start
    print(f"{ROWS:,} record ids in {ROWS // BATCH} batches: sample kept in {added:.2f} s (storing thread), "
          f"looked up in 3 other samples in {looked_up:.2f} s")


if __name__ == "__main__":
    main()
