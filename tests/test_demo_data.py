"""The demo generator: seeded, in the formats the loaders read, and loadable end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from billing.demo.data import (
    FOCUS_BUSINESS_LINES,
    HOSTILE_DESCRIPTIONS,
    USAGE_COLUMNS,
    write_demo_files,
    write_usage_csv,
)
from billing.organisation.read import read_org_file
from billing.organisation.subscriptions import merge_subscriptions, parse_subscriptions
from billing.files.tables import read_table
from tariffs.load import load_catalogue
from tests.cli_helpers import run
from tests.conftest import EXAMPLE_TARIFFS

MONTHS = ["2025-12", "2026-01"]
ROWS = 2_000


@pytest.fixture(scope="module")
def catalogue():
    found, problems = load_catalogue(EXAMPLE_TARIFFS)
    assert problems == []
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory, catalogue):
    return write_demo_files(tmp_path_factory.mktemp("demo"), seed=11, business_lines=12, cost_centers=40,
                            months=MONTHS, rows_per_month=ROWS, catalogue=catalogue)


def usage_frame(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def test_the_same_seed_writes_the_same_bytes(tmp_path, catalogue, demo):
    again = write_demo_files(tmp_path / "again", seed=11, business_lines=12, cost_centers=40, months=MONTHS,
                             rows_per_month=ROWS, catalogue=catalogue)
    other = write_demo_files(tmp_path / "other", seed=12, business_lines=12, cost_centers=40, months=MONTHS,
                             rows_per_month=ROWS, catalogue=catalogue)
    for mine, same in zip(
        [demo.business_lines, demo.cost_centers, demo.subscriptions, *demo.usage, *demo.sla],
        [again.business_lines, again.cost_centers, again.subscriptions, *again.usage, *again.sla],
    ):
        assert mine.read_bytes() == same.read_bytes(), mine.name
    assert demo.usage[0].read_bytes() != other.usage[0].read_bytes()
    assert [r.row for r in again.bad_rows] == [r.row for r in demo.bad_rows]


def test_the_organisation_reads_without_problems(demo):
    lines, _, problems = read_org_file(demo.business_lines)
    assert problems == [] and len(lines) == 12
    assert {code for code, _, _ in FOCUS_BUSINESS_LINES} <= {b.code for b in lines}
    assert all(b.head_name and b.head_email.endswith("@example.com") and b.division for b in lines)
    _, centers, problems = read_org_file(demo.cost_centers)
    assert problems == [] and len(centers) == 40
    assert all(c.gl_code.isdigit() for c in centers)
    owned = pl.DataFrame({"line": [c.business_line for c in centers]}).group_by("line").len()
    assert owned.height == 12 and owned["len"].max() > owned["len"].min()  # every line has one; skewed
    _, moves, problems = read_org_file(demo.cost_center_moves)
    home = {c.code: c.business_line for c in centers}
    assert problems == [] and len(moves) == 1
    assert moves[0].business_line != home[moves[0].code] and moves[0].effective_from.isoformat() == "2026-01-15"


def test_subscriptions_cover_most_services_with_tier_changes_on_the_15th(demo, catalogue):
    rows, problems = read_table(demo.subscriptions, required=("business_line", "service", "tier", "effective_from"))
    subs, more = parse_subscriptions(rows)
    merged, overlaps = merge_subscriptions([], subs)
    assert problems == more == overlaps == []
    services = {s.code for s in catalogue.services}
    assert {s.service for s in subs} <= services
    starts = {s.effective_from.isoformat() for s in subs}
    assert starts == {"2025-12-01", "2026-01-15"}
    assert len({(s.business_line, s.service) for s in subs}) > 12 * len(services) * 0.6
    changed = [s for s in merged if s.effective_to is not None]
    assert changed and all(s.effective_to.isoformat() == "2026-01-14" for s in changed)


def test_usage_files_hold_exactly_the_good_rows_plus_the_bad_ones_of_the_last_month(demo, catalogue):
    first, last = (usage_frame(p) for p in demo.usage)
    assert tuple(first.columns) == (*USAGE_COLUMNS, "region", "storage_class")  # the catalogue's price dimensions
    for frame, unknown in ((first, False), (last, True)):
        values = frame.group_by("service").agg(pl.col("region").drop_nulls().unique().sort(),
                                               pl.col("storage_class").drop_nulls().unique().sort())
        by_service = {row["service"]: (row["region"], row["storage_class"]) for row in values.iter_rows(named=True)}
        assert by_service.pop("VM") == (["dc-east", "dc-west"], [])
        # a class no tariff lists yet, in the last month only: the demo's held usage
        assert by_service.pop("STORAGE") == ([], ["archive", "capacity", *(["tape-vault"] if unknown else [])])
        assert all(v == ([], []) for v in by_service.values()), by_service
    assert first.height == ROWS and last.height == ROWS + len(demo.bad_rows)
    assert {r.code for r in demo.bad_rows} == {"not-a-date", "unknown-cost-center", "not-a-number", "duplicate"}
    assert first["record_id"].n_unique() == ROWS
    assert last["record_id"].n_unique() == ROWS + len(demo.bad_rows) - 2  # two duplicates
    units = {s.code: s.unit for s in catalogue.services}
    assert first.select((pl.col("service").replace_strict(units) == pl.col("unit")).all()).item()
    passing = pl.col("service").is_in(["CLOUD", "CLOUD-DATA"])  # pass-through: the cost column is filled
    assert first.filter(passing)["cost"].null_count() == 0
    assert first.filter(~passing)["cost"].is_null().all()
    with demo.usage[1].open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    for bad in demo.bad_rows:
        values = dict(zip(USAGE_COLUMNS, lines[bad.row - 1]))  # physical row 1 is the header
        if bad.code == "duplicate":
            assert lines[bad.row - 1] == lines[bad.row - 2]
        elif bad.code == "not-a-number":
            assert values["quantity"] in ("twelve", "1,5")
        elif bad.code == "unknown-cost-center":
            assert values["cost_center"] in ("CC-99999", "CC-00000")
        else:
            assert values["usage_date"] in ("2026-01-32", "01/01/2026")
    descriptions = set(first["description"]) | set(last["description"])
    assert set(HOSTILE_DESCRIPTIONS) <= descriptions


def test_seasonality_and_growth_show_in_monthly_totals(tmp_path, catalogue):
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    files = write_demo_files(tmp_path, seed=3, business_lines=20, cost_centers=80, months=months,
                             rows_per_month=20_000, catalogue=catalogue)
    totals = (
        pl.concat([usage_frame(p).with_columns(pl.lit(m).alias("month")) for m, p in zip(months, files.usage)])
        .filter(pl.col("quantity").str.contains(r"^-?[0-9.]+$"))
        .group_by("month", "service").agg(pl.col("quantity").cast(pl.Float64).sum())
    )

    def total(service: str, month: str) -> float:
        return totals.filter((pl.col("service") == service) & (pl.col("month") == month))["quantity"].item()

    desk = {m: total("DESK", m) for m in months}
    assert sorted(desk, key=desk.get)[-2:] in (["2025-01", "2025-09"], ["2025-09", "2025-01"])  # the two peaks
    assert total("FIELD", "2025-01") > 1.3 * total("FIELD", "2025-07")  # winter
    assert total("CLOUD", "2025-12") > 1.2 * total("CLOUD", "2025-01")  # about 3 % a month
    assert total("VM", "2025-12") > total("VM", "2025-01")


def test_write_usage_csv_writes_exactly_the_rows_asked_for(tmp_path, catalogue):
    centers = [f"CC-{i:03d}" for i in range(30)]
    path = write_usage_csv(tmp_path / "big.csv", rows=25_000, month="2026-03", seed=5, cost_centers=centers,
                           catalogue=catalogue)
    frame = usage_frame(path)
    assert frame.height == 25_000 and frame["record_id"].n_unique() == 25_000
    assert "business_line" not in frame.columns and set(frame["cost_center"]) <= set(centers)
    assert frame["usage_date"].str.starts_with("2026-03-").all()
    again = write_usage_csv(tmp_path / "again.csv", rows=25_000, month="2026-03", seed=5, cost_centers=centers,
                            catalogue=catalogue)
    assert again.read_bytes() == path.read_bytes()


def test_the_demo_loads_through_the_commands(db_url, demo):
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    for path in demo.org:
        run(db_url, "org", "load", path)
    run(db_url, "subscriptions", "load", demo.subscriptions)
    loaded = {}
    for month, usage, sla in zip(demo.months, demo.usage, demo.sla):
        result = run(db_url, "usage", "load", usage, "--source", "demo", *([] if loaded else ["--new-source"]))
        loaded[month] = result.stdout
        run(db_url, "sla", "load", sla)
        run(db_url, "month", "run", month)
    assert f"rows read {ROWS:,} = loaded {ROWS:,} + quarantined 0 + duplicates skipped 0" in loaded[MONTHS[0]]
    read = ROWS + len(demo.bad_rows)
    assert (f"rows read {read:,} = loaded {ROWS:,} + quarantined {len(demo.bad_rows) - 2} + duplicates skipped 2"
            in loaded[MONTHS[1]])
    rejects = run(db_url, "usage", "rejects").stdout
    for bad in demo.bad_rows:
        assert f"{bad.file}:{bad.row}:" in rejects, (bad, rejects)
    review = run(db_url, "month", "review", MONTHS[1]).stdout
    assert "no subscription: priced at the default tier" in review  # used without subscribing
    assert "Service credits included: -" in review  # VM gold availability 99.80 against 99.95
    assert f"Quarantined rows still open: {len(demo.bad_rows)}" in review
