"""`usage load --engine spark` lands what the local loader lands: the same feed record, daily
sums, usage rows, quarantined rows (file, line or row index, column, code, message) and
reconciliation, loading the same files through both engines into two stores and comparing
them to the cent: generated files of our usage format (clean, with every kind of bad row it
knows, with decimal commas), the real FOCUS sample and every FOCUS version's samples with
their defects (and the month's charges rated from them), and FOCUS rows with every defect
the FOCUS mapping knows.

Real Spark in local[2], one session for the module (bound to 127.0.0.1, no UI); the module
skips, saying why, without pyspark or Java."""

from __future__ import annotations

import os
import random
import shutil
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from tests.billing.test_usage_load import base_store
from tests.cli_helpers import run
from tests.feeds.conftest import EXAMPLE_SOURCES, FOCUS_SAMPLE

FOCUS_DATA = FOCUS_SAMPLE.parent

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
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # FOCUS rows are mapped in Spark's Python workers
    session = (SparkSession.builder.master("local[2]").appName("chargeback tests")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .getOrCreate())
    configure(session)
    share_session(session)
    yield session
    share_session(None)
    session.stop()


def charges_of(db_url: str, months: list[str]) -> list[tuple[str, ...]]:
    """The months rated (``month run``): every charge, comparable between stores."""
    for month in months:
        run(db_url, "month", "run", month)
    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        charges = sorted(tuple(str(v) for v in r) for r in c.execute(sa.text(
            "select month, line_no, kind, business_line_id, service_code, tier_code, charging_mode, segment_from, "
            "segment_to, quantity, billable, cost, exact_amount, amount, currency, detail, usage_rows from charge")))
    engine.dispose()
    return charges


def both(tmp_path: Path, path: Path | str, *args: str, source: str = "internal",
         months: list[str] | None = None) -> tuple[dict, dict, str, str]:
    """Load ``path`` into two fresh stores, one per engine: the stores and both commands' output
    (and, with ``months``, the charges of those months rated in each store)."""
    out = {}
    for engine in ("local", "spark"):
        db_url = f"sqlite:///{tmp_path / f'{engine}.db'}"
        base_store(db_url, tmp_path)
        result = run(db_url, "usage", "load", path, "--source", source, "--engine", engine, *args,
                     ok=False)
        assert "Traceback" not in result.stderr, result.stderr
        stored = store_of(db_url)
        if months:
            stored["charges"] = charges_of(db_url, months)
        out[engine] = (stored, result.stdout + result.stderr, result.exit_code)
    assert out["local"][2] == out["spark"][2], (out["local"][1], out["spark"][1])
    return out["local"][0], out["spark"][0], out["local"][1], out["spark"][1]


def reconciliation(output: str) -> list[str]:
    """The lines of a load's output that give a feed's reconciliation (and its FOCUS version)."""
    return [line for line in output.splitlines() if "rows read" in line]


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
    for month, seed, part in (("2026-02", 1, 0), ("2026-03", 2, 0), ("2026-03", 3, 1)):
        lines = usage_lines(300, seed=seed, name=f"P{month}-{part}", bad=False)
        rows = [dict(zip(HEADER.split(","), line.split(","))) for line in lines[1:]]
        rows[5]["service"] = "NOPE"  # unknown service: quarantined with its row index
        rows[7]["quantity"] = "1.1234567890123"  # too precise
        rows[9] = dict(rows[8])  # a duplicate within the file
        frame = pl.DataFrame(rows).with_columns(
            pl.col("usage_date").str.to_date(),
            pl.col("quantity").str.to_decimal(scale=13),
            pl.when(pl.col("cost") != "").then(pl.col("cost")).str.to_decimal(scale=12),
        )
        (lake / f"month={month}").mkdir(parents=True, exist_ok=True)
        frame.write_parquet(lake / f"month={month}" / f"part-{part}.parquet", row_group_size=100)
    local, remote, local_out, spark_out = both(tmp_path, lake)
    assert [f[1].split("lake/")[1] for f in local["feeds"]] == [
        "month=2026-02/part-0.parquet", "month=2026-03/part-0.parquet", "month=2026-03/part-1.parquet"]
    assert len(local["feeds"]) == 3 and {r[3] for r in local["rejects"]} >= {"unknown-service", "too-precise",
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
                 "1e25", "1234567890123456", "twelve", "12,5", "1,234", "0.000000000001", "1e-13", "00012.50", "1.5e",
                 "1.234,56", " -0,5 ", ",5", "1.234.567,1", "1,1234567890123", "12.34.5", "1.234", "0,000000000001"],
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
@pytest.mark.parametrize("decimal", ["point", "comma"])
def test_the_rules_parse_and_judge_any_value_alike_in_both_executors(spark, decimal):
    """A property over the parsers and the declared rules alone: random texts in every column,
    checked by polars (billing.feeds.usage_format) and by Spark (billing.feeds.rules_spark),
    give the same problems and the same mapped values, row by row, read with a decimal point
    and with a decimal comma."""
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
    table = Table(file="random.csv", header=_COLUMNS, header_row=1, read=lambda n: iter(()),
                  dialect=Dialect(delimiter=";", decimal="comma") if decimal == "comma" else Dialect())
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


# --- FOCUS ---------------------------------------------------------------------------------------

@pytest.mark.spark
def test_the_real_focus_sample_lands_alike_and_is_charged_to_the_cent(spark, tmp_path):
    """The FOCUS 1.0 sample of real AWS, Microsoft and Oracle exports (tests/data/focus/README.md:
    NULL as text and empty, timestamps without T or Z, an Id column without the x_ prefix,
    Usage-based beside Usage-Based, untagged rows, refunds, a " org" tag key, a late Oracle
    charge, a shared account split 60/40) through both engines, and both months rated."""
    local, remote, local_out, spark_out = both(tmp_path, FOCUS_SAMPLE, "--sources", EXAMPLE_SOURCES,
                                               source="focus-cloud", months=["2024-09", "2024-10"])
    assert "rows read 1,000 = loaded 1,000 (stored as 1,004 usage rows after splits)" in local_out, local_out
    assert "FOCUS 1.0" in reconciliation(spark_out)[0]
    assert reconciliation(spark_out) == reconciliation(local_out)
    assert len(local["rows"]) == 1004 and local["charges"], local_out
    for what in ("feeds", "rejects", "daily", "rows", "charges"):
        assert remote[what] == local[what], what


@pytest.mark.spark
def test_every_focus_version_with_its_defects_lands_alike(spark, tmp_path):
    """FOCUS 1.0 to 1.3, conformant and with the defects that break the specification, one
    feed each in one command (the later files' records are those of the first: sent again)."""
    lake = tmp_path / "focus"
    lake.mkdir()
    for version in ("1.0", "1.1", "1.2", "1.3"):
        for kind in ("", "_defects"):
            shutil.copy(FOCUS_DATA / f"focus-{version}_nimbus{kind}.csv", lake / f"{version}{kind}.csv")
    local, remote, local_out, spark_out = both(tmp_path, str(lake / "*.csv"), "--sources", EXAMPLE_SOURCES,
                                               source="focus-cloud", months=["2025-02", "2025-03"])
    kinds = reconciliation(local_out)
    assert len(kinds) == 8 and any("FOCUS 1.3" in line for line in kinds), local_out
    assert reconciliation(spark_out) == kinds
    assert local["charges"]
    for what in ("feeds", "rejects", "daily", "rows", "charges"):
        assert remote[what] == local[what], what


FOCUS_SOURCE = """
    name: focus-test
    format: focus
    description: every rule of a FOCUS source definition
    cost: BilledCost
    currency: USD
    quantity: [ConsumedQuantity, PricingQuantity]
    services:
      - {service_name: "Amazon Simple Queue Service", service: CLOUD}
      - {service_category: [Storage, Databases, Analytics], service: CLOUD-DATA}
    business_line:
      - tag: business_unit
      - tag: org
      - column: SubAccountId
        map: {"222": FIN}
    value_map: {"*AI": DATA, viennaops: OPS}
    splits:
      - {sub_account_id: "333", shares: {FIN: 60, OPS: 40}}
    exclude_charge_categories: [Tax]
    unallocated: business_line
"""

#: FOCUS rows with every defect the FOCUS mapping quarantines or treats otherwise than a plain row
FOCUS_ROWS = '''
    ServiceName,chargecategory,BilledCost,EffectiveCost,ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,ServiceCategory,ConsumedQuantity,PricingQuantity,SubAccountId,Tags,ChargeClass,ChargeDescription,Id,BillingCurrency,x_Team
    "Amazon Simple Queue Service","Usage",1.5,1.5,"2024-09-01T00:00:00Z",NULL,"2024-09-01",Integration,2,2,"111","{""business_unit"": ""ViennaAI""}",NULL,"sqs",a1,USD,"blue"
    "Amazon S3","Usage",0.75,0.75,"2024-09-02T01:30:00+02:00",NULL,NULL,"Storage",3,3,"111","{""org"": ""viennaops"", "" org"": ""trey""}",NULL,"s3",a2,usd,NULL
    "Amazon S3","Usage",-0.25,-0.25,"2024-09-03 10:00:00",NULL,NULL,"Storage",-1,-1,"222",NULL,NULL,"s3 refund",a3,USD,
    "Amazon EC2","Usage",2,2,"2024-09-03 10:00:00",NULL,NULL,"Compute",1,1,"111",NULL,NULL,"ec2: no service rule",a4,USD,x
    "Amazon S3","Usage",0.000000000001,0,"2024-09-04 10:00",NULL,NULL,"Storage",10,10,"333",NULL,NULL,"shared",a5,USD,
    "Amazon S3","Tax",0.10,0.10,"2024-09-05",NULL,NULL,"Storage",NULL,NULL,"444","",NULL,"tax: excluded",a6,USD,
    "Amazon S3","Usage",1,1,"2024-09-05 00:00:00",NULL,NULL,"Storage",1,1,"111","not json",NULL,"bad tags",a7,USD,
    "Amazon S3","Usage",1,1,"2024-13-01 00:00:00",NULL,NULL,"Storage",1,1,"111",NULL,NULL,"bad date",a8,USD,
    "Amazon S3","Refund",1,1,"2024-09-06 00:00:00",NULL,NULL,"Storage",1,1,"111",NULL,NULL,"bad category",a9,USD,
    "Amazon S3","Usage",NULL,1,"2024-09-06 00:00:00",NULL,NULL,"Storage",1,1,"111",NULL,NULL,"no cost",a10,USD,
    "Amazon S3","Usage",0.5,0.5,"2024-09-07 00:00:00.5",NULL,NULL,"Storage",NULL,5,"222",NULL,NULL,"pricing quantity",a11,USD,
    "Amazon S3","Usage",0.5,0.5,"2024-09-07T00:00:00.123456Z",NULL,NULL,"Storage",,,"222",NULL,"Correction","no quantity",a12,USD,
    "Amazon Simple Queue Service","Usage",9,9,"2024-09-01T00:00:00Z",NULL,NULL,"Integration",2,2,"111",NULL,NULL,"same id, other values",a1,USD,
    "Amazon Simple Queue Service","Usage",1.5,1.5,"2024-09-01T00:00:00Z",NULL,NULL,"Integration",2,2,"111","{""business_unit"": ""ViennaAI""}",NULL,"sqs again",a1,USD,
    "Amazon S3","Usage",0.25,0.25,"2024-09-08T00:00:00Z",NULL,NULL,"Storage",1,1,"444","{""business_unit"": ""Nowhere""}",NULL,"unmapped",a13,USD,
    "Amazon S3","Usage",0.25,0.25,"2024-09-08T00:00:00Z","2024-09-07T00:00:00Z",NULL,"Storage",1,1,"444",NULL,NULL,"ends before it starts",a14,USD,
    "Amazon S3","Usage",0.25,0.25,"2024-08-31T23:00:00Z",NULL,"2024-09-01T00:00:00Z","Storage",1,1,"222",NULL,NULL,"late charge",a15,USD,
    "Amazon S3","Usage",1.5,1.5,"2024-09-09T00:00:00Z",NULL,NULL,"Storage",1.00000000000005,1,"222",NULL,NULL,"quantity rounded",a16,USD,
    "Amazon S3","Usage",1.0000000000001,1,"2024-09-09T00:00:00Z",NULL,NULL,"Storage",1,1,"222",NULL,NULL,"cost too precise",a17,USD,
    "Amazon S3","Usage",12,12,"2024-09-09T00:00:00Z",NULL,NULL,"Storage",1,1,"222",NULL,NULL,"other currency",a18,EUR,
    "Amazon S3","Usage","1,5",1,"2024-09-09T00:00:00Z",NULL,NULL,"Storage",1,1,"222",NULL,NULL,"decimal comma",a19,USD,
    "Amazon S3","Usage",2.5,2.5,"2024-09-10T00:00:00Z",NULL,NULL,"Storage",1,1,"222",NULL,NULL,"no id: its content hashed",NULL,USD,
    "Amazon S3","Usage",2.5,2.5,"2024-09-10T00:00:00Z",NULL,NULL,"Storage",1,1,"222",NULL,NULL,"no id: its content hashed",NULL,USD,
    "Amazon S3","Usage",1,1,"2024-09-10T00:00:00Z"
    "Amazon S3","Usage",1,1,"2024-09-10T00:00:00Z",NULL,NULL,"Storage",1,1,"222",NULL,NULL,"too many",a20,USD,,,7

    "Amazon S3","Usage",3,3,"2024-09-11T00:00:00Z",NULL,NULL,"Storage",1,1,"333","{""business_unit"": ""ViennaAI""}",NULL,"shared, tagged",a21,USD,
'''


@pytest.mark.spark
def test_focus_rows_with_every_defect_land_alike(spark, tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "focus-test.yaml").write_text(textwrap.dedent(FOCUS_SOURCE).lstrip())
    path = tmp_path / "focus.csv"
    path.write_text(textwrap.dedent(FOCUS_ROWS).lstrip())
    local, remote, local_out, spark_out = both(tmp_path, path, "--sources", sources, source="focus-test",
                                               months=["2024-09"])
    codes = {r[3] for r in local["rejects"]}
    assert {"unmapped", "value-invalid", "not-a-date", "inconsistent", "value-missing", "too-precise", "not-a-number",
            "conflict", "duplicate", "too-few-fields", "too-many-fields"} <= codes, local_out
    notes = " ".join(str(row) for row in local["rows"])
    for note in ("split 60% of row (shared sub account 333)", "late charge", "quantity rounded to 12 decimals",
                 "unallocated", "refund", "correction of an earlier billing period", "ignored"):
        assert note in notes, note
    assert reconciliation(spark_out) == reconciliation(local_out)
    assert "excluded" in reconciliation(local_out)[0], local_out
    for what in ("feeds", "rejects", "daily", "rows", "charges"):
        assert remote[what] == local[what], what


# --- decimal commas and workbooks ---------------------------------------------------------------

def comma_lines(rows: int, *, seed: int, name: str) -> list[str]:
    """:func:`usage_lines` as a ``;``-separated export with decimal commas writes them, with
    rows whose numbers are wrong for that mark."""
    lines = []
    for line in usage_lines(rows, seed=seed, name=name, bad=False):
        fields = line.split(",")
        for at in (6, 8):  # quantity and cost
            if fields[at] and fields[at] != "quantity" and fields[at] != "cost":
                fields[at] = fields[at].replace(".", ",")
        lines.append(";".join(fields))
    lines += [
        f"{name}-k1;2026-03-05;CC-FIN;;DESK;;1.234,5;ticket;1.000.000,25;grouped thousands;;",  # good
        f"{name}-k2;2026-03-05;CC-FIN;;DESK;;1.5;ticket;;a decimal point;;",  # not a number with commas
        f"{name}-k3;2026-03-05;CC-FIN;;DESK;;,5;ticket;-0,5;no leading digit;;",  # good
        f"{name}-k4;2026-03-05;CC-FIN;;DESK;; 12,5 ;ticket;;spaces;;",  # good
        f"{name}-k5;2026-03-05;CC-FIN;;DESK;;1,1234567890123;ticket;;too precise;;",
        f"{name}-k6;2026-03-05;CC-FIN;;DESK;;12.34.5;ticket;;not a number;;",
        f"{name}-k7;2026-03-05;CC-FIN;;DESK;;1.234;ticket;;thousands;;",  # good: 1234
    ]
    return lines


@pytest.mark.spark
def test_a_file_with_decimal_commas_lands_alike(spark, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(comma_lines(300, seed=11, name="K")) + "\n")
    local, remote, local_out, spark_out = both(tmp_path, path, "--delimiter", ";", "--decimal", "comma")
    assert {r[3] for r in local["rejects"]} >= {"not-a-number", "too-precise"}, local_out
    assert reconciliation(spark_out) == reconciliation(local_out) != []
    for what in ("feeds", "rejects", "daily", "rows"):
        assert remote[what] == local[what], what


@pytest.mark.spark
def test_decimal_commas_in_a_file_read_with_points_are_refused_alike(spark, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(comma_lines(50, seed=12, name="R")) + "\n")
    local, remote, local_out, spark_out = both(tmp_path, path, "--delimiter", ";")
    assert "number-format" in local_out and "nothing was loaded" in local_out, local_out
    assert spark_out == local_out
    assert remote == local


def test_a_workbook_is_refused_by_the_spark_engine_in_one_line_before_spark_starts(tmp_path, monkeypatch):
    import billing.jobs.usage_spark as usage_spark

    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    base_store(db_url, tmp_path)
    path = tmp_path / "usage.xlsx"
    path.write_bytes(b"PK\x03\x04")  # refused by its name, never opened
    monkeypatch.setattr(usage_spark, "spark_session", lambda *a, **k: pytest.fail("Spark was started"))
    result = run(db_url, "usage", "load", path, "--source", "internal", "--engine", "spark", ok=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert "usage.xlsx" in lines[0] and "--engine local" in lines[0], lines


def test_a_spark_job_that_fails_ends_the_load_in_one_line_and_loads_nothing(tmp_path, monkeypatch):
    """A task out of memory (as a 10M-row file in the default 1 GiB of a local master was):
    one line saying what failed and how to give Spark more memory, exit 1, no feed."""
    pytest.importorskip("pyspark")
    from types import SimpleNamespace

    from py4j.protocol import Py4JError

    import billing.jobs.usage_spark as usage_spark

    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    base_store(db_url, tmp_path)
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(usage_lines(5, seed=3, name="M", bad=False)) + "\n")
    local = SimpleNamespace(sparkContext=SimpleNamespace(master="local[2]"), stop=lambda: None)
    monkeypatch.setattr(usage_spark, "_shared", [])
    monkeypatch.setattr(usage_spark, "spark_session", lambda *a, **k: local)

    def out_of_memory(*args, **kwargs):
        raise Py4JError("An error occurred while calling o123.collectToPython.\n"
                        ": org.apache.spark.SparkException: Job aborted due to stage failure\n"
                        "java.lang.OutOfMemoryError: Java heap space\n\tat org.apache.spark.unsafe.types.UTF8String")

    monkeypatch.setattr(usage_spark, "_fold", out_of_memory)
    result = run(db_url, "usage", "load", path, "--source", "internal", "--engine", "spark", ok=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert "the Spark job failed (java.lang.OutOfMemoryError: Java heap space)" in lines[0], lines
    assert "nothing was loaded" in lines[0] and "spark.driver.memory" in lines[0], lines
    assert "rows read" not in run(db_url, "usage", "feeds").stdout
