"""Finding records that a feed of another source already loaded (issue 12, defect 6).

Record identity is per source, so the same file loaded under two source names (a mistyped
``--source``) would be charged twice. Each feed keeps a sample of the record ids it stored:
the :data:`SAMPLE_SIZE` ids with the smallest hashes (every id of a smaller feed), a
consistent pseudo-random choice, so a file repeating a feed holds every id of its sample,
and a file repeating part of it holds about that share of the sample. A new feed's ids are
looked up in the samples of the active feeds of other sources for the same months, batch by
batch, before they are stored.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

__all__ = ["SAMPLE_SIZE", "IdSample", "decode_sample"]

SAMPLE_SIZE = 1024
_SEED = 0x0FEED5A1  # any fixed seed: a sample is chosen within one load and kept as ids, not hashes


class IdSample:
    """The :data:`SAMPLE_SIZE` record ids with the smallest hashes among those added."""

    def __init__(self, size: int = SAMPLE_SIZE):
        self.size = size
        self._frame = pl.DataFrame(schema={"record_id": pl.String, "_h": pl.UInt64})

    def add(self, ids: pl.Series) -> None:
        ids = ids.cast(pl.String).drop_nulls()
        if not ids.len():
            return
        hashes = ids.hash(_SEED).to_numpy()
        if len(hashes) > self.size:  # only the batch's smallest can enter the sample
            keep = np.argpartition(hashes, self.size)[: self.size]
            ids, hashes = ids.gather(keep), hashes[keep]
        frame = pl.DataFrame({"record_id": ids, "_h": pl.Series(hashes, dtype=pl.UInt64)})
        both = pl.concat([self._frame, frame]).unique("record_id", keep="first")
        self._frame = both.bottom_k(self.size, by="_h")

    def ids(self) -> list[str]:
        return self._frame.sort("_h", "record_id").get_column("record_id").to_list()

    def encode(self) -> str:
        return json.dumps(self.ids(), ensure_ascii=False, separators=(",", ":"))


def decode_sample(text: str | None) -> list[str]:
    """The ids of a stored sample (none for a feed loaded before samples were kept)."""
    if not text:
        return []
    value = json.loads(text)
    return [str(v) for v in value] if isinstance(value, list) else []
