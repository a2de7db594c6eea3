"""Scenarios: the YAML file, applying changes to forecast volumes, and the comparison."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.planning.scenarios import (
    VolumeForecast,
    apply_scenario,
    compare_totals,
    load_scenarios,
    price_volume,
    price_volumes,
    with_draft_tariffs,
)
from tariffs.load import load_catalogue
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS, ROOT

MONTHS = ("2027-01", "2027-02", "2027-03")


def volume(line: str, service: str, month: str, quantity: str, tier: str = "gold") -> VolumeForecast:
    q = Decimal(quantity)
    return VolumeForecast(business_line=line, service=service, month=month, tier=tier, quantity=q, low=q, high=q,
                          method="seasonal")


@pytest.fixture(scope="module")
def catalogue():
    catalogue, problems = load_catalogue(EXAMPLE_TARIFFS)
    assert not problems
    return catalogue


def test_the_example_scenarios_file_reads_without_problems():
    scenarios, problems = load_scenarios(ROOT / "examples" / "scenarios" / "next-year.yaml")
    assert problems == []
    assert [s.name for s in scenarios] == ["OPS VM to silver", "Growth and draft rates"]
    move = scenarios[0].moves[0]
    assert (move.business_line, move.service, move.tier, move.from_month) == ("OPS", "VM", "silver", "2026-07")
    growth = scenarios[1]
    assert [g.pct for g in growth.growths] == [Decimal(15), Decimal(-10)]
    assert growth.tariffs == ROOT / "examples" / "scenarios" / ".." / "tariffs"
    assert growth.adoptions[0].quantity == Decimal(20)


def test_scenario_file_problems_carry_line_and_location(tmp_path):
    path = write(tmp_path / "bad.yaml", """
        scenarios:
          - name: broken
            changes:
              - move: {business_line: OPS, service: VM}
              - growth: {pct: -100}
              - shrink: {pct: 5}
              - adopt: {business_line: FIN, service: BACKUP, quantity: 2, from: July}
    """)
    scenarios, problems = load_scenarios(path)
    rendered = [p.render() for p in problems]
    assert f"{path}:4:scenarios[0].changes[0].move: value-missing a move needs tier" in rendered
    assert any(":5:scenarios[0].changes[1].growth.pct: percent-out-of-range" in r for r in rendered)
    assert any(":6:scenarios[0].changes[2].shrink: unknown-key unknown change 'shrink'" in r for r in rendered)
    assert any(":7:scenarios[0].changes[3].adopt.from: not-a-date 'July' is not a month" in r for r in rendered)


def test_growth_multiplies_and_a_move_sets_the_tier_from_its_month(tmp_path):
    path = write(tmp_path / "s.yaml", """
        scenarios:
          - name: s
            changes:
              - growth: {service: VM, pct: 10}
              - growth: {business_line: FIN, pct: 10, from: 2027-02}
              - move: {business_line: FIN, service: VM, tier: silver, from: 2027-03}
              - adopt: {business_line: OPS, service: BACKUP, quantity: 4, from: 2027-02}
    """)
    (scenario,), problems = load_scenarios(path)
    assert problems == []
    volumes = [volume("FIN", "VM", m, "1000") for m in MONTHS] + [volume("OPS", "VM", "2027-01", "500")]
    changed = apply_scenario(volumes, scenario, months=MONTHS, default_tiers={"BACKUP": "silver"})
    by_key = {(v.business_line, v.service, v.month): v for v in changed}
    # FIN VM: January +10 % = 1100; February and March 1.1 × 1.1 = 1.21 → 1210; silver from March
    assert [by_key[("FIN", "VM", m)].quantity for m in MONTHS] == [Decimal("1100.0"), Decimal("1210.00"), Decimal("1210.00")]
    assert [by_key[("FIN", "VM", m)].tier for m in MONTHS] == ["gold", "gold", "silver"]
    assert by_key[("OPS", "VM", "2027-01")].quantity == Decimal("550.0")
    # OPS adopts BACKUP at the default tier from February
    assert [(m, v.tier, v.quantity) for (line, s, m), v in by_key.items() if s == "BACKUP"] == [
        ("2027-02", "silver", Decimal(4)), ("2027-03", "silver", Decimal(4))]


def test_pricing_a_volume_is_rating_a_whole_month_at_one_tier(catalogue):
    vm_2026 = next(v for v in catalogue.tariffs if v.service == "VM" and v.version == "2026.1")
    # gold, graduated: 1000 × 0.146 + 26.00 flat + 1000 × 0.125 + fee 156.00 = 453.00
    assert price_volume(vm_2026, "gold", Decimal(2000)) == Decimal("453.00")
    cloud = next(v for v in catalogue.tariffs if v.service == "CLOUD" and v.version == "2026.1")
    # pass-through: the volume is the cost; silver adds 8 %: 1234.56 × 1.08 = 1333.3248 → 1333.32
    assert price_volume(cloud, "silver", Decimal("1234.56")) == Decimal("1333.32")
    lines, problems = price_volumes([volume("FIN", "VM", "2026-05", "2000")], catalogue)
    assert problems == [] and lines[0].tariff_version == "2026.1" and lines[0].amount == Decimal("453.00")


def test_a_draft_tariff_prices_the_months_it_is_in_force(catalogue):
    current = next(v for v in catalogue.tariffs if v.service == "VM" and v.version == "2026.1")
    import dataclasses

    draft_version = dataclasses.replace(current, version="2027.draft", effective_from=dt.date(2027, 2, 1))
    draft = type(catalogue)(units=(), services=(), tariffs=(draft_version,))
    merged = with_draft_tariffs(catalogue, draft)
    assert merged.tariff_at("VM", dt.date(2027, 1, 1)).version == "2026.1"
    assert merged.tariff_at("VM", dt.date(2027, 2, 1)).version == "2027.draft"


def test_totals_per_business_line_and_differences():
    def line(bl, amount):
        return type("L", (), {"business_line": bl, "amount": Decimal(amount)})()

    rows = compare_totals([line("FIN", "10.00"), line("OPS", "5.00")], [[line("FIN", "8.00"), line("OPS", "5.00")]])
    assert [(r.business_line, r.baseline, r.amounts, r.differences) for r in rows] == [
        ("FIN", Decimal("10.00"), (Decimal("8.00"),), (Decimal("-2.00"),)),
        ("OPS", Decimal("5.00"), (Decimal("5.00"),), (Decimal("0.00"),)),
    ]


def test_moving_one_business_line_from_gold_to_silver_changes_that_line_only(history_url, tmp_path):
    path = write(tmp_path / "move.yaml", """
        scenarios:
          - name: OPS VM silver
            changes:
              - move: {business_line: OPS, service: VM, tier: silver}
    """)
    out = run(history_url, "forecast", "--scenario", path, "--months", "12").stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split() and line.split()[0] in ("FIN", "OPS")}
    fin_base, fin_scenario, fin_difference = rows["FIN"]
    ops_base, ops_scenario, ops_difference = rows["OPS"]
    assert fin_base == fin_scenario and fin_difference == "0.00"
    assert ops_difference.startswith("-") and Decimal(ops_scenario.replace(",", "")) < Decimal(ops_base.replace(",", ""))
    # the saving is VM's alone: OPS's VM forecast priced at gold minus the same volumes at silver
    from billing.jobs.forecast import forecast_volumes
    from billing.store.db import open_store

    with open_store(history_url).begin() as session:
        outlook = forecast_volumes(session, months=12, workers=1)
    vm = [v for v in outlook.volumes if (v.business_line, v.service) == ("OPS", "VM")]
    gold, _ = price_volumes(vm, outlook.catalogue)
    silver, _ = price_volumes([v.__class__(**{**{f: getattr(v, f) for f in v.__slots__}, "tier": "silver"}) for v in vm],
                              outlook.catalogue)
    saving = sum(l.amount for l in silver) - sum(l.amount for l in gold)
    assert Decimal(ops_difference.replace(",", "")) == saving


def test_a_scenario_naming_an_unknown_business_line_is_refused(history_db, tmp_path):
    path = write(tmp_path / "bad.yaml", """
        scenarios:
          - name: nobody
            changes:
              - move: {business_line: XYZ, service: VM, tier: silver}
    """)
    result = run(history_db, "forecast", "--scenario", path, ok=False)
    assert result.exit_code == 1
    assert f"{path}:4:scenarios[0].changes[0].move: unknown-business-line business line 'XYZ' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
