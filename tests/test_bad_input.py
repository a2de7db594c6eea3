"""Bad input gets one clear line and a non-zero exit, and writes nothing (issue 12, defect 8).

Every command is tried (found by walking the command tree, so a new command is tried too):
a bad argument is refused before the store is opened, and a command that only reads never
creates a store as a side effect of a mistyped ``--db``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import MonthType, chargeback
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

CLEAN_ENV = {name: None for name in ("CHARGEBACK_DB", "CHARGEBACK_TARIFFS", "CHARGEBACK_SOURCES", "CHARGEBACK_ALLOCATION")}
WRITES_BY_DESIGN = {("db", "upgrade"), ("demo",), ("init",)}


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


LEAVES = dict(leaf_commands(chargeback))


def arguments(command: click.Command, *, bad_month: str | None = None) -> list[str]:
    """Arguments that click accepts for ``command`` (every required one, and ``bad_month``
    in place of each month when given)."""
    args: list[str] = []
    for param in command.params:
        month = isinstance(param.type, MonthType)
        if not (param.required or (month and bad_month)):
            continue
        if month:
            value = bad_month or "2026-03"
        elif isinstance(param.type, click.Path):
            value = "missing.csv" if param.type.exists else "out/written"
        elif isinstance(param.type, (click.types.IntParamType, click.IntRange)):
            value = "2026"
        elif isinstance(param.type, click.Choice):
            value = param.type.choices[0]
        else:
            value = "CB-2026-000001/1" if param.name == "reference" else "x"
        if isinstance(param, click.Option):
            args += [param.opts[0], value]
        else:
            args.append(value)
    return args


def invoke(folder: Path, args: list[str]):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner(env=CLEAN_ENV).invoke(chargeback, args)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("path", [p for p in LEAVES if p not in WRITES_BY_DESIGN], ids=" ".join)
def test_no_command_creates_a_store_or_a_file_it_was_not_asked_for(path, tmp_path):
    # In an empty folder, with no store: loaders are refused for their missing input file,
    # every other command for the missing store. The folder stays empty either way.
    result = invoke(tmp_path, [*path, *arguments(LEAVES[path])])
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # an error, never a traceback
    assert [line.startswith("Error:") for line in result.stderr.splitlines()].count(True) == 1, result.stderr
    assert list(tmp_path.iterdir()) == [], f"{' '.join(path)} wrote {list(tmp_path.iterdir())}"


MONTH_COMMANDS = [p for p, c in LEAVES.items() if any(isinstance(x.type, MonthType) for x in c.params)]


def test_every_month_is_checked():
    assert {("month", "run"), ("month", "close"), ("usage", "feeds"), ("forecast",), ("demo",)} <= set(MONTH_COMMANDS)


@pytest.mark.parametrize("bad", ["March", "2026-13", "26-03", "2026/03"])
@pytest.mark.parametrize("path", MONTH_COMMANDS, ids=" ".join)
def test_a_bad_month_is_a_usage_error_before_anything_is_opened(path, bad, tmp_path):
    result = invoke(tmp_path, [*path, *arguments(LEAVES[path], bad_month=bad)])
    assert result.exit_code == 2, result.output
    assert "not a month" in result.stderr and "YYYY-MM" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_month_run_march_creates_no_database(tmp_path):
    db = tmp_path / "chargeback.db"
    result = CliRunner().invoke(chargeback, ["--db", f"sqlite:///{db}", "month", "run", "March"])
    assert result.exit_code == 2 and "'March' is not a month" in result.stderr
    assert not db.exists()


def test_a_bad_setting_is_refused_before_the_store(tmp_path):
    for args in (["fiscal_year_start_month", "13"], ["currency", "dollars"], ["no_such_setting", "1"]):
        result = invoke(tmp_path, ["settings", "set", *args])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert list(tmp_path.iterdir()) == []


# --- database URLs that are not a usable store -------------------------------------------------


def _other_application(path: Path) -> Path:
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    return path


def _newer_store(path: Path) -> Path:
    run(f"sqlite:///{path}", "db", "upgrade")
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:  # closed: its log is folded in
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    return path


BAD_STORES = {
    "a text file": (lambda tmp: write(tmp / "notes.txt", "hello\nthis is not a database\n"), "not a SQLite database file"),
    "a csv file": (lambda tmp: write(tmp / "usage.csv", "record_id,usage_date\n1,2026-03-01\n"), "not a SQLite database file"),
    "a folder": (lambda tmp: (tmp / "folder").mkdir() or tmp / "folder", "is a folder"),
    "a missing folder": (lambda tmp: tmp / "nowhere" / "chargeback.db", "does not exist"),
    "another application's database": (lambda tmp: _other_application(tmp / "crm.db"), "not a chargeback store"),
    "a newer store": (lambda tmp: _newer_store(tmp / "new.db"), "newer version of chargeback"),
}


@pytest.mark.parametrize("command", [["org", "list"], ["db", "upgrade"], ["month", "run", "2026-03"],
                                     ["tariffs", "load", str(EXAMPLE_TARIFFS)]], ids=" ".join)
@pytest.mark.parametrize("kind", BAD_STORES)
def test_a_database_url_that_is_not_a_usable_store_is_one_line(kind, command, tmp_path):
    make, says = BAD_STORES[kind]
    target = make(tmp_path)
    before = target.read_bytes() if target.is_file() else None
    result = CliRunner().invoke(chargeback, ["--db", f"sqlite:///{target}", *command])
    assert result.exit_code == 1, result.output
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    if before is not None:
        assert target.read_bytes() == before
    else:
        assert not target.exists() or target.is_dir()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused_since_it_would_keep_nothing(url):
    result = CliRunner().invoke(chargeback, ["--db", url, "tariffs", "load", str(EXAMPLE_TARIFFS)])
    assert result.exit_code == 1 and "keeps nothing from one command to the next" in result.stderr


def test_a_read_only_command_on_a_missing_store_creates_nothing(tmp_path):
    db = tmp_path / "typo.db"
    result = CliRunner().invoke(chargeback, ["--db", f"sqlite:///{db}", "month", "review", "2026-03"])
    assert result.exit_code == 1 and "no chargeback store" in result.stderr
    assert not db.exists()


# --- meaningless output is refused; truncated lists say what is hidden -----------------------


@pytest.fixture
def rated_store(tmp_path):
    """FIN and OPS, the example catalogue, and 25 business lines using DESK without a
    subscription (each a flagged charge), rated for 2026-03."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    load_two_business_lines(url, tmp_path)
    lines = [f"BL{n:02d}" for n in range(25)]
    write(tmp_path / "more.csv", "business_line,name\n" + "".join(f"{code},Line {code}\n" for code in lines))
    run(url, "org", "load", tmp_path / "more.csv")
    run(url, "tariffs", "load", EXAMPLE_TARIFFS)
    write(tmp_path / "usage.csv", "record_id,usage_date,business_line,service,quantity,unit\n"
          + "".join(f"r{n},2026-03-10,{code},DESK,2,ticket\n" for n, code in enumerate(lines)))
    run(url, "usage", "load", tmp_path / "usage.csv", "--source", "desk", "--new-source")
    run(url, "month", "run", "2026-03")
    return url


def test_review_says_how_many_flagged_charges_are_not_listed_and_how_to_see_them(rated_store):
    out = run(rated_store, "month", "review", "2026-03").stdout
    assert "Flagged charges: 25" in out
    listed = [line for line in out.splitlines() if line.startswith("  BL") and "DESK" in line]
    assert len(listed) == 20
    assert "... and 5 more not listed: `chargeback month review 2026-03 --all` lists every one" in out
    everything = run(rated_store, "month", "review", "2026-03", "--all").stdout
    assert len([line for line in everything.splitlines() if line.startswith("  BL") and "DESK" in line]) == 25
    assert "more not listed" not in everything


def test_audit_says_how_many_events_are_not_shown(rated_store):
    result = run(rated_store, "audit", "--limit", "2")
    assert "older event(s) not shown: see them with `chargeback audit --limit" in result.stderr


@pytest.mark.parametrize("fy", ["1999", "2031"])
def test_a_plan_for_a_year_with_nothing_to_plan_writes_nothing(rated_store, tmp_path, fy):
    out = tmp_path / "plan.xlsx"
    result = run(rated_store, "plan", "--fy", fy, "--out", out, ok=False)
    assert result.exit_code == 1 and "nothing was written" in result.stderr
    assert not out.exists()


def test_statements_and_an_export_of_a_month_without_charges_write_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run(url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(url, "month", "run", "2026-03")  # no subscriptions, no usage: rated, with no charges
    statements = run(url, "statements", "2026-03", "--out", tmp_path / "statements", ok=False)
    assert statements.exit_code == 1 and "no statement to write; nothing was written" in statements.stderr
    assert not (tmp_path / "statements").exists()
    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"2026-03.{fmt}"
        export = run(url, "export", "2026-03", "--format", fmt, "--out", out, ok=False)
        assert export.exit_code == 1 and "nothing to export" in export.stderr and not out.exists()


def test_postgresql_cases_are_reported_as_skipped_with_the_reason_when_not_configured():
    from tests import conftest

    postgresql = conftest.BACKENDS[1]
    skips = [m for m in postgresql.marks if m.name == "skip"]
    if conftest.PG_URL:
        assert skips == []
    else:
        assert skips and "CHARGEBACK_TEST_PG_URL is not set" in skips[0].kwargs["reason"]


def test_usage_errors_exit_2_without_a_traceback():
    result = CliRunner().invoke(chargeback, ["month", "run"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = CliRunner().invoke(chargeback, ["month", "run", "March"])
    assert result.exit_code == 2 and "not a month" in result.stderr


def test_a_wrong_database_url_is_one_line():
    result = CliRunner().invoke(chargeback, ["--db", "bogus://x", "org", "list"])
    assert result.exit_code == 1 and "not a database this engine can use" in result.stderr
    assert "Traceback" not in result.output
