"""Allocation steps, one kind at a time, with the arithmetic worked by hand (docs/allocation.md)."""

from decimal import Decimal

from billing.recovery.allocation import OVERHEAD, Node, NodeKind, allocate_month
from billing.core.problems import ProblemCode, errors
from tests.recovery.conftest import inputs, rules_from

POOLS = """
    pools:
      - {code: HARDWARE, name: Hardware, category: hardware}
      - {code: FACILITIES, name: Data centre, category: facilities}
      - {code: SOFTWARE, name: Software, category: software}
"""

svc = lambda code: Node(NodeKind.SERVICE, code)  # noqa: E731
line = lambda code: Node(NodeKind.BUSINESS_LINE, code)  # noqa: E731


def test_percent_step(tmp_path, catalogue):
    # HARDWARE 1,000.00: VM 50 % = 500.00, STORAGE 30 % = 300.00, overhead 20 % = 200.00
    rules, problems = rules_from(tmp_path, POOLS + """
    steps:
      - name: hardware
        from: pool:HARDWARE
        by: percent
        to: {service:VM: 50, service:STORAGE: 30, overhead: 20}
    """, catalogue)
    assert not errors(problems), [p.render() for p in problems]
    result = allocate_month(rules, inputs(pools={"HARDWARE": "1000.00"}))
    [step] = result.steps
    assert step.input == Decimal("1000.00")
    assert dict(step.outputs) == {svc("VM"): Decimal("500.00"), svc("STORAGE"): Decimal("300.00")}
    assert step.overhead == Decimal("200.00")
    assert result.balance(OVERHEAD) == Decimal("200.00")


def test_driver_step_and_largest_remainder(tmp_path, catalogue):
    # SECURITY gets 10.00; headcount FIN 1, HR 1, OPS 1: 3.333... each; 3.33 × 3 = 9.99, the cent
    # left goes to the largest remainder, a three-way tie broken by code: FIN gets 3.34.
    rules, problems = rules_from(tmp_path, POOLS + """
    shared_services:
      - {code: SECURITY, name: Security}
    steps:
      - {name: software, from: pool:SOFTWARE, by: percent, to: {service:SECURITY: 100}}
      - {name: security, from: service:SECURITY, by: driver, driver: headcount, to: business_lines}
    """, catalogue)
    assert not errors(problems), [p.render() for p in problems]
    drivers = {"headcount": {"FIN": Decimal(1), "HR": Decimal(1), "OPS": Decimal(1)}}
    result = allocate_month(rules, inputs(pools={"SOFTWARE": "10.00"}, drivers=drivers, business_lines=("FIN", "HR", "OPS")))
    assert dict(result.steps[1].outputs) == {line("FIN"): Decimal("3.34"), line("HR"): Decimal("3.33"), line("OPS"): Decimal("3.33")}


def test_driver_weights(tmp_path, catalogue):
    # 1,200.00 by headcount FIN 30, OPS 50, HR 20 (of 100): 360.00, 600.00, 240.00
    rules, _ = rules_from(tmp_path, POOLS + """
    steps:
      - {name: software, from: pool:SOFTWARE, by: driver, driver: Headcount, to: [FIN, OPS, HR]}
    """, catalogue)
    drivers = {"headcount": {"FIN": Decimal(30), "OPS": Decimal(50), "HR": Decimal(20), "LEGAL": Decimal(99)}}
    result = allocate_month(rules, inputs(pools={"SOFTWARE": "1200.00"}, drivers=drivers))
    assert dict(result.steps[0].outputs) == {line("FIN"): Decimal("360.00"), line("OPS"): Decimal("600.00"),
                                             line("HR"): Decimal("240.00")}


WAN = POOLS + """
    shared_services:
      - {code: WAN, name: Wide-area network}
    services:
      WAN: {recovery_basis: %s, capacity: {default: "40", "2026-04": "30"}}
    steps:
      - {name: hardware, from: pool:HARDWARE, by: percent, to: {service:WAN: 100}}
      - {name: wan, from: service:WAN, by: usage, usage_of: NETWORK, to: business_lines}
"""


def test_usage_share_by_use_recovers_everything(tmp_path, catalogue):
    # WAN 900.00 by NETWORK use: FIN 10, OPS 20 site-months: 300.00 and 600.00
    rules, problems = rules_from(tmp_path, WAN % "use", catalogue)
    assert not errors(problems), [p.render() for p in problems]
    usage = {"NETWORK": {"FIN": Decimal(10), "OPS": Decimal(20)}}
    result = allocate_month(rules, inputs(pools={"HARDWARE": "900.00"}, usage=usage))
    assert dict(result.steps[1].outputs) == {line("FIN"): Decimal("300.00"), line("OPS"): Decimal("600.00")}
    assert result.steps[1].overhead == 0
    flow = result.service_flows()["WAN"]
    assert (flow.cost, flow.to_business_lines, flow.to_overhead) == (Decimal("900.00"), Decimal("900.00"), 0)


def test_usage_share_by_capacity_leaves_idle_capacity_in_overhead(tmp_path, catalogue):
    # capacity 40, used 30: FIN 10/40 = 225.00, OPS 20/40 = 450.00, idle 10/40 = 225.00 stays in overhead
    rules, _ = rules_from(tmp_path, WAN % "capacity", catalogue)
    usage = {"NETWORK": {"FIN": Decimal(10), "OPS": Decimal(20)}}
    result = allocate_month(rules, inputs(pools={"HARDWARE": "900.00"}, usage=usage))
    step = result.steps[1]
    assert dict(step.outputs) == {line("FIN"): Decimal("225.00"), line("OPS"): Decimal("450.00")}
    assert step.overhead == Decimal("225.00")
    assert any("idle 10" in note for note in step.notes)
    # in April the capacity is 30: fully used, nothing idle
    april = allocate_month(rules, inputs("2026-04", pools={"HARDWARE": "900.00"}, usage=usage))
    assert april.steps[1].overhead == 0


def test_usage_above_capacity_is_a_warning_and_shares_by_use(tmp_path, catalogue):
    rules, _ = rules_from(tmp_path, WAN % "capacity", catalogue)
    usage = {"NETWORK": {"FIN": Decimal(30), "OPS": Decimal(30)}}
    result = allocate_month(rules, inputs(pools={"HARDWARE": "900.00"}, usage=usage))
    assert not errors(result.problems)
    assert [p.code for p in result.problems] == [ProblemCode.INCONSISTENT]
    assert result.steps[1].overhead == 0


def test_step_basis_takes_an_earlier_steps_proportions(tmp_path, catalogue):
    # hardware split VM 50 / STORAGE 30 / overhead 20; facilities 200.00 follow VM and STORAGE
    # only (50:30): 125.00 and 75.00
    rules, problems = rules_from(tmp_path, POOLS + """
    steps:
      - {name: hardware, from: pool:HARDWARE, by: percent, to: {service:VM: 50, service:STORAGE: 30, overhead: 20}}
      - {name: facilities, from: pool:FACILITIES, by: step, step: hardware}
    """, catalogue)
    assert not errors(problems), [p.render() for p in problems]
    result = allocate_month(rules, inputs(pools={"HARDWARE": "1000.00", "FACILITIES": "200.00"}))
    assert dict(result.steps[1].outputs) == {svc("VM"): Decimal("125.00"), svc("STORAGE"): Decimal("75.00")}


def test_every_pool_reconciles_through_a_chain(tmp_path, catalogue):
    rules, _ = rules_from(tmp_path, POOLS + """
    shared_services:
      - {code: SECURITY, name: Security}
    steps:
      - {name: hardware, from: pool:HARDWARE, by: percent, to: {service:SECURITY: 70, business_line:FIN: 20, overhead: 10}}
      - {name: software, from: pool:SOFTWARE, by: percent, to: {service:SECURITY: 100}}
      - {name: security, from: service:SECURITY, by: driver, driver: headcount, to: business_lines}
    """, catalogue)
    drivers = {"headcount": {"FIN": Decimal(7), "OPS": Decimal(3)}}
    result = allocate_month(rules, inputs(pools={"HARDWARE": "333.33", "SOFTWARE": "0.01", "FACILITIES": "5.00"},
                                          drivers=drivers, business_lines=("FIN", "OPS")))
    for step in result.steps:
        assert sum((a for _, a in step.outputs), Decimal(0)) + step.overhead == step.input
    by_pool = {b.pool: b for b in result.pool_balances()}
    for balance in by_pool.values():
        assert balance.to_services + balance.to_business_lines + balance.overhead == balance.total
    # FACILITIES has no step: it stays in overhead whole
    assert by_pool["FACILITIES"].overhead == Decimal("5.00")
    assert result.pool_overhead() == Decimal("5.00") + result.steps[0].overhead


def test_missing_driver_for_a_business_line_names_the_rule_and_its_line(tmp_path, catalogue):
    rules, _ = rules_from(tmp_path, POOLS + """
    steps:
      - name: software
        from: pool:SOFTWARE
        by: driver
        driver: headcount
        to: business_lines
    """, catalogue)
    drivers = {"headcount": {"FIN": Decimal(10)}}
    result = allocate_month(rules, inputs(pools={"SOFTWARE": "100.00"}, drivers=drivers, business_lines=("FIN", "OPS")))
    [problem] = errors(result.problems)
    assert problem.code is ProblemCode.VALUE_MISSING
    assert "step 'software'" in problem.message and "OPS" in problem.message and "2026-03" in problem.message
    assert problem.source.file.endswith("rules.yaml") and problem.source.row == 7 and problem.source.location == "steps[0]"
    # the step could not run: its input stays in overhead, and the month still reconciles
    assert result.steps[0].overhead == Decimal("100.00")


def test_cost_in_an_undeclared_pool_is_a_problem_at_its_row(tmp_path, catalogue):
    rules, _ = rules_from(tmp_path, POOLS + "    steps: []\n", catalogue)
    result = allocate_month(rules, inputs(pools={"HARDWARE": "1.00", "MYSTERY": "2.00"}))
    [problem] = errors(result.problems)
    assert problem.code is ProblemCode.UNKNOWN_KEY and "MYSTERY" in problem.message
    assert problem.source.render() == "costs.csv:3"


def test_composite_roll_up_by_volume(tmp_path, catalogue):
    # FIELD costs 1,000.00; 300 technician hours were charged directly and 40 repairs use
    # 40 × 2.5 = 100 hours: FIELD keeps 300/400 = 750.00, FIELD-REPAIR gets 250.00
    rules, _ = rules_from(tmp_path, """
    pools:
      - {code: FIELD-STAFF, name: Technicians, category: non_it}
    steps:
      - {name: field, from: pool:FIELD-STAFF, by: percent, to: {service:FIELD: 100}}
    """, catalogue)
    composites = {"FIELD-REPAIR": (("FIELD", Decimal("2.5")), ("FLEET", Decimal("0.05")))}
    result = allocate_month(rules, inputs(pools={"FIELD-STAFF": "1000.00"}, composites=composites,
                                          volumes={"FIELD": Decimal(300), "FIELD-REPAIR": Decimal(40)}))
    roll = result.steps[-1]
    assert roll.name == "composite roll-up" and roll.source_node == svc("FIELD")
    assert dict(roll.outputs) == {svc("FIELD"): Decimal("750.00"), svc("FIELD-REPAIR"): Decimal("250.00")}
    flows = result.service_flows()
    assert flows["FIELD"].cost == Decimal("750.00") and flows["FIELD-REPAIR"].cost == Decimal("250.00")
    assert flows["FIELD-REPAIR"].remaining == Decimal("250.00")
