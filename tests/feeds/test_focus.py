"""FOCUS exports: mapping rules, null and timestamp handling, splits, and the real sample."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from billing.feeds import UNALLOCATED, row_schema
from billing.core.problems import Severity
from tests.feeds.conftest import FOCUS_SAMPLE, read, source_from, write

SOURCE = """
    name: focus-test
    format: focus
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
    unallocated: business_line
"""

# Columns in an unusual order and case; NULL and empty both mean null.
FOCUS = '''
    ServiceName,chargecategory,BilledCost,EffectiveCost,ChargePeriodStart,ServiceCategory,ConsumedQuantity,PricingQuantity,SubAccountId,Tags,ChargeClass,ChargeDescription,Id,ChargeFrequency
    "Amazon Simple Queue Service","Usage",1.5,1.5,"2024-09-01T00:00:00Z","Integration",2,2,"111","{""business_unit"": ""ViennaAI""}",NULL,"sqs",a1,"Usage-Based"
    "Amazon S3","Usage",0.75,0.75,"2024-09-02T01:30:00+02:00","Storage",3,3,"111","{""org"": ""viennaops"", "" org"": ""trey""}",NULL,"s3",a2,"Usage-Based"
    "Amazon S3","Usage",-0.25,-0.25,"2024-09-03 10:00:00","Storage",-1,-1,"222",NULL,NULL,"s3 refund",a3,"Usage-Based"
    "Amazon EC2","Usage",2,2,"2024-09-03 10:00:00","Compute",1,1,"111",NULL,NULL,"ec2",a4,"Usage-Based"
    "Amazon S3","Usage",0.000000000001,0,"2024-09-04 10:00","Storage",10,10,"333",NULL,NULL,"shared",a5,"Usage-Based"
    "Amazon S3","Tax",0.10,0.10,"2024-09-05","Storage",NULL,NULL,"444","",NULL,"tax",a6,"One-Time"
    "Amazon S3","Usage",1,1,"2024-09-05 00:00:00","Storage",1,1,"111","not json",NULL,"bad tags",a7,"Usage-Based"
    "Amazon S3","Usage",1,1,"2024-13-01 00:00:00","Storage",1,1,"111",NULL,NULL,"bad date",a8,"Usage-Based"
    "Amazon S3","Refund",1,1,"2024-09-06 00:00:00","Storage",1,1,"111",NULL,NULL,"bad category",a9,"Usage-Based"
    "Amazon S3","Usage",NULL,1,"2024-09-06 00:00:00","Storage",1,1,"111",NULL,NULL,"no cost",a10,"Usage-Based"
    "Amazon S3","Usage",0.5,0.5,"2024-09-07 00:00:00.5","Storage",NULL,5,"222",NULL,NULL,"pricing quantity",a11,"usage-based"
    "Amazon S3","Usage",0.5,0.5,"2024-09-07T00:00:00.123456Z","Storage",,,"222",NULL,"Correction","no quantity",a12,"Usage-Based"
    "Amazon Simple Queue Service","Usage",9,9,"2024-09-01T00:00:00Z","Integration",2,2,"111",NULL,NULL,"same id",a1,"Usage-Based"
    "Amazon S3","Usage",0.25,0.25,"2024-09-08T00:00:00Z","Storage",1,1,"444","{""business_unit"": ""Nowhere""}",NULL,"unmapped",a13,"Usage-Based"
'''


@pytest.fixture
def focus_file(tmp_path):
    return write(tmp_path, "focus.csv", FOCUS)


def test_rows_problems_and_totals(focus_file, ctx):
    result = read(focus_file, source_from(SOURCE), ctx)

    assert result.codes() == [
        (5, "unmapped", "ServiceName"),  # a4: no rule for Compute and no default
        (8, "value-invalid", "Tags"),  # a7
        (9, "not-a-date", "ChargePeriodStart"),  # a8
        (10, "value-invalid", "ChargeCategory"),  # a9
        (11, "value-missing", "BilledCost"),  # a10
        (14, "conflict", "Id"),  # a1 again, at another cost
    ]
    assert result.rows.schema == pl.Schema(row_schema(ctx))
    t = result.tally
    assert (t.rows_read, t.good, t.rejected, t.duplicates, t.conflicts, t.rows_loaded) == (14, 8, 5, 0, 1, 9)
    # loaded: a1 1.5 + a2 0.75 + a3 -0.25 + a5 1e-12 + a6 0.10 + a11 0.5 + a12 0.5 + a13 0.25 = 3.350000000001
    assert t.cost_loaded == Decimal("3.350000000001")
    # read adds the parseable costs of rejected rows: a4 2 + a7 1 + a8 1 + a9 1 + duplicate 9 = 14
    assert t.cost_read == Decimal("17.350000000001")


def test_records_with_too_few_or_too_many_fields_are_quarantined_with_both_counts(tmp_path, ctx):
    lines = FOCUS.strip().splitlines()
    short, long = lines[1].strip(), lines[2].strip()
    path = write(tmp_path, "ragged.focus.csv", "\n".join([lines[0], short.rsplit(",", 3)[0], long + ',x,"y, z"']))
    result = read(path, source_from(SOURCE), ctx)

    assert result.codes() == [(2, "too-few-fields", None), (3, "too-many-fields", None)]
    assert "the row has 11 fields, the header 14" in result.problems[0].message
    assert result.problems[1].message.endswith("extra: 'x,y, z'"), result.problems[1].message
    assert result.tally.rejected == 2 and result.rows.height == 0


def test_business_lines_from_tags_columns_and_value_map(focus_file, ctx):
    result = read(focus_file, source_from(SOURCE), ctx)

    a1, a2, a3 = result.by_id("a1"), result.by_id("a2"), result.by_id("a3")
    assert (a1["business_line"], a1["service"], a1["unit"], a1["note"]) == ("DATA", "CLOUD", "USD", None)
    assert a2["business_line"] == "OPS"  # org wins over " org", and the row says so
    assert a2["note"] == "tag ' org'='trey' ignored, 'org'='viennaops' used"
    assert (a3["business_line"], a3["note"]) == ("FIN", "refund")  # no tags: the SubAccountId map
    assert result.by_id("a13")["business_line"] == UNALLOCATED
    assert result.by_id("a13")["note"] == (
        "unallocated: business_unit tag 'Nowhere' is not mapped, no org tag, SubAccountId '444' is not mapped")
    assert result.by_id("a6")["note"] == "tax; unallocated: no business_unit tag, no org tag, SubAccountId '444' is not mapped"


def test_timestamps_become_utc_dates(focus_file, ctx):
    result = read(focus_file, source_from(SOURCE), ctx)
    dates = dict(zip(result.rows.get_column("record_id"), result.rows.get_column("usage_date")))

    assert dates["a1"] == dt.date(2024, 9, 1)  # with T and Z
    assert dates["a2"] == dt.date(2024, 9, 1)  # 01:30 at +02:00 is 23:30 UTC the day before
    assert dates["a3"] == dt.date(2024, 9, 3)  # without T or Z
    assert dates["a6"] == dt.date(2024, 9, 5)  # a date alone
    assert dates["a11"] == dates["a12"] == dt.date(2024, 9, 7)  # fractional seconds


def test_quantity_falls_back_to_pricing_quantity_then_zero(focus_file, ctx):
    result = read(focus_file, source_from(SOURCE), ctx)

    assert result.by_id("a11")["quantity"] == Decimal(5)
    assert result.by_id("a12")["quantity"] == Decimal(0)
    assert result.by_id("a12")["note"] == "correction of an earlier billing period"


def test_shared_account_is_split_exactly(focus_file, ctx):
    result = read(focus_file, source_from(SOURCE), ctx)
    parts = result.rows.filter(pl.col("row_no") == 6)

    # 1e-12 cannot be halved: 60% of one unit (0.6) has the larger remainder, so FIN gets it.
    assert parts.select("record_id", "business_line", "cost", "quantity").rows() == [
        ("a5#FIN", "FIN", Decimal("0.000000000001"), Decimal(6)),
        ("a5#OPS", "OPS", Decimal(0), Decimal(4)),
    ]
    assert parts.get_column("note").to_list() == [
        "split 60% of row (shared sub account 333)", "split 40% of row (shared sub account 333)"]


def test_unallocated_reject_makes_problems(focus_file, ctx):
    source = source_from(SOURCE.replace("unallocated: business_line", "unallocated: reject"))
    result = read(focus_file, source, ctx)

    unmapped = {p.source.row: p.message for p in result.problems if p.code.value == "unmapped" and p.source.column == "Tags"}
    # a6 and a13, and the rows rejected for something else (or repeated) that have no business line either;
    # not a7, whose Tags cannot be read (one problem is enough there)
    assert sorted(unmapped) == [5, 7, 9, 10, 11, 14, 15]
    assert unmapped[15] == (
        "no business line for this row: business_unit tag 'Nowhere' is not mapped, no org tag, SubAccountId '444' is not mapped")
    assert UNALLOCATED not in result.rows.get_column("business_line").to_list()


def test_excluded_charge_categories_are_warned_and_counted(focus_file, ctx):
    source = source_from(SOURCE + "    exclude_charge_categories: [tax]\n")
    result = read(focus_file, source, ctx)

    excluded = [p for p in result.problems if p.code.value == "excluded"]
    assert [(p.source.row, p.severity) for p in excluded] == [(7, Severity.WARNING)]
    assert result.tally.excluded == 1 and result.tally.balanced
    assert "a6" not in result.rows.get_column("record_id").to_list()


def test_effective_cost_basis(focus_file, ctx):
    result = read(focus_file, source_from(SOURCE + "    cost: EffectiveCost\n"), ctx)

    assert result.by_id("a10")["cost"] == Decimal(1)  # BilledCost is NULL there, EffectiveCost is not
    assert result.rows.filter(pl.col("row_no") == 6).get_column("cost").sum() == Decimal(0)


def test_tier_from_a_tag(tmp_path, ctx):
    source = source_from("""
        name: t
        format: focus
        services: [{default: CLOUD-DATA}]
        business_line: {tag: bu}
        tier: {tag: tier}
    """)
    path = write(tmp_path, "focus.csv", '''
        Id,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,Tags
        1,2024-09-01,Usage,S3,Storage,1,"{""bu"": ""FIN"", ""tier"": ""archive""}"
        2,2024-09-01,Usage,S3,Storage,1,"{""bu"": ""FIN"", ""tier"": ""gold""}"
        3,2024-09-01,Usage,S3,Storage,1,"{""bu"": ""fin""}"
    ''')
    result = read(path, source, ctx)

    assert result.codes() == [(1, "header-missing", None), (3, "unknown-tier", "Tags")]
    assert result.problems[0].severity is Severity.WARNING  # no quantity column: quantities are 0
    assert result.rows.select("record_id", "business_line", "tier").rows() == [("1", "FIN", "ARCHIVE"), ("3", "FIN", None)]


def test_ids_fall_back_to_a_content_hash(tmp_path, ctx):
    source = source_from("{name: t, format: focus, services: [{default: CLOUD}], business_line: {tag: bu}}")
    first = write(tmp_path, "a.csv", '''
        ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,Tags
        2024-09-01,Usage,S3,Storage,1,"{""bu"": ""FIN""}"
        2024-09-02,Usage,S3,Storage,1,"{""bu"": ""FIN""}"
        2024-09-01,Usage,S3,Storage,1,"{""bu"": ""FIN""}"
    ''')
    reordered = write(tmp_path, "b.csv", '''
        Tags,BilledCost,ServiceCategory,ServiceName,ChargeCategory,ChargePeriodStart
        "{""bu"": ""FIN""}",1,Storage,S3,Usage,2024-09-01
    ''')
    a, b = read(first, source, ctx), read(reordered, source, ctx)

    assert a.codes()[1:] == [(4, "duplicate", None)]  # the same content twice is the same record
    ids = a.rows.get_column("record_id").to_list()
    assert len(set(ids)) == 2 and all(i.startswith("sha256:") for i in ids)
    assert b.rows.get_column("record_id").to_list() == ids[:1]  # column order does not matter


def test_missing_focus_columns(tmp_path, ctx):
    path = write(tmp_path, "focus.csv", "ServiceName,BilledCost\nS3,1\n")
    result = read(path, source_from(SOURCE), ctx)

    assert result.codes() == [(1, "header-missing", None)]
    assert result.problems[0].message.startswith(
        "missing FOCUS column(s): ChargePeriodStart, ChargeCategory, ServiceCategory, SubAccountId; found: ServiceName, BilledCost")


def test_source_naming_unknown_codes_loads_nothing(focus_file, ctx):
    source = source_from(SOURCE.replace("service: CLOUD}", "service: CLOUDY}").replace("viennaops: OPS", "viennaops: OPZ"))
    result = read(focus_file, source, ctx)

    assert [(p.code.value, p.source.location) for p in result.problems] == [
        ("unknown-service", "services[0]"), ("unknown-business-line", None)]
    assert result.rows.height == 0 and result.tally.rows_read == 0


# --- the real sample ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_lines() -> list[dict[str, str]]:
    with FOCUS_SAMPLE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def sample(examples, ctx):
    return read(FOCUS_SAMPLE, examples["focus-cloud"], ctx)


def test_sample_every_row_is_accounted_for(sample):
    assert sample.problems == []
    t = sample.tally
    assert (t.rows_read, t.good, t.rejected, t.duplicates, t.excluded) == (1000, 1000, 0, 0, 0)
    assert t.rows_loaded == 1004  # the 4 rows of the shared account 17370686428 each split in two
    assert t.cost_read == t.cost_loaded == Decimal("20.52022672899")


def test_sample_month_cost_equals_billed_cost_of_its_billing_period_exactly(sample, sample_lines):
    # Σ cost per month (by usage_date) = Σ BilledCost per BillingPeriodStart month, to the last digit.
    for month in ("2024-09", "2024-10"):
        billed = sum((Decimal(line["BilledCost"]) for line in sample_lines if line["BillingPeriodStart"].startswith(month)), Decimal(0))
        rows = sample.rows.filter(pl.col("usage_date").dt.strftime("%Y-%m") == month)
        assert (rows.get_column("cost").sum() or Decimal(0)) == billed
    assert sample.rows.get_column("cost").sum() == Decimal("20.52022672899")


def test_sample_late_oracle_charge_is_dated_in_its_billing_period(sample, sample_lines):
    # charged 30 September 22:00, billed in the October billing period: it belongs to October,
    # the month the provider invoiced it (a closed September stays closed)
    late = next(line for line in sample_lines if line["BillingPeriodStart"].startswith("2024-10"))
    row = sample.by_id(late["Id"])

    assert late["ChargePeriodStart"] == "2024-09-30 22:00:00"
    assert (row["usage_date"], row["cost"]) == (dt.date(2024, 10, 1), Decimal(late["BilledCost"]))


def test_sample_business_lines_and_notes(sample, sample_lines):
    rows = sample.rows
    by_line = dict(rows.group_by("business_line").len().iter_rows())
    assert by_line == {"DATA": 310, "ENG": 174, "FIN": 98, "OPS": 86, "RES": 44, UNALLOCATED: 292}
    # 289 AWS rows have no Tags (4 of them in the split account) and 7 Microsoft rows no org tag
    assert 289 - 4 + 7 == 292
    only_spaced = [line["Id"] for line in sample_lines if '" org"' in line["Tags"] and '"org"' not in line["Tags"]]
    assert len(only_spaced) == 2 and {sample.by_id(i)["business_line"] for i in only_spaced} == {"RES"}
    refunds = rows.filter(pl.col("note").str.contains("refund"))
    assert refunds.height == 12 and (refunds.get_column("cost") < 0).all()
    assert rows.filter(pl.col("note").str.starts_with("credit")).height == 1
    assert rows.filter(pl.col("note") == "adjustment").height == 2
    assert dict(rows.group_by("service").len().iter_rows()) == {"CLOUD": 774, "CLOUD-DATA": 230}


def test_sample_in_small_batches_is_identical(sample, examples, ctx):
    batched = read(FOCUS_SAMPLE, examples["focus-cloud"], ctx, batch_rows=97)

    assert len(batched.batches) > 10
    assert batched.rows.equals(sample.rows) and batched.tally == sample.tally


def test_other_currencies_are_refused_when_the_source_names_one(tmp_path, ctx):
    source = source_from("{name: t, format: focus, currency: usd, services: [{default: CLOUD}], business_line: {tag: bu}}")
    path = write(tmp_path, "focus.csv", '''
        Id,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,BillingCurrency,Tags,ConsumedQuantity
        1,2024-09-01,Usage,S3,Storage,1,USD,"{""bu"": ""FIN""}",1
        2,2024-09-01,Usage,S3,Storage,1,EUR,"{""bu"": ""FIN""}",1
    ''')
    result = read(path, source, ctx)

    assert result.codes() == [(3, "inconsistent", "BillingCurrency")]
    assert result.problems[0].message == "BillingCurrency 'EUR' is not USD"


def test_sub_account_map_file(tmp_path, ctx):
    (tmp_path / "accounts.csv").write_text("value,business_line\n111,fin\n")
    source = source_from("""
        name: t
        format: focus
        services: [{default: CLOUD}]
        business_line: [{column: SubAccountId, map_file: accounts.csv}]
    """, tmp_path)
    path = write(tmp_path, "focus.csv", '''
        Id,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,SubAccountId,ConsumedQuantity
        1,2024-09-01,Usage,S3,Storage,1,111,1
        2,2024-09-01,Usage,S3,Storage,1,999,1
    ''')
    result = read(path, source, ctx)

    assert result.by_id("1")["business_line"] == "FIN"
    assert result.codes() == [(3, "unmapped", "SubAccountId")]
    assert "SubAccountId '999' is not mapped" in result.problems[0].message


def test_unallocated_needs_the_business_line(focus_file, ctx):
    from dataclasses import replace

    without = replace(ctx, business_lines=ctx.business_lines - {UNALLOCATED})
    result = read(focus_file, source_from(SOURCE), without)

    assert [p.code.value for p in result.problems] == ["unknown-business-line"]
    assert "create business line UNALLOCATED" in result.problems[0].hint


def test_sample_reconciliation_line(sample):
    assert sample.tally.render() == (
        "rows read 1,000 = good 1,000 + rejected 0 + duplicates 0 + conflicts 0 + excluded 0; usage rows loaded 1,004; "
        "quantity read 13438.71290445682, loaded 13438.71290445682; cost read 20.52022672899, loaded 20.52022672899"
    )


def test_blank_lines_alone_in_a_batch(tmp_path, ctx):
    source = source_from("{name: t, format: focus, services: [{default: CLOUD}], business_line: {tag: bu}}")
    path = write(tmp_path, "focus.csv", '''
        Id,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,Tags,ConsumedQuantity
        1,2024-09-01,Usage,S3,Storage,1,"{""bu"": ""FIN""}",1


    ''')
    result = read(path, source, ctx, batch_rows=1)

    assert result.problems == [] and result.rows.height == 1
    assert (result.tally.rows_read, result.tally.blank_rows) == (1, 2)
