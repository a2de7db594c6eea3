"""`chargeback export MONTH --format focus`: a closed month's bill as FOCUS, on every backend.

Fixtures as in test_month_end.py: FIN and OPS subscribe to DESK gold (monthly fee 470.00,
no tickets), so March has two invoices of 470.00 = 940.00, each line a monthly fee on its own.
"""

import csv
import io
import shutil
from decimal import Decimal

from tests.billing.test_month_end import setup_store
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_TARIFFS
from tests.focus_validator import validate

#: What the bill supports of FOCUS's optional features: display names of the billing account,
#: sub-accounts (business lines) and tags.
APPLICABILITY = ("ACCOUNT_NAMING_SUPPORTED", "SUB_ACCOUNT_SUPPORTED", "TAGGING_SUPPORTED")

def assert_conforms(path, rows):
    """focus-validator passes every rule it checks on ``path``, with no failed rule."""
    result = validate(path, "1.2", applicability=APPLICABILITY)
    assert not result.failed, result.report()
    assert result.passed_rules > 100, result.report()
    return result


def focus_file(db_url, tmp_path, month, name="focus.csv", fmt="focus"):
    out = tmp_path / name
    result = run(db_url, "export", month, "--format", fmt, "--out", out)
    assert f"{month} exported to {out}" in result.stdout
    return out


def read(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def closed_march(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm", "--issue-date", "2026-04-02")


def test_an_open_month_is_refused_in_one_line(db_url, tmp_path):
    setup_store(db_url, tmp_path)
    run(db_url, "month", "run", "2026-03")
    refused = run(db_url, "export", "2026-03", "--format", "focus", "--out", tmp_path / "f.csv", ok=False)
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert "2026-03 is not closed" in refused.stderr and "month close 2026-03" in refused.stderr
    assert not (tmp_path / "f.csv").exists()


def test_the_closed_month_as_focus_sums_to_its_invoices(db_url, tmp_path):
    closed_march(db_url, tmp_path)
    rows = read(focus_file(db_url, tmp_path, "2026-03"))
    for cost in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        assert sum(Decimal(r[cost]) for r in rows) == Decimal("940.00"), cost
    # each monthly fee bought on its own: a Purchase row that bills it, and its use in the month
    # (a Usage row that bills nothing and carries the fee as its effective cost)
    assert sorted((r["InvoiceId"], r["SubAccountId"], r["SubAccountName"], r["ChargeCategory"], r["ChargeFrequency"],
                   r["BilledCost"], r["EffectiveCost"], r["ListCost"]) for r in rows) == [
        ("CB-2026-000001", "FIN", "Finance", "Purchase", "Recurring", "470.00", "0.00", "470.00"),
        ("CB-2026-000001", "FIN", "Finance", "Usage", "Recurring", "0.00", "470.00", "0.00"),
        ("CB-2026-000002", "OPS", "Operations", "Purchase", "Recurring", "470.00", "0.00", "470.00"),
        ("CB-2026-000002", "OPS", "Operations", "Usage", "Recurring", "0.00", "470.00", "0.00")]
    for row in rows:
        assert (row["ServiceName"], row["ServiceCategory"], row["ServiceSubcategory"]) == (
            "Service desk", "Management and Governance", "Support")
        assert (row["BillingAccountId"], row["BillingAccountName"], row["BillingCurrency"]) == ("IT", "IT services", "USD")
        assert (row["PricingUnit"], row["x_Unit"], row["x_TariffVersion"]) == ("Tickets", "ticket", "2026.1")
    assert {r["x_CostCenter"] for r in rows} == {"CC-100", "CC-200"}
    assert_conforms(tmp_path / "focus.csv", rows)


def test_a_credit_note_is_a_correction_in_the_month_it_is_issued(db_url, tmp_path):
    closed_march(db_url, tmp_path)
    run(db_url, "adjust", "--invoice", "CB-2026-000001", "--line", "1", "--amount", "70.00", "--reason", "desk outage")
    refused = run(db_url, "export", "2026-04", "--format", "focus", "--out", tmp_path / "april.csv", ok=False)
    assert refused.exit_code == 1 and "2026-04 is not closed" in refused.stderr
    run(db_url, "month", "run", "2026-04")
    run(db_url, "month", "close", "2026-04", "--confirm")
    rows = read(focus_file(db_url, tmp_path, "2026-04"))
    (note,) = [r for r in rows if r["ChargeCategory"] == "Adjustment"]
    assert (note["InvoiceId"], note["BilledCost"], note["ChargeClass"], note["x_CorrectedInvoiceId"]) == (
        "CB-2026-000003", "-70.00", "Correction", "CB-2026-000001")
    assert (note["ChargePeriodStart"], note["ChargePeriodEnd"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert note["BillingPeriodStart"] == "2026-04-01T00:00:00Z"
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal("940.00") - Decimal("70.00")
    assert_conforms(tmp_path / "focus.csv", rows)


def test_a_reopened_month_nets_its_cancelled_invoices(db_url, tmp_path):
    closed_march(db_url, tmp_path)
    run(db_url, "month", "reopen", "2026-03", "--reason", "wrong tier")
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    rows = read(focus_file(db_url, tmp_path, "2026-03"))
    assert len({r["InvoiceId"] for r in rows}) == 6
    assert sum(Decimal(r["BilledCost"]) for r in rows) == Decimal("940.00")
    cancellations = [r for r in rows if r["x_DocumentType"] == "credit_note"]
    assert len(cancellations) == 2 and {r["ChargeClass"] for r in cancellations} == {""}


def test_the_export_reads_what_was_issued_not_todays_names(db_url, tmp_path):
    closed_march(db_url, tmp_path)
    before = focus_file(db_url, tmp_path, "2026-03", "before.csv").read_bytes()
    renamed = tmp_path / "tariffs"
    shutil.copytree(EXAMPLE_TARIFFS, renamed)
    desk = renamed / "desk.yaml"
    desk.write_text(desk.read_text().replace("name: Service desk", "name: IT help desk"))
    run(db_url, "tariffs", "load", renamed)
    run(db_url, "org", "load", write(tmp_path / "bl2.csv", """
        business_line,name,head_name,head_email,division
        FIN,Group Finance,Ada Lovelace,ada@example.com,Corporate
    """))
    assert focus_file(db_url, tmp_path, "2026-03", "after.csv").read_bytes() == before


def test_parquet_too(db_url, tmp_path):
    import polars as pl

    closed_march(db_url, tmp_path)
    path = focus_file(db_url, tmp_path, "2026-03", "focus.parquet", fmt="focus-parquet")
    frame = pl.read_parquet(path)
    assert frame.height == 4 and frame["BilledCost"].sum() == frame["EffectiveCost"].sum() == Decimal("940.00")
    assert_conforms(path, [{k: str(v) for k, v in row.items()} for row in frame.to_dicts()])


def test_the_demos_last_closed_month_as_focus_sums_to_its_documents(tmp_path):
    from click.testing import CliRunner

    from billing.store.db import open_store
    from billing.store.documents import documents_for_month
    from cli import chargeback

    out = tmp_path / "demo"
    result = CliRunner().invoke(chargeback, ["demo", "--out", str(out), "--months", "2", "--rows", "5000",
                                             "--business-lines", "30", "--cost-centers", "150", "--through", "2026-03"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = out / "2026-03-focus.csv"
    assert f"FOCUS:      {path}" in result.stdout
    rows = read(path)
    with open_store(f"sqlite:///{out / 'chargeback.db'}").begin() as session:
        documents = documents_for_month(session, "2026-03")
    assert len(rows) >= sum(len(d.lines) for d in documents)
    assert sum(Decimal(r["BilledCost"]) for r in rows) == sum(d.total for d in documents)
    for document in documents:
        assert sum(Decimal(r["BilledCost"]) for r in rows if r["InvoiceId"] == document.number) == document.total
    categories = {r["ChargeCategory"] for r in rows}
    assert {"Usage", "Purchase", "Credit"} <= categories
    assert all(r["PricingQuantity"] for r in rows if r["ChargeCategory"] in ("Usage", "Purchase"))
    assert_conforms(path, rows)


def test_names_beyond_ascii_and_formula_text_still_validate(db_url, tmp_path):
    closed_march(db_url, tmp_path)
    run(db_url, "org", "load", write(tmp_path / "bl3.csv", """
        business_line,name,head_name,head_email,division
        FIN,"Finanz Zürich – Süd",Ada Lovelace,ada@example.com,Corporate
        OPS,"=HYPERLINK(""http://x"",""y"")",Grace Hopper,grace@example.com,Operations
    """))
    run(db_url, "month", "reopen", "2026-03", "--reason", "new names")
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    path = focus_file(db_url, tmp_path, "2026-03")
    rows = read(path)
    names = {r["SubAccountName"] for r in rows if r["x_DocumentType"] == "invoice"}
    assert {"Finanz Zurich - Sud", '=HYPERLINK("http://x","y")'} <= names
    assert_conforms(path, rows)
