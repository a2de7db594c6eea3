"""The limits (billing/core/limits.py): every text that lands in a column of the store is checked
for length where it enters, the same on SQLite and PostgreSQL (no DataError), and every number
is within a range the whole pipeline carries: per row, summed over a feed and a month, priced,
split over cost centres, invoiced, journaled and stored as NUMERIC or exact text."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_DOWN, Decimal, Inexact, localcontext
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.core import limits
from billing.feeds.daily import daily_sums
from billing.feeds.split import split_exact
from billing.core.limits import COST, MONTH_AMOUNT, PRICE, QUANTITY, ROW_WORTH
from billing.core.money import EXACT, allocate, apportion, exact_sum, quantum, round_minor
from billing.store import bounds
from billing.store.db import open_store
from billing.store.locks import lock_costs
from billing.store.schema import Base, CostEntry, CostFeed
from tariffs.model import PricingModel, TierPrice
from tariffs.pricing import price_usage
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

# --- every text column is accounted for --------------------------------------------------------------


def string_columns() -> dict[str, int]:
    return {f"{table.name}.{column.name}": column.type.length
            for table in Base.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, sa.String) and not isinstance(column.type, sa.Text) and column.type.length}


def test_every_text_column_of_the_schema_says_how_it_is_held_to_its_length():
    columns = string_columns()
    assert sorted(set(columns) - set(bounds.COLUMNS)) == [], "text columns with no entry in billing/store/bounds.py"
    assert sorted(set(bounds.COLUMNS) - set(columns)) == [], "entries in billing/store/bounds.py for no column"
    for name, entry in bounds.COLUMNS.items():
        if isinstance(entry, (bounds.Input, bounds.Shortened)):
            assert entry.length == columns[name], f"{name}: checked for {entry.length}, the column holds {columns[name]}"
        elif isinstance(entry, bounds.Copy):
            assert entry.of in bounds.COLUMNS and not isinstance(bounds.COLUMNS[entry.of], bounds.Engine), name
            assert columns[entry.of] <= columns[name], f"{name} copies {entry.of}, which may be longer"
        else:
            assert entry.reason, name
            if entry.values is not None:
                longest = max(entry.values(), key=len)
                assert len(longest) <= columns[name], f"{name}: the engine writes {longest!r}, longer than {columns[name]}"


def test_every_column_filled_by_input_has_a_case_that_sends_it_too_long():
    inputs = {name for name, entry in bounds.COLUMNS.items() if isinstance(entry, bounds.Input)}
    covered = {column for case in CASES.values() for column in case[1]}
    assert sorted(inputs - covered) == [], "columns filled by input with no over-long case below"
    assert sorted(covered - inputs) == []


# --- the cases: one over-long value per column, through the command that writes it ------------------------

C41, N201 = "C" * 41, "N" * 201


def prepared(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)


def case_business_lines(db_url, tmp_path):
    return run(db_url, "org", "load", write(tmp_path / "bl.csv", f"""
        business_line,name,head_name,head_email,division
        {C41},Finance,,,
        FIN,{N201},,,
        OPS,Operations,{N201},,
        RES,Research,,{N201}@example.com,
        DAT,Data,,,{N201}
    """), ok=False)


def case_cost_centers(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    return run(db_url, "org", "load", write(tmp_path / "cc2.csv", f"""
        cost_center,name,business_line,gl_cost_center
        {C41},Accounting,FIN,100
        CC-1,{N201},FIN,100
        CC-2,Plant,OPS,{C41}
    """), ok=False)


TARIFF = """
units:
  - {{code: {unit_code}, name: Tickets}}
  - {{code: ticket2, name: {unit_name}}}
services:
  - code: {service_code}
    name: A
    unit: ticket2
    kind: it
    owner: IT
    default_tier: gold
    dimension: {dimension}
    tiers: [{{code: gold, name: Gold, funding_level: premium}}]
  - code: B
    name: {service_name}
    unit: {unit_code_ref}
    kind: it
    owner: IT
    default_tier: {tier_code}
    tiers: [{{code: {tier_code}, name: {tier_name}, funding_level: premium}}]
tariffs:
  - service: B
    version: "{version}"
    effective_from: 2026-01-01
    currency: USDX
    tiers: {{{tier_code}: {{model: per_unit, unit_price: "1", fees: [{{name: {fee_name}, amount: "1", every: annual}}]}}}}
agreements:
  - {{business_line: {unit_code}, service: B, fiscal_year: 2026, discount: {{percent: 10}}}}
"""


def case_tariffs(db_url, tmp_path):
    folder = tmp_path / "tariffs"
    write(folder / "t.yaml", TARIFF.format(unit_code=C41, unit_name=N201, service_code=C41, service_name=N201,
                                           unit_code_ref=C41, tier_code="T" * 41, tier_name=N201, version="9" * 41,
                                           fee_name=N201, dimension="d" * 41))
    return run(db_url, "tariffs", "load", folder, ok=False)


def case_dimension_value(db_url, tmp_path):
    prepared(db_url, tmp_path)  # the example catalogue prices VM by region
    feed = write(tmp_path / "u.csv", "record_id,usage_date,cost_center,service,quantity,unit,region\n"
                                     f"T-1,2026-03-02,CC-100,VM,1,vm-hour,{'r' * 101}\n")
    return run(db_url, "usage", "load", feed, "--source", "internal", "--strict", ok=False)


def case_subscriptions(db_url, tmp_path):
    prepared(db_url, tmp_path)
    return run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", f"""
        business_line,service,tier,effective_from
        FIN,{C41},gold,2026-01-01
        OPS,DESK,{C41},2026-01-01
    """), ok=False)


def case_new_source(db_url, tmp_path):
    prepared(db_url, tmp_path)
    feed = write(tmp_path / "u.csv", "record_id,usage_date,cost_center,service,quantity,unit\nT-1,2026-03-02,CC-100,DESK,1,ticket\n")
    return run(db_url, "usage", "load", feed, "--source", "s" * 81, "--new-source", ok=False)


def case_source_definition(db_url, tmp_path):
    prepared(db_url, tmp_path)
    write(tmp_path / "sources" / "long.yaml", f"name: {'s' * 81}\nformat: usage\n")
    feed = write(tmp_path / "u.csv", "record_id,usage_date,cost_center,service,quantity,unit\nT-1,2026-03-02,CC-100,DESK,1,ticket\n")
    return run(db_url, "usage", "load", feed, "--source", "s" * 81, "--sources", tmp_path / "sources", ok=False)


def long_path(tmp_path: Path, name: str) -> Path:
    folder = tmp_path
    while len(str(folder)) < limits.PATH:
        folder = folder / ("d" * 60)
    folder.mkdir(parents=True)
    return folder / name



def path_case(command: str, name: str, text: str, *options: str):
    """A load of a one-row file whose path is longer than the store keeps."""
    def case(db_url, tmp_path):
        prepared(db_url, tmp_path)
        path = long_path(tmp_path, name)
        path.write_text(text)
        return run(db_url, command, "load", path, *options, ok=False)
    return case


case_usage_path = path_case("usage", "u.csv", "record_id,usage_date,cost_center,service,quantity,unit\n"
                                              "T-1,2026-03-02,CC-100,DESK,1,ticket\n", "--source", "servicedesk", "--new-source")
case_sla_path = path_case("sla", "sla.csv", "month,service,tier,metric,achieved\n2026-03,DESK,gold,response_minutes,10\n")
case_cost_path = path_case("costs", "costs.csv", "month,cost_pool,gl_account,amount,source_ref\n2026-03,LABOUR,6100,10.00,A\n")
case_driver_path = path_case("drivers", "drivers.csv", "month,driver,business_line,value\n2026-03,headcount,FIN,10\n")
case_budget_path = path_case("budget", "budget.csv", "business_line,service,month,amount\nFIN,DESK,2026-03,10.00\n")


def case_usage_months(db_url, tmp_path):
    prepared(db_url, tmp_path)
    rows = [f"T-{i},{2024 + i // 12}-{i % 12 + 1:02d}-03,CC-100,DESK,1,ticket" for i in range(26)]  # 26 months
    feed = write(tmp_path / "history.csv", "record_id,usage_date,cost_center,service,quantity,unit\n" + "\n".join(rows) + "\n")
    return run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source", ok=False)


def case_user(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CHARGEBACK_USER", "u" * 121)
    return run(db_url, "org", "load", write(tmp_path / "bl.csv", "business_line,name\nFIN,Finance\n"), ok=False)


def case_sla(db_url, tmp_path):
    prepared(db_url, tmp_path)
    return run(db_url, "sla", "load", write(tmp_path / "sla.csv", f"""
        month,service,tier,metric,achieved,business_line
        2026-03,{C41},gold,availability_pct,99,
        2026-03,DESK,{C41},response_minutes,10,
        2026-03,DESK,gold,{C41},10,
        2026-03,DESK,gold,response_minutes,10,{C41}
    """), ok=False)



def case_costs(db_url, tmp_path):
    prepared(db_url, tmp_path)
    return run(db_url, "costs", "load", write(tmp_path / "costs.csv", f"""
        month,cost_pool,gl_account,amount,source_ref
        2026-03,{C41},6100,10.00,A
        2026-03,LABOUR,{C41},10.00,B
        2026-03,LABOUR,6100,10.00,{N201}
    """), "--strict", ok=False)


def case_cost_months(db_url, tmp_path):
    prepared(db_url, tmp_path)
    rows = [f"{2020 + i // 12}-{i % 12 + 1:02d},LABOUR,6100,10.00,R-{i}" for i in range(51)]  # 51 months
    return run(db_url, "costs", "load", write(tmp_path / "costs.csv", "month,cost_pool,gl_account,amount,source_ref\n"
                                              + "\n".join(rows) + "\n"), ok=False)



def case_drivers(db_url, tmp_path):
    prepared(db_url, tmp_path)
    return run(db_url, "drivers", "load", write(tmp_path / "drivers.csv", f"""
        month,driver,business_line,value
        2026-03,{C41},FIN,10
        2026-03,headcount,{C41},10
    """), ok=False)



def case_budget(db_url, tmp_path):
    prepared(db_url, tmp_path)
    return run(db_url, "budget", "load", write(tmp_path / "budget.csv", f"""
        business_line,service,month,amount,tier
        {C41},DESK,2026-03,10.00,
        FIN,{C41},2026-03,10.00,
        FIN,DESK,2026-03,10.00,{C41}
    """), ok=False)



def case_user_name(db_url, tmp_path):
    return run(db_url, "users", "add", "u" * 121, "--role", "admin", ok=False)


def case_token_name(db_url, tmp_path):
    return run(db_url, "tokens", "add", "--name", N201, "--read-only", ok=False)


def case_idempotency_key(db_url, tmp_path):
    """Through the API: a usage batch whose Idempotency-Key is too long is answered 400 (a
    problem body here is what stderr is for a command)."""
    import types

    from starlette.testclient import TestClient

    from billing import api
    from portal.app import create_app

    prepared(db_url, tmp_path)
    run(db_url, "usage", "load", write(tmp_path / "t.csv", "record_id,usage_date,cost_center,service,quantity,unit\n"
                                       "T-1,2026-03-03,CC-100,DESK,1,ticket\n"), "--source", "servicedesk", "--new-source")
    with api.open_store(db_url) as store:
        secret = api.add_token(store, name="desk", source="servicedesk").secret
    app = create_app(db_url)
    try:
        answer = TestClient(app, base_url="https://testserver").post(
            "/api/v1/sources/servicedesk/usage-batches", json={"records": [{"record_id": "T-2"}]},
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "k" * 201})
    finally:
        app.state.portal.store.close()
    return types.SimpleNamespace(exit_code=1 if answer.status_code == 400 else 0, stdout="",
                                 stderr=answer.json()["detail"])


def case_sso_issuer(db_url, tmp_path):
    """The single sign-on settings' issuer, refused with the settings' other problems before the portal starts."""
    return run(db_url, "serve", "--sso", write(tmp_path / "sso.yaml", f"""
        issuer: https://{'a' * 300}.example
        client_id: portal
        roles:
          chargeback-finance: finance
    """), ok=False)


def case_sso_subject(db_url, tmp_path):
    """An ID token's subject beyond OpenID Connect's 255 characters: the sign-in is refused (and kept)."""
    import types

    from billing import api
    from billing.core.access import Role

    prepared(db_url, tmp_path)
    with api.open_store(db_url) as store:
        try:
            api.sso_sign_in(store, issuer="https://login.example", subject="s" * 256, name="fin",
                            roles={Role.FINANCE}, lines=set())
        except api.LoginRefused as refused:
            return types.SimpleNamespace(exit_code=1, stdout="", stderr=str(refused))
    return types.SimpleNamespace(exit_code=0, stdout="", stderr="")


TOO_LONG_CODE = "is 41 characters long; at most 40 are kept"
TOO_LONG_NAME = "is 201 characters long; at most 200 are kept"
PATH_MESSAGE = f"the file's path is {{}} characters long; the store keeps at most {limits.PATH}"
USER_MESSAGE = "characters long; the store keeps at most 120: set CHARGEBACK_USER to a shorter name"

# name: (case, columns it covers, what stderr must say)
CASES = {
    "business_lines": (case_business_lines, ["business_line.code", "business_line.name", "business_line.head_name",
                                              "business_line.head_email", "business_line.division"],
                       ["bl.csv:2:business_line: too-long", "bl.csv:3:name: too-long", "bl.csv:4:head_name: too-long",
                        "bl.csv:5:head_email: too-long", "bl.csv:6:division: too-long", TOO_LONG_CODE, TOO_LONG_NAME]),
    "cost_centers": (case_cost_centers, ["cost_center.code", "cost_center.name", "cost_center.gl_code"],
                     ["cc2.csv:2:cost_center: too-long", "cc2.csv:3:name: too-long", "cc2.csv:4:gl_cost_center: too-long"]),
    "tariffs": (case_tariffs, ["catalogue_unit.code", "catalogue_unit.name", "catalogue_service.code", "tariff_version.version",
                               "tariff_version.currency", "invoice_line.service_name", "invoice_line.tier_name",
                               "invoice_line.unit", "charge.tier_code", "invoice_line.tier_code", "charge.label",
                               "agreement.business_line_code", "charge.dimension", "invoice_line.dimension",
                               "held_usage.dimension"],
                ["units[0].code: too-long", "units[1].name: too-long", "services[0].code: too-long",
                 "services[1].name: too-long", "services[1].unit: too-long", "services[1].tiers[0].code: too-long",
                 "services[1].tiers[0].name: too-long", "tariffs[0].version: too-long",
                 "currency 'USDX' is not a three-letter code", ".fees[0].name: too-long",
                 "agreements[0].business_line: too-long", "services[0].dimension: too-long"]),
    "dimension_value": (case_dimension_value, ["charge.dimension_value", "invoice_line.dimension_value",
                                               "held_usage.value"],
                        ["u.csv:2:region: too-long the region", "is longer than 100 characters"]),
    "subscriptions": (case_subscriptions, ["subscription.service_code", "subscription.tier_code"],
                      ["subs.csv:2:service: too-long", "subs.csv:3:tier: too-long"]),
    "new_source": (case_new_source, ["usage_source.name"], ["cannot name a source", "(at most 80)"]),
    "source_definition": (case_source_definition, ["usage_source.name"],
                          ["long.yaml:1:name: too-long name", "at most 80 are kept"]),
    "usage_path": (case_usage_path, ["usage_feed.file_name"], [PATH_MESSAGE]),
    "usage_months": (case_usage_months, ["usage_feed.months"],
                     ["history.csv: the file has usage in more than 25 months (2024-01 to 2026-02 so far); "
                      "a feed may cover at most 25 months"]),
    "user": (case_user, ["audit_event.user", "usage_source.declared_by", "usage_feed.loaded_by", "period.closed_by",
                         "month_close.closed_by", "rating_run.run_by", "invoice.issued_by", "cost_feed.loaded_by",
                         "app_user.created_by", "api_token.created_by", "api_token.revoked_by"],
             [USER_MESSAGE]),
    "sla": (case_sla, ["sla_measurement.service_code", "sla_measurement.tier_code", "sla_measurement.metric",
                       "sla_measurement.business_line_code"],
            ["sla.csv:2:service: too-long", "sla.csv:3:tier: too-long", "sla.csv:4:metric: too-long",
             "sla.csv:5:business_line: too-long"]),
    "sla_path": (case_sla_path, ["sla_measurement.file_name"], [PATH_MESSAGE]),
    "costs": (case_costs, ["cost_entry.cost_pool", "cost_entry.gl_account", "cost_entry.source_ref"],
              ["costs.csv:2:cost_pool: too-long", "costs.csv:3:gl_account: too-long", "costs.csv:4:source_ref: too-long"]),
    "cost_months": (case_cost_months, ["cost_feed.months"],
                    ["the file has costs in 51 months (2020-01 to 2024-03); a cost file may cover at most 50 months"]),
    "cost_path": (case_cost_path, ["cost_feed.file_name"], [PATH_MESSAGE]),
    "drivers": (case_drivers, ["driver_value.driver", "driver_value.business_line_code"],
                ["drivers.csv:2:driver: too-long", "drivers.csv:3:business_line: too-long"]),
    "driver_path": (case_driver_path, ["driver_value.file_name"], [PATH_MESSAGE]),
    "budget": (case_budget, ["budget_line.business_line_code", "budget_line.service_code", "budget_line.tier_code"],
               ["budget.csv:2:business_line: too-long", "budget.csv:3:service: too-long", "budget.csv:4:tier: too-long"]),
    "user_name": (case_user_name, ["app_user.name"], ["the user name", "is 121 characters long; at most 120 are kept"]),
    "idempotency_key": (case_idempotency_key, ["api_batch.idempotency_key"],
                        ["the Idempotency-Key is 201 characters long; at most 200 are kept"]),
    "token_name": (case_token_name, ["api_token.name"], ["the token's name", TOO_LONG_NAME]),
    "budget_path": (case_budget_path, ["budget_line.file_name"], [PATH_MESSAGE]),
    "sso_issuer": (case_sso_issuer, ["app_user.sso_issuer"], ["sso.yaml:1:issuer", "is 316 characters long; at most 300"]),
    "sso_subject": (case_sso_subject, ["app_user.sso_subject"],
                    ["the ID token's subject", "is 256 characters long; at most 255 are kept"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_over_long_value_is_refused_naming_the_field_and_the_limit(db_url, tmp_path, monkeypatch, name):
    case, _columns, said = CASES[name]
    result = case(db_url, tmp_path, monkeypatch) if name == "user" else case(db_url, tmp_path)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "DataError" not in result.stderr and "database failed" not in result.stderr
    for text in said:
        if "{}" in text:
            assert re.search(re.escape(text).replace(r"\{\}", r"[\d,]+"), result.stderr), (text, result.stderr)
        else:
            assert text in result.stderr, (text, result.stderr)
    assert len(max(result.stderr.splitlines(), key=len)) < 2_000


# 200 characters, and one address: a local part of 64 (the most an address may have) and labels of 63
LONGEST_ADDRESS = f"{'e' * 64}@{'d' * 63}.{'d' * 63}.example"


def test_the_longest_accepted_values_are_stored_on_every_backend(db_url, tmp_path):
    """At the limit, not beyond: codes of 40 and names of 200 characters load (PostgreSQL
    included), and their invoice carries them whole."""
    code, name = "B" * limits.CODE, "N" * limits.NAME
    run(db_url, "org", "load", write(tmp_path / "bl.csv", f"business_line,name,head_name,head_email,division\n"
                                                          f"{code},{name},{name},{LONGEST_ADDRESS},{name}\n"))
    run(db_url, "org", "load", write(tmp_path / "cc.csv", f"cost_center,name,business_line,gl_cost_center\n"
                                                          f"{'C' * 40},{name},{code},{'4' * 40}\n"))
    listed = run(db_url, "org", "list", "--cost-centers").stdout
    assert "C" * 40 in listed and code in listed


# --- numbers ----------------------------------------------------------------------------------------------


def usage_file(tmp_path, rows: list[str], name="desk.csv") -> Path:
    return write(tmp_path / name, "record_id,usage_date,cost_center,service,quantity,unit,cost\n" + "\n".join(rows) + "\n")


def test_a_quantity_out_of_range_is_quarantined_and_the_month_still_runs(db_url, tmp_path):
    prepared(db_url, tmp_path)
    feed = usage_file(tmp_path, [
        "T-1,2026-03-02,CC-100,DESK,1e25,ticket,",  # once loaded, and every month run failed after
        "T-2,2026-03-02,CC-200,DESK,99999999999999999999999999,ticket,",  # two of these overflowed the loader's sum
        "T-3,2026-03-02,CC-200,DESK,99999999999999999999999999,ticket,",
        "T-4,2026-03-03,CC-100,DESK,1000000000000000,ticket,",  # 10**15: the first value out of range
        "T-5,2026-03-04,CC-100,DESK,30,ticket,",
    ])
    result = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    assert "rows read 5 = loaded 1 + quarantined 4" in result.stdout
    for row in (2, 3, 4, 5):
        assert (f"desk.csv:{row}:quantity: out-of-range quantity" in result.stderr
                and "a quantity has at most 15 digits before the point (999,999,999,999,999.999999999999)" in result.stderr)
    rejects = run(db_url, "usage", "rejects").stdout
    assert rejects.count("out-of-range") == 4
    assert "2026-03 chargeback:" in run(db_url, "month", "run", "2026-03").stdout


def test_a_row_worth_more_than_the_bound_at_its_services_highest_rate_is_quarantined(db_url, tmp_path):
    prepared(db_url, tmp_path)
    # DESK's highest unit price (any tier, any version) is 23.00: 10**15 / 23 ≈ 4.3e13 tickets is the most one row may hold
    feed = usage_file(tmp_path, ["T-1,2026-03-02,CC-100,DESK,50000000000000,ticket,", "T-2,2026-03-02,CC-100,DESK,40000000000000,ticket,"])
    result = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    assert "rows read 2 = loaded 1 + quarantined 1" in result.stdout
    assert ("desk.csv:2:quantity: out-of-range quantity '50000000000000' of service DESK would be charged up to about "
            "1150000000000000: a usage row may be worth at most 1,000,000,000,000,000 at its service's highest rate") in result.stderr


def test_focus_costs_out_of_range_or_worth_too_much_with_the_markup_are_quarantined(sqlite_url, tmp_path):
    import csv
    import io

    from tests.conftest import EXAMPLE_SOURCES, FOCUS_SAMPLE

    prepared(sqlite_url, tmp_path)
    run(sqlite_url, "org", "load", write(tmp_path / "lines.csv", "business_line,name\nENG,Engineering\nDATA,Data\n"
                                                                 "OPS,IT Operations\nRES,Research\n"))
    reader = csv.reader(io.StringIO(FOCUS_SAMPLE.read_text(encoding="utf-8-sig")))
    header, *rows = list(reader)[:4]
    cost = header.index("BilledCost")
    rows[0][cost] = "1e15"  # out of range
    rows[1][cost] = "990000000000000"  # in range, but 12 % markup (CLOUD gold) makes it worth 1.11e15
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    feed = write(tmp_path / "focus.csv", out.getvalue())
    result = run(sqlite_url, "usage", "load", feed, "--source", "focus-cloud", "--sources", EXAMPLE_SOURCES)
    assert "rows read 3 = loaded 1 + quarantined 2" in result.stdout
    assert "focus.csv:2:BilledCost: out-of-range BilledCost '1e15' is out of range: a cost has at most 15 digits" in result.stderr
    assert "focus.csv:3:BilledCost: out-of-range BilledCost '990000000000000' of service CLOUD" in result.stderr


def test_the_largest_accepted_row_goes_through_run_close_journal_and_export_exactly(db_url, tmp_path):
    prepared(db_url, tmp_path)
    # 43,478,260,869,565 tickets at 18.75 (DESK silver 2026.1, 10 included, fee 210.00): the largest worth under 10**15 at 23.00
    quantity = Decimal("43478260869565.217391304347")
    feed = usage_file(tmp_path, [f"T-1,2026-03-02,CC-100,DESK,{quantity},ticket,", f"T-2,2026-03-03,CC-100,DESK,-{quantity},ticket,",
                                 f"T-3,2026-03-04,CC-200,DESK,{quantity},ticket,"])
    loaded = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source").stdout
    assert "loaded 3" in loaded and "quantity read 43,478,260,869,565.217391304347" in loaded
    ran = run(db_url, "month", "run", "2026-03").stdout
    fin = round_minor(Decimal(210), "USD")  # FIN: +q - q = 0 tickets: the monthly fee only
    ops = round_minor((quantity - 10) * Decimal("18.75") + 210, "USD")
    assert f"2026-03 chargeback: {fin + ops:,.2f} USD" in ran
    run(db_url, "month", "close", "2026-03", "--confirm")
    journal = tmp_path / "journal.csv"
    done = run(db_url, "journal", "2026-03", "--out", journal).stdout
    assert f"debits = credits = {fin + ops:,.2f}" in done
    assert f"{ops:.2f}" in journal.read_text()
    run(db_url, "export", "2026-03", "--format", "csv", "--out", tmp_path / "export.csv")
    assert f"{ops:.2f}" in (tmp_path / "export.csv").read_text(encoding="utf-8-sig")


def test_a_feed_whose_total_would_overflow_is_refused_as_a_whole(db_url, tmp_path, monkeypatch):
    from billing.jobs import usage as usage_job

    monkeypatch.setattr(usage_job, "FEED_TOTAL", Decimal(100))  # as if the feed held 10**10 rows of the largest quantity
    prepared(db_url, tmp_path)
    feed = usage_file(tmp_path, ["T-1,2026-03-02,CC-100,DESK,60,ticket,", "T-2,2026-03-02,CC-100,DESK,60,ticket,"])
    result = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source", ok=False)
    assert result.exit_code == 1 and "its quantities add up to 120, more than the 100 a feed may hold" in result.stderr
    assert "desk.csv" not in run(db_url, "usage", "feeds").stdout


def test_a_month_whose_charges_would_pass_the_bound_is_refused_in_one_line(db_url, tmp_path, monkeypatch):
    from billing.rating import month as rating

    prepared(db_url, tmp_path)
    run(db_url, "usage", "load", usage_file(tmp_path, ["T-1,2026-03-02,CC-100,DESK,1000,ticket,"]), "--source", "servicedesk",
        "--new-source")
    monkeypatch.setattr(rating, "MONTH_AMOUNT", Decimal(1000))  # as if ten billion rows of the largest worth
    result = run(db_url, "month", "run", "2026-03", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    # FIN has no DESK subscription: the default tier, silver 2026.1: (1,000 - 10 included) x 18.75 + 210.00 fee
    assert "month 2026-03: out-of-range FIN DESK silver comes to 18,772.50 USD, beyond the 1,000 an invoice carries" in result.stderr


@pytest.mark.parametrize("command, text, message", [
    ("costs", "month,cost_pool,gl_account,amount,source_ref\n2026-03,LABOUR,6100,1000000000000000,A\n",
     "costs.csv:2:amount: out-of-range amount 1000000000000000 is out of range: an amount has at most 15 digits"),
    ("drivers", "month,driver,business_line,value\n2026-03,headcount,FIN,1e15\n",
     "costs.csv:2:value: out-of-range value 1000000000000000 is out of range: a quantity has at most 15 digits"),
    ("budget", "business_line,service,month,amount\nFIN,DESK,2026-03,1e20\n",
     "costs.csv:2:amount: out-of-range amount 100000000000000000000 is out of range"),
    ("sla", "month,service,tier,metric,achieved\n2026-03,DESK,gold,response_minutes,1000000000\n",
     "costs.csv:2:achieved: out-of-range achieved 1000000000 is out of range: a measurement has at most 9 digits"),
])
def test_amounts_volumes_and_measurements_out_of_range_are_refused(db_url, tmp_path, command, text, message):
    prepared(db_url, tmp_path)
    result = run(db_url, command, "load", write(tmp_path / "costs.csv", text), *(["--strict"] if command == "costs" else []),
                 ok=False)
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_note_amount_or_quantity_out_of_range_is_refused(db_url, tmp_path):
    prepared(db_url, tmp_path)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", "business_line,service,tier,effective_from\n"
                                                                       "FIN,DESK,gold,2026-01-01\n"))
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    for option, value, message in (("--amount", "1e15", "the amount 1000000000000000 is out of range: an amount"),
                                   ("--quantity", "1e16", "the quantity 10000000000000000 is out of range: a quantity")):
        result = run(db_url, "adjust", "--invoice", "CB-2026-000001", option, value, "--reason", "x", ok=False)
        assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr
        assert result.stderr.rstrip().endswith(f"({option})")  # the option it asks to correct


# --- properties: what the ranges promise, through sums, splits, pricing and storage ------------------------

quantities = st.decimals(min_value=-QUANTITY.largest, max_value=QUANTITY.largest, places=12, allow_nan=False)
large_quantities = st.decimals(min_value=QUANTITY.bound / 10, max_value=QUANTITY.largest, places=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(quantities | large_quantities, min_size=1, max_size=400))
def test_sums_of_accepted_values_are_exact_in_polars_and_python(values):
    """Decimal(38, 12) sums of any number of accepted values, until 10**11 rows, never overflow:
    the sum of these is exact in polars (a series, a group-by, the daily sums) and in the
    engine's exact Python sums."""
    series = pl.Series(values, dtype=pl.Decimal(38, 12))
    assert Decimal(series.sum()) == exact_sum(values)
    frame = pl.DataFrame({"k": [i % 3 for i in range(len(values))], "q": series})
    grouped = frame.group_by("k").agg(pl.col("q").sum())
    assert exact_sum(Decimal(v) for v in grouped["q"]) == exact_sum(values)
    rows = pl.DataFrame({"usage_date": [dt.date(2026, 3, 1 + i % 28) for i in range(len(values))],
                         "business_line": ["FIN"] * len(values), "cost_center": ["CC"] * len(values),
                         "service": ["DESK"] * len(values), "tier": pl.Series([None] * len(values), dtype=pl.String),
                         "quantity": series,
                         "cost": pl.Series([None] * len(values), dtype=pl.Decimal(38, 12))})
    assert exact_sum(Decimal(v) for v in daily_sums(rows)["quantity"]) == exact_sum(values)
    assert abs(exact_sum(values)) < Decimal(10) ** 26  # the container has room to spare


@settings(max_examples=200, deadline=None)
@given(total=st.decimals(min_value=-COST.largest, max_value=COST.largest, places=12),
       percents=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=30, places=2), min_size=0, max_size=5))
def test_a_split_of_an_accepted_cost_sums_to_it(total, percents):
    percents = [*percents, 100 - sum(percents, Decimal(0))]  # a FOCUS split: shares summing to 100
    if percents[-1] <= 0:
        return
    parts = split_exact(total, percents, [f"k{i}" for i in range(len(percents))])
    assert exact_sum(parts) == total


@settings(max_examples=200, deadline=None)
@given(amount=st.decimals(min_value=-MONTH_AMOUNT + 1, max_value=MONTH_AMOUNT - 1, places=2),
       weights=st.lists(quantities.map(abs), min_size=1, max_size=8),
       currency=st.sampled_from(["USD", "JPY", "KWD"]))
def test_cost_centre_splits_of_the_largest_charges_sum_to_the_charge(amount, weights, currency):
    """Up to the month bound (10**25), in any currency: the split over cost centres (by
    quantities of the accepted range) sums exactly to the charge and no part is off by a
    minor unit; the same for parts known exactly (apportion)."""
    amount = round_minor(amount, currency)
    if sum(weights) == 0:
        weights = [Decimal(1)] * len(weights)
    parts = allocate(amount, weights, currency)
    assert exact_sum(parts) == amount
    unit = quantum(currency)
    total_weight = exact_sum(weights)
    with localcontext() as ctx:
        ctx.prec = 80
        shares = [amount * w / total_weight for w in weights]
    assert all(abs(p - s) < unit for p, s in zip(parts, shares))
    assert exact_sum(apportion(amount, shares, currency)) == amount


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(1, 9 * 10**9), unit_price=st.decimals(min_value=0, max_value=PRICE.largest, places=6),
       fee=st.decimals(min_value=0, max_value=PRICE.largest, places=2))
def test_a_month_of_rows_of_the_largest_worth_prices_exactly_within_the_bound(rows, unit_price, fee):
    """Up to nine billion rows in a month, each of the largest quantity its worth allows at its
    rate, plus the largest monthly fee: the charge is exact, below MONTH_AMOUNT, and rounds to
    an amount Python's default context holds (what invoices, the journal and reports use)."""
    if unit_price == 0:
        return
    with localcontext(EXACT) as ctx:
        ctx.traps[Inexact] = False
        per_row = min(QUANTITY.largest, (ROW_WORTH / unit_price).quantize(Decimal("1e-12"), rounding=ROUND_DOWN))
        if per_row * unit_price >= ROW_WORTH:
            per_row -= Decimal("1e-12")
        quantity = per_row * rows
        expected = quantity * unit_price + fee
    price = TierPrice(model=PricingModel.PER_UNIT, unit_price=unit_price, monthly_fee=fee)
    charge = price_usage(price, quantity)
    assert charge.amount == expected
    amount = round_minor(charge.amount, "USD")
    assert abs(amount) < MONTH_AMOUNT
    assert amount == amount.quantize(Decimal("0.01"))  # the default context holds it (28 digits)
    assert Decimal(f"{amount:f}") == amount


@pytest.fixture
def store(db_url):
    return open_store(db_url)


amounts = st.decimals(min_value=-MONTH_AMOUNT + 1, max_value=MONTH_AMOUNT - 1, places=2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(quantities | large_quantities | amounts, min_size=1, max_size=20))
def test_accepted_values_and_month_totals_come_back_exact_from_the_store(store, values):
    """NUMERIC on PostgreSQL and exact text on SQLite keep every accepted quantity (15 digits
    and 12 decimals) and every amount below the month bound, with its scale."""
    now = dt.datetime.now(dt.timezone.utc)
    with store.begin() as session:
        lock_costs(session)  # a write without its lock is refused
        feed = CostFeed(file_name="x", content_hash="h", months="", loaded_at=now, loaded_by="t", rows_read=0,
                        rows_loaded=0, rows_rejected=0, rows_duplicate=0, amount_total=exact_sum(values))
        session.add(feed)
        session.flush()
        for n, value in enumerate(values):
            session.add(CostEntry(feed_id=feed.id, row_no=n, month="2026-01", scenario="actual", cost_pool="P",
                                  gl_account="1", amount=value, currency="USD", source_ref=str(n)))
        feed_id = feed.id
    with store.begin() as session:
        stored = [e.amount for e in session.query(CostEntry).filter_by(feed_id=feed_id).order_by(CostEntry.row_no)]
        total = session.get(CostFeed, feed_id).amount_total
    assert stored == values
    assert [a.as_tuple().exponent for a in stored] == [v.as_tuple().exponent for v in values]  # the scale too
    assert total == exact_sum(values)
