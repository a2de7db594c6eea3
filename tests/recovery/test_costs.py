"""Loading cost and driver files through the command, on every backend: validation,
quarantine with row numbers, and idempotency as for usage."""

from decimal import Decimal

from billing.recovery.costs import parse_costs
from billing.files.fields import Row
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS

COSTS = """
    month,scenario,cost_pool,gl_account,amount,currency,source_ref,description
    2026-03,actual,LABOUR,6100,182500.00,USD,PAY-2026-03,March payroll IT
    2026-03,actual,HARDWARE,6820,40000,USD,DEP-2026-03,Depreciation
    2026-13,actual,HARDWARE,6410,100.00,USD,AP-1,bad month
    2026-03,actual,SOFTWARE,6420,12.5x,USD,AP-2,not a number
    2026-03,actual,SOFTWARE,6420,99.00,EUR,AP-3,wrong currency
    2026-03,actual,SOFTWARE,6420,10.005,USD,AP-4,too precise
    2026-03,forecast,SOFTWARE,6420,10.00,USD,AP-5,unknown scenario
    2026-03,actual,LABOUR,6100,182500.00,USD,PAY-2026-03,the same again
    2027-01,budget,LABOUR,6100,190000.00,,BUD-2027-01,
"""


def setup_store(db_url, tmp_path):
    write(tmp_path / "bl.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance,Ada Lovelace,ada@example.com,Corporate
        OPS,Operations,Grace Hopper,grace@example.com,Operations
    """)
    run(db_url, "org", "load", tmp_path / "bl.csv")
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)


def test_cost_load_quarantines_bad_rows_with_their_row_numbers(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    path = write(tmp_path / "costs.csv", COSTS)
    result = run(db_url, "costs", "load", path)
    assert ("rows read 9 = loaded 3 + quarantined 5 + duplicates skipped 1; amount loaded 412,500.00 USD"
            in result.stdout)
    assert "actual 2026-03, budget 2027-01" in result.stdout
    messages = result.stderr
    assert f"{path}:4:month: not-a-date month '2026-13' is not a month" in messages
    assert f"{path}:5:amount: not-a-number" in messages
    assert f"{path}:6:currency: value-invalid cost in EUR; costs must be in USD, the catalogue's currency" in messages
    assert f"{path}:7:amount: too-precise amount 10.005 has more than 2 decimals" in messages
    assert f"{path}:8:scenario: value-invalid scenario 'forecast' is not actual or budget" in messages
    assert f"{path}:9:source_ref: duplicate the same cost as row 2" in messages
    rejects = run(db_url, "costs", "rejects").stdout
    assert f"{path}:4:month: not-a-date" in rejects and rejects.count("[cost feed 1]") == 6
    feeds = run(db_url, "costs", "feeds").stdout
    assert "costs.csv" in feeds and "412,500.00" in feeds


def test_cost_load_is_idempotent_and_replace_keeps_the_old_feed_for_audit(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    path = write(tmp_path / "costs.csv", COSTS)
    run(db_url, "costs", "load", path)
    again = run(db_url, "costs", "load", path)
    assert "already loaded as cost feed 1; nothing loaded twice" in again.stdout
    overlap = write(tmp_path / "more.csv", """
        month,cost_pool,gl_account,amount,source_ref
        2026-03,LABOUR,6100,182500.00,PAY-2026-03
        2026-03,FACILITIES,6310,5000.00,RENT-2026-03
    """)
    more = run(db_url, "costs", "load", overlap)
    assert "loaded 1 + quarantined 0 + duplicates skipped 1; amount loaded 5,000.00 USD" in more.stdout
    fixed = write(tmp_path / "fixed.csv", """
        month,scenario,cost_pool,gl_account,amount,source_ref
        2026-03,actual,LABOUR,6100,180000.00,PAY-2026-03
    """)
    replaced = run(db_url, "costs", "load", fixed, "--replace")
    assert "replaced cost feed(s) 1, 2" in replaced.stdout
    assert "loaded 1 + quarantined 0 + duplicates skipped 0" in replaced.stdout
    feeds = run(db_url, "costs", "feeds").stdout
    assert feeds.count("replaced") == 2 and feeds.count("active") == 1
    from billing.store.costs import cost_lines
    from billing.store.db import open_store

    with open_store(db_url).begin() as session:
        lines = cost_lines(session, ["2026-03"], "actual")
        assert [(l.cost_pool, l.amount) for l in lines] == [("LABOUR", Decimal("180000.00"))]
        assert lines[0].source.render() == f"{fixed}:2"


def test_strict_loads_nothing_and_a_missing_column_says_what_to_write(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    strict = run(db_url, "costs", "load", write(tmp_path / "costs.csv", COSTS), "--strict", ok=False)
    assert strict.exit_code == 1 and "strict loading: nothing was loaded (--strict)" in strict.stderr and "Traceback" not in strict.stderr
    assert "cost feed" not in run(db_url, "costs", "feeds").stdout.split("\n", 2)[-1]
    bad = run(db_url, "costs", "load", write(tmp_path / "bad.csv", "month,amount\n2026-03,1\n"), ok=False)
    assert bad.exit_code == 1 and "missing column(s) cost_pool, gl_account, source_ref" in bad.stderr


def test_drivers_load_all_or_nothing_and_update_in_place(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    bad = write(tmp_path / "bad.csv", """
        month,driver,business_line,value
        2026-03,headcount,FIN,120
        2026-03,headcount,LEGAL,10
        2026-03,headcount,OPS,-3
        2026-03,Headcount,FIN,121
    """)
    refused = run(db_url, "drivers", "load", bad, ok=False)
    assert refused.exit_code == 1 and "nothing was loaded" in refused.stderr
    assert f"{bad}:3:business_line: unknown-business-line business line 'LEGAL' does not exist" in refused.stderr
    assert f"{bad}:4:value: negative" in refused.stderr
    assert f"{bad}:5:business_line: duplicate Headcount for FIN in 2026-03 is also given on row 2" in refused.stderr
    good = write(tmp_path / "drivers.csv", """
        month,driver,business_line,value
        2026-03,headcount,FIN,120
        2026-03,headcount,OPS,80
        2026-03,revenue,FIN,1000000
    """)
    assert "3 value(s) of headcount, revenue for 2026-03: 3 added, 0 updated" in run(db_url, "drivers", "load", good).stdout
    write(good, """
        month,driver,business_line,value
        2026-03,headcount,FIN,125
        2026-03,headcount,OPS,80
    """)
    assert "1 updated" in run(db_url, "drivers", "load", good).stdout
    listed = run(db_url, "drivers", "list").stdout
    assert "2026-03  headcount" in listed and "205" in listed and "1000000" in listed


def test_parse_costs_rounds_nothing_and_keeps_negative_corrections():
    rows = [Row(file="c.csv", row=2, values={"month": "2026-03", "cost_pool": "LABOUR", "gl_account": "6100",
                                            "amount": "-1200.5", "source_ref": "REV-1"})]
    lines, problems = parse_costs(rows, currency="USD")
    assert problems == [] and lines[0].amount == Decimal("-1200.50") and lines[0].scenario == "actual"
    lines, problems = parse_costs(rows, currency="JPY")
    assert lines == [] and "more than 0 decimals" in problems[0].message


def test_a_cost_workbook_reads_like_a_csv(tmp_path):
    from openpyxl import Workbook

    from billing.recovery.costs import COST_COLUMNS, COST_OPTIONAL
    from billing.files.tables import read_table

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Month", "Cost pool", "GL account", "Amount", "Source ref"])
    sheet.append(["2026-03", "LABOUR", 6100, 1234.5, "PAY-03"])
    workbook.save(tmp_path / "costs.xlsx")
    rows, problems = read_table(tmp_path / "costs.xlsx", required=COST_COLUMNS, optional=COST_OPTIONAL)
    lines, more = parse_costs(rows, currency="USD")
    assert problems == more == []
    assert (lines[0].gl_account, lines[0].amount, lines[0].source.render()) == ("6100", Decimal("1234.50"), f"{tmp_path / 'costs.xlsx'}[Sheet]:2")


def test_a_cost_sent_again_with_another_amount_is_a_conflict_not_a_duplicate(tmp_path):
    db = f"sqlite:///{tmp_path / 'chargeback.db'}"
    run(db, "tariffs", "load", EXAMPLE_TARIFFS)
    header = "month,scenario,cost_pool,gl_account,amount,currency,source_ref,description"
    run(db, "costs", "load", write(tmp_path / "march.csv", f"""
        {header}
        2026-03,actual,LABOUR,6100,1000.00,USD,PAY-1,payroll
        2026-03,actual,HARDWARE,6200,500.00,USD,HW-1,servers
    """))
    again = write(tmp_path / "march-again.csv", f"""
        {header}
        2026-03,actual,LABOUR,6100,1000.00,USD,PAY-1,payroll
        2026-03,actual,HARDWARE,6200,550.00,USD,HW-1,servers
        2026-03,actual,HARDWARE,6200,70.00,USD,HW-2,disks
        2026-03,actual,HARDWARE,6200,75.00,USD,HW-2,disks
    """)
    result = run(db, "costs", "load", again)

    # HW-1 was loaded by feed 1 at 500; HW-2's second row differs from its first
    assert ("rows read 4 = loaded 1 + quarantined 0 + duplicates skipped 1 + conflicts quarantined 2; "
            "amount loaded 70.00 USD") in result.stdout
    assert ("march-again.csv:3: conflict this cost (actual 2026-03 HARDWARE 6200 HW-1) was loaded by cost feed 1 "
            "(march.csv, row 3) with other values (amount '550' here, '500' there)") in result.stderr
    assert "march-again.csv:5:source_ref: conflict the cost of row 4" in result.stderr
    assert "amount '75' here, '70' there" in result.stderr
    assert "--replace" in result.stderr
    listed = run(db, "costs", "feeds").stdout.splitlines()
    assert "conflicts" in listed[0] and listed[-1].split()[4:9] == ["4", "1", "0", "1", "2"]
