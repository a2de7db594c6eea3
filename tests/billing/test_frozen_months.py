"""A closed month's documents are rendered from what was frozen at close.

Its invoices (as listed and shown), journal, statements and exports (xlsx, CSV, FOCUS) are the
same bytes before and after every change of settings and master data the engine allows,
applied one after another to one store (docs/store.md, "Closed months are frozen"). Each
change is checked to have taken effect, so none passes by doing nothing; the lists of
settings and commands are kept complete by tests that fail when one is added uncovered.

The store: FIN and OPS (load_two_business_lines); DESK gold for FIN and silver for OPS,
FIELD-REPAIR (a composite) for FIN, VM silver for OPS; February and March 2026 used, rated and
closed, a credit note on February's FIN invoice dated in March, a missed DESK response target
in March (a service credit), a budget for 2026; April open.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from billing.store.audit import DEFAULTS
from cli import chargeback
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

CLOSED = ("2026-02", "2026-03")


def build_store(db_url: str, folder: Path) -> None:
    load_two_business_lines(db_url, folder)
    shutil.copytree(EXAMPLE_TARIFFS, folder / "tariffs")
    run(db_url, "tariffs", "load", folder / "tariffs")
    run(db_url, "subscriptions", "load", write(folder / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,silver,2026-01-01
        FIN,FIELD-REPAIR,silver,2026-01-01
        OPS,VM,silver,2026-01-01
    """))
    run(db_url, "usage", "load", write(folder / "usage.csv", """
        record_id,usage_date,business_line,cost_center,service,quantity,unit
        D-1,2026-02-10,FIN,CC-100,DESK,40,ticket
        D-2,2026-02-11,OPS,CC-200,DESK,12,ticket
        R-1,2026-02-12,FIN,CC-100,FIELD-REPAIR,5,repair
        V-1,2026-02-13,OPS,CC-200,VM,300,vm-hour
        D-3,2026-03-10,FIN,CC-100,DESK,44,ticket
        D-4,2026-03-11,OPS,CC-200,DESK,9,ticket
        R-2,2026-03-12,FIN,CC-100,FIELD-REPAIR,7,repair
        V-2,2026-03-13,OPS,CC-200,VM,320,vm-hour
    """), "--source", "ops-feed", "--new-source")
    run(db_url, "sla", "load", write(folder / "sla.csv", """
        month,service,tier,metric,achieved,business_line
        2026-03,DESK,gold,response_minutes,45,
    """))
    run(db_url, "budget", "load", write(folder / "budget.csv", """
        business_line,service,month,amount
        FIN,DESK,2026-01,800.00
        FIN,DESK,2026-02,800.00
        FIN,DESK,2026-03,800.00
        OPS,VM,2026-03,900.00
    """))
    run(db_url, "month", "run", "2026-02")
    run(db_url, "month", "close", "2026-02", "--confirm", "--issue-date", "2026-03-01")
    run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "25.00", "--reason", "desk outage")
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm", "--issue-date", "2026-04-01")


def documents(db_url: str, folder: Path) -> dict[str, bytes]:
    """Every document of the closed months as a user gets it: name → bytes."""
    found: dict[str, bytes] = {}
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    for month in CLOSED:
        listed = run(db_url, "invoices", "list", "--month", month).stdout
        found[f"{month} invoices list"] = listed.encode()
        for number in sorted({word for word in listed.split() if word.startswith("CB-")}):
            found[f"invoices show {number}"] = run(db_url, "invoices", "show", number).stdout.encode()
        run(db_url, "journal", month, "--out", out / f"{month}-journal.csv")
        run(db_url, "export", month, "--format", "xlsx", "--out", out / f"{month}.xlsx")
        run(db_url, "export", month, "--format", "csv", "--out", out / f"{month}.csv")
        run(db_url, "export", month, "--format", "focus", "--out", out / f"{month}-focus.csv")
        run(db_url, "export", month, "--format", "focus-parquet", "--out", out / f"{month}-focus.parquet")
        run(db_url, "statements", month, "--out", out / f"statements-{month}")
    found.update({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    return found


@dataclass(frozen=True)
class Change:
    command: str  # the command that makes it
    name: str
    apply: Callable[[str, Path], None]  # makes the change (a refused change asserts it was refused)
    took_effect: Callable[[str, Path], bool] = lambda _db, _folder: True  # the change shows where it should


def _setting(key: str, value: str) -> Change:
    return Change("settings set", f"settings set {key}", lambda db, _f: run(db, "settings", "set", key, value).stdout,
                  lambda db, _f: value in run(db, "settings", "show").stdout)


def _refused(*args: str, says: str) -> Callable[[str, Path], None]:
    def apply(db: str, folder: Path) -> None:
        result = run(db, *[str(a(folder)) if callable(a) else a for a in args], ok=False)
        assert result.exit_code != 0 and says in result.stderr and "Traceback" not in result.stderr, result.stderr
    return apply


#: Every setting and a new value for it; the fiscal year start cannot change once invoices are
#: numbered, so that change is refused.
SETTING_CHANGES: dict[str, Change] = {
    "currency": _setting("currency", "EUR"),
    "anomaly_pct": _setting("anomaly_pct", "5"),
    "anomaly_floor_pct": _setting("anomaly_floor_pct", "2.5"),
    "low_usage_pct": _setting("low_usage_pct", "10"),
    "invoice_prefix": _setting("invoice_prefix", "INV"),
    "expense_account": _setting("expense_account", "6999"),
    "recovery_account": _setting("recovery_account", "4999"),
    "it_cost_center": _setting("it_cost_center", "IT-NEW"),
    "unallocated_business_line": _setting("unallocated_business_line", "NOWHERE"),
    "provider_id": _setting("provider_id", "IT-GROUP"),
    "provider_name": _setting("provider_name", "Group IT and Facilities"),
    "mail_from": _setting("mail_from", "it-billing@example.com"),
    "smtp_host": _setting("smtp_host", "smtp.example.com"),
    "smtp_port": _setting("smtp_port", "2525"),
    "smtp_starttls": _setting("smtp_starttls", "no"),
    "smtp_user": _setting("smtp_user", "billing"),
    "fiscal_year_start_month": Change(
        "settings set", "settings set fiscal_year_start_month (refused once invoices are numbered)",
        _refused("settings", "set", "fiscal_year_start_month", "4", says="cannot change once invoices")),
}


def _org_lines(db: str, folder: Path) -> None:
    run(db, "org", "load", write(folder / "bl-renamed.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance and Treasury,Mary Somerville,mary@example.com,Group Finance
        OPS,Plant Operations,Grace Hopper,grace@example.com,Manufacturing
    """))


def _org_centres(db: str, folder: Path) -> None:
    run(db, "org", "load", write(folder / "cc-renamed.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-100,Group Accounting,FIN,100900
        CC-200,Plant North,OPS,200900
    """))


def _move(day: str) -> Callable[[Path], Path]:
    return lambda folder: write(folder / f"move-{day}.csv", f"""
        cost_center,name,business_line,gl_cost_center,effective_from
        CC-200,Plant North,FIN,200900,{day}
    """)


def _disputed(db: str, invoice: str) -> int:
    """A dispute of the invoice's line 1, raised as a head would in the portal."""
    from decimal import Decimal

    from billing import api

    with api.open_store(db) as store, api.acting_as("head"):
        return api.raise_dispute(store, invoice, 1, reason="charged twice", amount=Decimal("1.00")).id


def _tariffs(db: str, folder: Path) -> None:
    """Services and tiers renamed, and DESK 2026.1 ended in March for a dearer 2026.2 from April."""
    desk = folder / "tariffs" / "desk.yaml"
    text = desk.read_text()
    text = text.replace("name: Service desk", "name: Help desk").replace("Gold - named desk team", "Gold - premium desk")
    head, _sep, version = text.partition('  - service: DESK\n    version: "2026.1"\n')
    newer = version.replace('"22.00"', '"29.00"').replace('"23.00"', '"29.00"').replace('"18.00"', '"25.00"')
    text = (head + '  - service: DESK\n    version: "2026.1"\n    effective_to: 2026-03-31\n' + version
            + '\n  - service: DESK\n    version: "2026.2"\n    effective_from: 2026-04-01\n'
            + newer.replace("    effective_from: 2026-01-01\n", "", 1))
    desk.write_text(text)
    field = folder / "tariffs" / "field-repair.yaml"
    field.write_text(field.read_text().replace("name: Completed field repairs", "name: Field repairs done"))
    run(db, "tariffs", "load", folder / "tariffs")


CHANGES: list[Change] = [
    *SETTING_CHANGES.values(),
    Change("org load", "business lines renamed", _org_lines,
           lambda db, _f: "Finance and Treasury" in run(db, "org", "list").stdout),
    Change("org load", "cost centres renamed, GL codes changed", _org_centres,
           lambda db, _f: "cost centres +0 ~2" in run(db, "audit").stdout),
    Change("org load", "a cost-centre move dated inside a closed month is refused",
           _refused("org", "load", _move("2026-03-15"), says="closed month 2026-03")),
    Change("org load", "a cost-centre move from the first open month", lambda db, f: run(db, "org", "load", _move("2026-04-15")(f)),
           lambda db, _f: "2026-04-15" in run(db, "org", "list", "--cost-centers").stdout),
    Change("tariffs load", "services and tiers renamed, a new DESK version", _tariffs,
           lambda db, _f: "Help desk" in run(db, "tariffs", "show", "--at", "2026-04-15").stdout
           and "2026.2" in run(db, "tariffs", "show", "--at", "2026-04-15").stdout),
    Change("subscriptions load", "for the open month", lambda db, f: run(db, "subscriptions", "load", write(f / "subs-apr.csv", """
        business_line,service,tier,effective_from
        OPS,DESK,gold,2026-04-01
    """)), lambda db, _f: "gold" in run(db, "subscriptions", "list", "--at", "2026-04-15").stdout.split("OPS")[1].split("\n")[0]),
    Change("subscriptions load", "into a closed month is refused", _refused("subscriptions", "load", lambda f: write(f / "subs-mar.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,bronze,2026-03-10
    """), says="closed month 2026-03")),
    Change("budget load", "a new budget for the year", lambda db, f: run(db, "budget", "load", write(f / "budget-2.csv", """
        business_line,service,month,amount
        FIN,DESK,2026-01,1500.00
        FIN,DESK,2026-02,1500.00
        FIN,DESK,2026-03,1500.00
        FIN,FIELD-REPAIR,2026-03,100.00
        OPS,DESK,2026-03,333.00
    """)), lambda db, _f: "4,600.00" in run(db, "budget", "show", "2026-03").stdout),
    Change("sla load", "for the open month", lambda db, f: run(db, "sla", "load", write(f / "sla-apr.csv", """
        month,service,tier,metric,achieved,business_line
        2026-04,DESK,gold,response_minutes,90,
        2026-04,VM,silver,availability_pct,90,
    """)), lambda db, _f: "sla.load" in run(db, "audit").stdout),
    Change("sla load", "into a closed month is refused", _refused("sla", "load", lambda f: write(f / "sla-mar.csv", """
        month,service,tier,metric,achieved,business_line
        2026-03,VM,silver,availability_pct,80,
    """), says="2026-03")),
    Change("usage load", "for the open month", lambda db, f: run(db, "usage", "load", write(f / "usage-apr.csv", """
        record_id,usage_date,business_line,cost_center,service,tier,quantity,unit
        D-5,2026-04-10,FIN,CC-100,DESK,,50,ticket
        D-6,2026-04-20,OPS,CC-200,DESK,bronze,6,ticket
        V-3,2026-04-13,OPS,CC-200,VM,,340,vm-hour
    """), "--source", "ops-feed"), lambda db, _f: "2026-04" in run(db, "usage", "feeds").stdout),
    Change("usage load", "into a closed month is refused", _refused("usage", "load", lambda f: write(f / "usage-mar.csv", """
        record_id,usage_date,business_line,cost_center,service,quantity,unit
        D-9,2026-03-20,FIN,CC-100,DESK,5,ticket
    """), "--source", "ops-feed", says="2026-03")),
    Change("costs load", "costs and drivers", lambda db, f: (
        run(db, "costs", "load", write(f / "costs.csv", """
            month,scenario,cost_pool,gl_account,amount,currency,source_ref,description
            2026-03,actual,LABOUR,6100,12000.00,USD,AP-1,Salaries
            2026-04,actual,LABOUR,6100,13000.00,USD,AP-2,Salaries
        """)),
        run(db, "drivers", "load", write(f / "drivers.csv", """
            month,driver,business_line,value
            2026-03,headcount,FIN,40
            2026-03,headcount,OPS,60
        """))), lambda db, _f: "costs.load" in run(db, "audit").stdout and "drivers" in run(db, "audit").stdout),
    Change("month run", "the open month", lambda db, _f: run(db, "month", "run", "2026-04"),
           lambda db, _f: "2026-04" in run(db, "month", "status").stdout),
    Change("adjust", "a credit note on a closed month's invoice (dated in the open month)",
           lambda db, _f: run(db, "adjust", "--invoice", "CB-2026-000004", "--line", "1", "--amount", "5.00", "--reason", "x"),
           lambda db, _f: "CB-2026-000004" in run(db, "invoices", "list", "--month", "2026-04").stdout),
    Change("disputes accept", "a dispute of a closed month's invoice line accepted (its note dated in the open month)",
           lambda db, _f: run(db, "disputes", "accept", str(_disputed(db, "CB-2026-000002"))),
           lambda db, _f: "CB-2026-000002" in run(db, "invoices", "list", "--month", "2026-04").stdout),
    Change("disputes reject", "a dispute rejected (nothing issued)",
           lambda db, _f: run(db, "disputes", "reject", str(_disputed(db, "CB-2026-000005")), "--reason", "no"),
           lambda db, _f: "rejected" in run(db, "disputes", "list").stdout),
    Change("month close", "the open month", lambda db, _f: run(db, "month", "close", "2026-04", "--confirm"),
           lambda db, _f: "closed" in run(db, "month", "status").stdout.split("2026-04")[1].split("\n")[0]),
]

#: Commands that are not a change of settings or master data, and why.
NOT_CHANGES = {
    "month reopen": "reopening is how a closed month is meant to change: its invoices are cancelled",
    "drivers load": "with costs load (CHANGES)",
    "db upgrade": "the schema, not settings or master data",
    "demo": "builds a store of its own", "init": "writes a working folder, not the store",
    "plan": "writes a workbook, not the store", "rates propose": "writes a workbook, not the store",
    "recovery": "a report", "forecast": "a report", "advise": "a report", "explain": "a report",
    "allocation explain": "a report", "allocation validate": "checks files", "tariffs validate": "checks files",
    "audit": "a report", "budget show": "a report", "costs feeds": "a report", "costs rejects": "a report",
    "drivers list": "a report", "export": "a document", "invoices list": "a document", "invoices show": "a document",
    "journal": "a document", "statements": "a document",
    "statements send": "e-mails the documents; records its sends in the audit trail",
    "month pack": "a document",
    "serve": "runs the portal, whose actions are the job functions of the commands tested here",
    "users add": "people who sign in: no document shows them", "users disable": "people who sign in",
    "users reset": "people who sign in", "users list": "a report",
    "disputes list": "a report",
    "tokens add": "API tokens: no document shows them", "tokens revoke": "API tokens", "tokens list": "a report", "month review": "a report", "month status": "a report",
    "org list": "a report", "settings show": "a report", "subscriptions list": "a report", "tariffs show": "a report",
    "usage feeds": "a report", "usage rejects": "a report", "sources list": "a report",
    "sources inspect": "reads a file (and may write a draft source definition), not the store",
}


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[str]:
    found: set[str] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, (*prefix, name))
        else:
            found.add(" ".join((*prefix, name)))
    return found


def test_every_setting_is_changed_by_the_test():
    assert set(SETTING_CHANGES) == set(DEFAULTS), "a setting was added: give it a change in SETTING_CHANGES"


def test_every_command_is_a_change_tested_or_says_why_not():
    changed = {c.command for c in CHANGES}
    assert changed <= _commands(chargeback)
    missing = _commands(chargeback) - changed - set(NOT_CHANGES)
    assert missing == set(), f"commands neither in CHANGES nor in NOT_CHANGES: {sorted(missing)}"


def test_closed_months_are_the_same_bytes_after_every_change(db_url, tmp_path):
    build_store(db_url, tmp_path)
    before = documents(db_url, tmp_path)
    assert {"2026-03.xlsx", "2026-03.csv", "2026-03-focus.csv", "2026-03-focus.parquet", "2026-03-journal.csv",
            "statements-2026-03/index.html"} <= set(before)
    assert sum(1 for name in before if name.startswith("invoices show")) >= 5
    assert documents(db_url, tmp_path) == before  # rendering twice gives the same bytes
    for change in CHANGES:
        change.apply(db_url, tmp_path)
        assert change.took_effect(db_url, tmp_path), f"{change.command}, {change.name}: the change did not take effect"
        after = documents(db_url, tmp_path)
        differ = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
        assert differ == [], f"after {change.command}, {change.name}: {differ} changed"


def test_a_month_closed_before_snapshots_freezes_its_statement_figures_once(db_url, tmp_path):
    """Migration 0002 gave months already closed their settings, business lines and services;
    the statement's figures (quotes, advice, budget, previous total) are frozen the first time
    its statements are written, and stay so."""
    import sqlalchemy as sa

    from billing.store import locks
    from billing.store.db import open_store

    build_store(db_url, tmp_path)
    factory = open_store(db_url)
    with factory.begin() as session:  # what a store upgraded from 0001 holds for a closed month
        locks.lock_for_writing(session)
        session.execute(sa.text("DELETE FROM close_snapshot WHERE section NOT IN ('settings', 'business_line', 'service')"))
    first = documents(db_url, tmp_path)
    with factory.begin() as session:
        sections = set(session.scalars(sa.text("SELECT DISTINCT section FROM close_snapshot")))
    assert {"statement", "tier_month", "sla"} <= sections
    _org_lines(db_url, tmp_path)
    run(db_url, "budget", "load", write(tmp_path / "budget-3.csv", """
        business_line,service,month,amount
        FIN,DESK,2026-03,99999.00
    """))
    assert documents(db_url, tmp_path) == first
    factory.kw["bind"].dispose()


def test_an_open_month_exports_in_its_charges_currency_after_the_setting_changes(db_url, tmp_path):
    from tests.billing.test_month_end import setup_store

    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "settings", "set", "currency", "EUR")
    run(db_url, "export", "2026-03", "--format", "csv", "--out", tmp_path / "m.csv")
    assert "USD" in (tmp_path / "m.csv").read_text()
    run(db_url, "statements", "2026-03", "--out", tmp_path / "st")
