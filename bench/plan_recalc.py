"""Benchmark: LibreOffice recalculating a planning workbook, every formula, from scratch.

    python bench/plan_recalc.py --demo                       # the demo's plan (200 business lines)
    python bench/plan_recalc.py --db sqlite:////tmp/demo/chargeback.db --fy 2027
    python bench/plan_recalc.py --workbook plan.xlsx

``--demo`` runs ``chargeback demo --through 2026-10`` into a temporary folder and takes its
plan (FY2027: a Summary, a Rate card, the Drivers and the Workings of 200 business lines). ``--db``
makes the plan of ``--fy`` from an existing store. ``--workbook`` takes a plan as it is.

The workbook is first written without any cached value (openpyxl writes formulas only; a
workbook given with ``--workbook`` is re-saved by openpyxl, which drops the values Excel or
LibreOffice stored), so nothing can be shown without being computed. Headless LibreOffice
then opens it with a fresh profile whose "recalculation on load" setting for Excel files is
"always" (``OOXMLRecalcMode`` 0) and saves it again as .xlsx; the time is the whole
``soffice --convert-to`` run (start, load, recalculate, save), its CPU time (user + system)
and peak RSS from ``os.wait4`` (the largest of soffice and its children).

Then the proof that it recalculated: every formula cell of the input must hold a number (or,
for a text formula, a text) in LibreOffice's copy, no error value. With ``--demo`` or
``--db`` every plan cost cell is also compared with the engine's own price of its drivers
(``billing.planning.budgets.budget_from_plan``), which must agree to the cent.
The figures in docs/performance.md ("The planning workbook in LibreOffice") come from here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"wall_s": 60.0, "peak_rss_mb": 1024.0}

RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def engine() -> list[str]:
    found = Path(sys.executable).with_name("chargeback")
    return [str(found)] if found.exists() else [sys.executable, str(ROOT / "cli.py")]


def without_cached_values(source: Path, target: Path) -> None:
    """``source`` re-saved by openpyxl: formulas kept, no cached value left."""
    from openpyxl import load_workbook

    book = load_workbook(source)
    book.calculation.fullCalcOnLoad = True
    book.save(target)


def formula_cells(path: Path) -> dict[str, str]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    found = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    found[f"{ws.title}!{cell.coordinate}"] = cell.value
    book.close()
    return found


def cached_values(path: Path) -> int:
    """How many formula cells of ``path`` carry a cached value (``<v>`` after ``<f>``)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return sum(len(re.findall(rb"</f><v>", archive.read(n))) for n in archive.namelist()
                   if n.startswith("xl/worksheets/sheet"))


def recalculate(path: Path, folder: Path) -> tuple[Path, float, float, float]:
    """LibreOffice's recalculated copy of ``path`` in ``folder``; wall s, CPU s, peak RSS MB."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice is not installed (no `soffice` on PATH): apt-get install libreoffice-calc-nogui")
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_ALWAYS)
    try:
        start = time.perf_counter()
        child = subprocess.Popen([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                                  "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(folder), str(path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "HOME": str(profile)})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"soffice failed: {child.stderr.read().decode(errors='replace') if child.stderr else ''}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    out = folder / path.name
    if not out.exists():
        raise SystemExit(f"soffice wrote no {out.name}")
    return out, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def check_computed(formulas: dict[str, str], recalculated: Path) -> tuple[int, list[str]]:
    """(formula cells computed, the first problems): every formula cell now holds a value."""
    from openpyxl import load_workbook

    book = load_workbook(recalculated, read_only=True, data_only=True)
    wanted: dict[str, set[str]] = {}
    for location in formulas:
        sheet, cell = location.rsplit("!", 1)
        wanted.setdefault(sheet, set()).add(cell)
    done, problems = 0, []
    for sheet, cells in wanted.items():
        for row in book[sheet].iter_rows():
            for cell in row:
                if getattr(cell, "coordinate", None) not in cells:  # an EmptyCell has none
                    continue
                value = cell.value
                if value is None or (isinstance(value, str) and value.startswith("#")):
                    if len(problems) < 10:
                        problems.append(f"{sheet}!{cell.coordinate} holds {value!r} ({formulas[f'{sheet}!{cell.coordinate}'][:60]})")
                else:
                    done += 1
    book.close()
    return done, problems


def compare_with_engine(url: str, original: Path, recalculated: Path) -> tuple[int, Decimal, list[str]]:
    """(cost cells compared, the largest difference, the first ones off by a cent or more)."""
    from openpyxl import load_workbook

    from billing.planning.budgets import budget_from_plan
    from billing.store.catalogue import load_catalogue
    from billing.store.db import open_store
    from billing.store.org import business_line_ids
    from reports.plan_xlsx import read_plan_workbook

    plan, problems = read_plan_workbook(original.read_bytes(), str(original))
    if plan is None:
        raise SystemExit(f"the plan does not read back: {problems[:3]}")
    with open_store(url).begin() as session:
        entries, problems = budget_from_plan(plan, catalogue=load_catalogue(session),
                                             business_lines=set(business_line_ids(session)))
    book = load_workbook(recalculated, read_only=True, data_only=True)
    by_sheet: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        sheet, cell = entry.source.location.rsplit("!", 1)
        by_sheet.setdefault(sheet.strip("'").replace("''", "'"), {})[cell] = entry.amount
    worst, off, compared = Decimal(0), [], 0
    for sheet, cells in by_sheet.items():
        for row in book[sheet].iter_rows():
            for cell in row:
                if getattr(cell, "coordinate", None) in cells:
                    amount = cells[cell.coordinate]
                    value = cell.value
                    got = Decimal(repr(value)) if isinstance(value, (int, float)) else None
                    compared += 1
                    if got is None or abs(got - amount) >= Decimal("0.005"):
                        if len(off) < 10:
                            off.append(f"{sheet}!{cell.coordinate}: LibreOffice {value!r}, engine {amount}")
                    else:
                        worst = max(worst, abs(got - amount))
    book.close()
    return compared, worst, off


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--demo", action="store_true", help="Run the demo (--through 2026-10) and take its plan.")
    source.add_argument("--db", help="A store's URL: make the plan of --fy from it.")
    source.add_argument("--workbook", type=Path, help="A planning workbook as it is.")
    parser.add_argument("--fy", type=int, default=2027, help="The plan's fiscal year with --db (default 2027).")
    parser.add_argument("--keep", type=Path, help="Copy the recalculated workbook here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="plan-recalc-") as tmp:
        folder = Path(tmp)
        url = args.db
        if args.demo:
            demo = folder / "demo"
            print("running the demo (--through 2026-10) for its store and plan ...", flush=True)
            subprocess.run([*engine(), "demo", "--out", str(demo), "--through", "2026-10"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
            url = f"sqlite:///{demo / 'chargeback.db'}"
            made = demo / "plan-2027.xlsx"
        elif args.db:
            made = folder / "made.xlsx"
            subprocess.run([*engine(), "--db", args.db, "plan", "--fy", str(args.fy), "--out", str(made)], cwd=ROOT,
                           check=True, stdout=subprocess.DEVNULL)
        else:
            made = args.workbook
        plan = folder / "plan.xlsx"
        without_cached_values(made, plan)
        formulas = formula_cells(plan)
        from openpyxl import load_workbook

        book = load_workbook(plan, read_only=True)
        sheets = len(book.sheetnames)
        book.close()
        longest = max((len(f) for f in formulas.values()), default=0)
        print(f"workbook: {sheets} sheets, {len(formulas):,} formula cells (longest {longest:,} characters), "
              f"{plan.stat().st_size / 1e6:.1f} MB, cached values: {cached_values(plan)}", flush=True)
        (folder / "out").mkdir()
        out, wall, cpu, rss = recalculate(plan, folder / "out")
        load = os.getloadavg()[0]
        print(f"LibreOffice recalculation: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss:,.0f} MB "
              f"(machine load average {load:.2f})", flush=True)
        computed, problems = check_computed(formulas, out)
        print(f"formula cells computed by LibreOffice: {computed:,} of {len(formulas):,}")
        for problem in problems:
            print(f"  not computed: {problem}")
        ok = not problems and computed == len(formulas)
        if url:
            compared, worst, off = compare_with_engine(url, made, out)
            print(f"plan cost cells equal to the engine's price to the cent: {compared - len(off):,} of {compared:,} "
                  f"(largest difference {worst})")
            for line in off:
                print(f"  differs: {line}")
            ok = ok and not off and compared > 0
        for name, target in TARGETS.items():
            value = {"wall_s": wall, "peak_rss_mb": rss}[name]
            print(f"target {name} <= {target:g}: {'met' if value <= target else 'MISSED'} ({value:.1f})")
        if args.keep:
            shutil.copy(out, args.keep)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
