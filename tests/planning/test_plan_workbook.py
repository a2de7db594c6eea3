"""The planning workbook: its structure, the round trip back as a budget, and LibreOffice
recalculating its cost formulas to the engine's own figures, before and after a driver edit.

On the history store FIN and OPS each have 4 services, so each sheet's sections are 7 rows
apart from row 6: drivers on rows 8-11 (FIN: CLOUD, DESK, STORAGE, VM; OPS: BACKUP, DESK,
STORAGE, VM), the plan's cost formulas on rows 15-18, the loaded budget on rows 43-46;
months 2027-01..2027-12 in columns C-N, tier in O, growth in P.
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
from reports.plan_xlsx import Steps, read_plan_workbook, working_rows
from tests.cli_helpers import run


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
    assert wb.sheetnames == ["Summary", "Rate card", "FIN", "OPS"]
    for name in ("RateKey", "RateModel", "RateUnitPrice", "RateFee", "RateIncluded", "RateMinimum", "RateFirstBand",
                 "RateByValue", "RateFeesDue", "BandKey", "BandFrom", "BandTo", "BandPrice", "BandFee", "BandOnEdge",
                 "AgreementKey", "AgreementPct", "AgreementFixed", "AgreementBefore", "AgreementCommitted", "MinorUnits",
                 "TierList1"):
        assert name in wb.defined_names
    assert wb.defined_names["RateKey"].attr_text.startswith("'Rate card'!$A$4:$A$")
    fin = wb["FIN"]
    assert sorted(wb["Rate card"].tables) == ["Agreements", "Bands", "Rates"]
    assert wb["Rate card"]["A4"].value == "(no tariff in force)"  # row 1 of the rate card: a month without a tariff
    assert fin.freeze_panes == "C5"
    assert fin.protection.sheet and wb["Summary"].protection.sheet and wb["Rate card"].protection.sheet
    # drivers are unlocked inputs, formulas locked
    assert fin["C8"].protection.locked is False and fin["O8"].protection.locked is False and fin["P8"].protection.locked is False
    # the plan cost is the Total step of the service's workings, each step a short formula
    summary = wb["Summary"]
    workings = working_rows(4, int(summary["D6"].value), Steps(*(summary[c].value == 1 for c in ("F6", "H6", "J6"))))
    total = workings[0]["Total"]
    assert fin["C15"].protection.locked is True and fin["C15"].value == f"=C{total}"
    assert [fin[f"B{r}"].value for r in workings[0].values()] == list(workings[0])
    assert ",MinorUnits)" in fin[f"C{total}"].value
    assert max(len(fin[f"{c}{r}"].value) for w in workings for r in w.values() for c in "CN") < 200
    assert fin["O15"].value == "=SUM(C15:N15)"
    assert fin["P8"].number_format == "0.0%" and fin["C15"].number_format == "#,##0.00;-#,##0.00"
    lists = {str(dv.sqref): dv.formula1 for dv in fin.data_validations.dataValidation if dv.type == "list"}
    assert len(lists) == 4 and all(formula.startswith("TierList") for formula in lists.values())
    assert wb["Summary"]["F8"].value == "=SUM('FIN'!$O$15:$O$18)"


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
    # a plan made now shows the loaded budget (section 6, rows 43-46) next to the new figures
    (tmp_path / "again").mkdir()
    again = load_workbook(make_plan(history_url, tmp_path / "again"))
    assert Decimal(str(again["FIN"]["C43"].value)) == planned["FIN!C15"]
    assert again["FIN"]["A41"].value == "Budget as loaded"


def test_an_edited_formula_is_rejected_with_its_cell_and_nothing_is_loaded(history_db, tmp_path):
    path = make_plan(history_db, tmp_path)
    broken = edit(path, tmp_path / "broken.xlsx", {("FIN", "E15"): "=1+1", ("OPS", "D16"): 123.45,
                                                    ("FIN", "F8"): "=E8*2"})
    result = run(history_db, "budget", "load", broken, ok=False)
    assert result.exit_code == 1
    assert f"{broken}:FIN!E15: inconsistent the formula in this cell was changed" in result.stderr
    assert f"{broken}:OPS!D16: inconsistent the formula in this cell was replaced by '123.45'" in result.stderr
    assert f"{broken}:FIN!F8: value-invalid the volume holds a formula (=E8*2)" in result.stderr
    assert "nothing was loaded" in result.stderr and "Traceback" not in result.stderr
    assert run(history_db, "budget", "show", "2027-12", ok=False).exit_code == 1  # no budget


def test_an_unknown_business_line_is_rejected_with_its_cell(history_url, tmp_path):
    path = make_plan(history_url, tmp_path)
    renamed = edit(path, tmp_path / "renamed.xlsx", {("OPS", "B1"): "XYZ", ("FIN", "O9"): "platinum"})
    result = run(history_url, "budget", "load", renamed, ok=False)
    assert result.exit_code == 1
    assert f"{renamed}:OPS!B1: unknown-business-line business line 'XYZ' does not exist" in result.stderr
    assert f"{renamed}:FIN!O9: unknown-tier DESK has no tier 'platinum'" in result.stderr
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
        ("OPS", "E11"): 7000,        # VM in 2027-03: 7,000 hours (graduated bands)
        ("OPS", "O10"): "silver",    # STORAGE from gold to silver (volume bands)
        ("OPS", "P9"): 0.1,          # DESK +10 % (per ticket above the included 10)
        ("FIN", "G8"): 20000,        # CLOUD (pass-through) in 2027-05: 20,000 USD of cost
        # the band options of 2026.1 (docs/pricing.md, "Band options"): STORAGE silver above is sold
        # in blocks of 100 GB; STORAGE gold's edges are exclusive (1,000 GB is in band 2); VM gold
        # charges band 1's flat fee with no hours
        ("FIN", "O10"): "gold", ("FIN", "H10"): 1000,
        ("OPS", "O11"): "gold", ("OPS", "F11"): 0,
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
    assert "OPS!E18" in changed and "FIN!G15" in changed
    assert {f"OPS!{c}17" for c in "CDEFGHIJKLMN"} <= changed and {f"OPS!{c}16" for c in "CDEFGHIJKLMN"} <= changed
    assert all(loc.startswith(("OPS!", "FIN!G")) or loc[-2:] == "17" for loc in changed)
    assert after["OPS!C17"] < before["OPS!C17"]  # silver storage is cheaper
    assert after_engine["FIN!H17"] == Decimal("312.00")  # 1,000 GB on the exclusive edge: 1,000 x 0.27 + 42.00
    assert after_engine["OPS!F18"] == Decimal("182.00")  # no VM hours at gold: 156.00 + band 1's 26.00
    # and the summary's plan total is the engine's total
    summary = load_workbook(recalculated[1], data_only=True)["Summary"]
    assert Decimal(repr(summary["F10"].value)) == sum(after_engine.values())
