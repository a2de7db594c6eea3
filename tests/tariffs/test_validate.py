"""Catalogue validation: each rule of docs/pricing.md ("Validation rules") on a small catalogue
that is clean until one line is changed."""

import datetime as dt
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from billing.core.problems import ProblemCode, Severity, SourceRef
from tariffs.load import load_catalogue
from tariffs.model import (
    Band,
    Catalogue,
    PricingModel,
    Service,
    ServiceKind,
    ServiceLevel,
    TariffVersion,
    Tier,
    TierPrice,
    Unit,
)
from tariffs.validate import validate_catalogue, validate_subscriptions

BASE = """\
units:
  - {code: vm-hour, name: VM hours}
services:
  - code: VM
    name: Virtual machines
    unit: vm-hour
    kind: it
    owner: Infrastructure
    default_tier: silver
    tiers:
      - {code: gold, name: Gold, funding_level: premium, service_level: {availability_pct: 99.95}}
      - {code: silver, name: Silver, funding_level: standard}
tariffs:
  - service: VM
    version: "2025.1"
    effective_from: 2025-01-01
    effective_to: 2025-12-31
    currency: USD
    tiers:
      gold:
        model: graduated
        bands:
          - {up_to: 250, unit_price: "0.12"}
          - {up_to: 1000, unit_price: "0.11"}
          - {unit_price: "0.10"}
        service_credits:
          availability_pct:
            - {shortfall_up_to: 0.2, credit_pct: 5}
            - {shortfall_up_to: 0.5, credit_pct: 10}
            - {credit_pct: 25}
      silver: {model: per_unit, unit_price: "0.09"}
  - service: VM
    version: "2026.1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      gold: {model: volume, bands: [{up_to: 250, unit_price: "0.12"}, {unit_price: "0.10"}]}
      silver: {model: package, block_size: 100, block_price: "7.00"}
"""

GRADUATED_BANDS = """\
          - {up_to: 250, unit_price: "0.12"}
          - {up_to: 1000, unit_price: "0.11"}
          - {unit_price: "0.10"}
"""
SILVER_2025 = 'silver: {model: per_unit, unit_price: "0.09"}'
SILVER_2026 = 'silver: {model: package, block_size: 100, block_price: "7.00"}'


def check(tmp_path: Path, *replacements: tuple[str, str]):
    """Validate BASE with each (old, new) replaced once; the YAML itself must load cleanly."""
    text = BASE
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "vm.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    catalogue, load_problems = load_catalogue(tmp_path)
    assert load_problems == [], [p.render() for p in load_problems]
    return validate_catalogue(catalogue)


def one(problems, code: ProblemCode, location: str):
    assert len(problems) == 1, [p.render() for p in problems]
    [p] = problems
    assert (p.code, p.source.location) == (code, location), p.render()
    assert p.source.file.endswith("vm.yaml") and p.source.row and p.hint
    return p


def test_base_catalogue_is_clean(tmp_path):
    assert check(tmp_path) == []


# --------------------------------------------------------------------------- bands


def test_bands_unsorted(tmp_path):
    p = one(check(tmp_path, ("{up_to: 1000, unit_price", "{up_to: 100, unit_price")),
            ProblemCode.BANDS_UNSORTED, "tariffs[0].tiers.gold.bands[1].up_to")
    assert p.source.row == 24  # the band's own line


def test_bands_duplicate_edge_overlap(tmp_path):
    one(check(tmp_path, ("{up_to: 1000, unit_price", "{up_to: 250, unit_price")),
        ProblemCode.BANDS_OVERLAP, "tariffs[0].tiers.gold.bands[1].up_to")


def test_band_after_open_ended(tmp_path):
    bands = '          - {up_to: 250, unit_price: "0.12"}\n          - {unit_price: "0.10"}\n' \
            '          - {up_to: 1000, unit_price: "0.11"}\n'
    one(check(tmp_path, (GRADUATED_BANDS, bands)), ProblemCode.BAND_AFTER_OPEN, "tariffs[0].tiers.gold.bands[2]")


def test_last_band_not_open_ended(tmp_path):
    bands = '          - {up_to: 250, unit_price: "0.12"}\n          - {up_to: 1000, unit_price: "0.11"}\n'
    p = one(check(tmp_path, (GRADUATED_BANDS, bands)), ProblemCode.VALUE_MISSING, "tariffs[0].tiers.gold.bands[1]")
    assert "above 1000 have no price" in p.message


def test_band_edge_above_zero(tmp_path):
    one(check(tmp_path, ("{up_to: 250, unit_price: \"0.12\"}\n          - {up_to: 1000", "{up_to: 0, unit_price: \"0.12\"}\n          - {up_to: 1000")),
        ProblemCode.VALUE_INVALID, "tariffs[0].tiers.gold.bands[0].up_to")


def test_negative_band_price(tmp_path):
    one(check(tmp_path, ('{up_to: 1000, unit_price: "0.11"}', '{up_to: 1000, unit_price: "0.11", flat_fee: -5}')),
        ProblemCode.NEGATIVE, "tariffs[0].tiers.gold.bands[1].flat_fee")


# --------------------------------------------------------------------------- versions


def test_versions_overlap(tmp_path):
    p = one(check(tmp_path, ("effective_to: 2025-12-31", "effective_to: 2026-01-15")),
            ProblemCode.VERSIONS_OVERLAP, "tariffs[1].effective_from")
    assert "effective_to: 2025-12-31" in p.hint


def test_open_ended_version_followed_by_another_overlaps(tmp_path):
    one(check(tmp_path, ("    effective_to: 2025-12-31\n", "")), ProblemCode.VERSIONS_OVERLAP, "tariffs[1].effective_from")


def test_versions_gap(tmp_path):
    p = one(check(tmp_path, ("effective_from: 2026-01-01", "effective_from: 2026-02-01")),
            ProblemCode.VERSIONS_GAP, "tariffs[1].effective_from")
    assert "from 2026-01-01 to 2026-01-31" in p.message and "effective_from: 2026-01-01" in p.hint


def test_effective_to_before_effective_from(tmp_path):
    problems = check(tmp_path, ("effective_to: 2025-12-31", "effective_to: 2024-12-31"))
    assert [p.code for p in problems] == [ProblemCode.INCONSISTENT, ProblemCode.VERSIONS_GAP]
    assert problems[0].source.location == "tariffs[0].effective_to"


def test_duplicate_version(tmp_path):
    one(check(tmp_path, ('version: "2026.1"', 'version: "2025.1"')), ProblemCode.DUPLICATE, "tariffs[1].version")


# --------------------------------------------------------------------------- references


def test_tariff_for_unknown_service(tmp_path):
    p = one(check(tmp_path, ("  - service: VM\n    version: \"2026.1\"", "  - service: VMS\n    version: \"2026.1\"")),
            ProblemCode.UNKNOWN_SERVICE, "tariffs[1].service")
    assert "did you mean 'VM'" in p.hint


def test_price_for_unknown_tier(tmp_path):
    p = one(check(tmp_path, (SILVER_2026, SILVER_2026 + "\n      platinum: {model: per_unit, unit_price: 1}")),
            ProblemCode.UNKNOWN_TIER, "tariffs[1].tiers.platinum")
    assert "gold, silver" in p.hint


def test_service_tier_without_price(tmp_path):
    p = one(check(tmp_path, ("      " + SILVER_2026 + "\n", "")), ProblemCode.VALUE_MISSING, "tariffs[1].tiers")
    assert "silver" in p.message


def test_unknown_unit(tmp_path):
    p = one(check(tmp_path, ("unit: vm-hour", "unit: vm-hours")), ProblemCode.UNKNOWN_UNIT, "services[0].unit")
    assert "did you mean 'vm-hour'" in p.hint


def test_unknown_default_tier(tmp_path):
    one(check(tmp_path, ("default_tier: silver", "default_tier: bronze")), ProblemCode.UNKNOWN_TIER,
        "services[0].default_tier")


def test_duplicate_unit_service_and_tier_codes(tmp_path):
    problems = check(
        tmp_path,
        ("  - {code: vm-hour, name: VM hours}\n", "  - {code: vm-hour, name: VM hours}\n  - {code: vm-hour, name: Hours}\n"),
        ("{code: silver, name: Silver", "{code: gold, name: Silver"),
    )
    assert {(p.code, p.source.location) for p in problems} >= {
        (ProblemCode.DUPLICATE, "units[1].code"), (ProblemCode.DUPLICATE, "services[0].tiers[1].code")}
    (tmp_path / "more.yaml").write_text(
        "services:\n  - {code: VM, name: Again, unit: vm-hour, kind: it, owner: X, default_tier: a,"
        " tiers: [{code: a, name: A, funding_level: basic}]}\n")
    catalogue, _ = load_catalogue(tmp_path)
    assert (ProblemCode.DUPLICATE, "services[0].code") in {(p.code, p.source.location) for p in validate_catalogue(catalogue)}


def test_component_unknown_service_and_cycle(tmp_path):
    text = "    owner: Infrastructure\n"
    one(check(tmp_path, (text, text + "    components: [{service: DISK, quantity: 2}]\n")),
        ProblemCode.UNKNOWN_SERVICE, "services[0].components[0].service")
    p = one(check(tmp_path, (text, text + "    components: [{service: VM}]\n")), ProblemCode.CYCLE, "services[0].components")
    assert "VM → VM" in p.message


def test_component_cycle_through_two_services(tmp_path):
    check(tmp_path, ("    owner: Infrastructure\n", "    owner: Infrastructure\n    components: [{service: STORAGE}]\n"))
    (tmp_path / "storage.yaml").write_text(
        "services:\n  - {code: STORAGE, name: Storage, unit: vm-hour, kind: it, owner: X, default_tier: a,"
        " components: [{service: VM, quantity: 0.5}], tiers: [{code: a, name: A, funding_level: basic}]}\n")
    catalogue, _ = load_catalogue(tmp_path)
    cycles = [p for p in validate_catalogue(catalogue) if p.code is ProblemCode.CYCLE]
    assert len(cycles) == 1 and "STORAGE → VM → STORAGE" in cycles[0].message


# --------------------------------------------------------------------------- prices


def test_negative_prices_fees_minimums_and_included(tmp_path):
    problems = check(tmp_path, (SILVER_2025, 'silver: {model: per_unit, unit_price: "-0.09", monthly_fee: -1, '
                                             'minimum_charge: -1, included_quantity: -1}'))
    assert [(p.code, p.source.location) for p in problems] == [
        (ProblemCode.NEGATIVE, f"tariffs[0].tiers.silver.{name}")
        for name in ("unit_price", "monthly_fee", "included_quantity", "minimum_charge")]


@pytest.mark.parametrize("price, field", [
    ("{model: per_unit}", "unit_price"),
    ("{model: graduated}", "bands"),
    ("{model: volume}", "bands"),
    ("{model: package, block_price: 7}", "block_size"),
    ("{model: package, block_size: 100}", "block_price"),
    ("{model: pass_through}", "markup_pct"),
])
def test_model_required_fields(tmp_path, price, field):
    p = one(check(tmp_path, (SILVER_2026, f"silver: {price}")), ProblemCode.VALUE_MISSING, f"tariffs[1].tiers.silver.{field}")
    assert field in p.hint


def test_package_block_size_above_zero(tmp_path):
    one(check(tmp_path, ("block_size: 100", "block_size: 0")), ProblemCode.VALUE_INVALID, "tariffs[1].tiers.silver.block_size")


def test_markup_not_below_minus_100(tmp_path):
    one(check(tmp_path, (SILVER_2026, "silver: {model: pass_through, markup_pct: -101}")),
        ProblemCode.PERCENT_OUT_OF_RANGE, "tariffs[1].tiers.silver.markup_pct")
    assert check(tmp_path, (SILVER_2026, "silver: {model: pass_through, markup_pct: -100}")) == []


@pytest.mark.parametrize("price, location, message", [
    ('silver: {model: per_unit, unit_price: "1000000000000"}', "tariffs[0].tiers.silver.unit_price",
     "unit_price 1000000000000 is out of range: a price has at most 12 digits before the point"),
    ('silver: {model: per_unit, unit_price: "0.09", monthly_fee: "1e12"}', "tariffs[0].tiers.silver.monthly_fee",
     "monthly_fee 1000000000000 is out of range: a price has at most 12 digits before the point"),
    ('silver: {model: graduated, bands: [{up_to: "1e14", unit_price: "1", flat_fee: "2e12"}, {unit_price: "1"}]}',
     "tariffs[0].tiers.silver.bands[0].flat_fee", "flat_fee 2000000000000 is out of range: a price"),
    ('silver: {model: pass_through, markup_pct: 10000}', "tariffs[0].tiers.silver.markup_pct",
     "markup_pct 10000 is out of range: a markup has at most 4 digits"),
])
def test_prices_fees_and_markups_beyond_their_ranges(tmp_path, price, location, message):
    found = one(check(tmp_path, (SILVER_2025, price)), ProblemCode.OUT_OF_RANGE, location)
    assert message in found.message
    assert check(tmp_path, (SILVER_2025, 'silver: {model: per_unit, unit_price: "999999999999.999999999999"}')) == []


def test_yaml_numbers_beyond_any_range_and_codes_and_names_too_long(tmp_path):
    for price, code, message in (
        ('silver: {model: per_unit, unit_price: "1e400"}', ProblemCode.OUT_OF_RANGE, "unit_price 1E+400 is out of range"),
        ('silver: {model: per_unit, unit_price: "0.09", minimum_charge: "0.0000000000001"}', ProblemCode.TOO_PRECISE,
         "minimum_charge 0.0000000000001 has 13 decimals; at most 12 are kept"),
    ):  # beyond what any number may be: refused as the file is read, the price left out
        (tmp_path / "vm.yaml").write_text(textwrap.dedent(BASE.replace(SILVER_2025, price)), encoding="utf-8")
        _, problems = load_catalogue(tmp_path)
        found = one(problems, code, f"tariffs[0].tiers.silver.{message.split()[0]}")
        assert message in found.message
    one(check(tmp_path, ("name: Virtual machines", f"name: {'V' * 201}")), ProblemCode.TOO_LONG, "services[0].name")
    one(check(tmp_path, ('version: "2025.1"', f'version: "{"1" * 41}"')), ProblemCode.TOO_LONG, "tariffs[0].version")


def test_fields_that_do_not_belong_to_the_model(tmp_path):
    one(check(tmp_path, (SILVER_2025, 'silver: {model: per_unit, unit_price: "0.09", bands: [{unit_price: 1}]}')),
        ProblemCode.INCONSISTENT, "tariffs[0].tiers.silver.bands")
    one(check(tmp_path, (SILVER_2026, "silver: {model: fixed, monthly_fee: 10, markup_pct: 5}")),
        ProblemCode.INCONSISTENT, "tariffs[1].tiers.silver.markup_pct")


@pytest.mark.parametrize("price, field, words", [
    ('{model: per_unit, unit_price: "0.09", block_size: 100}', "block_size", "package, graduated and volume"),
    ("{model: pass_through, markup_pct: 8, block_size: 100}", "block_size", "package, graduated and volume"),
    ('{model: volume, bands: [{up_to: 200, unit_price: "0.12"}, {unit_price: "0.10"}], block_size: 100, '
     'block_price: "7.00"}', "block_price", "keep their unit_price per unit"),
    ('{model: per_unit, unit_price: "0.09", band_edges: exclusive}', "band_edges", "graduated or volume"),
    ('{model: package, block_size: 100, block_price: "7.00", band_edges: inclusive}', "band_edges", "graduated or volume"),
    ('{model: fixed, monthly_fee: 10, flat_fee_at_zero: charged}', "flat_fee_at_zero", "monthly_fee"),
    ('{model: volume, bands: [{up_to: 200, unit_price: "0.12"}, {unit_price: "0.10", flat_fee: 5}], '
     "flat_fee_at_zero: charged}", "flat_fee_at_zero", "add a flat_fee to the first band"),
])
def test_band_options_where_they_cannot_apply(tmp_path, price, field, words):
    p = one(check(tmp_path, (SILVER_2026, f"silver: {price}")), ProblemCode.INCONSISTENT, f"tariffs[1].tiers.silver.{field}")
    assert words in p.hint


def test_band_block_size_above_zero_and_edges_in_whole_blocks(tmp_path):
    bands = '{model: graduated, bands: [{up_to: 250, unit_price: "0.12"}, {unit_price: "0.10"}]'
    for size, code in (("0", ProblemCode.VALUE_INVALID), ("-50", ProblemCode.NEGATIVE)):
        one(check(tmp_path, (SILVER_2026, f"silver: {bands}, block_size: {size}}}")), code,
            "tariffs[1].tiers.silver.block_size")
    p = one(check(tmp_path, (SILVER_2026, f"silver: {bands}, block_size: 100}}")), ProblemCode.INCONSISTENT,
            "tariffs[1].tiers.silver.bands[0].up_to")
    assert "250" in p.message and "up_to: 300" in p.hint
    assert check(tmp_path, (SILVER_2026, f"silver: {bands}, block_size: 50, band_edges: exclusive}}")) == []


def test_included_quantity_on_pass_through(tmp_path):
    one(check(tmp_path, (SILVER_2026, "silver: {model: pass_through, markup_pct: 8, included_quantity: 100}")),
        ProblemCode.INCONSISTENT, "tariffs[1].tiers.silver.included_quantity")


def test_currency_three_letter_code(tmp_path):
    p = one(check(tmp_path, ("    currency: USD\n    tiers:\n      gold: {model: volume", "    currency: usd\n    tiers:\n      gold: {model: volume")),
            ProblemCode.VALUE_INVALID, "tariffs[1].currency")
    assert "USD" in p.hint


# --------------------------------------------------------------------------- credits


def test_credit_pct_outside_0_to_100(tmp_path):
    one(check(tmp_path, ("credit_pct: 25", "credit_pct: 150")), ProblemCode.PERCENT_OUT_OF_RANGE,
        "tariffs[0].tiers.gold.service_credits.availability_pct[2].credit_pct")


def test_service_level_targets_in_range(tmp_path):
    one(check(tmp_path, ("availability_pct: 99.95}", "availability_pct: 109.95}")), ProblemCode.PERCENT_OUT_OF_RANGE,
        "services[0].tiers[0].service_level.availability_pct")
    one(check(tmp_path, ("funding_level: standard}", "funding_level: standard, service_level: {restore_hours: -4}}")),
        ProblemCode.NEGATIVE, "services[0].tiers[1].service_level.restore_hours")


def test_credit_bands_unsorted(tmp_path):
    one(check(tmp_path, ("shortfall_up_to: 0.5", "shortfall_up_to: 0.1")), ProblemCode.BANDS_UNSORTED,
        "tariffs[0].tiers.gold.service_credits.availability_pct[1].shortfall_up_to")


def test_credits_for_a_metric_without_target_warn(tmp_path):
    p = one(check(tmp_path, ("availability_pct:\n            - {shortfall_up_to: 0.2",
                             "restore_hours:\n            - {shortfall_up_to: 0.2")),
            ProblemCode.INCONSISTENT, "tariffs[0].tiers.gold.service_credits.restore_hours")
    assert p.severity is Severity.WARNING


# --------------------------------------------------------------------------- all at once


def test_every_problem_reported_at_once(tmp_path):
    problems = check(
        tmp_path,
        ("unit: vm-hour", "unit: vm-hours"),
        ("{up_to: 1000, unit_price", "{up_to: 100, unit_price"),
        ("credit_pct: 25", "credit_pct: 150"),
        ("effective_from: 2026-01-01", "effective_from: 2026-02-01"),
        ("block_size: 100", "block_size: -100"),
    )
    assert sorted(p.code for p in problems) == sorted([
        ProblemCode.UNKNOWN_UNIT, ProblemCode.BANDS_UNSORTED, ProblemCode.PERCENT_OUT_OF_RANGE,
        ProblemCode.VERSIONS_GAP, ProblemCode.NEGATIVE])


def test_records_built_in_code_get_a_catalogue_location():
    price = TierPrice(model=PricingModel.GRADUATED, bands=(Band(up_to=Decimal(10), unit_price=Decimal(1)),))
    catalogue = Catalogue(
        units=(Unit(code="h", name="Hours"),),
        services=(Service(code="S", name="S", unit="h", kind=ServiceKind.IT, owner="o", default_tier="a",
                          tiers=(Tier(code="a", name="A", funding_level="basic", service_level=ServiceLevel(), rank=0),)),),
        tariffs=(TariffVersion(service="S", version="1", effective_from=dt.date(2026, 1, 1), effective_to=None,
                               currency="USD", prices=(("a", price),)),),
    )
    [p] = validate_catalogue(catalogue)
    assert (p.source.file, p.source.location) == ("<catalogue>", "tariffs[0].tiers.a.bands[0]")


def test_validate_subscriptions(tmp_path):
    check(tmp_path)
    catalogue, _ = load_catalogue(tmp_path)
    row = SourceRef(file="subscriptions.csv", row=2)
    problems = validate_subscriptions(catalogue, [
        (row, "Retail", "VM", "gold"),
        (SourceRef(file="subscriptions.csv", row=3), "Retail", "VMS", "gold"),
        (SourceRef(file="subscriptions.csv", row=4), "Retail", "VM", "platinum"),
    ])
    assert [(p.code, p.source.row, p.source.column) for p in problems] == [
        (ProblemCode.UNKNOWN_SERVICE, 3, "service"), (ProblemCode.UNKNOWN_TIER, 4, "tier")]
    assert "did you mean 'VM'" in problems[0].hint and "gold, silver" in problems[1].hint


def test_an_impossible_date_is_a_problem_not_a_crash(tmp_path):
    from tariffs.load import load_catalogue

    (tmp_path / "bad.yaml").write_text(
        'tariffs:\n  - service: X\n    version: "1"\n    effective_from: 2026-13-01\n    currency: USD\n    tiers: {}\n')
    _, problems = load_catalogue(tmp_path)
    assert any(p.code.value == "not-a-date" and "2026-13-01" in p.message for p in problems)
