"""`usage load --engine spark` lands what the local loader lands: the same feed record, daily
sums, usage rows, quarantined rows (file, line or row index, column, code, message) and
reconciliation, loading the same generated files (clean, and with every kind of bad row our
usage format knows) through both engines into two stores and comparing them to the cent.

Real Spark in local[2], one session for the module (bound to 127.0.0.1, no UI); the module
skips, saying why, without pyspark or Java."""

from __future__ import annotations

import os
import random
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from tests.billing.test_usage_load import base_store
from tests.cli_helpers import run

try:
    import pyspark  # noqa: F401
    MISSING = None if shutil.which("java") else "Java is not installed (apt-get install openjdk-17-jre-headless)"
except ImportError:
    MISSING = "pyspark is not installed (pip install -e '.[spark]')"

HEADER = "record_id,usage_date,cost_center,business_line,service,tier,quantity,unit,cost,description,region,storage_class"
CENTRES = ["CC-ENG", "CC-FIN", "cc-eng", " CC-FIN "]
SERVICES = [("DESK", "ticket", ""), ("VM", "vm-hour", "region"), ("STORAGE", "gb-month", "storage_class"),
            ("CLOUD", "usd", ""), ("desk", "Ticket", "")]
TIERS = ["", "", "gold", "Silver", " bronze "]
REGIONS = ["dc-east", "dc-west", "", " eu-1 "]
CLASSES = ["capacity", "archive", "tape-vault", ""]

#: every kind of row the usage format quarantines, or treats otherwise than a plain row
BAD_ROWS = [
    "{n}-f1,2026-03-05,CC-FIN,,DESK,,12,ticket,40",  # too few fields
    "{n}-f2,2026-03-05,CC-FIN,,DESK,,12,ticket,,printer,,,7,",  # too many fields
    ",2026-03-05,CC-FIN,,DESK,,12,ticket,,no id,,",  # record id missing
    "{n}-v1,2026-03-05,,,DESK,,12,ticket,,no owner,,",  # neither cost centre nor business line
    "{n}-v2,,CC-FIN,,DESK,,12,ticket,,,,",  # usage date missing
    "{n}-v3,2026-03-05,CC-FIN,,,,12,ticket,,,,",  # service missing
    "{n}-v4,2026-03-05,CC-FIN,,DESK,,,ticket,,,,",  # quantity missing
    "{n}-v5,2026-03-05,CC-FIN,,DESK,,12,,,,,",  # unit missing
    "{n}-n1,2026-03-05,CC-FIN,,DESK,,twelve,ticket,,,,",  # not a number
    '{n}-n2,2026-03-05,CC-FIN,,DESK,,"12,5",ticket,,,,',  # a decimal comma
    "{n}-n3,2026-03-05,CC-FIN,,DESK,,12,ticket,1.5e,,,",  # a cost that is no number
    "{n}-n4,2026-03-05,CC-FIN,,DESK,,1.1234567890123,ticket,,,,",  # too precise
    "{n}-n5,2026-03-05,CC-FIN,,DESK,,1e25,ticket,,,,",  # out of range
    "{n}-n6,2026-03-05,CC-FIN,,DESK,,1234567890123456,ticket,,,,",  # out of range
    "{n}-n7,2026-03-05,CC-FIN,,DESK,, 1e3 ,ticket,,,,",  # a number with an exponent and spaces: good
    "{n}-d1,2026-02-30,CC-FIN,,DESK,,12,ticket,,,,",  # not a date
    "{n}-d2,1899-03-05,CC-FIN,,DESK,,12,ticket,,,,",  # out of the accepted range
    "{n}-d3,05/03/2026,CC-FIN,,DESK,,12,ticket,,,,",  # not a date
    "{n}-d4, 2026-03-06 10:30 ,CC-FIN,,DESK,,12,ticket,,,,",  # a date and time with spaces: good
    "{n}-c1,2026-03-05,CC-NOPE,,DESK,,12,ticket,,,,",  # unknown cost centre
    "{n}-c2,2026-03-05,,NOPE,DESK,,12,ticket,,,,",  # unknown business line
    "{n}-c3,2026-03-05,CC-FIN,ENG,DESK,,12,ticket,,,,",  # inconsistent owner
    "{n}-c4,2026-03-05,,fin,DESK,,12,ticket,,,,",  # a business line alone, in other case: good
    "{n}-s1,2026-03-05,CC-FIN,,NOPE,,12,ticket,,,,",  # unknown service
    "{n}-s2,2026-03-05,CC-FIN,,DESK,,12,parsec,,,,",  # unknown unit
    "{n}-s3,2026-03-05,CC-FIN,,DESK,,12,vm-hour,,,,",  # another service's unit
    "{n}-s4,2026-03-05,CC-FIN,,DESK,platinum,12,ticket,,,,",  # unknown tier
    "{n}-s5,2026-03-05,CC-FIN,,VM,,12,vm-hour,,,{long},",  # a region too long
    "{n}-s6,2026-03-05,CC-FIN,,DESK,,-3,ticket,-9.5,correction,,",  # a correction: good, noted
    "{n}-s7,2026-03-05,CC-FIN,,DESK,,3,ticket,-9.5,credit,,",  # a negative cost: good, noted
    '{n}-q1,2026-03-05,CC-FIN,,DESK,,3,ticket,,"printer, ""big""",,',  # quoted description: good
    "   ,  ,  ,  ,  ,  ,  ,  ,  ,  ,  ,  ",  # blank
    "",  # blank line
    "{n}-1,2026-03-02,CC-ENG,,DESK,,30,ticket,,laptop,,",  # the same record again: duplicate
    "{n}-1,2026-03-02,CC-ENG,,DESK,,31,ticket,,laptop,,",  # the same id with other values: conflict
    "{n}-f1,2026-03-05,CC-FIN,,DESK,,12,ticket,,the id of a bad row,,",  # a bad row claims no id: good
]


def usage_lines(rows: int, *, seed: int, name: str, bad: bool) -> list[str]:
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        service, unit, dimension = rng.choice(SERVICES)
        region = rng.choice(REGIONS) if dimension == "region" else ""
        storage = rng.choice(CLASSES) if dimension == "storage_class" else ""
        quantity = Decimal(rng.randint(-20, 100_000)).scaleb(-rng.randint(0, 6))
        cost = "" if rng.random() < 0.5 else str(Decimal(rng.randint(0, 10**9)).scaleb(-rng.randint(0, 12)))
        day = f"2026-{rng.choice(['02', '03'])}-{rng.randint(1, 28):02d}"
        centre, line = (rng.choice(CENTRES), "") if rng.random() < 0.8 else ("", rng.choice(["ENG", "fin", "OPS"]))
        lines.append(f"{name}-{i},{day},{centre},{line},{service},{rng.choice(TIERS)},{quantity},{unit},{cost},"
                     f"row {i},{region},{storage}")
    if bad:
        at = 1
        for row in BAD_ROWS:
            at = min(len(lines), at + rng.randint(1, max(1, rows // len(BAD_ROWS))))
            lines.insert(at, row.format(n=name, long="r" * 101))
        lines.insert(2, lines[1])  # a whole row repeated: a duplicate of the first
    return lines


def store_of(db_url: str) -> dict[str, object]:
    """What a load lands: feeds, rejects, daily sums and usage rows, comparable between stores."""
    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        feeds = [tuple(r) for r in c.execute(sa.text(
            "select source, file_name, content_hash, format, months, status, rows_read, rows_loaded, rows_rejected, "
            "rows_duplicate, rows_conflict, quantity_total, cost_total from usage_feed order by id"))]
        rejects = sorted(tuple(r) for r in c.execute(sa.text(
            "select f.file_name, r.row_no, r.\"column\", r.code, r.message from usage_reject r "
            "join usage_feed f on f.id = r.feed_id")))
        parts = {"daily": [], "rows": []}
        for kind, data in c.execute(sa.text("select kind, data from usage_part order by feed_id, month, part_no")):
            parts[kind].append(pl.read_parquet(data))
    engine.dispose()
    daily = pl.concat(parts["daily"]) if parts["daily"] else pl.DataFrame()
    rows = pl.concat(parts["rows"], how="vertical_relaxed") if parts["rows"] else pl.DataFrame()
    keys = [c for c in daily.columns if c not in ("quantity", "cost", "rows")]
    return {
        "feeds": feeds,
        "rejects": rejects,
        "daily": daily.sort(keys, nulls_last=True).rows() if daily.height else [],
        "rows": rows.with_columns(pl.col(c).cast(pl.String) for c in rows.columns if rows.schema[c] == pl.Categorical
                                  or isinstance(rows.schema[c], pl.Enum)).sort(["row_no", "record_id"]).rows()
        if rows.height else [],
    }


@pytest.fixture(scope="module")
def spark():
    if MISSING:
        pytest.skip(MISSING)
    from pyspark.sql import SparkSession

    from billing.jobs.usage_spark import configure, share_session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (SparkSession.builder.master("local[2]").appName("chargeback tests")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .getOrCreate())
    configure(session)
    share_session(session)
    yield session
    share_session(None)
    session.stop()


def both(tmp_path: Path, path: Path | str, *args: str) -> tuple[dict, dict, str, str]:
    """Load ``path`` into two fresh stores, one per engine: the stores and both commands' output."""
    out = {}
    for engine in ("local", "spark"):
        db_url = f"sqlite:///{tmp_path / f'{engine}.db'}"
        base_store(db_url, tmp_path)
        result = run(db_url, "usage", "load", path, "--source", "internal", "--engine", engine, *args,
                     ok=False)
        assert "Traceback" not in result.stderr, result.stderr
        out[engine] = (store_of(db_url), result.stdout + result.stderr, result.exit_code)
    return out["local"][0], out["spark"][0], out["local"][1], out["spark"][1]


@pytest.mark.spark
def test_a_file_with_every_kind_of_bad_row_lands_alike(spark, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(usage_lines(600, seed=7, name="A", bad=True)) + "\n")
    local, remote, local_out, spark_out = both(tmp_path, path)
    assert local["rejects"], local_out
    codes = {r[3] for r in local["rejects"]}
    assert {"too-few-fields", "too-many-fields", "value-missing", "not-a-number", "too-precise", "out-of-range",
            "not-a-date", "date-out-of-range", "unknown-cost-center", "unknown-business-line", "inconsistent",
            "unknown-service", "unknown-unit", "unknown-tier", "too-long", "duplicate", "conflict"} <= codes, codes
    assert remote["rejects"] == local["rejects"]
    assert remote["feeds"] == local["feeds"]
    assert remote["daily"] == local["daily"]
    assert remote["rows"] == local["rows"]
    reconciliation = [line for line in local_out.splitlines() if "rows read" in line]
    assert reconciliation and reconciliation == [line for line in spark_out.splitlines() if "rows read" in line]


@pytest.mark.spark
def test_a_hive_partitioned_parquet_directory_lands_alike(spark, tmp_path):
    lake = tmp_path / "lake"
    for month, seed in (("2026-02", 1), ("2026-03", 2)):
        lines = usage_lines(300, seed=seed, name=f"P{month}", bad=False)
        rows = [dict(zip(HEADER.split(","), line.split(","))) for line in lines[1:]]
        rows[5]["service"] = "NOPE"  # unknown service: quarantined with its row index
        rows[7]["quantity"] = "1.1234567890123"  # too precise
        rows[9] = dict(rows[8])  # a duplicate within the file
        frame = pl.DataFrame(rows).with_columns(
            pl.col("usage_date").str.to_date(),
            pl.col("quantity").str.to_decimal(scale=13),
            pl.when(pl.col("cost") != "").then(pl.col("cost")).str.to_decimal(scale=12),
        )
        (lake / f"month={month}").mkdir(parents=True)
        frame.write_parquet(lake / f"month={month}" / "part-0.parquet", row_group_size=100)
    local, remote, local_out, spark_out = both(tmp_path, lake)
    assert len(local["feeds"]) == 2 and {r[3] for r in local["rejects"]} >= {"unknown-service", "too-precise",
                                                                            "duplicate"}, local_out
    assert "part-0.parquet:6:service: unknown-service" in local_out  # rows[5]: the row index from 1
    for what in ("feeds", "rejects", "daily", "rows"):
        assert remote[what] == local[what], what


def test_without_java_or_pyspark_the_spark_engine_says_what_to_install(tmp_path, monkeypatch):
    import sys

    import billing.jobs.usage_spark as usage_spark

    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    base_store(db_url, tmp_path)
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(usage_lines(5, seed=3, name="J", bad=False)) + "\n")
    monkeypatch.setattr(usage_spark, "_shared", [])
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    for missing in ("java", "pyspark"):
        if missing == "pyspark":
            monkeypatch.setitem(sys.modules, "pyspark.sql", None)
        result = run(db_url, "usage", "load", path, "--source", "internal", "--engine", "spark", ok=False)
        assert result.exit_code == 1 and "Traceback" not in result.stderr, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "pip install" in lines[0] and "openjdk-17-jre-headless" in lines[0], lines
    assert "rows read" not in run(db_url, "usage", "feeds").stdout


_TOKENS = {
    "usage_date": ["2024-03-05", " 2024-03-05 ", "2024-02-30", "2024-03-05 10:30", "2024-03-05T25:00", "2023-12-31",
                   "2025-01-01", "05/03/2024", "2024-3-5"],
    "cost_center": ["CC-100", "cc-100", " CC-200 ", "CC-300", "CC-999", "  "],
    "business_line": ["FIN", "fin", "ENG", "OPS", "NOPE", " DATA "],
    "service": ["STORAGE", "storage", " COMPUTE ", "CLOUD", "NOPE", "Cloud-Data"],
    "tier": ["GOLD", "silver", " BRONZE ", "STANDARD", "platinum", " "],
    "quantity": ["12", "12.5", " 12 ", "1e3", "-.5e2", "+5", ".5", "5.", "-0", "1.1234567890123", "1.12345678901230",
                 "1e25", "1234567890123456", "twelve", "12,5", "1,234", "0.000000000001", "1e-13", "00012.50", "1.5e"],
    "unit": ["GB", "gb", "HOUR", " USD ", "parsec"],
}
_COLUMNS = ("record_id", "usage_date", "cost_center", "business_line", "service", "tier", "quantity", "unit", "cost",
            "description")


def _value(column: str):
    from hypothesis import strategies as st

    tokens = _TOKENS.get(column if column != "cost" else "quantity", ["a", " b ", "r-1"])
    noise = st.text(alphabet="0123456789.,-+eE :/abGB", max_size=8)
    return st.one_of(st.none(), st.sampled_from(tokens), noise)


@pytest.mark.spark
def test_the_rules_parse_and_judge_any_value_alike_in_both_executors(spark):
    """A property over the parsers and the declared rules alone: random texts in every column,
    checked by polars (billing.feeds.usage_format) and by Spark (billing.feeds.rules_spark),
    give the same problems and the same mapped values, row by row."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from billing.feeds.raw import Table
    from billing.feeds.rules_spark import checked
    from billing.feeds.usage_format import UsageMapping
    from billing.files.dialect import Dialect
    from tests.feeds.conftest import CATALOGUE, COST_CENTERS, EXAMPLE_SOURCES
    from billing.feeds import UNALLOCATED, MappingContext, load_sources
    import datetime as dt

    ctx = MappingContext(catalogue=CATALOGUE, business_lines=frozenset({"FIN", "OPS", "ENG", "DATA", UNALLOCATED}),
                         cost_centers=COST_CENTERS, earliest=dt.date(2024, 1, 1), latest=dt.date(2024, 12, 31))
    table = Table(file="random.csv", header=_COLUMNS, header_row=1, read=lambda n: iter(()), dialect=Dialect())
    mapping, problems = UsageMapping.prepare(table, load_sources(EXAMPLE_SOURCES)[0]["internal"], ctx)
    assert mapping is not None, problems
    mapped = ["record_id", "usage_date", "cost_center", "business_line", "service", "tier", "unit", "quantity", "cost",
              "note", "description"]
    row = st.fixed_dictionaries({c: _value(c) for c in _COLUMNS})

    @given(st.lists(row, min_size=1, max_size=30))
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    def check(rows):
        raw = pl.DataFrame({"row_no": pl.Series(range(2, 2 + len(rows)), dtype=pl.Int64),
                            **{f"c{i}": pl.Series([r[c] for r in rows], dtype=pl.String) for i, c in enumerate(_COLUMNS)},
                            "extra": pl.Series([None] * len(rows), dtype=pl.String),
                            "fields": pl.Series([None] * len(rows), dtype=pl.Int32)})
        local = mapping.check(raw)
        frame, rules = checked(spark.createDataFrame(raw.to_arrow()), mapping)
        got = pl.from_arrow(frame.select("row_no", "error", *mapped, *[f"_m{i}" for i in range(len(rules))],
                                         *[f"_t{i}" for i in range(len(rules))]).toArrow()).sort("row_no")
        found = sorted((r[0], rule.code.value, rule.column, r[1 + 2 * len(rules) - len(rules) + i] or rule.code.value)
                       for r in got.select("row_no", *[f"_m{i}" for i in range(len(rules))],
                                           *[f"_t{i}" for i in range(len(rules))]).iter_rows()
                       for i, rule in enumerate(rules) if r[1 + i])
        assert found == sorted((p.source.row, p.code.value, p.source.column, p.message) for p in local.problems)
        assert got.get_column("error").to_list() == local.frame.get_column("error").to_list()
        ok = local.frame.filter(~pl.col("error")).select(
            "row_no", *[pl.col(c).cast(pl.String) for c in mapped])
        assert got.filter(~pl.col("error")).select("row_no", *[pl.col(c).cast(pl.String) for c in mapped]).rows() == \
            ok.rows()

    check()
