"""The planning workbook: its structure, the round trip back as a budget, and LibreOffice
recalculating its cost formulas to the engine's own figures, before and after a driver edit.

On the history store FIN and OPS each have 4 services: the Drivers sheet has FIN's on rows 5-8
(CLOUD, DESK, STORAGE, VM) and OPS's on rows 9-12 (BACKUP, DESK, STORAGE, VM); volumes of
2027-01..2027-12 in columns F-Q, tier in R, growth in S; the plan's cost per month in W-AH (its
total in AI). The Workings sheet has 12 rows per Drivers row, from row 4.
"""

import os
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from billing.planning.budgets import budget_from_plan
from reports.plan_xlsx import GROWTH, MONTH_COLUMNS, TIER, Steps, block_column, read_plan_workbook, working_columns
from tests.cli_helpers import run

ROWS = {("FIN", "CLOUD"): 5, ("FIN", "DESK"): 6, ("FIN", "STORAGE"): 7, ("FIN", "VM"): 8,
        ("OPS", "BACKUP"): 9, ("OPS", "DESK"): 10, ("OPS", "STORAGE"): 11, ("OPS", "VM"): 12}


def volume(line: str, service: str, month: int) -> tuple[str, str]:
    """The Drivers cell of a business line's volume of a service in month ``month`` (1 to 12)."""
    return "Drivers", f"{MONTH_COLUMNS[month - 1]}{ROWS[(line, service)]}"


def cost(line: str, service: str, month: int) -> str:
    """The Drivers cell of the plan's cost of a business line's service in month ``month``."""
    return f"Drivers!{block_column('plan', month - 1)}{ROWS[(line, service)]}"


def tier(line: str, service: str) -> tuple[str, str]:
    return "Drivers", f"{TIER}{ROWS[(line, service)]}"


def growth(line: str, service: str) -> tuple[str, str]:
    return "Drivers", f"{GROWTH}{ROWS[(line, service)]}"


def make_plan(url: str, folder: Path) -> Path:
    path = folder / "plan.xlsx"
    out = run(url, "plan", "--fy", "2027", "--out", path).stdout
    assert "plan FY2027 (2027-01..2027-12) for 2 business line(s), 8 service line(s); plan total" in out
    return path


def edit(source: Path, target: Path, changes: dict[tuple[str, str], object]) -> Path:
    wb = load_workbook(source)
    for (sheet, cell), value in changes.items():
        wb[sheet][cell].value = value
    wb.save(target)
    return target


def engine_figures(url: str, path: Path) -> dict[str, Decimal]:
    """The engine's price of every plan cost cell (``FIN!C15`` → amount), from the drivers."""
    from billing.store.catalogue import load_catalogue
    from billing.store.db import open_store
    from billing.store.org import business_line_ids

    plan, problems = read_plan_workbook(path.read_bytes(), str(path))
    assert problems == []
    with open_store(url).begin() as session:
        entries, problems = budget_from_plan(plan, catalogue=load_catalogue(session),
                                             business_lines=set(business_line_ids(session)))
    assert problems == []
    return {e.source.location: e.amount for e in entries}


def test_the_workbook_has_tables_names_lists_formats_and_protection(history_db, tmp_path):
    wb = load_workbook(make_plan(history_db, tmp_path))
    assert wb.sheetnames == ["Summary", "Rate card", "Drivers", "Workings"]  # four sheets, whatever the lines
    for name in ("RateKey", "RateModel", "RateUnitPrice", "RateFee", "RateIncluded", "RateMinimum", "RateFirstBand",
                 "RateByValue", "RateFeesDue", "BandKey", "BandFrom", "BandTo", "BandPrice", "BandFee", "BandOnEdge",
                 "AgreementKey", "AgreementPct", "AgreementFixed", "AgreementBefore", "AgreementCommitted", "MinorUnits",
                 "TierList1", "DriverVolume", "DriverTier", "DriverGrowth", "WorkTotal"):
        assert name in wb.defined_names
    assert wb.defined_names["RateKey"].attr_text.startswith("'Rate card'!$A$4:$A$")
    assert wb.defined_names["DriverTier"].attr_text == "Drivers!$R$1:$R$12"
    drivers, workings = wb["Drivers"], wb["Workings"]
    assert sorted(wb["Rate card"].tables) == ["Agreements", "Bands", "Rates"]
    assert wb["Rate card"]["A4"].value == "(no tariff in force)"  # row 1 of the rate card: a month without a tariff
    assert drivers.freeze_panes == "F5" and workings.freeze_panes == "H4"
    assert all(wb[name].protection.sheet for name in wb.sheetnames)
    # a planner filters the drivers and the workings by business line (a protected sheet allows it)
    assert drivers.auto_filter.ref.startswith("A4:") and drivers.auto_filter.ref.endswith("12")
    assert workings.auto_filter.ref.startswith("A3:") and not drivers.protection.autoFilter
    assert [drivers[f"A{r}"].value + " " + drivers[f"C{r}"].value for r in (5, 8, 9, 12)] == [
        "FIN CLOUD", "FIN VM", "OPS BACKUP", "OPS VM"]
    # drivers are unlocked inputs, formulas locked
    for sheet, cell in (volume("FIN", "CLOUD", 1), tier("FIN", "CLOUD"), growth("FIN", "CLOUD")):
        assert wb[sheet][cell].protection.locked is False
    # the plan cost is the Total of the month's row on the Workings; each step a short formula in its column
    summary = wb["Summary"]
    steps = Steps(*(summary[c].value == 1 for c in ("F6", "H6", "J6", "L6")))
    columns = working_columns(int(summary["D6"].value), steps)
    assert [workings[f"{c}3"].value for c in columns.values()] == list(columns)
    # each Drivers row's first Workings row, and the Workings rows of a month (no dimension values here)
    assert (drivers["U5"].value, drivers["U6"].value, drivers["V5"].value) == (4, 16, 1)
    assert drivers["W5"].value == "=INDEX(WorkTotal,$U5+0*$V5)" and drivers["AH5"].value == "=INDEX(WorkTotal,$U5+11*$V5)"
    assert drivers["W5"].protection.locked is True
    assert [workings[f"{c}15"].value for c in "ABCDEFG"] == ["FIN", "CLOUD", None, "2027-12", 12, "2026.1", 5]
    assert workings[f"{columns['Tier']}15"].value == "=INDEX(DriverTier,$G15)"
    assert workings[f"{columns['Quantity']}15"].value == "=INDEX(DriverVolume,$G15,$E15)*(1+INDEX(DriverGrowth,$G15))"
    assert ",MinorUnits)" in workings[f"{columns['Total']}4"].value
    assert max(len(workings[f"{c}{r}"].value) for c in columns.values() for r in (4, 15, 99)) < 200
    # one formula per column, relative to its row: the formulas of two rows differ by their row numbers only
    for c in columns.values():
        assert workings[f"{c}40"].value.replace("40", "#") == workings[f"{c}41"].value.replace("41", "#")
    assert drivers["AI5"].value == "=SUM(W5:AH5)"
    assert drivers["S5"].number_format == "0.0%" and drivers["W5"].number_format == "#,##0.00;-#,##0.00"
    lists = {str(dv.sqref): dv.formula1 for dv in drivers.data_validations.dataValidation if dv.type == "list"}
    assert len(lists) == 5 and all(formula.startswith("TierList") for formula in lists.values())  # a list per service
    assert summary["F8"].value == "=SUMIF(Drivers!$A$5:$A$12,$A8,Drivers!$AI$5:$AI$12)"


def test_the_plan_loads_back_as_the_budget_the_engine_prices(history_url, tmp_path):
    path = make_plan(history_url, tmp_path)
    planned = engine_figures(history_url, path)
    out = run(history_url, "budget", "load", path).stdout
    total = sum(planned.values())
    assert f"plan budget FY2027 for 2 business line(s), 96 line(s), total {total:,.2f} USD" in out
    from billing.jobs.forecast import run_forecast
    from billing.store.db import open_store

    with open_store(history_url).begin() as session:
        forecast = run_forecast(session, first_month="2027-01", months=12)
    # before any edit the plan is the forecast: same volumes, same tier, same price
    assert sum(line.amount for line in forecast.lines) == total
    # a plan made now shows the loaded budget (its block on the Drivers) next to the new figures
    (tmp_path / "again").mkdir()
    again = load_workbook(make_plan(history_url, tmp_path / "again"))
    budget = block_column("budget", 0)
    assert Decimal(str(again["Drivers"][f"{budget}5"].value)) == planned[cost("FIN", "CLOUD", 1)]
    assert again["Drivers"][f"{budget}3"].value == "Budget as loaded"


def test_an_edited_formula_is_rejected_with_its_cell_and_nothing_is_loaded(history_db, tmp_path):
    path = make_plan(history_db, tmp_path)
    march, opex = cost("FIN", "CLOUD", 3).split("!")[1], cost("OPS", "DESK", 2).split("!")[1]
    broken = edit(path, tmp_path / "broken.xlsx", {("Drivers", march): "=1+1", ("Drivers", opex): 123.45,
                                                    volume("FIN", "CLOUD", 4): "=F5*2", ("Workings", "K30"): "=0"})
    result = run(history_db, "budget", "load", broken, ok=False)
    assert result.exit_code == 1
    assert f"{broken}:Drivers!{march}: inconsistent the formula in this cell was changed" in result.stderr
    assert f"{broken}:Drivers!{opex}: inconsistent the formula in this cell was replaced by '123.45'" in result.stderr
    assert f"{broken}:Drivers!{volume('FIN', 'CLOUD', 4)[1]}: value-invalid the volume holds a formula (=F5*2)" in result.stderr
    assert f"{broken}:Workings!K30: inconsistent the formula in this cell was changed" in result.stderr
    assert "nothing was loaded" in result.stderr and "Traceback" not in result.stderr
    assert run(history_db, "budget", "show", "2027-12", ok=False).exit_code == 1  # no budget


def test_sorted_or_moved_rows_are_rejected_with_their_cell(history_db, tmp_path):
    path = make_plan(history_db, tmp_path)
    # a sorted Drivers sheet: the Workings rows no longer price the Drivers row that names them
    wb = load_workbook(path)
    drivers = wb["Drivers"]
    for column in ("A", "C"):
        drivers[f"{column}5"].value, drivers[f"{column}6"].value = drivers[f"{column}6"].value, drivers[f"{column}5"].value
    wb.save(tmp_path / "sorted.xlsx")
    result = run(history_db, "budget", "load", tmp_path / "sorted.xlsx", ok=False)
    assert result.exit_code == 1
    assert ("sorted.xlsx:Workings!A4: inconsistent expected FIN DESK 2027-01 (month 1, Drivers row 5) on this row: "
            "rows were inserted, deleted, moved or sorted") in result.stderr
    wb = load_workbook(path)
    wb["Drivers"].insert_cols(3)
    wb.save(tmp_path / "moved.xlsx")
    result = run(history_db, "budget", "load", tmp_path / "moved.xlsx", ok=False)
    assert "moved.xlsx:Drivers!C4: inconsistent expected the heading 'Service' here" in result.stderr


def test_an_unknown_business_line_is_rejected_with_its_cell(history_url, tmp_path):
    path = make_plan(history_url, tmp_path)
    # OPS renamed XYZ everywhere it is written (its Summary row, its Drivers rows and their Workings rows)
    changes: dict[tuple[str, str], object] = {tier("FIN", "DESK"): "platinum", ("Summary", "A9"): "XYZ"}
    for r in range(9, 13):
        changes[("Drivers", f"A{r}")] = "XYZ"
    for w in range(4 + 12 * 4, 4 + 12 * 8):
        changes[("Workings", f"A{w}")] = "XYZ"
    renamed = edit(path, tmp_path / "renamed.xlsx", changes)
    result = run(history_url, "budget", "load", renamed, ok=False)
    assert result.exit_code == 1
    assert f"{renamed}:Drivers!A9: unknown-business-line business line 'XYZ' does not exist" in result.stderr
    assert "Drivers!A10" not in result.stderr  # said once per business line
    assert f"{renamed}:Drivers!{tier('FIN', 'DESK')[1]}: unknown-tier DESK has no tier 'platinum'" in result.stderr
    assert "Traceback" not in result.stderr
    assert run(history_url, "budget", "show", "2027-12", ok=False).exit_code == 1


# --------------------------------------------------------------------------- LibreOffice


RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def recalculate(paths: list[Path], folder: Path) -> list[Path]:
    """Open each workbook in headless LibreOffice, which calculates formulas without a cached
    value on load, and save it again as .xlsx (with the values) into ``folder``."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (no `soffice` on PATH): apt-get install libreoffice-calc-nogui")
    profile = Path(f"/tmp/lo-{uuid.uuid4().hex}")
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS)  # recalculate on load, always
    try:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
                        "--outdir", str(folder), *map(str, paths)], check=True, capture_output=True, timeout=300,
                       env={**os.environ, "HOME": str(profile)})
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return [folder / p.name for p in paths]


def cell_values(path: Path, cells) -> dict[str, Decimal]:
    wb = load_workbook(path, data_only=True)
    values = {}
    for location in cells:
        sheet, cell = location.split("!")
        value = wb[sheet.strip("'")][cell].value
        assert isinstance(value, (int, float)), f"{location} holds {value!r} after recalculation"
        values[location] = Decimal(repr(value))
    return values


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_plan_to_the_engines_cent_and_follows_a_driver_edit(history_db, tmp_path):
    path = make_plan(history_db, tmp_path)
    edited = edit(path, tmp_path / "edited.xlsx", {
        volume("OPS", "VM", 3): 7000,         # VM in 2027-03: 7,000 hours (graduated bands)
        tier("OPS", "STORAGE"): "silver",     # STORAGE from gold to silver (volume bands)
        growth("OPS", "DESK"): 0.1,           # DESK +10 % (per ticket above the included 10)
        volume("FIN", "CLOUD", 5): 20000,     # CLOUD (pass-through) in 2027-05: 20,000 USD of cost
        # the band options of 2026.1 (docs/pricing.md, "Band options"): STORAGE silver above is sold
        # in blocks of 100 GB; STORAGE gold's edges are exclusive (1,000 GB is in band 2); VM gold
        # charges band 1's flat fee with no hours
        tier("FIN", "STORAGE"): "gold", volume("FIN", "STORAGE", 6): 1000,
        tier("OPS", "VM"): "gold", volume("OPS", "VM", 4): 0,
    })
    before_engine, after_engine = engine_figures(history_db, path), engine_figures(history_db, edited)
    recalculated = recalculate([path, edited], tmp_path / "recalculated")
    before, after = (cell_values(p, before_engine) for p in recalculated)
    # every cost cell, to the cent (and no float drift behind the cent)
    for engine, sheet in ((before_engine, before), (after_engine, after)):
        for location, amount in engine.items():
            assert abs(sheet[location] - amount) < Decimal("0.000001"), (location, sheet[location], amount)
    # the edits changed exactly the cells they drive
    changed = {loc for loc in before_engine if before[loc] != after[loc]}
    assert cost("OPS", "VM", 3) in changed and cost("FIN", "CLOUD", 5) in changed
    every = {cost(line, service, m) for line, service in (("OPS", "STORAGE"), ("OPS", "DESK")) for m in range(1, 13)}
    assert every <= changed
    allowed = {cost(line, service, m) for (line, service) in ROWS if line == "OPS" or service == "STORAGE"
               for m in range(1, 13)} | {cost("FIN", "CLOUD", 5)}
    assert changed <= allowed
    assert after[cost("OPS", "STORAGE", 1)] < before[cost("OPS", "STORAGE", 1)]  # silver storage is cheaper
    assert after_engine[cost("FIN", "STORAGE", 6)] == Decimal("312.00")  # 1,000 GB on the exclusive edge: 1,000 x 0.27 + 42.00
    assert after_engine[cost("OPS", "VM", 4)] == Decimal("182.00")  # no VM hours at gold: 156.00 + band 1's 26.00
    # and the summary's plan total is the engine's total
    summary = load_workbook(recalculated[1], data_only=True)["Summary"]
    assert Decimal(repr(summary["F10"].value)) == sum(after_engine.values())


def test_a_price_by_region_is_planned_per_region_from_the_rated_months(db_url, tmp_path):
    # docs/pricing.md's worked example rated: FIN's April 2026 VM at std by region, 81.00. The plan
    # of FY2026 has a Drivers row per region under VM's own row, April's volumes as rated, and
    # prices April to the 81.00 rated; loaded back, the budget is the engine's price of the regions
    from tests.billing.test_dimensions_cli import USAGE, _setup
    from tests.cli_helpers import write

    _setup(db_url, tmp_path, rule="default")
    run(db_url, "usage", "load", write(tmp_path / "usage.csv", USAGE), "--source", "internal")
    run(db_url, "month", "run", "2026-04")
    path = tmp_path / "plan.xlsx"
    run(db_url, "plan", "--fy", "2026", "--out", path)
    drivers = load_workbook(path)["Drivers"]
    april = MONTH_COLUMNS[3]
    rows = [(drivers[f"C{r}"].value, drivers[f"E{r}"].value, drivers[f"{april}{r}"].value) for r in range(5, 9)]
    assert rows == [("VM", None, 0), ("VM", "ap-south", 30), ("VM", "eu-west", 150), ("VM", "us-east", 80)]
    assert drivers["R6"].value == "=R5"  # a region's row has its service's tier
    planned = engine_figures(db_url, path)
    assert planned[f"Drivers!{block_column('plan', 3)}5"] == Decimal("81.00")
    out = run(db_url, "budget", "load", path).stdout
    assert "plan budget FY2026 for 1 business line(s), 12 line(s)" in out
