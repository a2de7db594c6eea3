"""`chargeback forecast` and its backtest (that every planning command is documented: tests/test_cli_docs.py)."""

import re

import pytest

from tests.cli_helpers import run


def test_forecast_prints_each_business_line_with_its_interval(history_url):
    out = run(history_url, "forecast", "--months", "12").stdout
    assert out.startswith("Forecast 2027-01..2027-12 from 24 rated months (2025-01..2026-12), USD, 80 % interval")
    assert "series by method: seasonal 8" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:]}
    for line in ("FIN", "OPS"):
        forecast, low, high = (float(v.replace(",", "")) for v in rows[line])
        assert low <= forecast <= high
    total = float(rows["total"][0].replace(",", ""))
    assert total == pytest.approx(sum(float(rows[b][0].replace(",", "")) for b in ("FIN", "OPS")), abs=0.001)


def test_forecast_per_service_for_one_business_line_from_a_later_month(history_db):
    out = run(history_db, "forecast", "--business-line", "OPS", "--from", "2027-04", "--months", "2").stdout
    assert out.startswith("Forecast 2027-04..2027-05 from 24 rated months")
    services = [line.split()[:3] for line in out.splitlines()[4:-1]]
    assert services == [["BACKUP", "silver", "seasonal"], ["DESK", "silver", "seasonal"], ["STORAGE", "gold", "seasonal"],
                        ["VM", "gold", "seasonal"]]


def test_backtest_prints_its_error_per_service(history_db):
    out = run(history_db, "forecast", "--backtest", "--holdout", "6").stdout
    assert "fitted on 2025-01..2026-06, forecast the 6 held-out months 2026-07..2026-12" in out
    printed = dict(re.findall(r"^(\w+)\s+\d+\s+.*?(\d+\.\d%)$", out, flags=re.M))
    assert set(printed) == {"BACKUP", "CLOUD", "DESK", "STORAGE", "VM", "all"}
    from billing.jobs.forecast import run_backtest
    from billing.store.db import open_store

    with open_store(history_db).begin() as session:
        result = run_backtest(session, holdout=6, workers=1)
    for row in result.rows:
        assert printed[row.service] == f"{row.error * 100:.1f}%"
    too_long = run(history_db, "forecast", "--backtest", "--holdout", "24", ok=False)
    assert too_long.exit_code == 1 and "needs more than 24 rated months" in too_long.stderr


def test_nothing_rated_yet_is_a_clear_error(sqlite_url):
    result = run(sqlite_url, "forecast", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
