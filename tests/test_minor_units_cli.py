"""Printed amounts have the decimals of their currency: none in JPY, three in BHD (not always two)."""

from __future__ import annotations

import pytest

from tests.cli_helpers import load_two_business_lines, run, write
from tests.concurrency.racing import TARIFF_DESK, TARIFF_UNITS


def tariffs(folder, currency, price, fee):
    """The one-service catalogue of the race tests (DESK gold: a ticket and a monthly fee) in ``currency``."""
    write(folder / "units.yaml", TARIFF_UNITS)
    write(folder / "desk.yaml", TARIFF_DESK.replace("currency: USD", f"currency: {currency}")
          .replace('unit_price: "10.00"', f'unit_price: "{price}"').replace('monthly_fee: "100.00"', f'monthly_fee: "{fee}"'))
    return folder


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
    run(db_url, "tariffs", "load", tariffs(tmp_path / "tariffs", currency, price, fee))
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
    """))

    assert f"2026-03 chargeback: {total} {currency}\n" in run(db_url, "month", "run", "2026-03").stdout
    review = run(db_url, "month", "review", "2026-03").stdout
    assert f"Total to invoice: {total} {currency}   last month (2026-02): {'0.000' if currency == 'BHD' else '0'}" in review
    assert run(db_url, "month", "status").stdout.endswith(f" {total}\n")  # the total in the currency's decimals
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
