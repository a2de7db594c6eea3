"""A month is not closed into invoices unnoticed (issue 12, defect 7): no usage, far less usage
from a source than the months around it, a month not yet ended or in the future, earlier
months still open. `month review` says so, `month close` refuses without `--confirm`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from billing.core.periods import add_months, month_of
from billing.close.review import calendar_warnings, month_ranges, usage_warnings
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

# --- the judgement, pure --------------------------------------------------------------------


def codes(warnings):
    return [(w.code, w.source) for w in warnings]


def test_a_month_without_any_usage_is_a_warning_even_without_history():
    assert codes(usage_warnings(month="2026-03", usage_rows={}, low_usage_pct=Decimal(50))) == [("no-usage", None)]


def test_a_source_is_compared_with_the_median_of_the_months_around_it():
    rows = {("desk", "2026-01"): 100, ("desk", "2026-02"): 90, ("desk", "2026-04"): 110, ("desk", "2026-03"): 44,
            ("cloud", "2026-02"): 10, ("cloud", "2026-03"): 10}
    # desk: neighbours 100, 90, 110 -> median 100; 44 < 50 % of 100 -> far less. cloud: 10 of 10, fine.
    found = usage_warnings(month="2026-03", usage_rows=rows, low_usage_pct=Decimal(50))
    assert codes(found) == [("low-usage", "desk")]
    assert "44 rows against a median of 100 (44 %" in found[0].message
    # exactly half is not "far less"
    rows[("desk", "2026-03")] = 50
    assert usage_warnings(month="2026-03", usage_rows=rows, low_usage_pct=Decimal(50)) == ()


def test_a_source_that_went_silent_is_named_and_other_sources_do_not_hide_it():
    rows = {("desk", "2026-02"): 40, ("network", "2026-02"): 5, ("network", "2026-03"): 5}
    found = usage_warnings(month="2026-03", usage_rows=rows, low_usage_pct=Decimal(50))
    assert codes(found) == [("no-usage-from-source", "desk")]
    assert "no usage from source desk, which sent a median of 40 rows a month" in found[0].message


def test_months_further_than_three_away_and_new_sources_give_no_warning():
    rows = {("desk", "2025-11"): 500, ("desk", "2026-03"): 5, ("new", "2026-03"): 1}
    # 2025-11 is four months before 2026-03: desk has no reference, and "new" has no history
    assert usage_warnings(month="2026-03", usage_rows=rows, low_usage_pct=Decimal(50)) == ()


def test_later_months_count_too_once_they_are_loaded():
    rows = {("desk", "2026-03"): 3, ("desk", "2026-04"): 30, ("desk", "2026-05"): 30}
    assert codes(usage_warnings(month="2026-03", usage_rows=rows, low_usage_pct=Decimal(50))) == [("low-usage", "desk")]


def test_calendar_warnings():
    today = dt.date(2026, 5, 20)
    assert codes(calendar_warnings(month="2026-04", today=today, open_before=[])) == []
    assert codes(calendar_warnings(month="2026-05", today=today, open_before=[])) == [("month-not-ended", None)]
    assert codes(calendar_warnings(month="2026-04", today=dt.date(2026, 4, 30), open_before=[])) == [("month-not-ended", None)]
    future = calendar_warnings(month="2027-05", today=today, open_before=["2026-12", "2027-01", "2027-02", "2027-03", "2027-04"])
    assert codes(future) == [("future-month", None), ("earlier-open", None)]
    assert "5 earlier month(s) are still open (2026-12 to 2027-04)" in future[1].message


def test_month_ranges():
    assert month_ranges(["2026-01", "2026-02", "2026-03", "2026-05", "2026-07", "2026-08"]) == \
        "2026-01 to 2026-03, 2026-05, 2026-07 to 2026-08"


# --- review and close ------------------------------------------------------------------------


def setup_store(url: str, folder) -> None:
    load_two_business_lines(url, folder)
    write(folder / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
    """)
    run(url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(url, "subscriptions", "load", folder / "subs.csv")


def load_usage(url: str, folder, source: str, month: str, rows: int, *, first: bool = False) -> None:
    path = write(folder / f"{source}-{month}.csv", "record_id,usage_date,cost_center,service,quantity,unit\n" + "".join(
        f"{source}-{month}-{n},{month}-{n % 28 + 1:02d},CC-100,DESK,1,ticket\n" for n in range(rows)))
    run(url, "usage", "load", path, "--source", source, *(["--new-source"] if first else []))


def invoice_count(url: str, month: str) -> int:
    return run(url, "invoices", "list", "--month", month).stdout.count("CB-")


def test_a_month_without_usage_is_not_closed_without_confirm(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    review = run(db_url, "month", "review", "2026-03").stdout
    assert "WARNING: closing 2026-03 needs `chargeback month close 2026-03 --confirm`, because:" in review
    assert "2026-03 has no usage at all" in review
    refused = run(db_url, "month", "close", "2026-03", ok=False)
    assert refused.exit_code == 1
    assert "warning: 2026-03 has no usage at all: closing it would invoice only monthly fees" in refused.stderr
    assert "--confirm" in refused.stderr.splitlines()[-1]
    assert invoice_count(db_url, "2026-03") == 0 and "2026-03  open" in run(db_url, "month", "status").stdout
    closed = run(db_url, "month", "close", "2026-03", "--confirm")
    assert "2 invoices" in closed.stdout and "confirmed: 2026-03 has no usage at all" in closed.stderr
    assert "confirmed: 2026-03 has no usage at all" in run(db_url, "audit").stdout


def test_far_less_usage_from_one_source_needs_confirm_and_names_the_source(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    for n, month in enumerate(["2026-01", "2026-02", "2026-03"]):
        load_usage(db_url, tmp_path, "desk", month, 20, first=n == 0)
        load_usage(db_url, tmp_path, "phones", month, 10, first=n == 0)
        run(db_url, "month", "run", month)
        run(db_url, "month", "close", month)  # steady usage: no warning, no --confirm
    load_usage(db_url, tmp_path, "desk", "2026-04", 3)  # 3 of the usual 20
    load_usage(db_url, tmp_path, "phones", "2026-04", 10)
    run(db_url, "month", "run", "2026-04")
    review = run(db_url, "month", "review", "2026-04").stdout
    assert "far less usage from source desk than the months around it: 3 rows against a median of 20 (15 %" in review
    assert "source phones" not in review
    refused = run(db_url, "month", "close", "2026-04", ok=False)
    assert refused.exit_code == 1 and "source desk" in refused.stderr
    assert invoice_count(db_url, "2026-04") == 0
    run(db_url, "settings", "set", "low_usage_pct", "10")  # 15 % is no longer "far less"
    assert "source desk" not in run(db_url, "month", "review", "2026-04").stdout
    run(db_url, "month", "close", "2026-04")


def test_a_month_after_open_months_and_a_month_not_ended_need_confirm(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    load_usage(db_url, tmp_path, "desk", "2026-01", 5, first=True)
    load_usage(db_url, tmp_path, "desk", "2026-05", 5)
    run(db_url, "month", "run", "2026-05")
    refused = run(db_url, "month", "close", "2026-05", ok=False)
    assert "4 earlier month(s) are still open (2026-01 to 2026-04)" in refused.stderr
    assert invoice_count(db_url, "2026-05") == 0
    # a month in the future (months are rated ahead for fees; today is whatever today is)
    ahead = add_months(month_of(dt.date.today()), 3)
    run(db_url, "month", "run", ahead)
    refused = run(db_url, "month", "close", ahead, ok=False)
    assert f"{ahead} is in the future" in refused.stderr and invoice_count(db_url, ahead) == 0
    current = month_of(dt.date.today())
    run(db_url, "month", "run", current)
    assert f"{current} has not ended yet" in run(db_url, "month", "close", current, ok=False).stderr


@pytest.mark.parametrize("confirm", [False, True])
def test_the_close_job_refuses_too_so_every_caller_is_guarded(sqlite_url, tmp_path, confirm):
    from billing.jobs.close import close_month
    from billing.core.problems import NeedsConfirmation
    from billing.store.db import open_store

    setup_store(sqlite_url, tmp_path)
    load_usage(sqlite_url, tmp_path, "desk", "2026-03", 5, first=True)
    run(sqlite_url, "month", "run", "2026-03")
    factory = open_store(sqlite_url)
    try:
        with factory.begin() as session:
            if confirm:
                result = close_month(session, "2026-03", today=dt.date(2026, 3, 15), confirm=True)
                assert result.confirmed and "has not ended yet" in result.confirmed[0]
            else:
                with pytest.raises(NeedsConfirmation) as refused:
                    close_month(session, "2026-03", today=dt.date(2026, 3, 15))
                assert "2026-03 has not ended yet (it ends 2026-03-31)" in refused.value.reasons[0]
    finally:
        factory.kw["bind"].dispose()
