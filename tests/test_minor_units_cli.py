"""Printed amounts have the decimals of their currency: none in JPY, three in BHD (not always two)."""

from __future__ import annotations

import pytest

from tests.cli_helpers import load_two_business_lines, run, write

DESK = """
units:
  - {{code: ticket, name: Service desk tickets}}
services:
  - code: DESK
    name: Service desk
    unit: ticket
    kind: it
    owner: IT Service Desk
    default_tier: gold
    tiers:
      - {{code: gold, name: Gold, funding_level: standard}}
tariffs:
  - service: DESK
    version: "2026.1"
    effective_from: 2026-01-01
    currency: {currency}
    tiers:
      gold: {{model: per_unit, unit_price: "{price}", monthly_fee: "{fee}"}}
"""

# currency, unit price, monthly fee, what is printed: an invoice (a business line's fee), the
# month's total (two business lines), the cost file's amount, a business line's budget.
CASES = [
    ("JPY", "2300", "47000", "47,000", "94,000", "1,200,000", "50,000"),
    ("BHD", "2.125", "470.125", "470.125", "940.250", "12,000.500", "500.000"),
]


@pytest.mark.parametrize(("currency", "price", "fee", "invoice", "total", "cost", "budget"), CASES, ids=[c[0] for c in CASES])
def test_month_run_close_journal_costs_and_budget_print_the_currency_decimals(db_url, tmp_path, currency, price, fee,
                                                                              invoice, total, cost, budget):
    run(db_url, "settings", "set", "currency", currency)
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", write(tmp_path / "tariffs" / "desk.yaml",
                                         DESK.format(currency=currency, price=price, fee=fee)).parent)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
    """))

    assert f"2026-03 chargeback: {total} {currency}\n" in run(db_url, "month", "run", "2026-03").stdout
    closed = run(db_url, "month", "close", "2026-03", "--confirm", "--issue-date", "2026-04-02").stdout
    assert f"totalling {total} {currency}\n" in closed
    listed = run(db_url, "invoices", "list", "--month", "2026-03").stdout
    shown = run(db_url, "invoices", "show", "CB-2026-000001").stdout
    assert f" {invoice} {currency}" in listed and f"Total {invoice} {currency}\n" in shown

    run(db_url, "costs", "load", write(tmp_path / "costs.csv", f"""
        month,scenario,cost_pool,gl_account,amount,currency,source_ref,description
        2026-03,actual,LABOUR,6100,{cost.replace(",", "")},{currency},AP-1,Salaries
    """))
    assert f"  {cost}\n" in run(db_url, "costs", "feeds").stdout

    run(db_url, "budget", "load", write(tmp_path / "budget.csv", f"""
        business_line,service,month,amount
        FIN,DESK,2026-03,{budget.replace(",", "")}
    """))
    by_line = run(db_url, "budget", "show", "2026-03").stdout
    by_service = run(db_url, "budget", "show", "2026-03", "--business-line", "FIN").stdout
    assert all(f"  {budget}  " in shown for shown in (by_line, by_service))
