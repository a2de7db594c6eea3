"""The month review, the month list and `explain` as records: what a shell or the web app reads
(the printed text is reports/review_text.py and reports/explain_text.py, checked by the CLI tests)."""

from decimal import Decimal

from billing.close.review import MonthReview
from billing.jobs.explain import explain_line
from billing.jobs.review import month_statuses, review_stored_month
from billing.store.db import open_store
from reports.explain_text import explanation_lines
from reports.review_text import review_lines
from tests.billing.test_month_end import setup_store
from tests.cli_helpers import run


def test_review_is_a_record_of_the_month_and_what_closing_it_must_confirm(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    with open_store(db_url).begin() as session:
        found = review_stored_month(session, "2026-03")
    assert isinstance(found, MonthReview)
    assert (found.month, found.status, found.stale) == ("2026-03", "open", False)
    assert found.review.total == Decimal("940.00") == found.run.total and found.review.currency == "USD"
    assert [m.key for m in found.review.by_service] == ["DESK"]
    assert "no-usage" in {w.code for w in found.warnings}  # subscriptions only, no feed: a close must confirm
    assert found.budget is None and found.recovery is None and found.open_rejects == 0 and found.listed == 20
    assert review_lines(found)[1].startswith("Total to invoice: 940.00 USD")

    run(db_url, "month", "close", "2026-03", "--confirm")
    with open_store(db_url).begin() as session:
        closed = review_stored_month(session, "2026-03", show_all=True)
        statuses = month_statuses(session)
    assert closed.status == "closed" and closed.warnings == () and closed.listed is None
    assert [(s.month, s.status, s.total) for s in statuses] == [("2026-03", "closed", Decimal("940.00"))]


def test_explain_traces_an_invoice_line_and_a_note_line_to_what_made_them(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "70.00", "--reason", "outage")
    with open_store(db_url).begin() as session:
        line = explain_line(session, "CB-2026-000001/1")
        note = explain_line(session, "CB-2026-000003/1")
    assert line.charge is not None and line.charge.service == "DESK" and line.charge.amount == line.line.amount
    assert line.tariff.version == line.charge.tariff_version and line.tariff.currency == "USD"
    assert line.usage_count == 0 and not line.is_correction and not line.rerated
    assert note.is_correction and note.charge is None and note.line.original_invoice == "CB-2026-000001"
    assert explanation_lines(note)[-1] == "  corrects CB-2026-000001 line 1; reason: outage"
