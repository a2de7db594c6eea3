"""A whole month-end from plain Python through billing.api, on the files `chargeback init` ships.

No command line: a new SQLite store, the example catalogue, the sample organisation,
subscriptions and March 2026 usage (examples/start), then run, review, close, adjust, explain,
export, journal and statements, asserting on the records each call returns.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from billing import api
from billing.core.problems import ChargebackError, NeedsConfirmation, errors
from tests.conftest import ROOT

START = ROOT / "examples" / "start"
MONTH = "2026-03"


@pytest.fixture
def store(tmp_path):
    with api.open_store(f"sqlite:///{tmp_path / 'books.db'}", create=True) as opened:
        yield opened


def load_start(store):
    assert not api.check_tariffs(ROOT / "examples" / "tariffs")[1]
    changes = api.load_tariffs(store, ROOT / "examples" / "tariffs")
    assert changes.services_added and changes.versions_added
    lines = api.load_org(store, START / "business_lines.csv")
    centers = api.load_org(store, START / "cost_centers.csv")
    assert len(lines.business_lines.added) == 5 and len(centers.cost_centers.added) == 10
    assert api.load_subscriptions(store, START / "subscriptions.csv").total > 0
    sources = ROOT / "examples" / "sources"
    feeds = [api.load_usage(store, START / "usage.csv", source="internal", sources=sources),
             api.load_usage(store, START / "tickets.csv", source="servicedesk", new_source=True, sources=sources),
             api.load_usage(store, START / "focus-cloud.csv", source="focus-cloud", sources=sources)]
    for feed in feeds:  # every row read is loaded, quarantined, skipped or excluded: nothing lost
        assert feed.rows_read == (feed.rows_loaded + feed.rows_rejected + feed.rows_duplicate + feed.rows_conflict
                                  + feed.rows_excluded)
        assert feed.problems == [] and feed.months == [MONTH]
    return feeds


def test_a_month_end_runs_from_plain_python_and_returns_records(store, tmp_path):
    feeds = load_start(store)
    run = api.run_month(store, MONTH)
    assert errors(run.rated.problems) == []
    assert run.rated.usage_rows == sum(f.usage_rows for f in feeds)
    assert sum(run.totals.values()) == sum(c.amount for c in run.rated.charges)

    review = api.review_month(store, MONTH)
    assert review.status == "open" and not review.stale and review.open_rejects == 0
    assert review.review.total == sum(c.amount for c in run.rated.charges if c.charging_mode == "chargeback")
    assert sum(m.current for m in review.review.by_service) == review.review.total
    assert {w.code for w in review.warnings} == {w.code for w in run.warnings}

    if review.warnings:  # March 2026 is followed by no usage in the sample: the close must be confirmed
        with pytest.raises(NeedsConfirmation) as refused:
            api.close_month(store, MONTH, issue_date=dt.date(2026, 4, 2))
        assert list(refused.value.reasons) == [w.message for w in review.warnings]
    closed = api.close_month(store, MONTH, issue_date=dt.date(2026, 4, 2), confirm=True)
    assert closed.total == review.review.total == sum(i.total for i in closed.invoices)
    assert [i.number for i in closed.invoices] == [f"CB-2026-{n:06d}" for n in range(1, len(closed.invoices) + 1)]
    for invoice in closed.invoices:
        assert invoice.total == sum(line.amount for line in invoice.lines)
    assert api.documents(store, MONTH) == list(closed.invoices)
    assert [s.status for s in api.month_statuses(store)] == ["closed"]
    assert api.review_month(store, MONTH).warnings == ()
    assert api.usage_rejects(store, month=MONTH) == [] and api.cost_rejects(store) == []
    assert sum(f.rows_loaded for f in api.usage_feeds(store, month=MONTH)) == run.rated.usage_rows
    assert {s.business_line for s in api.subscriptions(store)} <= {b.code for b in api.business_lines(store)}
    trail = api.audit_trail(store, limit=2)
    assert len(trail.events) == 2 and trail.events[0].action == "month.close" and trail.older > 0

    first = closed.invoices[0]
    traced = api.explain(store, f"{first.number}/1", rows=3)
    assert traced.charge is not None and traced.charge.amount == first.lines[0].amount
    assert len(traced.usage_rows) == min(3, traced.usage_count)

    note = api.adjust(store, first.number, line=1, amount=Decimal("1.00"), reason="goodwill")
    assert note.kind.value == "credit_note" and note.total == Decimal("-1.00") and note.month == "2026-04"
    assert api.document(store, note.number) == note
    assert api.explain(store, f"{note.number}/1").is_correction

    journal = api.journal(store, MONTH)
    rows = list(csv.DictReader(io.StringIO(journal.csv.decode("utf-8"))))
    assert len(rows) == len(journal.lines) and journal.debit == sum(l.credit for l in journal.lines)
    # IT's recovery account nets to the month's invoices (a discount line is booked the other way round)
    assert sum(l.credit - l.debit for l in journal.lines if l.account == "4810") == closed.total
    exported = api.export_month(store, MONTH, "csv").decode("utf-8-sig")
    assert all(i.number in exported for i in closed.invoices)
    assert api.export_month(store, MONTH, "xlsx")[:2] == b"PK"  # a zip: the workbook
    assert first.number.encode() in api.export_month(store, MONTH, "focus")

    pages = api.statements(store, MONTH)
    assert not pages.draft and len(pages.pages) == len(closed.invoices)
    written = api.write_statements(store, MONTH, tmp_path / "statements")
    assert sorted(p.name for p in written.paths) == sorted(pages.pages)
    assert {p.name: p.read_bytes() for p in written.paths} == dict(pages.pages)

    notes = api.reopen_month(store, MONTH, reason="a late feed")
    assert [n.original_invoice for n in notes] == [i.number for i in closed.invoices]
    assert sum(n.total for n in notes) == -closed.total
    assert api.month_statuses(store)[0].status == "open"


def test_a_refusal_raises_and_changes_nothing(store):
    load_start(store)
    with pytest.raises(ChargebackError, match="has not been rated"):
        api.close_month(store, MONTH, confirm=True)
    with pytest.raises(ChargebackError, match="not closed"):
        api.journal(store, MONTH)
    assert api.month_statuses(store)[0].rated_at is None


def test_a_store_that_is_not_there_is_refused_without_create(tmp_path):
    with pytest.raises(ChargebackError):
        api.open_store(f"sqlite:///{tmp_path / 'typo.db'}")
    assert not (tmp_path / "typo.db").exists()
