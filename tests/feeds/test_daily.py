"""Daily sums over a whole feed equal one plain group-by of all its rows, however the rows
arrive in batches, whether the keys are packed into integers or grouped as text, and with
or without dimension values (a batch without the column, or with it all null, sums as before)."""

import datetime as dt
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.feeds.daily import DAILY_KEYS, SUM_KEYS, DailySums, daily_sums

LINES = pl.Enum(["BL-A", "BL-B", "UNALLOCATED"])
CENTERS = pl.Enum(["CC-1", "CC-2", "CC-3"])
SERVICES = pl.Enum(["STORAGE", "VM"])
TIERS = pl.Enum(["GOLD", "SILVER"])
SCHEMA = {"usage_date": pl.Date, "business_line": LINES, "cost_center": CENTERS, "service": SERVICES,
          "tier": TIERS, "quantity": pl.Decimal(38, 12), "cost": pl.Decimal(38, 12), "dimension_value": pl.String}

rows = st.tuples(
    st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2100, 12, 31)).flatmap(
        lambda day: st.sampled_from([day, dt.date(2026, 3, 1), dt.date(2026, 3, 2)])),
    st.sampled_from(LINES.categories.to_list()),
    st.one_of(st.none(), st.sampled_from(CENTERS.categories.to_list())),
    st.sampled_from(SERVICES.categories.to_list()),
    st.one_of(st.none(), st.sampled_from(TIERS.categories.to_list())),
    st.decimals(min_value=-10**6, max_value=10**6, places=12, allow_nan=False),
    st.one_of(st.none(), st.decimals(min_value=-10**6, max_value=10**6, places=12, allow_nan=False)),
    st.one_of(st.none(), st.sampled_from(["eu-west", "us-east", "EU-West"])),
)


def naive(frame: pl.DataFrame) -> list[tuple]:
    summed = frame.with_columns(pl.col(c).cast(pl.String) for c in DAILY_KEYS[1:]).group_by(SUM_KEYS).agg(
        pl.col("quantity").sum(), pl.col("cost").fill_null(0).sum(), pl.len().cast(pl.Int64).alias("rows"))
    return sorted(summed.rows(), key=repr)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.lists(rows, max_size=40), st.booleans()), max_size=8),
       st.integers(min_value=1, max_value=60), st.booleans())
def test_sums_equal_one_group_by_of_all_rows(batches, fold_rows, as_text):
    frames = [pl.DataFrame(batch, schema=SCHEMA, orient="row") for batch, _ in batches]
    given_frames = [f if with_values else f.drop("dimension_value") for f, (_, with_values) in zip(frames, batches)]
    frames = [f if with_values else f.with_columns(pl.lit(None, dtype=pl.String).alias("dimension_value"))
              for f, (_, with_values) in zip(frames, batches)]
    if as_text:  # code columns as text: grouped as they are, not packed
        given_frames = [f.with_columns(pl.col(c).cast(pl.String) for c in DAILY_KEYS[1:]) for f in given_frames]
    sums = DailySums(fold_rows=fold_rows)
    for frame in given_frames:
        sums.add(frame)
    assert (sums.codes is None) == as_text or not any(f.height for f in frames)
    total = sums.total()
    assert total.schema["business_line"] == pl.String and total.schema["usage_date"] == pl.Date
    everything = pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
    assert sorted(total.rows(), key=repr) == naive(everything)


def test_one_frame_and_nothing():
    frame = pl.DataFrame(
        [(dt.date(2026, 3, 1), "BL-A", "CC-1", "VM", None, Decimal("1.5"), None, "eu-west"),
         (dt.date(2026, 3, 1), "BL-A", "CC-1", "VM", None, Decimal("2.25"), Decimal("4"), "eu-west"),
         (dt.date(2026, 3, 1), "BL-A", "CC-1", "VM", None, Decimal("7"), None, "us-east"),
         (dt.date(2026, 3, 2), "BL-B", None, "VM", "GOLD", Decimal(1), None, None)],
        schema=SCHEMA, orient="row")
    assert sorted(daily_sums(frame).rows(), key=repr) == sorted([
        (dt.date(2026, 3, 1), "BL-A", "CC-1", "VM", None, "eu-west", Decimal("3.75"), Decimal(4), 2),
        (dt.date(2026, 3, 1), "BL-A", "CC-1", "VM", None, "us-east", Decimal("7"), Decimal(0), 1),
        (dt.date(2026, 3, 2), "BL-B", None, "VM", "GOLD", None, Decimal(1), Decimal(0), 1),
    ], key=repr)
    assert DailySums().total().height == 0
