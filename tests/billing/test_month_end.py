"""Month-end through the command: run, close, invoices, notes, reopen, on every backend.

Usage-free fixtures: subscribed tiers with monthly fees give charges without a feed, so every
close confirms that a month without usage is meant (``--confirm``; tests/billing/test_close_warnings.py).
DESK 2026.1 gold: monthly fee 470.00; NETWORK fees as in examples/tariffs/network.yaml.
"""

import re

from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS


def setup_store(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
    """)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", tmp_path / "subs.csv")


def test_close_issues_one_numbered_invoice_per_business_line(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    assert "chargeback: 940.00 USD" in run(db_url, "month", "run", "2026-03").stdout
    closed = run(db_url, "month", "close", "2026-03", "--confirm", "--issue-date", "2026-04-02").stdout
    assert "2 invoices (CB-2026-000001 to CB-2026-000002) totalling 940.00 USD" in closed
    listed = run(db_url, "invoices", "list", "--month", "2026-03").stdout
    assert "CB-2026-000001" in listed and "FIN Finance" in listed and "470.00 USD" in listed


def test_closed_month_refuses_changes_with_a_way_forward(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    again = run(db_url, "month", "close", "2026-03", "--confirm", ok=False)
    assert again.exit_code == 1 and "already closed" in again.stderr and "adjust" in again.stderr
    rerun = run(db_url, "month", "run", "2026-03", ok=False)
    assert rerun.exit_code == 1 and "2026-03 is closed" in rerun.stderr and "reopen" in rerun.stderr
    late = write(tmp_path / "late.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,silver,2026-03-10
    """)
    refused = run(db_url, "subscriptions", "load", late, ok=False)
    assert refused.exit_code == 1 and "closed month 2026-03" in refused.stderr
    assert "Traceback" not in refused.stderr + rerun.stderr + again.stderr


def test_close_refuses_when_inputs_changed_since_the_run(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    write(tmp_path / "more.csv", """
        business_line,service,tier,effective_from
        FIN,NETWORK,bronze,2026-03-01
    """)
    run(db_url, "subscriptions", "load", tmp_path / "more.csv")
    refused = run(db_url, "month", "close", "2026-03", "--confirm", ok=False)
    assert refused.exit_code == 1 and "changed since it was rated" in refused.stderr


def test_credit_note_goes_into_the_next_open_month_and_cites_the_original(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    note = run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "70.00",
               "--reason", "desk outage not covered by credits").stdout
    assert "credit note CB-2026-000003 for FIN in 2026-04: -70.00 USD against CB-2026-000001" in note
    shown = run(db_url, "invoices", "show", "CB-2026-000003").stdout
    assert "Corrects: CB-2026-000001" in shown and "desk outage" in shown
    too_much = run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "500",
                   "--reason", "x", ok=False)
    assert too_much.exit_code == 1 and "400.00 left to credit" in too_much.stderr


def test_adjusting_an_open_month_fails_cleanly(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    run(db_url, "month", "reopen", "2026-03", "--reason", "wrong tier for OPS")
    result = run(db_url, "adjust", "--invoice", "CB-2026-000001", "--reason", "x", ok=False)
    assert result.exit_code == 1 and "2026-03 is open" in result.stderr and "month run" in result.stderr


def test_reopen_cancels_invoices_and_reclose_numbers_without_gaps(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    reopened = run(db_url, "month", "reopen", "2026-03", "--reason", "wrong tier").stdout
    assert "2 invoice(s) cancelled by credit notes CB-2026-000003 to CB-2026-000004" in reopened
    run(db_url, "month", "run", "2026-03")
    closed = run(db_url, "month", "close", "2026-03", "--confirm").stdout
    assert "CB-2026-000005 to CB-2026-000006" in closed
    numbers = re.findall(r"CB-2026-\d{6}", run(db_url, "invoices", "list", "--month", "2026-03").stdout)
    assert sorted(set(numbers)) == [f"CB-2026-{n:06d}" for n in range(1, 7)]
    audit = run(db_url, "audit").stdout
    assert "month.reopen" in audit and "wrong tier" in audit


def test_explain_traces_an_invoice_line_to_its_tariff(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    out = run(db_url, "explain", "CB-2026-000001/1").stdout
    assert "tariff DESK version 2026.1" in out and "cost centre CC-100" in out


def test_month_end_documents_statements_export_and_journal(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    draft = run(db_url, "statements", "2026-03", "--out", tmp_path / "draft").stdout
    assert "2 statements for 2026-03 (DRAFT" in draft
    refused = run(db_url, "journal", "2026-03", "--out", tmp_path / "j.csv", ok=False)
    assert refused.exit_code == 1 and "not closed" in refused.stderr
    run(db_url, "month", "close", "2026-03", "--confirm")
    out = run(db_url, "statements", "2026-03", "--out", tmp_path / "st").stdout
    assert "2 statements for 2026-03 in" in out
    html = (tmp_path / "st").glob("*FIN*.html").__next__().read_text()
    assert "Finance" in html and "470.00" in html and "CB-2026-000001" in html
    run(db_url, "export", "2026-03", "--format", "xlsx", "--out", tmp_path / "m.xlsx")
    run(db_url, "export", "2026-03", "--format", "csv", "--out", tmp_path / "m.csv")
    assert "CB-2026-000001" in (tmp_path / "m.csv").read_text(encoding="utf-8-sig")
    journal = run(db_url, "journal", "2026-03", "--out", tmp_path / "j.csv").stdout
    assert "debits = credits = 940.00" in journal
    header = (tmp_path / "j.csv").read_text().splitlines()[0]
    assert header == "posting_date,period,document_number,line,account,cost_center,debit,credit,currency,text,reference"


def test_one_business_lines_statement_is_written_alone(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    out = run(db_url, "statements", "2026-03", "--out", tmp_path / "fin", "--line", "fin").stdout
    assert "1 statements for 2026-03 in" in out
    pages = sorted(p.name for p in (tmp_path / "fin").glob("*.html") if p.name != "index.html")
    assert len(pages) == 1 and "FIN" in pages[0]
    assert "Finance" in (tmp_path / "fin" / pages[0]).read_text()
    refused = run(db_url, "statements", "2026-03", "--out", tmp_path / "none", "--line", "NOPE", ok=False)
    assert refused.exit_code == 1 and "no statement for business line 'NOPE'" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "none").exists()


def test_review_prints_totals_movers_and_idle_subscriptions(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-02")
    run(db_url, "month", "run", "2026-03")
    review = run(db_url, "month", "review", "2026-03").stdout
    assert "Total to invoice: 940.00 USD   last month (2026-02): 940.00" in review
    assert "Subscriptions without usage: 2" in review and "FIN DESK gold" in review
    assert "Quarantined rows still open: 0" in review
    lines = review.splitlines()  # the service and mover tables have their column headings
    assert lines[lines.index("By service:") + 1].split() == ["service", "this", "month", "(USD)", "last", "month", "(USD)",
                                                            "change", "%"]
    assert lines[lines.index("Largest movers (business lines):") + 1].split()[:2] == ["business", "line"]
