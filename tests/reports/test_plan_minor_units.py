"""The plan workbook rounds each month's cost to the currency's minor units (0 for JPY, 3 for
BHD, 2 for USD), as the engine's ``round_minor`` does, and reads its own formulas back."""

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from billing.core.money import round_minor
from reports.plan_xlsx import (
    DRIVER_FIRST_ROW, WORK_FIRST_ROW, PlanService, PlanSheet, PlanView, RateRow, block_column, plan_workbook,
    read_plan_workbook, working_columns,
)
from tests.planning.test_plan_workbook import cell_values, edit, recalculate

MONTHS = tuple(f"2027-{m:02d}" for m in range(1, 13))
HISTORY = tuple(f"2026-{m:02d}" for m in range(1, 13))
PRICE = Decimal("1.2345")  # 7 units a month cost 8.6415: 9 JPY, 8.642 BHD (a tie, away from zero), 8.64 USD
VOLUME = Decimal("7")
COST = f"{block_column('plan', 0)}{DRIVER_FIRST_ROW}"  # the one service's plan cost in the first month (Drivers)
TOTAL = f"{working_columns(1)['Total']}{WORK_FIRST_ROW}"  # the Total step of its first month's workings


def view(currency: str) -> PlanView:
    rate = RateRow(service="VM", service_name="Virtual machines", version="2027.1", effective_from="2027-01-01",
                   effective_to="", tier="silver", tier_name="Silver", model="per_unit", unit_price=PRICE,
                   block_size=None, block_price=None, markup_pct=None, monthly_fee=Decimal(0), included=Decimal(0),
                   minimum=Decimal(0), currency=currency, unit="vCPU-month", description=f"{PRICE} per vCPU-month")
    zeros = (Decimal(0),) * 12
    service = PlanService(service="VM", service_name="Virtual machines", unit="vCPU-month", tier="silver",
                          versions=("2027.1",) * 12, volumes=(VOLUME,) * 12, forecast_volumes=(VOLUME,) * 12,
                          forecast_amounts=zeros, budget_amounts=(None,) * 12, history_volumes=zeros,
                          history_amounts=zeros)
    return PlanView(fiscal_year=2027, months=MONTHS, history_months=HISTORY, actual_through=None, currency=currency,
                    rates=(rate,), bands=(), tiers=(("VM", ("silver",)),),
                    sheets=(PlanSheet(business_line="FIN", name="Finance", services=(service,)),))


def write(tmp_path: Path, currency: str) -> Path:
    path = tmp_path / f"plan-{currency}.xlsx"
    path.write_bytes(plan_workbook(view(currency)))
    return path


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("JPY", 0), ("BHD", 3)])
def test_each_cost_rounds_to_the_currencys_minor_units_by_name_and_reads_back(tmp_path, currency, places):
    path = write(tmp_path, currency)
    book = load_workbook(path)
    assert book["Drivers"][COST].value == f"=INDEX(WorkTotal,$U{DRIVER_FIRST_ROW}+0*$V{DRIVER_FIRST_ROW})"
    assert book["Drivers"][f"U{DRIVER_FIRST_ROW}"].value == WORK_FIRST_ROW
    total = book["Workings"][TOTAL].value
    assert total.startswith("=ROUND(") and total.endswith(",MinorUnits)")  # no ROUND(..., 2) written in
    assert book.defined_names["MinorUnits"].attr_text == "Summary!$B$6" and book["Summary"]["B6"].value == places
    plan, problems = read_plan_workbook(path.read_bytes(), path.name)
    assert problems == [] and plan.currency == currency


def test_a_yen_plan_rounding_to_cents_is_refused_as_changed(tmp_path):
    path = write(tmp_path, "JPY")
    edited = edit(path, tmp_path / "edited.xlsx", {("Summary", "B6"): 2})
    plan, problems = read_plan_workbook(edited.read_bytes(), edited.name)
    assert plan is None and [(p.source.location, p.message) for p in problems] == [
        ("Summary!B6", "the minor units, bands per price or steps were changed")]
    total = load_workbook(path)["Workings"][TOTAL].value
    edited = edit(path, tmp_path / "edited2.xlsx", {("Workings", TOTAL): total.replace("MinorUnits", "2")})
    plan, problems = read_plan_workbook(edited.read_bytes(), edited.name)
    assert plan is None and [(p.source.location, p.message) for p in problems] == [
        (f"Workings!{TOTAL}", "the formula in this cell was changed")]


@pytest.mark.libreoffice
def test_libreoffice_rounds_each_month_as_the_engine_does_in_every_currency(tmp_path):
    paths = [write(tmp_path, c) for c in ("USD", "JPY", "BHD")]
    for path, currency in zip(recalculate(paths, tmp_path / "recalculated"), ("USD", "JPY", "BHD")):
        figures = cell_values(path, [f"Drivers!{block_column('plan', m)}{DRIVER_FIRST_ROW}" for m in range(12)])
        expected = round_minor(VOLUME * PRICE, currency)
        assert set(figures.values()) == {expected}, (currency, figures)
