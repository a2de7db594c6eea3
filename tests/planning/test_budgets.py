"""Budgets from a table (CSV or .xlsx): loading, replacing, problems, and budget against actual."""

from decimal import Decimal

from openpyxl import Workbook

from billing.planning.budgets import BudgetEntry, compare_budget
from tests.cli_helpers import run, write

BUDGET = """
    business_line,service,month,amount,quantity,tier
    FIN,VM,2026-01,300.00,1800,gold
    FIN,VM,2026-02,300.00,,
    FIN,DESK,2026-01,1000.00,,
    OPS,VM,2026-01,2000.00,,
"""


def test_budget_against_actual_on_a_hand_example():
    entries = [
        BudgetEntry(fiscal_year=2026, month="2026-01", business_line="FIN", service="VM", amount=Decimal("300.00")),
        BudgetEntry(fiscal_year=2026, month="2026-02", business_line="FIN", service="VM", amount=Decimal("300.00")),
        BudgetEntry(fiscal_year=2026, month="2026-01", business_line="FIN", service="DESK", amount=Decimal("0.00")),
    ]
    rows = compare_budget(entries, {"VM": Decimal("660.00"), "CLOUD": Decimal("12.00")})
    # VM: 660 - 600 = 60 over, 60 / 600 = 10 %; DESK budgeted 0, nothing spent; CLOUD unbudgeted
    assert [(r.service, r.budget_ytd, r.actual_ytd, r.variance, r.variance_pct) for r in rows] == [
        ("CLOUD", Decimal(0), Decimal("12.00"), Decimal("12.00"), None),
        ("DESK", Decimal("0.00"), Decimal(0), Decimal("0.00"), None),
        ("VM", Decimal("600.00"), Decimal("660.00"), Decimal("60.00"), Decimal(10)),
    ]


def test_load_a_csv_budget_and_compare_year_to_date(history_url, tmp_path):
    path = write(tmp_path / "budget.csv", BUDGET)
    out = run(history_url, "budget", "load", path).stdout
    assert "table budget FY2026 for 2 business line(s), 4 line(s), total 3,600.00 USD" in out
    shown = run(history_url, "budget", "show", "2026-02", "--business-line", "FIN").stdout
    assert "VM " in shown and "600.00" in shown and "DESK" in shown and "1,000.00" in shown

    from billing.jobs.budgets import budget_rows, budget_summary
    from reports.review_text import budget_summary_line
    from billing.store.db import open_store
    from billing.store.budgets import rated_figures

    with open_store(history_url).begin() as session:
        rows = {r.service: r for r in budget_rows(session, "FIN", "2026-02")}
        actual_vm = sum(f.amount for f in rated_figures(session, ["2026-01", "2026-02"])
                        if (f.business_line, f.service) == ("FIN", "VM"))
        summary = budget_summary(session, "2026-02")
        line = budget_summary_line(summary)
        assert budget_summary(session, "2024-12") is None
    assert rows["VM"].budget_ytd == Decimal("600.00") and rows["VM"].actual_ytd == actual_vm
    assert rows["VM"].variance == actual_vm - Decimal("600.00")
    assert rows["CLOUD"].budget_ytd == 0 and rows["CLOUD"].variance_pct is None  # charged, never budgeted
    assert (summary.fiscal_year, summary.months, summary.budget_ytd) == (2026, ("2026-01", "2026-02"), Decimal("3600.00"))
    assert summary.variance == summary.actual_ytd - summary.budget_ytd and summary.over_budget
    assert line.startswith("Budget FY2026 to date (2026-01..2026-02): budget 3,600.00, actual ")
    assert "business lines over budget" in line


def test_loading_again_replaces_only_the_business_lines_in_the_file(history_url, tmp_path):
    run(history_url, "budget", "load", write(tmp_path / "budget.csv", BUDGET))
    run(history_url, "budget", "load", write(tmp_path / "fin.csv", """
        business_line,service,month,amount
        FIN,VM,2026-03,50.00
    """))
    shown = run(history_url, "budget", "show", "2026-12").stdout
    # FIN's FY2026 budget is now 50.00 alone; OPS keeps its 2,000.00
    assert [line.split()[:2] for line in shown.splitlines()[2:]] == [["FIN", "50.00"], ["OPS", "2,000.00"]]


def test_an_xlsx_budget_table_loads_like_a_csv(history_url, tmp_path):
    wb = Workbook()
    ws = wb.active
    for row in [line.split(",") for line in BUDGET.split()]:
        ws.append([value if i != 3 or value == "amount" else value for i, value in enumerate(row)])
    wb.save(tmp_path / "budget.xlsx")
    out = run(history_url, "budget", "load", tmp_path / "budget.xlsx").stdout
    assert "table budget FY2026 for 2 business line(s), 4 line(s), total 3,600.00 USD" in out


def test_every_budget_problem_is_reported_and_nothing_is_loaded(history_url, tmp_path):
    path = write(tmp_path / "bad.csv", """
        business_line,service,month,amount,tier
        FIN,VM,2026-01,300.00,gold
        XYZ,VM,2026-01,10.00,
        FIN,NOPE,2026-01,10.00,
        FIN,VM,2026-13,10.00,
        FIN,VM,2026-02,10.005,
        FIN,VM,2026-01,1.00,
        FIN,DESK,2026-01,1.00,platinum
    """)
    result = run(history_url, "budget", "load", path, ok=False)
    assert result.exit_code == 1
    err = result.stderr
    assert f"{path}:3:business_line: unknown-business-line business line 'XYZ' does not exist" in err
    assert f"{path}:4:service: unknown-service service 'NOPE' is not in the catalogue" in err
    assert f"{path}:5:month: not-a-date month '2026-13' is not a month" in err
    assert f"{path}:6:amount: too-precise amount 10.005 has more decimals than USD allows" in err
    assert f"{path}:7:month: duplicate FIN VM 2026-01 is budgeted twice (first on row 2)" in err
    assert f"{path}:8:tier: unknown-tier DESK has no tier 'platinum'" in err
    assert "nothing was loaded" in err and "Traceback" not in err
    none = run(history_url, "budget", "show", "2026-06", ok=False)
    assert none.exit_code == 1 and "no budget is loaded" in none.stderr
