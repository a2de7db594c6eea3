"""Reading tariff YAML: records, line numbers, problems with hints, canonical dicts."""

import dataclasses
import datetime as dt
import json
import textwrap
from decimal import Decimal
from pathlib import Path

from billing.core.problems import ProblemCode, Severity
from tariffs.load import (
    catalogue_from_dict,
    catalogue_to_dict,
    load_catalogue,
    service_from_dict,
    service_to_dict,
    tariff_version_from_dict,
    tariff_version_hash,
    tariff_version_to_dict,
)
from tariffs.model import BandEdges, ChargingMode, FeeAtZero, Metric, PricingModel, ServiceKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"

GOOD = """\
units:
  - {code: vm-hour, name: VM hours}
services:
  - code: VM
    name: Virtual machine hosting
    unit: vm-hour
    kind: it
    owner: Infrastructure
    charging_mode: showback
    default_tier: silver
    description: Managed VMs
    components: [{service: STORAGE, quantity: 1.5}]
    tiers:
      - code: gold
        name: Gold
        funding_level: premium
        service_level: {availability_pct: 99.95, response_minutes: 15, restore_hours: 4, support_hours: 24x7}
      - code: silver
        name: Silver
        funding_level: standard
tariffs:
  - service: VM
    version: "2026.1"
    effective_from: 2026-01-01
    effective_to: "2026-12-31"
    currency: USD
    tiers:
      silver: {model: per_unit, unit_price: 0.09}
      gold:
        model: graduated
        bands:
          - {up_to: 250, unit_price: "0.12", flat_fee: "0"}
          - {unit_price: 0.10}
        monthly_fee: "50.00"
        included_quantity: 10
        minimum_charge: 100
        service_credits:
          availability_pct:
            - {shortfall_up_to: 0.5, credit_pct: 10}
            - {credit_pct: 25}
"""


def load_text(tmp_path: Path, text: str, name: str = "vm.yaml"):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return load_catalogue(tmp_path)


def test_loads_units_services_and_tariffs(tmp_path):
    catalogue, problems = load_text(tmp_path, GOOD)
    assert problems == []
    [unit], [service], [tv] = catalogue.units, catalogue.services, catalogue.tariffs
    assert (unit.code, unit.name) == ("vm-hour", "VM hours")
    assert (service.kind, service.charging_mode, service.default_tier) == (ServiceKind.IT, ChargingMode.SHOWBACK, "silver")
    assert [(t.code, t.rank) for t in service.tiers] == [("gold", 0), ("silver", 1)]
    assert service.tier("gold").service_level.availability_pct == Decimal("99.95")
    assert service.tier("gold").service_level.support_hours == "24x7"
    assert service.components[0].quantity == Decimal("1.5")
    assert (tv.effective_from, tv.effective_to) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    gold = tv.price("gold")
    assert gold.model is PricingModel.GRADUATED
    assert [(b.up_to, b.unit_price) for b in gold.bands] == [(Decimal(250), Decimal("0.12")), (None, Decimal("0.10"))]
    assert (gold.monthly_fee, gold.included_quantity, gold.minimum_charge) == (Decimal("50.00"), 10, 100)
    assert gold.credit_bands(Metric.AVAILABILITY_PCT)[1].credit_pct == 25


def test_prices_follow_the_tier_order(tmp_path):
    # silver is written first under tiers:, but gold ranks first in the service
    catalogue, _ = load_text(tmp_path, GOOD)
    assert [code for code, _ in catalogue.tariffs[0].prices] == ["gold", "silver"]


def test_numbers_are_read_from_their_text(tmp_path):
    # 0.10 unquoted stays 0.10 (no float in between); an unquoted version 2026.10 stays "2026.10"
    catalogue, problems = load_text(tmp_path, GOOD.replace('version: "2026.1"', "version: 2026.10"))
    assert problems == []
    assert str(catalogue.tariffs[0].price("gold").bands[1].unit_price) == "0.10"
    assert catalogue.tariffs[0].version == "2026.10"


def test_records_carry_file_location_and_line(tmp_path):
    catalogue, _ = load_text(tmp_path, GOOD)
    band = catalogue.tariffs[0].price("gold").bands[1]
    assert band.source.file == str(tmp_path / "vm.yaml")
    assert (band.source.row, band.source.location) == (33, "tariffs[0].tiers.gold.bands[1]")
    assert catalogue.services[0].source.row == 4


def _only(problems):
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


def test_unknown_key_reported_with_line_and_hint(tmp_path):
    _, problems = load_text(tmp_path, GOOD.replace("{unit_price: 0.10}", "{unit_price: 0.10, flat_fe: 3}"))
    p = _only(problems)
    assert p.code is ProblemCode.UNKNOWN_KEY
    assert (p.source.row, p.source.location) == (33, "tariffs[0].tiers.gold.bands[1].flat_fe")
    assert "did you mean 'flat_fee'" in p.hint


def test_missing_key(tmp_path):
    catalogue, problems = load_text(tmp_path, GOOD.replace("    owner: Infrastructure\n", ""))
    p = _only(problems)
    assert (p.code, p.source.location, p.source.row) == (ProblemCode.VALUE_MISSING, "services[0].owner", 4)
    assert "add 'owner:'" in p.hint
    assert catalogue.services == ()  # the service could not be built


def test_not_a_number(tmp_path):
    catalogue, problems = load_text(tmp_path, GOOD.replace('unit_price: "0.12"', 'unit_price: "0,12"'))
    p = _only(problems)
    assert (p.code, p.source.location, p.source.row) == (ProblemCode.NOT_A_NUMBER, "tariffs[0].tiers.gold.bands[0].unit_price", 32)
    assert "thousands separator" in p.hint
    assert catalogue.tariffs == ()  # a version with an unreadable price is left out


def test_not_a_date(tmp_path):
    p = _only(load_text(tmp_path, GOOD.replace("effective_from: 2026-01-01", "effective_from: 1 Jan 2026"))[1])
    assert (p.code, p.source.location) == (ProblemCode.NOT_A_DATE, "tariffs[0].effective_from")
    assert "YYYY-MM-DD" in p.hint


def test_wrong_type(tmp_path):
    p = _only(load_text(tmp_path, GOOD.replace("kind: it", "kind: [it]"))[1])
    assert (p.code, p.source.location) == (ProblemCode.VALUE_INVALID, "services[0].kind")
    p = _only(load_text(tmp_path, GOOD.replace("  - {code: vm-hour, name: VM hours}", "  - vm-hour"))[1])
    assert (p.code, p.source.location, p.source.row) == (ProblemCode.VALUE_INVALID, "units[0]", 2)


def test_yes_no_words_must_be_quoted(tmp_path):
    # YAML reads a bare no as false; a code must be text
    p = _only(load_text(tmp_path, GOOD.replace("  - {code: vm-hour, name: VM hours}", "  - {code: no, name: VM hours}"))[1])
    assert p.code is ProblemCode.VALUE_INVALID and "quotes" in p.hint


def test_unknown_choice_and_metric(tmp_path):
    p = _only(load_text(tmp_path, GOOD.replace("model: graduated", "model: gradual"))[1])
    assert (p.code, p.source.location) == (ProblemCode.VALUE_INVALID, "tariffs[0].tiers.gold.model")
    assert "did you mean 'graduated'" in p.hint
    p = _only(load_text(tmp_path, GOOD.replace("availability_pct:\n", "availability:\n"))[1])
    assert (p.code, p.source.location) == (ProblemCode.UNKNOWN_KEY, "tariffs[0].tiers.gold.service_credits.availability")


def test_duplicate_key(tmp_path):
    p = _only(load_text(tmp_path, GOOD.replace("    currency: USD\n", "    currency: USD\n    currency: EUR\n"))[1])
    assert (p.code, p.source.location, p.source.row) == (ProblemCode.DUPLICATE, "tariffs[0].currency", 27)


def test_bad_yaml_reports_the_line(tmp_path):
    p = _only(load_text(tmp_path, "units:\n  - {code: vm-hour, name: VM hours\n")[1])
    assert p.code is ProblemCode.FILE_UNREADABLE and p.source.row is not None and p.hint


def test_unknown_top_level_key(tmp_path):
    p = _only(load_text(tmp_path, GOOD + "tarifs: []\n")[1])
    assert (p.code, p.source.location) == (ProblemCode.UNKNOWN_KEY, "tarifs")
    assert "did you mean 'tariffs'" in p.hint


def test_empty_file_is_a_warning(tmp_path):
    p = _only(load_text(tmp_path, "# nothing yet\n")[1])
    assert (p.code, p.severity) == (ProblemCode.FILE_EMPTY, Severity.WARNING)


def test_missing_directory_and_no_files(tmp_path):
    p = _only(load_catalogue(tmp_path / "nowhere")[1])
    assert p.code is ProblemCode.FILE_UNREADABLE
    p = _only(load_catalogue(tmp_path)[1])
    assert p.code is ProblemCode.FILE_EMPTY


def test_files_read_sorted_and_not_recursive(tmp_path):
    (tmp_path / "b.yaml").write_text("units:\n  - {code: b, name: B}\n")
    (tmp_path / "a.yaml").write_text("units:\n  - {code: a, name: A}\n")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "c.yaml").write_text("units:\n  - {code: c, name: C}\n")
    (tmp_path / "d.yml").write_text("units:\n  - {code: d, name: D}\n")
    catalogue, problems = load_catalogue(tmp_path)
    assert [u.code for u in catalogue.units] == ["a", "b"]
    p = _only(problems)  # the .yml file is not read, and says so
    assert p.severity is Severity.WARNING and "d.yaml" in p.hint


def test_every_problem_has_file_location_and_hint(tmp_path):
    broken = GOOD.replace("kind: it", "kind: hardware").replace("up_to: 250", "up_to: lots").replace(
        "effective_from: 2026-01-01", "effective_from: soon").replace("monthly_fee:", "montly_fee:")
    _, problems = load_text(tmp_path, broken)
    assert len(problems) == 4
    for p in problems:
        assert p.source.file.endswith("vm.yaml") and p.source.location and p.source.row and p.hint


# --------------------------------------------------------------------------- canonical dicts


def test_tariff_version_round_trip():
    catalogue, _ = load_catalogue(EXAMPLES)
    for tv in catalogue.tariffs:
        d = tariff_version_to_dict(tv)
        assert json.loads(json.dumps(d)) == d  # JSON-safe
        again = tariff_version_from_dict(d, source=tv.source)
        assert again == tv
        assert tariff_version_hash(again) == tariff_version_hash(tv)


def test_canonical_dict_shape(tmp_path):
    catalogue, _ = load_text(tmp_path, GOOD)
    d = tariff_version_to_dict(catalogue.tariffs[0])
    assert d["effective_from"] == "2026-01-01" and d["effective_to"] == "2026-12-31"
    assert d["prices"][0]["tier"] == "gold"
    assert d["prices"][0]["bands"] == [{"up_to": "250", "unit_price": "0.12"}, {"unit_price": "0.10"}]
    assert d["prices"][0]["monthly_fee"] == "50.00"


def test_hash_detects_a_changed_version(tmp_path):
    catalogue, _ = load_text(tmp_path, GOOD)
    before = tariff_version_hash(catalogue.tariffs[0])
    assert len(before) == 64
    changed, _ = load_text(tmp_path, GOOD.replace('"0.12"', '"0.13"'))
    assert tariff_version_hash(changed.tariffs[0]) != before
    # moving the version down the file (new line numbers) is not a change
    moved, _ = load_text(tmp_path, GOOD.replace("tariffs:\n", "\n\n\ntariffs:\n"))
    assert tariff_version_hash(moved.tariffs[0]) == before


def test_service_and_catalogue_round_trip():
    catalogue, _ = load_catalogue(EXAMPLES)
    for service in catalogue.services:
        d = service_to_dict(service)
        assert json.loads(json.dumps(d)) == d
        assert service_to_dict(service_from_dict(d)) == d
    again = catalogue_from_dict(json.loads(json.dumps(catalogue_to_dict(catalogue))))
    assert catalogue_to_dict(again) == catalogue_to_dict(catalogue)


def test_focus_service_category_and_subcategory(tmp_path):
    def service(text):
        catalogue, problems = load_text(tmp_path, GOOD.replace("    description: Managed VMs\n", f"    description: Managed VMs\n{text}"))
        return (catalogue.services[0].focus_category() if catalogue.services else None), problems

    assert service("") == (("Other", "Other (Other)"), [])
    assert service("    service_category: Compute\n") == (("Compute", "Other (Compute)"), [])
    assert service("    service_subcategory: Virtual Machines\n") == (("Compute", "Virtual Machines"), [])
    _, problems = service("    service_category: compute\n")
    p = _only(problems)
    assert (p.code, p.source.location) == (ProblemCode.VALUE_INVALID, "services[0].service_category")
    assert "did you mean 'Compute'" in p.hint
    _, problems = service("    service_category: Storage\n    service_subcategory: Virtual Machines\n")
    p = _only(problems)
    assert (p.code, p.source.location) == (ProblemCode.VALUE_INVALID, "services[0].service_subcategory")
    assert "of Storage" in p.message and "Block Storage" in p.hint


def test_the_focus_category_survives_the_store_round_trip(tmp_path):
    catalogue, _ = load_text(tmp_path, GOOD.replace("    description: Managed VMs\n",
                                                    "    description: Managed VMs\n    service_subcategory: Virtual Machines\n"))
    again = service_from_dict(json.loads(json.dumps(service_to_dict(catalogue.services[0]))))
    assert again.focus_category() == ("Compute", "Virtual Machines")


def test_band_options_read_and_kept_in_the_stored_form(tmp_path):
    text = GOOD.replace('        monthly_fee: "50.00"\n',
                        '        monthly_fee: "50.00"\n        block_size: 50\n        band_edges: exclusive\n'
                        '        flat_fee_at_zero: charged\n')
    catalogue, problems = load_text(tmp_path, text)
    assert problems == []
    tv = catalogue.tariffs[0]
    gold = tv.price("gold")
    assert (gold.block_size, gold.band_edges, gold.flat_fee_at_zero) == (Decimal(50), BandEdges.EXCLUSIVE, FeeAtZero.CHARGED)
    d = tariff_version_to_dict(tv)
    assert (d["prices"][0]["band_edges"], d["prices"][0]["flat_fee_at_zero"]) == ("exclusive", "charged")
    assert tariff_version_from_dict(d) == dataclasses.replace(tv, source=None)
    # yes/no read as charged/not_charged; a price that does not write them keeps its stored form (and hash)
    yes, _ = load_text(tmp_path, text.replace("flat_fee_at_zero: charged", "flat_fee_at_zero: yes"))
    assert yes.tariffs[0].price("gold").flat_fee_at_zero is FeeAtZero.CHARGED
    plain_version, _ = load_text(tmp_path, GOOD)
    assert "band_edges" not in tariff_version_to_dict(plain_version.tariffs[0])["prices"][0]


def test_band_option_misspelt_value_is_reported_with_line_and_hint(tmp_path):
    text = GOOD.replace('        monthly_fee: "50.00"\n', '        monthly_fee: "50.00"\n        band_edges: exclusiv\n')
    _, problems = load_text(tmp_path, text)
    [p] = problems
    assert (p.code, p.source.location) == (ProblemCode.VALUE_INVALID, "tariffs[0].tiers.gold.band_edges")
    assert p.source.row and "did you mean 'exclusive'" in p.hint
