"""A store with two years of rated history: two business lines, five services, growth and a
yearly season, so forecasts, backtests, scenarios, advice and the plan have something to read.

FIN and OPS both take VM at gold and DESK; FIN takes STORAGE silver and CLOUD (pass-through)
silver, OPS takes STORAGE gold and BACKUP silver. Usage is one row per business line, service
and month, 2025-01 to 2026-12: a base volume growing 1 % a month with a ±20 % season peaking
in the summer; every month is rated.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from billing.core.money import D, round_to_step
from billing.core.periods import month_range
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

HISTORY = month_range("2025-01", "2026-12")

# business line, service, base volume, unit, with a cost column (pass-through)
USAGE = (
    ("FIN", "VM", 1800, "vm-hour", False),
    ("FIN", "STORAGE", 4000, "gb-month", False),
    ("FIN", "DESK", 60, "ticket", False),
    ("FIN", "CLOUD", 9000, "usd", True),
    ("OPS", "VM", 6500, "vm-hour", False),
    ("OPS", "STORAGE", 12000, "gb-month", False),
    ("OPS", "DESK", 35, "ticket", False),
    ("OPS", "BACKUP", 14, "tb-month", False),
)


def monthly_volume(base: int, index: int) -> str:
    """base × 1.01^index × (1 + 0.2 sin(2π (month − 4) / 12)): peaks in July."""
    month_of_year = index % 12 + 1
    value = base * (1.01 ** index) * (1 + 0.2 * math.sin(2 * math.pi * (month_of_year - 4) / 12))
    return str(round_to_step(D(f"{value:.4f}"), D("0.01")))


def build_history(db_url: str, folder: Path) -> None:
    load_two_business_lines(db_url, folder)
    write(folder / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,VM,gold,2025-01-01
        FIN,STORAGE,silver,2025-01-01
        FIN,DESK,gold,2025-01-01
        FIN,CLOUD,silver,2025-01-01
        OPS,VM,gold,2025-01-01
        OPS,STORAGE,gold,2025-01-01
        OPS,DESK,silver,2025-01-01
        OPS,BACKUP,silver,2025-01-01
    """)
    rows = ["record_id,usage_date,business_line,service,quantity,unit,cost"]
    for index, month in enumerate(HISTORY):
        for line, service, base, unit, priced_by_cost in USAGE:
            volume = monthly_volume(base, index)
            rows.append(f"{line}-{service}-{month},{month}-15,{line},{service},{volume},{unit},{volume if priced_by_cost else ''}")
    (folder / "usage.csv").write_text("\n".join(rows) + "\n")
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", folder / "subs.csv")
    run(db_url, "usage", "load", folder / "usage.csv", "--source", "planning-test", "--new-source")
    from billing.jobs.rating import run_month
    from billing.store.db import open_store

    factory = open_store(db_url)
    for month in HISTORY:
        with factory.begin() as session:
            run_month(session, month)
    factory.kw["bind"].dispose()


@pytest.fixture(scope="session")
def history_template(tmp_path_factory) -> Path:
    """A SQLite store with the history, built once; tests take copies."""
    folder = tmp_path_factory.mktemp("history")
    build_history(f"sqlite:///{folder / 'chargeback.db'}", folder)
    return folder / "chargeback.db"


def copy_store(source: Path, target: Path) -> None:
    """Copy a SQLite store with SQLite's backup (the file alone may miss its write-ahead log)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


@pytest.fixture
def history_db(history_template, tmp_path) -> str:
    """A SQLite store with the history (a copy of the template): for tests about planning, not the database."""
    copy_store(history_template, tmp_path / "history.db")
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture
def history_url(db_url, tmp_path, history_template) -> str:
    """``db_url`` (every backend) with the history: a copy of the template on SQLite, built on PostgreSQL."""
    if db_url.startswith("sqlite"):
        copy_store(history_template, tmp_path / "chargeback.db")
    else:
        build_history(db_url, tmp_path)
    return db_url
