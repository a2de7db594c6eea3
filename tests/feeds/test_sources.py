"""Source definitions: the examples load, and every mistake points at file, line and key."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from billing.feeds import FeedFormat, UnallocatedRule, check_source, default_source, load_sources, parse_source
from tests.feeds.conftest import EXAMPLE_SOURCES


def problems_of(yaml_text: str) -> list[tuple[int | None, str | None, str]]:
    source, problems = parse_source(textwrap.dedent(yaml_text), file="s.yaml")
    assert source is None
    return [(p.source.row, p.source.location, p.code.value) for p in problems]


def test_examples_load_and_name_known_codes(examples, ctx):
    assert sorted(examples) == ["focus-cloud", "internal"]
    assert examples["internal"].format is FeedFormat.USAGE
    cloud = examples["focus-cloud"]
    assert (cloud.format, cloud.cost, cloud.unallocated) == (FeedFormat.FOCUS, "BilledCost", UnallocatedRule.BUSINESS_LINE)
    assert cloud.service_codes() == ("CLOUD-DATA", "CLOUD")
    assert {code for _, code in cloud.value_map} == {"ENG", "DATA", "FIN", "OPS", "RES"}
    assert cloud.splits[0].shares == (("ENG", Decimal(60)), ("OPS", Decimal(40)))
    assert check_source(cloud, ctx) == [] and check_source(examples["internal"], ctx) == []


def test_split_percentages_must_sum_to_100():
    found = problems_of("""
        name: s
        format: focus
        services: [{default: CLOUD}]
        business_line: {tag: bu}
        splits:
          - sub_account_id: "1"
            shares: {FIN: 60, OPS: 30}
    """)
    assert found == [(8, "splits[0].shares", "percents-not-100")]


def test_split_percentages_must_be_in_range_and_numbers():
    source, problems = parse_source(textwrap.dedent("""
        name: s
        format: focus
        services: [{default: CLOUD}]
        business_line: {tag: bu}
        splits:
          - sub_account_id: ["1", "2"]
            shares:
              FIN: 120
              OPS: -20
          - sub_account_id: "2"
            shares: {FIN: 33.34, OPS: "66.66%"}
    """), file="s.yaml")
    assert source is None
    assert [(p.source.row, p.source.location, p.code.value) for p in problems] == [
        (9, "splits[0].shares.FIN", "percent-out-of-range"),
        (10, "splits[0].shares.OPS", "percent-out-of-range"),
        (11, "splits[1].sub_account_id", "duplicate"),
        (12, "splits[1].shares.OPS", "value-invalid"),
    ]
    assert problems[0].render() == "s.yaml:9:splits[0].shares.FIN: percent-out-of-range share of FIN is 120%; it must be above 0 and at most 100"


def test_decimal_percentages_are_exact():
    source, problems = parse_source(textwrap.dedent("""
        name: s
        format: focus
        services: [{default: CLOUD}]
        business_line: {tag: bu}
        splits: [{sub_account_id: "1", shares: {FIN: 33.33, OPS: 33.33, ENG: 33.34}}]
    """), file="s.yaml")
    assert problems == []
    assert [p for _, p in source.splits[0].shares] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]


def test_yaml_syntax_error_has_a_line():
    found = problems_of("""
        name: s
        format: focus
        services:
          - {default: CLOUD
        business_line: {tag: bu}
    """)
    assert found == [(6, None, "value-invalid")]


def test_unknown_keys_suggest_the_right_one():
    source, problems = parse_source("name: s\nformat: focus\nservices: [{default: CLOUD}]\nbusiness_lines: {tag: bu}\n",
                                    file="s.yaml")
    assert source is None
    assert [(p.source.row, p.source.location, p.code.value) for p in problems] == [
        (4, "business_lines", "unknown-key"), (1, "business_line", "value-missing")]
    assert problems[0].hint == "did you mean 'business_line'?"


def test_required_keys_and_bad_values():
    assert problems_of("description: x\n") == [(1, "name", "value-missing"), (1, "format", "value-missing")]
    assert problems_of("name: s\nformat: parquet\n") == [(2, "format", "value-invalid")]
    assert problems_of("name: s\nformat: usage\nbusiness_line: {tag: bu}\n") == [(3, "business_line", "unknown-key")]
    assert problems_of("- just\n- a list\n") == [(1, None, "value-invalid")]
    assert problems_of("name: s\nname: t\nformat: usage\n") == [(2, "name", "duplicate")]


def test_service_rules():
    found = problems_of("""
        name: s
        format: focus
        business_line: {tag: bu}
        services:
          - {default: CLOUD}
          - {service_category: Storage, service: CLOUD-DATA}
          - {service: CLOUD}
          - {service_nmae: x, service: CLOUD}
    """)
    assert found == [
        (7, "services[1]", "inconsistent"),  # after the default: never reached
        (8, "services[2]", "inconsistent"),
        (9, "services[3].service_nmae", "unknown-key"),
        (9, "services[3]", "inconsistent"),
    ]


def test_business_line_map_file(tmp_path, ctx):
    (tmp_path / "accounts.csv").write_text("value,business_line\n111,FIN\n222,OPS\n111,ENG\n333\n")
    (tmp_path / "cloud.yaml").write_text(textwrap.dedent("""
        name: cloud
        format: focus
        services: [{default: CLOUD}]
        business_line:
          - column: SubAccountId
            map_file: accounts.csv
    """))
    sources, problems = load_sources(tmp_path)
    assert [p.render() for p in problems] == [
        f"{tmp_path}/accounts.csv:5: too-few-fields the row has 1 field, the header 2: a value is missing, so the "
        f"values after it would be read under the wrong columns; the row is not read (every row needs a field for "
        f"each column, even an empty one)",
        f"{tmp_path}/accounts.csv:4:value: duplicate value '111' is already mapped on row 2",
    ]
    (tmp_path / "accounts.csv").write_text("value,business_line\n111,FIN\n222,OPS\n")
    sources, problems = load_sources(tmp_path)
    assert problems == [] and sources["cloud"].business_line[0].map == (("111", "FIN"), ("222", "OPS"))


def test_directory_problems(tmp_path):
    (tmp_path / "a.yaml").write_text("name: same\nformat: usage\n")
    (tmp_path / "b.yaml").write_text("name: same\nformat: usage\n")
    (tmp_path / "c.yaml").write_text("name: [unclosed\n")
    (tmp_path / "d.yaml").write_bytes(b"\xff\xfe")
    sources, problems = load_sources(tmp_path)
    assert list(sources) == ["same"]
    assert [(p.source.file.rsplit("/", 1)[-1], p.code.value) for p in problems] == [
        ("b.yaml", "duplicate"), ("c.yaml", "value-invalid"), ("d.yaml", "file-unreadable")]
    assert load_sources(tmp_path / "missing")[1][0].code.value == "file-unreadable"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLE_SOURCES.glob("*.yaml")))
def test_every_example_is_documented(name):
    docs = (EXAMPLE_SOURCES.parents[1] / "docs" / "feeds.md").read_text(encoding="utf-8")
    assert name in docs


def test_numbers_are_taken_as_written():
    source, problems = parse_source(textwrap.dedent("""
        name: s
        format: focus
        services: [{sub_account_id: [0123, 17370686428], service: CLOUD}]
        business_line: {column: SubAccountId, map: {0042: FIN}}
        splits: [{sub_account_id: 0777, shares: {FIN: 100}}]
    """), file="s.yaml")
    assert problems == []
    assert source.services[0].match == (("SubAccountId", ("0123", "17370686428")),)
    assert source.business_line[0].map == (("0042", "FIN"),)
    assert source.splits[0].sub_account_ids == ("0777",)


def test_default_source_is_our_usage_format():
    source = default_source("metering")
    assert (source.name, source.format, source.columns) == ("metering", FeedFormat.USAGE, ())
