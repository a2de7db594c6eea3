"""The shipped example catalogue (examples/tariffs/) and a deliberately broken copy of it."""

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from billing.core.problems import ProblemCode
from tariffs.load import load_catalogue
from tariffs.model import Catalogue, PricingModel, ServiceKind
from tariffs.pricing import price_usage
from tariffs.validate import validate_catalogue

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"

SERVICES = {
    "VM": ("Virtual machine hosting", "vm-hour"),
    "STORAGE": ("Block storage", "gb-month"),
    "BACKUP": ("Backup", "tb-month"),
    "DESK": ("Service desk", "ticket"),
    "WORKPLACE": ("Workplace licences", "user-month"),
    "NETWORK": ("Network and connectivity", "site-month"),
    "CLOUD": ("Public cloud", "usd"),
    "CLOUD-DATA": ("Cloud data and analytics", "usd"),
    "FIELD": ("Field maintenance", "technician-hour"),
    "FLEET": ("Fleet vehicles", "vehicle-month"),
    "FACILITY": ("Meeting and office space", "desk-month"),
    "FIELD-REPAIR": ("Field repair", "repair"),
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    catalogue, problems = load_catalogue(EXAMPLES)
    assert problems == [], [p.render() for p in problems]
    return catalogue


def test_examples_load_and_validate_clean(catalogue):
    assert validate_catalogue(catalogue) == []


def test_examples_services(catalogue):
    assert {s.code: (s.name, s.unit) for s in catalogue.services} == SERVICES
    assert len(catalogue.services) >= 8
    assert {s.code for s in catalogue.services if s.kind is ServiceKind.NON_IT} == {"FIELD", "FLEET", "FACILITY", "FIELD-REPAIR"}
    for service in catalogue.services:
        assert [t.code for t in service.tiers] == ["gold", "silver", "bronze"], service.code


def test_examples_versions(catalogue):
    for service in catalogue.services:
        versions = sorted((tv for tv in catalogue.tariffs if tv.service == service.code), key=lambda tv: tv.effective_from)
        assert [(tv.version, tv.effective_from, tv.effective_to, tv.currency) for tv in versions] == [
            ("2024.1", dt.date(2024, 1, 1), dt.date(2025, 12, 31), "USD"),
            ("2026.1", dt.date(2026, 1, 1), None, "USD"),
        ]


def _undimensioned(price):
    """A price by dimension as usage naming no value pays it: the default price, or where
    unknown values are held, the first value listed (STORAGE bronze's capacity, priced as before)."""
    if not price.by_dimension:
        return price
    return price.value_price(None) or price.by_value[0][1]


def test_examples_2026_is_not_cheaper(catalogue):
    # the same month's usage costs at least as much under 2026.1 as under 2024.1, and more overall
    # (a price by dimension at its default, or its first value where unknown values are held;
    # VM bronze in dc-east is cheaper by design, docs/pricing.md)
    older = newer = Decimal(0)
    for service in catalogue.services:
        v2025 = catalogue.tariff_at(service.code, dt.date(2025, 6, 1))
        v2026 = catalogue.tariff_at(service.code, dt.date(2026, 6, 1))
        for tier in service.tiers:
            for quantity in (Decimal(7), Decimal(40), Decimal(1200), Decimal(12000)):
                a = price_usage(v2025.price(tier.code), quantity, cost=quantity).amount
                b = price_usage(_undimensioned(v2026.price(tier.code)), quantity, cost=quantity).amount
                assert b >= a, (service.code, tier.code, quantity)
                older, newer = older + a, newer + b
    assert newer > older


def test_examples_use_every_model_and_price_part(catalogue):
    prices = [(tv.service, price) for tv in catalogue.tariffs for _, price in tv.prices]
    assert {p.model for _, p in prices} == set(PricingModel)
    assert any(p.monthly_fee for _, p in prices)
    assert any(p.included_quantity for _, p in prices)
    assert any(p.minimum_charge for _, p in prices)
    assert any(p.model is PricingModel.GRADUATED and any(b.flat_fee for b in p.bands) for _, p in prices)
    assert any(p.model is PricingModel.VOLUME and any(b.flat_fee for b in p.bands) for _, p in prices)
    assert len({service for service, p in prices if p.service_credits}) >= 3
    # NETWORK: fixed for one tier, per unit for the others; CLOUD markups 12 / 8 / 5 %
    network = catalogue.tariff_at("NETWORK", dt.date(2026, 1, 1))
    assert sorted(p.model.value for _, p in network.prices) == ["fixed", "per_unit", "per_unit"]
    cloud = catalogue.tariff_at("CLOUD", dt.date(2026, 1, 1))
    assert [p.markup_pct for _, p in cloud.prices] == [12, 8, 5]


# --------------------------------------------------------------------------- a broken copy

# (file, text as shipped, broken text, expected code, expected location)
DEFECTS = [
    ("vm.yaml", '{up_to: 5000, unit_price: "0.120"}', '{up_to: 500, unit_price: "0.120"}',
     ProblemCode.BANDS_UNSORTED, "tariffs[0].tiers.gold.bands[1].up_to"),
    ("storage.yaml", '{up_to: 10000, unit_price: "0.19"}', '{up_to: 1000, unit_price: "0.19"}',
     ProblemCode.BANDS_OVERLAP, "tariffs[0].tiers.silver.bands[1].up_to"),
    ("fleet.yaml", '          - {unit_price: "510.00"}\n',
     '          - {unit_price: "510.00"}\n          - {up_to: 100, unit_price: "500.00"}\n',
     ProblemCode.BAND_AFTER_OPEN, "tariffs[1].tiers.bronze.bands[2]"),
    ("desk.yaml", "effective_from: 2026-01-01", "effective_from: 2026-02-01",
     ProblemCode.VERSIONS_GAP, "tariffs[1].effective_from"),
    ("field.yaml", "unit: technician-hour", "unit: technician-hours",
     ProblemCode.UNKNOWN_UNIT, "services[0].unit"),
    ("facility.yaml", 'unit_price: "270.00"', 'unit_price: "-270.00"',
     ProblemCode.NEGATIVE, "tariffs[1].tiers.bronze.unit_price"),
    ("network.yaml", "{credit_pct: 30}", "{credit_pct: 150}",
     ProblemCode.PERCENT_OUT_OF_RANGE, "tariffs[0].tiers.gold.service_credits.availability_pct[1].credit_pct"),
    ("backup.yaml", 'bronze: {model: package, block_size: 10, block_price: "333.00"}',
     'bronze: {model: package, block_size: 10, block_price: "333.00"}\n      platinum: {model: per_unit, unit_price: "60.00"}',
     ProblemCode.UNKNOWN_TIER, "tariffs[1].tiers.platinum"),
]


def test_broken_copy_gives_one_problem_per_defect(tmp_path):
    broken = tmp_path / "tariffs"
    shutil.copytree(EXAMPLES, broken)
    for name, shipped, wrong, _, _ in DEFECTS:
        path = broken / name
        text = path.read_text(encoding="utf-8")
        assert shipped in text, (name, shipped)
        path.write_text(text.replace(shipped, wrong, 1), encoding="utf-8")
    catalogue, problems = load_catalogue(broken)
    assert problems == [], [p.render() for p in problems]
    problems = validate_catalogue(catalogue)
    found = sorted((p.source.file, p.code, p.source.location) for p in problems)
    expected = sorted((str(broken / name), code, location) for name, _, _, code, location in DEFECTS)
    assert found == expected, [p.render() for p in problems]
    for p in problems:
        assert p.source.row is not None and p.hint
