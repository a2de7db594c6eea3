"""FOCUS 1.0 to 1.3 load alike: version detection, the version-aware column map, InvoiceId
and x_ columns kept with the rows, dates checked as written before the late-charge rule."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from billing.feeds.context import UNALLOCATED
from billing.feeds.focus_versions import column_lookup, detect_version
from tests.feeds.conftest import read, source_from, write

DATA = Path(__file__).resolve().parents[1] / "data" / "focus"
VERSIONS = ("1.0", "1.1", "1.2", "1.3")


@pytest.fixture
def ctx2025(ctx):
    return dataclasses.replace(ctx, latest=dt.date(2025, 12, 31))


def lines(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def billed(rows: list[dict[str, str]], key: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in rows:
        totals[line[key]] = totals.get(line[key], Decimal(0)) + Decimal(line["BilledCost"])
    return totals


@pytest.mark.parametrize("version", VERSIONS)
def test_the_version_is_told_from_the_columns(version):
    header = (DATA / f"focus-{version}_nimbus.csv").read_text().splitlines()[0].split(",")
    found = detect_version(header)
    assert found.version == version
    assert found.custom == ("x_ChargeId", "x_CostCenterCode")
    assert found.deprecated == (("ProviderName", "PublisherName") if version == "1.3" else ())


def test_drafts_and_plain_headers():
    assert detect_version(["ChargePeriodStart", "BilledCost", "UsageQuantity", "AmortizedCost"]).version == "before 1.0"
    assert detect_version(["ChargePeriodStart", "BilledCost"]).version == "1.0"
    assert detect_version([" invoiceid ", "BilledCost"]).version == "1.2"  # any case, spaces around


def test_renamed_columns_are_read_under_their_current_name_first():
    assert column_lookup("ProviderName") == ("ServiceProviderName", "ProviderName", "Provider")
    assert column_lookup("PublisherName") == ("PublisherName", "Publisher", "ServiceProviderName")
    assert column_lookup("ConsumedQuantity") == ("ConsumedQuantity", "UsageQuantity")
    assert column_lookup("x_Anything") == ("x_Anything",)


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_loads_every_row_and_reconciles_per_billing_month_and_invoice(version, examples, ctx2025):
    path = DATA / f"focus-{version}_nimbus.csv"
    result = read(path, examples["focus-cloud"], ctx2025)
    source = lines(path)

    assert result.problems == []
    assert (result.tally.rows_read, result.tally.good) == (len(source), len(source))
    # every charge, the February late charge and correction included, is March usage: the
    # month of its billing period
    assert result.rows.get_column("usage_date").dt.strftime("%Y-%m").unique().to_list() == ["2025-03"]
    assert result.rows.get_column("cost").sum() == sum(billed(source, "BillingPeriodStart").values())
    if version in ("1.2", "1.3"):
        loaded = dict(result.rows.group_by("invoice_id").agg(pl.col("cost").sum()).iter_rows())
        assert loaded == billed(source, "InvoiceId")
        assert set(loaded) == {"INV-202503-0001", "INV-202503-0002"}
    else:
        assert result.rows.get_column("invoice_id").null_count() == result.rows.height


@pytest.mark.parametrize("version", VERSIONS)
def test_the_defective_variant_loads_as_the_conformant_file(version, examples, ctx2025):
    # timestamps without T and Z, "Usage-based" for "Usage-Based"
    good = read(DATA / f"focus-{version}_nimbus.csv", examples["focus-cloud"], ctx2025)
    odd = read(DATA / f"focus-{version}_nimbus_defects.csv", examples["focus-cloud"], ctx2025)
    assert odd.problems == []
    assert odd.rows.drop("row_no").equals(good.rows.drop("row_no"))


def test_business_lines_notes_and_custom_columns(examples, ctx2025):
    result = read(DATA / "focus-1.2_nimbus.csv", examples["focus-cloud"], ctx2025)
    row = result.by_id("ch-0001")
    assert json.loads(row["attributes"]) == {"x_ChargeId": "ch-0001", "x_CostCenterCode": "CC-100"}
    assert json.loads(result.by_id("ch-0002")["attributes"])["x_CostCenterCode"] is None  # NULL in the file
    assert result.by_id("ch-0002")["business_line"] == "ENG"  # "engineering", any case
    assert result.by_id("ch-0005")["business_line"] == UNALLOCATED  # untagged
    assert "refund" in result.by_id("ch-0006")["note"]
    late = result.by_id("ch-0008")
    assert late["usage_date"] == dt.date(2025, 3, 1)
    assert "late charge: used 2025-02-28, billed in the period from 2025-03-01, so dated 2025-03-01" in late["note"]
    correction = result.by_id("ch-0009")
    assert "correction of an earlier billing period" in correction["note"] and "late charge" in correction["note"]


def test_focus_1_3_allocated_charges_take_the_tags_of_the_resource_they_went_to(examples, ctx2025):
    result = read(DATA / "focus-1.3_nimbus.csv", examples["focus-cloud"], ctx2025)
    checkout, etl = result.by_id("ch-0013"), result.by_id("ch-0014")
    # the cluster's own Tags say only {"cluster": "shared-1"}; AllocatedTags name the business unit
    assert (checkout["business_line"], etl["business_line"]) == ("ENG", "DATA")
    assert "split by the provider (nimbus-k8s-cpu-share) to nimbus:pod/checkout" in checkout["note"]


def test_a_1_3_export_without_the_deprecated_columns_matches_services_on_service_provider_name(tmp_path, ctx2025):
    source = source_from("""
        name: multi
        format: focus
        services:
          - provider_name: [Nimbus Cloud]
            service: CLOUD
          - publisher_name: [Nimbus Cloud]
            service: CLOUD-DATA
        business_line:
          - tag: business_unit
        unallocated: business_line
    """)
    path = write(tmp_path, "f13.csv", """
        ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,ServiceProviderName,HostProviderName,BilledCost,PricingQuantity,Tags
        2025-03-01T00:00:00Z,Usage,VMs,Compute,Nimbus Cloud,Nimbus Cloud,1.00,1,"{""business_unit"": ""FIN""}"
    """)
    result = read(path, source, ctx2025)
    assert result.problems == [] and result.rows.get_column("service").to_list() == ["CLOUD"]


def test_a_charge_date_far_outside_the_range_is_rejected_not_moved(tmp_path, examples, ctx2025):
    # ChargePeriodStart in 1899 billed in March 2025: the late-charge rule must not re-date it
    path = write(tmp_path, "old.csv", """
        ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,BillingCurrency,PricingQuantity,Tags,SubAccountId,x_ChargeId
        1899-12-31T00:00:00Z,1900-01-01T00:00:00Z,2025-03-01T00:00:00Z,Usage,VMs,Compute,5.00,USD,1,NULL,acct,a
        2025-02-28T00:00:00Z,2025-03-01T00:00:00Z,2025-03-01T00:00:00Z,Usage,VMs,Compute,1.00,USD,1,NULL,acct,b
        2025-03-02T00:00:00Z,2025-03-01T00:00:00Z,2025-03-01T00:00:00Z,Usage,VMs,Compute,2.00,USD,1,NULL,acct,c
        2025-03-02T00:00:00Z,yesterday,2025-03-01T00:00:00Z,Usage,VMs,Compute,3.00,USD,1,NULL,acct,d
        2025-03-02T00:00:00Z,2025-03-03T00:00:00Z,2025-13-01T00:00:00Z,Usage,VMs,Compute,4.00,USD,1,NULL,acct,e
    """)
    result = read(path, examples["focus-cloud"], ctx2025)
    assert result.codes() == [
        (2, "date-out-of-range", "ChargePeriodStart"),
        (4, "inconsistent", "ChargePeriodEnd"),
        (5, "not-a-date", "ChargePeriodEnd"),
        (6, "not-a-date", "BillingPeriodStart"),
    ]
    assert "ChargePeriodStart 1899-12-31 is outside" in result.problems[0].message
    assert result.rows.get_column("record_id").to_list() == ["b"]  # the late charge of 28 February, moved and noted
    assert result.by_id("b")["usage_date"] == dt.date(2025, 3, 1) and "late charge" in result.by_id("b")["note"]
    assert (result.tally.rows_read, result.tally.good, result.tally.rejected) == (5, 1, 4)


def test_an_hour_level_end_before_its_start_on_the_same_day_is_caught(tmp_path, examples, ctx2025):
    path = write(tmp_path, "hours.csv", """
        ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,ServiceCategory,BilledCost,BillingCurrency,PricingQuantity,Tags,SubAccountId
        2025-03-02T10:00:00Z,2025-03-02T09:00:00Z,Usage,VMs,Compute,2.00,USD,1,NULL,acct
        2025-03-02T10:00:00+02:00,2025-03-02T09:00:00Z,Usage,VMs,Compute,2.00,USD,1,NULL,acct
    """)
    result = read(path, examples["focus-cloud"], ctx2025)
    # 10:00+02:00 is 08:00 UTC, before 09:00: the second row is fine
    assert result.codes() == [(2, "inconsistent", "ChargePeriodEnd")]
