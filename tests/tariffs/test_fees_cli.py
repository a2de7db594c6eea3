"""Quarterly and annual fees from the command line (docs/pricing.md, "Quarterly and annual
fees"): the example catalogue's WORKPLACE charges an annual licence in advance (gold) and a
quarterly support contract spread (silver); months run and close with each fee its own invoice
line, named with its period on the statement and in a balanced journal."""

import csv
from decimal import Decimal
from pathlib import Path

from tests.cli_helpers import load_two_business_lines, run, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"


def test_the_example_catalogue_uses_both_kinds_of_fee_and_validates(sqlite_url):
    from tariffs.load import load_catalogue
    from tariffs.model import FeeBilling, FeeEvery

    catalogue, _ = load_catalogue(EXAMPLES)
    fees = {(f.every, f.billing) for tv in catalogue.tariffs for _t, p in tv.prices for f in p.fees}
    assert {(FeeEvery.ANNUAL, FeeBilling.IN_ADVANCE), (FeeEvery.QUARTERLY, FeeBilling.SPREAD)} <= fees
    assert run(sqlite_url, "tariffs", "validate", EXAMPLES).exit_code == 0


def test_months_with_fees_run_and_close_with_a_balanced_journal(sqlite_url, tmp_path):
    url = sqlite_url
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", EXAMPLES)
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from,effective_to
        FIN,WORKPLACE,gold,2026-01-01,
        OPS,WORKPLACE,silver,2026-02-15,
    """))
    run(url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,business_line,service,quantity,unit
        w1,2026-01-31,FIN,WORKPLACE,25,user-month
        w2,2026-02-28,OPS,WORKPLACE,10,user-month
    """), "--source", "hr", "--new-source")
    totals = {}
    for month in ("2026-01", "2026-02", "2026-03"):
        out = run(url, "month", "run", month).stdout
        totals[month] = out
        run(url, "month", "close", month, "--confirm")
    # January: FIN gold 25 x 49.90 = 1,247.50 and the year's licence in advance, 1,200.00
    assert "2,447.50" in totals["2026-01"], totals["2026-01"]
    # February: FIN gold's minimum 1,000.00; OPS silver from 15 Feb (14/28): 10 x 37.50 = 375.00 (above
    # 560.00 x 1/2) and the quarter's contract, 150.00 x 1.5/3 = 75.00 spread 1/2 : 1: 25.00 now
    assert "1,400.00" in totals["2026-02"], totals["2026-02"]
    # March: FIN 1,000.00; OPS minimum 560.00 and the contract's other 50.00
    assert "1,610.00" in totals["2026-03"], totals["2026-03"]

    shown = run(url, "invoices", "list", "--month", "2026-02").stdout
    assert "OPS" in shown, shown
    journal = tmp_path / "journal.csv"
    run(url, "journal", "2026-02", "--out", journal)
    rows = list(csv.DictReader(journal.open(encoding="utf-8")))
    assert sum(Decimal(r["debit"] or "0") for r in rows) == sum(Decimal(r["credit"] or "0") for r in rows)
    contract = [r for r in rows if r["text"].startswith("Suite support contract")]
    assert contract and all("(15 Feb 2026–31 Mar 2026) 2026-02" in r["text"] for r in contract), contract
    assert {Decimal(r["debit"] or r["credit"]) for r in contract} == {Decimal("25.00")}

    run(url, "statements", "2026-01", "--out", tmp_path / "statements")
    page = next((tmp_path / "statements").glob("*FIN*.html")).read_text(encoding="utf-8")
    assert "Advanced security licence (01 Jan 2026–31 Dec 2026)" in page


def test_an_annual_fee_billed_in_advance_is_credited_in_the_month_the_subscription_ends(sqlite_url, tmp_path):
    # January bills FIN gold's 1,200.00 licence for FY2026; the subscription is later ended on
    # 15 June: June's run credits 1,200.00 - 1,200.00 x (5 + 15/30) / 12 = 650.00 as its own line
    url = sqlite_url
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", EXAMPLES)
    subs = "business_line,service,tier,effective_from,effective_to\nFIN,WORKPLACE,gold,2026-01-01,{end}\n"
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", subs.format(end="")))
    run(url, "month", "run", "2026-01")
    run(url, "month", "close", "2026-01", "--confirm")
    run(url, "subscriptions", "load", write(tmp_path / "subs-ended.csv", subs.format(end="2026-06-15")))
    for month in ("2026-02", "2026-03", "2026-04", "2026-05", "2026-06"):
        run(url, "month", "run", month)
    explained = run(url, "month", "review", "2026-06").stdout
    export = tmp_path / "june.csv"
    run(url, "export", "2026-06", "--format", "csv", "--out", export)
    rows = [r for r in csv.DictReader(export.open(encoding="utf-8-sig"))
            if "Advanced security licence" in "".join(v or "" for v in r.values())]
    assert [Decimal(r["amount"]) for r in rows] == [Decimal("-650.00")], (rows, explained)
    # July, after the end, carries nothing at all; June run again credits the same, once
    run(url, "month", "run", "2026-07")
    assert "nothing to export" in run(url, "export", "2026-07", "--format", "csv", "--out", tmp_path / "july.csv",
                                      ok=False).stderr
    run(url, "month", "run", "2026-06")
    run(url, "export", "2026-06", "--format", "csv", "--out", export)
    assert sum("Advanced security licence" in line for line in export.read_text(encoding="utf-8-sig").splitlines()) == 1
