"""Reading and checking allocation rules: every problem names the rule, the file and the line."""

import shutil

from billing.recovery.allocation import Method, Node, NodeKind
from billing.recovery.allocation_rules import load_rules
from billing.core.problems import ProblemCode, Severity, errors
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS
from tests.recovery.conftest import EXAMPLE_RULES, rules_from

HEAD = """
    pools:
      - {code: HARDWARE, name: Hardware, category: hardware}
      - {code: LABOUR, name: Staff, category: labour}
    shared_services:
      - {code: SECURITY, name: Security}
      - {code: ERP, name: ERP}
"""


def codes(problems):
    return sorted((p.code, p.source.row, p.source.location) for p in errors(problems))


def test_the_example_rules_are_clean(catalogue):
    rules, problems = load_rules(EXAMPLE_RULES)
    from billing.recovery.allocation_rules import validate_rules

    problems += validate_rules(rules, catalogue)
    assert problems == [], [p.render() for p in problems]
    assert [s.method for s in rules.steps].count(Method.USAGE) == 1
    assert rules.step("facilities").basis_step == "hardware"
    assert rules.recovery_for("WAN").capacity_for("2026-03") is not None


def test_a_cycle_is_rejected_naming_the_steps(tmp_path, catalogue):
    # security feeds ERP, and erp feeds SECURITY back: neither can take everything at its source
    rules, problems = rules_from(tmp_path, HEAD + """
    steps:
      - {name: labour, from: pool:LABOUR, by: percent, to: {service:SECURITY: 50, service:ERP: 50}}
      - name: security
        from: service:SECURITY
        by: percent
        to: {service:ERP: 60, business_line:FIN: 40}
      - name: erp
        from: service:ERP
        by: percent
        to: {service:SECURITY: 10, overhead: 90}
    """, catalogue)
    [cycle] = [p for p in problems if p.code is ProblemCode.CYCLE]
    assert "'security' → 'erp' → 'security'" in cycle.message
    assert cycle.source.row == 10 and cycle.source.location == "steps[1]"
    assert cycle.source.render().endswith("rules.yaml:10:steps[1]")


def test_percentages_must_sum_to_100(tmp_path, catalogue):
    rules, problems = rules_from(tmp_path, HEAD + """
    steps:
      - name: hardware
        from: pool:HARDWARE
        by: percent
        to: {service:VM: 50, service:STORAGE: 30}
    """, catalogue)
    [problem] = errors(problems)
    assert problem.code is ProblemCode.PERCENTS_NOT_100
    assert "step 'hardware': percentages sum to 80, not 100" in problem.message
    assert "overhead: 20" in problem.hint
    assert (problem.source.row, problem.source.location) == (9, "steps[0]")


def test_unknown_pool_and_service_and_step(tmp_path, catalogue):
    _, problems = rules_from(tmp_path, HEAD + """
    steps:
      - {name: one, from: pool:HARDWAER, by: percent, to: {service:VMM: 100}}
      - {name: two, from: pool:LABOUR, by: step, step: nope}
      - {name: three, from: service:SECURITY, by: usage, usage_of: NETWRK, to: business_lines}
    """, catalogue)
    found = {(p.code, p.source.row): p for p in errors(problems)}
    assert found[(ProblemCode.UNKNOWN_KEY, 9)].hint == "did you mean 'HARDWARE'?"
    assert "unknown service 'VMM'" in found[(ProblemCode.UNKNOWN_SERVICE, 9)].message
    assert "unknown step 'nope'" in found[(ProblemCode.UNKNOWN_KEY, 10)].message
    assert "NETWRK" in found[(ProblemCode.UNKNOWN_SERVICE, 11)].message


def test_a_step_declared_before_what_it_depends_on(tmp_path, catalogue):
    _, problems = rules_from(tmp_path, HEAD + """
    steps:
      - {name: security, from: service:SECURITY, by: driver, driver: headcount, to: business_lines}
      - {name: labour, from: pool:LABOUR, by: percent, to: {service:SECURITY: 100}}
    """, catalogue)
    [problem] = errors(problems)
    assert problem.code is ProblemCode.INCONSISTENT
    assert "step 'security' allocates service:SECURITY, which step 'labour' still sends money to" in problem.message
    assert "move 'security' below 'labour'" in problem.hint


def test_two_steps_from_one_source_and_composites(tmp_path, catalogue):
    _, problems = rules_from(tmp_path, HEAD + """
    steps:
      - {name: a, from: pool:LABOUR, by: percent, to: {service:FIELD: 100}}
      - {name: b, from: pool:LABOUR, by: percent, to: {overhead: 100}}
      - {name: c, from: service:FIELD, by: driver, driver: headcount, to: business_lines}
    """, catalogue)
    found = {p.code for p in errors(problems)}
    assert found == {ProblemCode.DUPLICATE, ProblemCode.INCONSISTENT}
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    assert any("recovered twice" in p.message for p in warnings)  # FIELD is charged through its tariff


def test_bad_yaml_never_raises(tmp_path):
    path = write(tmp_path / "rules.yaml", """
        pools:
          - {code: X, name: "unterminated
        steps: [
    """)
    rules, problems = load_rules(path)
    assert [p.code for p in problems] == [ProblemCode.FILE_UNREADABLE]
    assert rules.steps == ()
    _, problems = rules_from(tmp_path, """
    pools: {code: X}
    steps:
      - {name: a, from: business_line:FIN, by: magic}
      - {from: pool:X}
      - just text
    extra: 1
    """)
    assert {p.code for p in problems} >= {ProblemCode.VALUE_INVALID, ProblemCode.VALUE_MISSING, ProblemCode.UNKNOWN_KEY}
    assert all(p.source.row for p in problems)


def test_rate_setting_and_recovery_settings_are_checked(tmp_path, catalogue):
    _, problems = rules_from(tmp_path, HEAD + """
    services:
      NOPE: {recovery_basis: capacity, capacity: {default: "10"}}
      SECURITY: {recovery_basis: sometimes}
      ERP: {recovery_basis: capacity}
    rate_setting:
      price_step: "0"
    steps: []
    """, catalogue)
    assert {p.code for p in errors(problems)} == {ProblemCode.UNKNOWN_SERVICE, ProblemCode.VALUE_INVALID,
                                                  ProblemCode.VALUE_MISSING}
    _, problems = rules_from(tmp_path, HEAD + """
    rate_setting:
      differentials:
        DESK: {gold: "1.3", silver: "1.1"}
        VM: {gold: "1.3", silver: "1.1", bronze: "1", platinum: "2"}
    steps: []
    """, catalogue)
    assert {(p.code, p.message.split(" ")[0]) for p in errors(problems)} == {
        (ProblemCode.VALUE_MISSING, "differentials"), (ProblemCode.UNKNOWN_TIER, "differential")}


def test_nodes_parse():
    from billing.recovery.allocation_rules import parse_node

    assert parse_node("service:VM") == Node(NodeKind.SERVICE, "VM")
    assert parse_node(" business_line:FIN ") == Node(NodeKind.BUSINESS_LINE, "FIN")
    assert str(parse_node("overhead")) == "overhead"
    assert parse_node("VM") is None and parse_node("pool:") is None


def test_validate_command_exits_1_with_every_problem_and_no_traceback(tmp_path, sqlite_url):
    broken = tmp_path / "allocation"
    shutil.copytree(EXAMPLE_RULES, broken)
    path = broken / "rules.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("service:FIELD: 100", "service:FIELD: 90")
    # SECURITY now goes to ERP and ERP back to SECURITY: a cycle
    text = text.replace("from: service:SECURITY\n    by: driver\n    driver: headcount\n    to: business_lines",
                        "from: service:SECURITY\n    by: percent\n    to: {service:ERP: 100}")
    text = text.replace("from: service:ERP\n    by: driver\n    driver: revenue\n    to: business_lines",
                        "from: service:ERP\n    by: percent\n    to: {service:SECURITY: 100}")
    path.write_text(text, encoding="utf-8")
    result = run(sqlite_url, "allocation", "validate", "--rules", broken, "--tariffs", EXAMPLE_TARIFFS, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "percents-not-100 step 'field-staff': percentages sum to 90, not 100" in result.stderr
    assert "cycle allocation steps go round in a circle: 'security-by-headcount' → 'erp-by-revenue' → " \
           "'security-by-headcount'" in result.stderr
    assert "rules.yaml:" in result.stderr
    ok = run(sqlite_url, "allocation", "validate", "--tariffs", EXAMPLE_TARIFFS, "--rules", EXAMPLE_RULES)
    assert "OK - 8 cost pools, 3 shared services, 11 steps" in ok.stdout
