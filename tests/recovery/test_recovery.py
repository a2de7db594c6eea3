"""The recovery report through the command, on every backend, reconciled to the cent.

The month, worked by hand (docs/recovery.md uses the same figures):

- charges: DESK gold monthly fee 470.00 × FIN, OPS = 940.00; NETWORK silver 885.00 a
  site-month × (FIN 10 + OPS 20) = 26,550.00.
- costs: LABOUR 2,000.00 → DESK 40 % 800.00, SECURITY 50 % 1,000.00, overhead 10 % 200.00;
  HARDWARE 900.00 → WAN; EXTERNAL 25,000.00 → NETWORK; OFFICES 300.00 has no rule (overhead).
- SECURITY 1,000.00 by headcount FIN 30 / OPS 70: 300.00 / 700.00.
- WAN 900.00 by NETWORK use against a capacity of 40 site-months: FIN 10/40 = 225.00,
  OPS 20/40 = 450.00, idle 10/40 = 225.00 stays in overhead (75 % recovered).
- total cost 28,200.00 = recovered 27,490.00 + allocated 1,675.00 - over-recovery 965.00;
  in overhead 225.00 (WAN idle) + 200.00 + 300.00 = 725.00.
"""

import csv
import io
import shutil
from decimal import Decimal

from openpyxl import load_workbook

from billing.jobs.recovery import business_line_allocations, recovery_summary
from reports.review_text import recovery_summary_line
from billing.store.charges import month_charges
from billing.store.db import open_store
from billing.store.documents import documents_for_month
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

RULES = """
    currency: USD
    pools:
      - {code: LABOUR, name: IT staff, category: labour}
      - {code: HARDWARE, name: Equipment, category: hardware}
      - {code: EXTERNAL, name: Telecoms, category: external_services}
      - {code: OFFICES, name: Offices, category: facilities}
    shared_services:
      - {code: SECURITY, name: Information security}
      - {code: WAN, name: Wide-area network}
    services:
      WAN: {recovery_basis: capacity, capacity: {default: "40"}}
    steps:
      - {name: labour, from: pool:LABOUR, by: percent, to: {service:DESK: 40, service:SECURITY: 50, overhead: 10}}
      - {name: hardware, from: pool:HARDWARE, by: percent, to: {service:WAN: 100}}
      - {name: external, from: pool:EXTERNAL, by: percent, to: {service:NETWORK: 100}}
      - {name: security, from: service:SECURITY, by: driver, driver: headcount, to: business_lines}
      - {name: wan, from: service:WAN, by: usage, usage_of: NETWORK, to: business_lines}
"""


def setup_month(db_url, tmp_path, tariffs=EXAMPLE_TARIFFS, *, drivers="FIN,30\nOPS,70"):
    load_two_business_lines(db_url, tmp_path)
    write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
        FIN,NETWORK,silver,2026-01-01
        OPS,NETWORK,silver,2026-01-01
    """)
    write(tmp_path / "usage.csv", """
        record_id,usage_date,cost_center,business_line,service,tier,quantity,unit,description,cost
        n-1,2026-03-01,CC-100,,NETWORK,,10,site-month,FIN sites,
        n-2,2026-03-01,CC-200,,NETWORK,,20,site-month,OPS sites,
    """)
    write(tmp_path / "costs.csv", """
        month,scenario,cost_pool,gl_account,amount,currency,source_ref
        2026-03,actual,LABOUR,6100,2000.00,USD,PAY-03
        2026-03,actual,HARDWARE,6820,900.00,USD,DEP-03
        2026-03,actual,EXTERNAL,6520,25000.00,USD,TEL-03
        2026-03,actual,OFFICES,6330,300.00,USD,RENT-03
    """)
    write(tmp_path / "drivers.csv", "month,driver,business_line,value\n"
          + "".join(f"2026-03,headcount,{line}\n" for line in drivers.split("\n")))
    write(tmp_path / "rules" / "rules.yaml", RULES)
    run(db_url, "tariffs", "load", tariffs)
    run(db_url, "subscriptions", "load", tmp_path / "subs.csv")
    run(db_url, "usage", "load", tmp_path / "usage.csv", "--source", "network", "--new-source")
    run(db_url, "costs", "load", tmp_path / "costs.csv")
    run(db_url, "drivers", "load", tmp_path / "drivers.csv")
    run(db_url, "month", "run", "2026-03")
    return tmp_path / "rules"


def rows_of(stdout: str, table: int = 0) -> dict[str, list[str]]:
    """Rows of the first (services) or second (cost pools) table, by their first cell."""
    lines = stdout.split("\n\n")[table].splitlines()
    return {line.split()[0]: line.split() for line in lines if line and not line.startswith("-")}


def test_recovery_reconciles_to_the_cent(db_url, tmp_path):
    rules = setup_month(db_url, tmp_path)
    result = run(db_url, "recovery", "--month", "2026-03", "--rules", rules)
    rows = rows_of(result.stdout)
    assert rows["DESK"][1:] == ["chargeback", "800.00", "940.00", "0.00", "140.00", "117.5", "0.00"]
    assert rows["NETWORK"][1:] == ["chargeback", "25,000.00", "26,550.00", "0.00", "1,550.00", "106.2", "0.00"]
    assert rows["SECURITY"][1:] == ["shared", "use", "1,000.00", "0.00", "1,000.00", "0.00", "100.0", "0.00"]
    assert rows["WAN"][1:] == ["shared", "capacity", "900.00", "0.00", "675.00", "-225.00", "75.0", "225.00"]
    assert rows["TOTAL"][1:] == ["28,200.00", "27,490.00", "1,675.00", "965.00", "103.4", "725.00"]
    # cost pools: allocated + left in overhead = pool total, for every pool
    rows = rows_of(result.stdout, 1)
    assert rows["TOTAL"][1:] == ["28,200.00", "25,800.00", "1,675.00", "725.00"]
    assert rows["EXTERNAL"][1:] == ["external_services", "25,000.00", "25,000.00", "0.00", "0.00"]
    assert rows["HARDWARE"][1:] == ["hardware", "900.00", "0.00", "675.00", "225.00"]
    assert rows["LABOUR"][1:] == ["labour", "2,000.00", "800.00", "1,000.00", "200.00"]
    assert rows["OFFICES"][1:] == ["facilities", "300.00", "0.00", "0.00", "300.00"]
    assert "no step allocates cost pool OFFICES" in result.stderr  # a warning, shown as a note
    fy = run(db_url, "recovery", "--fy", "2026", "--rules", rules)
    assert rows_of(fy.stdout)["TOTAL"] == rows_of(result.stdout)["TOTAL"] and "Cost recovery FY2026" in fy.stdout


def test_recovery_writes_csv_and_xlsx(db_url, tmp_path):
    rules = setup_month(db_url, tmp_path)
    run(db_url, "recovery", "--month", "2026-03", "--rules", rules, "--out", tmp_path / "r.csv")
    table = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8"))))
    by_code = {(r["section"], r["code"]): r for r in table}
    assert by_code[("service", "WAN")]["in_overhead"] == "225.00" and by_code[("service", "WAN")]["recovery_pct"] == "75"
    assert by_code[("total", "TOTAL")]["cost"] == "28200.00"
    assert sum(Decimal(r["cost"]) for r in table if r["section"] == "service") == Decimal("28200.00")
    assert sum(Decimal(r["cost"]) for r in table if r["section"] == "pool") == Decimal("28200.00")
    run(db_url, "recovery", "--month", "2026-03", "--rules", rules, "--out", tmp_path / "r.xlsx")
    sheet = load_workbook(tmp_path / "r.xlsx")["Recovery"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("period", "section", "code")
    total = next(v for v in values if v[2] == "TOTAL")
    assert Decimal(str(total[6])) == Decimal("28200")


def test_explain_shows_each_step_and_the_pool_reconciliation(db_url, tmp_path):
    rules = setup_month(db_url, tmp_path)
    out = run(db_url, "allocation", "explain", "--month", "2026-03", "--rules", rules).stdout
    assert "Step 5 wan" in out and "rules.yaml:17:steps[4]): service:WAN by share of NETWORK usage" in out
    assert "capacity 40, used 30, idle 10 (idle share stays in overhead)" in out
    assert "outputs 675.00 + overhead 225.00 = 900.00 = input 900.00: conserved" in out
    assert "business_line:OPS      20       50  450.00" in out
    assert "TOTAL     28,200.00    25,800.00           1,675.00            725.00" in out


def test_month_review_summary_line_and_statement_allocations(db_url, tmp_path, monkeypatch):
    rules = setup_month(db_url, tmp_path)
    monkeypatch.setenv("CHARGEBACK_ALLOCATION", str(rules))
    with open_store(db_url).begin() as session:
        line = recovery_summary_line(recovery_summary(session, "2026-03"))
        assert line == ("Recovery: cost 28,200.00, recovered 27,490.00 + allocated 1,675.00 = 103.4%; over-recovered "
                        "965.00; in overhead 725.00 USD (see `chargeback recovery --month 2026-03`)")
        assert recovery_summary(session, "2026-02") is None
        assert business_line_allocations(session, "2026-03") == {
            "FIN": (("SECURITY", Decimal("300.00")), ("WAN", Decimal("225.00"))),
            "OPS": (("SECURITY", Decimal("700.00")), ("WAN", Decimal("450.00"))),
        }
        broken = recovery_summary_line(recovery_summary(session, "2026-03", rules_path=tmp_path / "nowhere"))
        assert broken == f"Recovery: costs are loaded but there are no allocation rules at {tmp_path / 'nowhere'}"


def test_a_driver_missing_for_a_business_line_fails_with_the_rule_and_its_line(db_url, tmp_path):
    rules = setup_month(db_url, tmp_path, drivers="FIN,30")
    result = run(db_url, "recovery", "--month", "2026-03", "--rules", rules, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert ("rules.yaml:16:steps[3]: value-missing step 'security': driver headcount has no value for business "
            "line(s) OPS in 2026-03") in result.stderr


def test_showback_is_charged_and_reported_but_never_invoiced(db_url, tmp_path):
    tariffs = tmp_path / "tariffs"
    shutil.copytree(EXAMPLE_TARIFFS, tariffs)
    desk = tariffs / "desk.yaml"
    text = desk.read_text(encoding="utf-8")
    assert text.count("    default_tier:") == 1
    desk.write_text(text.replace("    default_tier:", "    charging_mode: showback\n    default_tier:"), encoding="utf-8")
    rules = setup_month(db_url, tmp_path, tariffs)
    run(db_url, "month", "close", "2026-03")
    with open_store(db_url).begin() as session:
        charges = month_charges(session, "2026-03")
        desk_charges = [c for c in charges if c.service == "DESK"]
        assert {c.charging_mode for c in desk_charges} == {"showback"} and sum(c.amount for c in desk_charges) == 940
        invoiced = [line.service for doc in documents_for_month(session, "2026-03") for line in doc.lines]
        assert invoiced and "DESK" not in invoiced and set(invoiced) == {"NETWORK"}
    rows = rows_of(run(db_url, "recovery", "--month", "2026-03", "--rules", rules).stdout)
    assert rows["DESK"][1:4] == ["showback", "800.00", "940.00"]
    # The statement shows it, labelled; the journal, made from invoices, has no trace of it.
    run(db_url, "statements", "2026-03", "--out", tmp_path / "statements")
    html = next((tmp_path / "statements").glob("2026-03-FIN*.html")).read_text(encoding="utf-8")
    assert "Service desk" in html and "not charged" in html
    run(db_url, "journal", "2026-03", "--out", tmp_path / "journal.csv")
    journal = (tmp_path / "journal.csv").read_text(encoding="utf-8")
    assert "Service desk" not in journal and "Network" in journal
