"""The recovery report from plain records (billing/recovery/over_under.py), without the CLI or a
store: per service, what the tariffs and allocations recover of IT's cost, and the parts that
always add up to the whole (docs/recovery.md, "The recovery report").

The worked month is the one docs/recovery.md ("Worked month") and test_recovery.py work by
hand: total cost 28,200.00 = recovered 27,490.00 + allocated 1,675.00 - over-recovery 965.00;
in overhead 725.00 (WAN idle 225.00, labour's 10 % 200.00, the offices without a rule 300.00).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.core.money import ZERO
from billing.recovery.allocation import (
    OVERHEAD,
    AllocationInputs,
    CostPool,
    Method,
    Node,
    NodeKind,
    PoolCategory,
    RecoveryBasis,
    RecoverySetting,
    RuleSet,
    SharedService,
    Step,
    Target,
    allocate_month,
)
from billing.recovery.over_under import DIRECT, LEFT_IN_OVERHEAD, recovery_report, recovery_table
from tests.recovery.conftest import costs
from tests.records import charge

D = Decimal
MONTH = "2026-03"


def pool(code):
    return Node(NodeKind.POOL, code)


def service(code):
    return Node(NodeKind.SERVICE, code)


def percent(name, source, **targets):
    return Step(name=name, source_node=source, method=Method.PERCENT,
                targets=tuple(Target(node=OVERHEAD if n == "overhead" else service(n), percent=D(p))
                              for n, p in targets.items()))


RULES = RuleSet(
    files=("rules.yaml",), currency="USD",
    pools=(CostPool(code="LABOUR", name="IT staff", category=PoolCategory.LABOUR),
           CostPool(code="HARDWARE", name="Equipment", category=PoolCategory.HARDWARE),
           CostPool(code="EXTERNAL", name="Telecoms", category=PoolCategory.EXTERNAL_SERVICES),
           CostPool(code="OFFICES", name="Offices", category=PoolCategory.FACILITIES)),
    shared_services=(SharedService(code="SECURITY", name="Information security"),
                     SharedService(code="WAN", name="Wide-area network")),
    recovery=(RecoverySetting(service="WAN", basis=RecoveryBasis.CAPACITY, capacity=(("default", D("40")),)),),
    steps=(
        percent("labour", pool("LABOUR"), DESK="40", SECURITY="50", overhead="10"),
        percent("hardware", pool("HARDWARE"), WAN="100"),
        percent("external", pool("EXTERNAL"), NETWORK="100"),
        Step(name="security", source_node=service("SECURITY"), method=Method.DRIVER, driver="headcount",
             all_business_lines=True),
        Step(name="wan", source_node=service("WAN"), method=Method.USAGE, usage_of="NETWORK", all_business_lines=True),
    ),
)
CHARGES = [
    charge(1, "FIN", "DESK", "470.00", quantity="1"),
    charge(2, "OPS", "DESK", "470.00", quantity="1"),
    charge(3, "FIN", "NETWORK", "8850.00", tier="silver", quantity="10"),
    charge(4, "OPS", "NETWORK", "17700.00", tier="silver", quantity="20"),
]


def worked_month(**pools):
    inputs = AllocationInputs(
        month=MONTH, currency="USD",
        costs=costs(MONTH, **(pools or dict(LABOUR="2000.00", HARDWARE="900.00", EXTERNAL="25000.00", OFFICES="300.00"))),
        drivers={"headcount": {"FIN": D(30), "OPS": D(70)}}, usage={"NETWORK": {"FIN": D(10), "OPS": D(20)}},
        business_lines=("FIN", "OPS"),
    )
    return allocate_month(RULES, inputs)


def report(catalogue, allocations=None, charges=CHARGES, rules=RULES):
    return recovery_report(period=MONTH, allocations=allocations or [worked_month()], charges=charges,
                           catalogue=catalogue, rules=rules, currency="USD")


def test_the_worked_month(catalogue):
    found = report(catalogue)
    rows = {r.service: (r.mode, r.basis, r.cost, r.recovered, r.allocated, r.over_under, r.in_overhead)
            for r in found.rows}
    assert rows == {
        "DESK": ("chargeback", "", D("800.00"), D("940.00"), ZERO, D("140.00"), ZERO),
        "NETWORK": ("chargeback", "", D("25000.00"), D("26550.00"), ZERO, D("1550.00"), ZERO),
        "SECURITY": ("shared", "use", D("1000.00"), ZERO, D("1000.00"), ZERO, ZERO),
        "WAN": ("shared", "capacity", D("900.00"), ZERO, D("675.00"), D("-225.00"), D("225.00")),
        DIRECT: ("", "", ZERO, ZERO, ZERO, ZERO, ZERO),
        LEFT_IN_OVERHEAD: ("", "", D("500.00"), ZERO, ZERO, D("-500.00"), D("500.00")),
    }
    assert [r.service for r in found.rows][-2:] == [DIRECT, LEFT_IN_OVERHEAD]
    total = found.total
    assert (total.cost, total.recovered, total.allocated, total.over_under, total.in_overhead) == (
        D("28200.00"), D("27490.00"), D("1675.00"), D("965.00"), D("725.00"))
    by_code = {r.service: r for r in found.rows}
    assert by_code["DESK"].recovery_pct == D("117.5") and by_code["WAN"].recovery_pct == D(75)
    assert by_code[DIRECT].recovery_pct is None  # nothing to recover


def test_the_pools_say_where_each_pools_money_went(catalogue):
    pools = {p.pool: (p.name, p.category, p.total, p.to_services, p.to_business_lines, p.overhead)
             for p in report(catalogue).pools}
    assert pools == {
        "EXTERNAL": ("Telecoms", "external_services", D("25000.00"), D("25000.00"), ZERO, ZERO),
        "HARDWARE": ("Equipment", "hardware", D("900.00"), ZERO, D("675.00"), D("225.00")),
        "LABOUR": ("IT staff", "labour", D("2000.00"), D("800.00"), D("1000.00"), D("200.00")),
        "OFFICES": ("Offices", "facilities", D("300.00"), ZERO, ZERO, D("300.00")),
    }


def test_showback_is_recovered_but_shown_apart(catalogue):
    shown = [*CHARGES, charge(5, "FIN", "DESK", "60.00", mode="showback")]
    desk = next(r for r in report(catalogue, charges=shown).rows if r.service == "DESK")
    assert (desk.recovered, desk.showback, desk.over_under) == (D("1000.00"), D("60.00"), D("200.00"))


def test_a_service_charged_without_cost_is_all_over_recovery(catalogue):
    extra = [*CHARGES, charge(5, "FIN", "BACKUP", "120.00")]
    backup = next(r for r in report(catalogue, charges=extra).rows if r.service == "BACKUP")
    assert (backup.cost, backup.recovered, backup.over_under, backup.recovery_pct) == (ZERO, D("120.00"), D("120.00"), None)


def test_a_period_of_months_adds_them_up_with_each_months_notes(catalogue):
    march, april = worked_month(), worked_month(LABOUR="1000.00", HARDWARE="900.00", EXTERNAL="25000.00", OFFICES="300.00")
    april = april.__class__(**{**{n: getattr(april, n) for n in april.__slots__}, "month": "2026-04",
                               "notes": ("a proxy was used",)})
    found = recovery_report(period="FY2026", allocations=[march, april], charges=CHARGES + CHARGES, catalogue=catalogue,
                            rules=RULES, currency="USD")
    assert found.months == ("2026-03", "2026-04")
    assert found.total.cost == D("55400.00") and found.total.recovered == D("54980.00")
    assert found.notes == ("2026-04: a proxy was used",)


def test_the_table_writers_get_every_row_the_total_and_the_pools(catalogue):
    headers, rows = recovery_table(report(catalogue))
    assert headers[:3] == ["section", "code", "name"] and headers[-1] == "currency"
    assert [r[0] for r in rows] == ["service"] * 6 + ["total"] + ["pool"] * 4
    total = rows[6]
    assert dict(zip(headers, total))["over_under"] == D("965.00")
    assert dict(zip(headers, rows[0]))["recovery_pct"] == D("117.50")  # DESK, rounded to 0.01 for the writers


# --- the parts always add up to the whole ------------------------------------------------------

cents = st.integers(min_value=0, max_value=10**9).map(lambda c: D(c) / 100)
shares = st.integers(min_value=0, max_value=100)


@st.composite
def months(draw):
    labour_desk = draw(shares)
    labour_security = draw(st.integers(min_value=0, max_value=100 - labour_desk))
    rules = RuleSet(
        files=RULES.files, currency="USD", pools=RULES.pools, shared_services=RULES.shared_services,
        recovery=(RecoverySetting(service="WAN", basis=RecoveryBasis.CAPACITY,
                                  capacity=(("default", D(draw(st.integers(min_value=1, max_value=200)))),)),),
        steps=(percent("labour", pool("LABOUR"), DESK=str(labour_desk), SECURITY=str(labour_security),
                       overhead=str(100 - labour_desk - labour_security)),
               *RULES.steps[1:]),
    )
    usage = {line: D(draw(st.integers(min_value=0, max_value=100))) for line in ("FIN", "OPS")}
    inputs = AllocationInputs(
        month=MONTH, currency="USD",
        costs=costs(MONTH, **{p: str(draw(cents)) for p in ("LABOUR", "HARDWARE", "EXTERNAL", "OFFICES")}),
        drivers={"headcount": {line: D(draw(st.integers(min_value=1, max_value=1000))) for line in ("FIN", "OPS")}},
        usage={"NETWORK": usage}, business_lines=("FIN", "OPS"),
    )
    services = draw(st.lists(st.sampled_from(["DESK", "NETWORK", "BACKUP", "VM"]), max_size=8))
    charges = [charge(n, draw(st.sampled_from(["FIN", "OPS"])), code, str(draw(cents) - D(1000)),
                      mode=draw(st.sampled_from(["chargeback", "showback"])))
               for n, code in enumerate(services, start=1)]
    return rules, allocate_month(rules, inputs), charges


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(month=months())
def test_over_under_per_service_sums_to_the_total_and_costs_to_the_pools(catalogue, month):
    rules, allocation, charges = month
    found = recovery_report(period=MONTH, allocations=[allocation], charges=charges, catalogue=catalogue, rules=rules,
                            currency="USD")
    total = found.total
    for field in ("cost", "recovered", "showback", "allocated", "over_under", "in_overhead"):
        assert sum((getattr(r, field) for r in found.rows), ZERO) == getattr(total, field), field
    assert total.over_under == total.recovered + total.allocated - total.cost
    assert total.cost == sum((a for _, a in allocation.pool_totals), ZERO) == sum(p.total for p in found.pools)
    assert total.recovered == sum((c.amount for c in charges), ZERO)  # every charge is counted once
    for row in found.rows:
        assert row.over_under == row.recovered + row.allocated - row.cost
        assert row.in_overhead >= 0
    for p in found.pools:
        assert p.to_services + p.to_business_lines + p.overhead == p.total


@pytest.mark.parametrize("broken", ["cost", "pools"])
def test_a_report_whose_parts_do_not_add_up_cannot_be_made(catalogue, broken):
    found = report(catalogue)
    fields = {n: getattr(found, n) for n in found.__slots__}
    if broken == "cost":
        fields["rows"] = fields["rows"][1:]
    else:
        fields["pools"] = fields["pools"][1:]
    with pytest.raises(ValueError, match="add up"):
        found.__class__(**fields)
