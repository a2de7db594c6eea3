"""The demo's cost pools, drivers and rules: deterministic, loadable, matching the rules."""

import pytest

from billing.recovery.allocation_rules import load_rules, validate_rules
from billing.recovery.costs import COST_COLUMNS, COST_OPTIONAL, DRIVER_COLUMNS, parse_costs, parse_drivers
from billing.demo.costs import POOL_SHARES, write_demo_costs
from billing.files.tables import read_table
from tests.cli_helpers import write
from tests.recovery.conftest import EXAMPLE_RULES

MONTHS = ["2026-02", "2026-03"]
LINES = ["FIN", "OPS", "HR"]


def test_demo_costs_are_deterministic_and_load_cleanly(tmp_path, catalogue):
    usage = write(tmp_path / "usage-2026-03.csv", """
        record_id,usage_date,cost_center,business_line,service,tier,quantity,unit,description,cost
        1,2026-03-02,CC-1,,NETWORK,,40,site-month,,
        2,2026-03-02,CC-1,,DESK,,300,ticket,,
        3,2026-03-03,CC-2,,CLOUD,,1000.50,usd,,1000.50
        4,not-a-date,CC-2,,CLOUD,,x,usd,,
    """)
    paths = write_demo_costs(tmp_path / "a", MONTHS, LINES, catalogue, 7, usage_files=[usage])
    again = write_demo_costs(tmp_path / "b", MONTHS, LINES, catalogue, 7, usage_files=[usage])
    assert [p.name for p in paths] == ["costs.csv", "drivers.csv", "rules.yaml"]
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]

    rows, problems = read_table(paths[0], required=COST_COLUMNS, optional=COST_OPTIONAL)
    lines, more = parse_costs(rows, currency="USD")
    assert problems == more == []
    assert {(l.scenario, l.month) for l in lines} == {("actual", m) for m in MONTHS} | {
        ("budget", f"2027-{n:02d}") for n in range(1, 13)}
    rules, problems = load_rules(paths[2])
    assert problems + validate_rules(rules, catalogue) == []
    assert {p.code for p in rules.pools} == set(POOL_SHARES) >= {l.cost_pool for l in lines}
    assert rules.recovery_for("WAN").capacity_for("2026-03") == 52  # 130 % of the 40 site-months used

    rows, problems = read_table(paths[1], required=DRIVER_COLUMNS)
    drivers, more = parse_drivers(rows, business_lines=LINES)
    assert problems == more == []
    assert {(d.month, d.driver, d.business_line) for d in drivers} == {
        (m, d, l) for m in MONTHS for d in ("headcount", "revenue") for l in LINES}


def test_without_usage_a_fixed_size_and_the_example_rules(tmp_path, catalogue):
    paths = write_demo_costs(tmp_path, MONTHS, LINES, catalogue, 3)
    assert [p.name for p in paths] == ["costs.csv", "drivers.csv"]
    rules, _ = load_rules(EXAMPLE_RULES)
    assert {p.code for p in rules.pools} == set(POOL_SHARES)


@pytest.mark.parametrize(("currency", "places"), [("JPY", 0), ("BHD", 3), ("USD", 2)])
def test_demo_costs_are_written_in_the_currencys_minor_units(tmp_path, catalogue, currency, places):
    costs = write_demo_costs(tmp_path, MONTHS, LINES, catalogue, 3, currency=currency)[0]
    rows, problems = read_table(costs, required=COST_COLUMNS, optional=COST_OPTIONAL)
    lines, more = parse_costs(rows, currency=currency)
    assert problems == more == [] and lines
    amounts = [row.get("amount") for row in rows]
    assert all(len(a.partition(".")[2]) == places and ("." in a) == (places > 0) for a in amounts)
