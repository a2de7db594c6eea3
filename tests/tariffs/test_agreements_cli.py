"""Commitments and negotiated discounts from the command line (docs/pricing.md, "Commitments
and negotiated discounts"): the example catalogue's agreements validate; a commitment without a
period is refused with file, line and hint; months with a discount and a year-end true-up run
and close, each its own invoice line on the statement and in a balanced journal."""

import csv
import shutil
from decimal import Decimal
from pathlib import Path

from tests.cli_helpers import load_two_business_lines, run, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"


def test_the_example_catalogue_uses_every_kind_of_agreement_and_validates(sqlite_url):
    from tariffs.load import load_catalogue

    catalogue, _ = load_catalogue(EXAMPLES)
    kinds = set()
    for a in catalogue.agreements:
        if a.commitment is not None:
            kinds.add("amount" if a.commitment.amount is not None else "quantity")
        if a.discount is not None:
            kinds.add("percent" if a.discount.percent is not None else "fixed")
            kinds.add("before" if a.discount.before_minimum else "after")
    assert kinds == {"amount", "quantity", "percent", "fixed", "before", "after"}
    checked = run(sqlite_url, "tariffs", "validate", EXAMPLES)
    assert checked.exit_code == 0 and checked.stdout.rstrip().endswith(", 3 agreements")
    # the summary of a load says how many agreements are stored, and how many they replace
    assert "3 agreements stored (replacing 0)" in run(sqlite_url, "tariffs", "load", EXAMPLES).stdout
    assert "3 agreements stored (replacing 3)" in run(sqlite_url, "tariffs", "load", EXAMPLES).stdout


def test_tariffs_validate_refuses_a_commitment_without_a_period_with_file_line_and_hint(sqlite_url, tmp_path):
    tariffs = tmp_path / "tariffs"
    shutil.copytree(EXAMPLES, tariffs)
    path = tariffs / "agreements.yaml"
    text = path.read_text(encoding="utf-8")
    first = "    fiscal_year: 2026\n    commitment: {amount:"
    assert first in text
    path.write_text(text.replace(first, "    commitment: {amount:", 1), encoding="utf-8")
    line = text[:text.index("  - business_line: RES")].count("\n") + 1
    result = run(sqlite_url, "tariffs", "validate", tariffs, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    [problem] = [p for p in result.stderr.splitlines() if str(path) in p]
    assert problem.startswith(f"{path}:{line}:agreements[0].fiscal_year") and "a commitment without a period" in problem
    assert "fiscal_year: 2026" in problem, problem


def test_months_with_a_discount_and_a_true_up_run_and_close_with_a_balanced_journal(sqlite_url, tmp_path):
    url = sqlite_url
    tariffs = tmp_path / "tariffs"
    shutil.copytree(EXAMPLES, tariffs)
    (tariffs / "agreements.yaml").write_text(
        "agreements:\n"
        '  - {business_line: FIN, service: DESK, fiscal_year: 2026, commitment: {amount: "12000.00"},\n'
        "     discount: {percent: 10}}\n", encoding="utf-8")
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", tariffs)
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from,effective_to
        FIN,DESK,gold,2026-11-01,
    """))
    out = {}
    for month in ("2026-11", "2026-12"):
        out[month] = run(url, "month", "run", month).stdout
        run(url, "month", "close", month, "--confirm")
    # November: gold's fee 470.00, 10 % off: 423.00
    assert "423.00" in out["2026-11"], out["2026-11"]
    # December: 423.00 again; the year 846.00 against 12,000.00 x 61/365 days subscribed = 2,005.479...:
    # a true-up of 1,159.48, so 1,582.48
    assert "1,582.48" in out["2026-12"], out["2026-12"]
    journal = tmp_path / "journal.csv"
    run(url, "journal", "2026-12", "--out", journal)
    rows = list(csv.DictReader(journal.open(encoding="utf-8")))
    assert sum(Decimal(r["debit"] or "0") for r in rows) == sum(Decimal(r["credit"] or "0") for r in rows)
    texts = {r["text"] for r in rows}
    assert any(t.startswith("Commitment true-up FY2026") and "(01 Jan 2026–31 Dec 2026)" in t for t in texts), texts
    assert any(t.startswith("Negotiated discount 10 %") for t in texts), texts
    run(url, "statements", "2026-12", "--out", tmp_path / "statements")
    page = next((tmp_path / "statements").glob("*FIN*.html")).read_text(encoding="utf-8")
    assert "Commitment true-up FY2026 (01 Jan 2026–31 Dec 2026)" in page and "Negotiated discount 10 %" in page
    assert "1,159.48" in page and "-47.00" in page.replace("−", "-")
    bill = tmp_path / "focus.csv"
    run(url, "export", "2026-12", "--format", "focus", "--out", bill)
    focus = list(csv.DictReader(bill.open(encoding="utf-8-sig")))
    categories = {r["ChargeDescription"].split(" ")[0]: r["ChargeCategory"] for r in focus if r["BilledCost"] not in ("0", "0.00")}
    assert categories["Negotiated"] == "Credit" and categories["Commitment"] == "Purchase", categories
