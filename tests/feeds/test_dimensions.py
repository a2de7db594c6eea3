"""Price dimensions on the way in (docs/feeds.md, "Price dimensions"): a row's value from the
column named as the dimension, from the column a source definition names, from a FOCUS Tags
key or column; none for a service without a dimension; an empty value is none; a value longer
than the store keeps is refused; a record sent again with another value is a conflict."""

from __future__ import annotations

import dataclasses

import pytest

from billing.feeds import MappingContext
from billing.feeds.sources import parse_source
from tests.feeds.conftest import CATALOGUE, read, source_from, write


@pytest.fixture
def dctx(ctx) -> MappingContext:
    """The test catalogue with STORAGE priced by storage class and COMPUTE by region."""
    services = tuple(dataclasses.replace(s, dimension={"STORAGE": "storage_class", "COMPUTE": "region"}.get(s.code))
                     for s in CATALOGUE.services)
    return dataclasses.replace(ctx, catalogue=dataclasses.replace(CATALOGUE, services=services))


USAGE = """
    record_id,usage_date,cost_center,service,quantity,unit,Storage_Class,region
    r1,2024-09-01,CC-100,STORAGE,10,GB, premium ,eu-west
    r2,2024-09-01,CC-100,COMPUTE,2,HOUR,premium,EU-West
    r3,2024-09-02,CC-100,STORAGE,1,GB,,
    r4,2024-09-02,CC-100,CLOUD,1,USD,premium,eu-west
"""


def test_the_column_named_as_the_dimension_is_read_for_its_services_only(tmp_path, dctx):
    result = read(write(tmp_path, "usage.csv", USAGE), source_from("{name: internal, format: usage}"), dctx)
    assert result.problems == []
    values = {r: result.by_id(r)["dimension_value"] for r in ("r1", "r2", "r3", "r4")}
    # STORAGE reads storage_class (spaces dropped), COMPUTE region as written; an empty cell is
    # none; CLOUD names no dimension, so its row carries none whatever the file holds
    assert values == {"r1": "premium", "r2": "EU-West", "r3": None, "r4": None}


def test_without_the_column_rows_carry_no_value_and_load_as_before(tmp_path, dctx):
    text = "\n".join(line.rsplit(",", 2)[0] for line in USAGE.strip("\n").splitlines())
    result = read(write(tmp_path, "usage.csv", text), source_from("{name: internal, format: usage}"), dctx)
    assert result.problems == [] and result.rows.get_column("dimension_value").null_count() == 4


def test_a_source_definition_names_another_column_and_warns_when_the_file_lacks_it(tmp_path, dctx):
    source = source_from("""
        name: dc
        format: usage
        dimensions: {region: {column: Location}}
    """)
    text = USAGE.replace(",region\n", ",Location\n")
    result = read(write(tmp_path, "usage.csv", text), source, dctx)
    assert result.by_id("r2")["dimension_value"] == "EU-West" and result.by_id("r1")["dimension_value"] == "premium"
    lacking = read(write(tmp_path, "other.csv", USAGE), source, dctx)  # no Location column
    assert [(p.code.value, p.severity.value) for p in lacking.problems] == [
        ("header-missing", "warning"), ("unknown-key", "warning")]  # and its region column is not read
    assert "no column Location" in lacking.problems[0].message
    assert lacking.by_id("r2")["dimension_value"] is None


def test_a_value_longer_than_the_store_keeps_is_refused_with_its_row(tmp_path, dctx):
    text = USAGE.replace("r2,2024-09-01,CC-100,COMPUTE,2,HOUR,premium,EU-West",
                         "r2,2024-09-01,CC-100,COMPUTE,2,HOUR,premium," + "x" * 101)
    result = read(write(tmp_path, "usage.csv", text), source_from("{name: internal, format: usage}"), dctx)
    assert result.codes() == [(3, "too-long", "region")]
    assert result.tally.rejected == 1


def test_a_record_sent_again_with_another_value_is_a_conflict(tmp_path, dctx):
    text = USAGE + "    r1,2024-09-01,CC-100,STORAGE,10,GB,standard,eu-west\n" \
                   "    r2,2024-09-01,CC-100,COMPUTE,2,HOUR,premium,EU-West\n"
    result = read(write(tmp_path, "usage.csv", text), source_from("{name: internal, format: usage}"), dctx)
    assert [(row, code) for row, code, _ in result.codes()] == [(6, "conflict"), (7, "duplicate")]
    assert "dimension_value 'standard' here, 'premium' there" in result.problems[0].message
    assert result.tally.duplicates == 1


FOCUS = '''
    ServiceName,ChargeCategory,BilledCost,ChargePeriodStart,ServiceCategory,ConsumedQuantity,RegionId,Tags,Id
    "Amazon EC2","Usage",2,"2024-09-03T10:00:00Z","Compute",1,"us-west-2","{""business_unit"": ""FIN"", ""class"": ""gp3""}",a1
    "Amazon S3","Usage",1,"2024-09-03T10:00:00Z","Storage",3,"eu-central-1","{""business_unit"": ""FIN"", ""class"": ""gp3""}",a2
    "Amazon S3","Usage",1,"2024-09-03T10:00:00Z","Storage",3,NULL,"{""business_unit"": ""FIN""}",a3
'''


def test_focus_reads_a_dimension_from_a_tag_and_another_from_a_column(tmp_path, dctx):
    source = source_from("""
        name: focus-test
        format: focus
        services: [{service_category: Storage, service: STORAGE}, {default: COMPUTE}]
        business_line: [{tag: business_unit}]
        quantity: ConsumedQuantity
        dimensions:
          storage_class: {tag: class}
          region: {column: RegionId}
    """)
    result = read(write(tmp_path, "focus.csv", FOCUS), source, dctx)
    assert result.problems == [], [p.render() for p in result.problems]
    assert {r: result.by_id(r)["dimension_value"] for r in ("a1", "a2", "a3")} == {
        "a1": "us-west-2",  # COMPUTE: its region from RegionId
        "a2": "gp3",  # STORAGE: its storage class from the class tag, not the region
        "a3": None,  # no class tag
    }


def test_a_source_definition_refuses_a_tag_in_our_format_and_a_rule_without_a_place():
    for text, expected in (
        ("name: a\nformat: usage\ndimensions: {region: {tag: region}}\n", "unknown key 'tag'"),
        ("name: a\nformat: focus\nservices: [{default: X}]\nbusiness_line: [{tag: b}]\n"
         "dimensions: {region: {}}\n", "give exactly one of `tag:` or `column:`"),
        ("name: a\nformat: focus\nservices: [{default: X}]\nbusiness_line: [{tag: b}]\n"
         "dimensions: {region: RegionId}\n", "region is read from {tag: KEY} or {column: NAME}"),
    ):
        source, problems = parse_source(text, file="a.yaml")
        assert source is None and any(expected in p.message for p in problems), [p.render() for p in problems]
        assert all(p.source.row and p.source.location.startswith("dimensions") for p in problems)
