"""``read_plan_workbook(raw, file)``: a planner's edited copy read back, its drivers as
``billing.planning.budgets.PlanWorkbook``, every cell checked against what the writer writes
(``refusals``); ``is_plan_workbook(raw)``: whether an .xlsx is one."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from billing.core.money import minor_units
from billing.core.periods import parse_month
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.files.fields import cell_text
from billing.planning.budgets import PlanDriver, PlanMonth, PlanWorkbook
from billing.planning.workbook import agreement_key
from reports.plan_xlsx.formulas import driver_formulas, summary_formulas, summary_totals, working_formulas
from reports.plan_xlsx.layout import (
    AGREEMENT_STEPS_CELL, BAND_SLOTS_CELL, BY_VALUE_CELL, DRIVER_COLUMNS, DRIVER_FIRST_ROW, DRIVER_HEADER_ROW, DRIVERS,
    FEE_STEPS_CELL, GROWTH, LINE, MINOR_UNITS_CELL, MONTH_COLUMNS, NO_AGREEMENT, QUANTITIES_CELL, RATES, SERVICE,
    STRIDE, SUMMARY, SUMMARY_HEADER_ROW, TIER, TITLE, UNIT, VALUE, VALUES_CELL, W_DRIVER, W_LINE, W_MONTH, W_NO,
    W_SERVICE, W_VALUE, W_VERSION, WORK_HEADER_ROW, WORK_KEYS, WORK_ROW, WORKINGS, block_column, work_rows,
)
from reports.plan_xlsx.refusals import Reader, headers_moved
from reports.plan_xlsx.steps import Steps, agreement_steps, working_columns


def is_plan_workbook(raw: bytes) -> bool:
    """True when ``raw`` is an .xlsx the planning workbook's writer wrote (its Summary sheet's title says so)."""
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True)
    except Exception:  # not a workbook at all
        return False
    try:
        if SUMMARY not in wb.sheetnames or RATES not in wb.sheetnames:
            return False
        title = next(wb[SUMMARY].iter_rows(min_row=1, max_row=1, max_col=1, values_only=True))[0]
        return isinstance(title, str) and title.startswith(TITLE)
    finally:
        wb.close()


def read_plan_workbook(raw: bytes, file: str) -> tuple[PlanWorkbook | None, list[Problem]]:
    """The drivers of a planning workbook, or None with every problem found (``sheet!cell``):
    a changed or replaced formula, a formula or text in a driver cell, rows or columns moved.
    Business lines, services and tiers are checked by ``billing.planning.budgets.budget_from_plan``."""
    reader = Reader(file)
    try:
        wb = load_workbook(io.BytesIO(raw), data_only=False)
    except Exception as exc:  # openpyxl raises many types on broken files
        return None, [Problem(code=ProblemCode.FILE_UNREADABLE, message=f"not a readable .xlsx workbook ({type(exc).__name__})",
                              source=SourceRef(file=file))]
    summary = wb[SUMMARY]
    year = reader.number(summary, "B2", "fiscal year")
    currency = summary["B3"].value
    if year is None or year != year.to_integral_value() or not isinstance(currency, str):
        reader.report(ProblemCode.VALUE_INVALID, "the fiscal year or currency was changed", SUMMARY, "B2",
                      "make the plan again with `chargeback plan`")
        return None, reader.problems
    places, slots = reader.number(summary, MINOR_UNITS_CELL, "minor units"), reader.number(summary, BAND_SLOTS_CELL, "bands per price")
    flags = [reader.number(summary, cell, what) for cell, what in
             ((FEE_STEPS_CELL, "fee steps"), (AGREEMENT_STEPS_CELL, "agreement steps"), (BY_VALUE_CELL, "usage by value"),
              (VALUES_CELL, "value rows"), (QUANTITIES_CELL, "quantity commitment steps"))]
    if (places != minor_units(currency) or slots is None or slots != slots.to_integral_value() or not 1 <= slots <= 100
            or any(flag not in (0, 1) for flag in flags)):
        reader.report(ProblemCode.VALUE_INVALID, "the minor units, bands per price or steps were changed", SUMMARY,
                      MINOR_UNITS_CELL, "make the plan again with `chargeback plan`")
        return None, reader.problems
    for name in (DRIVERS, WORKINGS):
        if name not in wb.sheetnames:
            reader.report(ProblemCode.INCONSISTENT, f"the workbook has no {name} sheet", SUMMARY, "A1",
                          "make the plan again with `chargeback plan`")
            return None, reader.problems
    steps = Steps(*(flag == 1 for flag in flags))
    read = _read_drivers(reader, wb[DRIVERS], wb[WORKINGS], int(slots), steps, _agreement_keys(wb) if steps.agreements else set())
    drivers: list[PlanDriver] | None = None
    if read is not None:
        drivers, keys = read
        last_driver = max(DRIVER_FIRST_ROW, DRIVER_FIRST_ROW + len(keys) - 1)
        lines = list(dict.fromkeys(line for line, _service, _value in keys))
        first = SUMMARY_HEADER_ROW + 1
        for r, line in enumerate(lines, start=first):
            if str(summary[f"A{r}"].value or "").strip() != line:
                reader.report(ProblemCode.INCONSISTENT, f"expected business line {line!r} here, as on the {DRIVERS} sheet",
                              SUMMARY, f"A{r}", "make the plan again")
                break
            reader.formulas(summary, summary_formulas(r, last_driver))
        if lines:
            reader.formulas(summary, summary_totals(first, first + len(lines) - 1))
    if drivers is None or any(p.severity is Severity.ERROR for p in reader.problems):
        return None, reader.problems
    return PlanWorkbook(file=file, fiscal_year=int(year), currency=currency, drivers=tuple(drivers)), reader.problems


def _agreement_keys(wb) -> set[str]:
    """The keys of the Agreements table on the Rate card (``AgreementKey``): the business lines
    and services whose Workings rows hold the agreement steps."""
    name = wb.defined_names.get("AgreementKey")
    if name is None:
        return set()
    keys = set()
    for title, cells in name.destinations:
        if title in wb.sheetnames:
            keys |= {str(row[0].value) for row in wb[title][cells] if row[0].value not in (None, "")}
    keys.discard(NO_AGREEMENT)
    return keys


def _read_drivers(reader: Reader, ws, work, slots: int, steps: Steps, agreed: set[str]
                  ) -> tuple[list[PlanDriver], list[tuple[str, str, str]]] | None:
    """The drivers of every row of the Drivers sheet, and (business line, service, value) of each
    row; None when rows or columns were moved. ``agreed``: the keys of the agreements (their rows
    hold the agreement steps, the other rows leave them empty)."""
    fixed = dict(zip("ABCDE", DRIVER_COLUMNS)) | {TIER: "Tier", GROWTH: "Growth %", UNIT: "Unit", WORK_ROW: "Workings row",
                                                   STRIDE: "Rows a month"}
    columns = working_columns(slots, steps)
    blank = [columns[step] for step in agreement_steps(slots, steps)]
    keys = {get_column_letter(c): header for c, header in enumerate([*WORK_KEYS, *columns], start=1)}
    if headers_moved(reader, ws, DRIVER_HEADER_ROW, fixed) or headers_moved(reader, work, WORK_HEADER_ROW, keys):
        return None
    months = []
    for column in MONTH_COLUMNS:
        header = f"{column}{DRIVER_HEADER_ROW}"
        try:
            months.append(parse_month(str(ws[header].value or "")))
        except ValueError:
            reader.report(ProblemCode.NOT_A_DATE, f"the month heading {cell_text(ws[header].value)!r} was changed",
                          ws.title, header, "headings are the plan's months, YYYY-MM")
            return None
    rows: list[tuple[str, str, str]] = []
    while ws[f"{SERVICE}{DRIVER_FIRST_ROW + len(rows)}"].value not in (None, ""):
        d = DRIVER_FIRST_ROW + len(rows)
        rows.append((str(ws[f"{LINE}{d}"].value or "").strip(), str(ws[f"{SERVICE}{d}"].value).strip(),
                     str(ws[f"{VALUE}{d}"].value or "").strip()))
    result = []
    service_row, service_tier = DRIVER_FIRST_ROW, ""
    for i, ((line, service, value), (start, stride)) in enumerate(zip(rows, work_rows(rows))):
        d = DRIVER_FIRST_ROW + i
        if value and (i == 0 or rows[i - 1][:2] != (line, service)):
            reader.report(ProblemCode.INCONSISTENT, f"the value {value!r} has no row of its service {service} above it",
                          ws.title, f"{VALUE}{d}", "make the plan again and copy your drivers into it")
            return None
        if (ws[f"{WORK_ROW}{d}"].value, ws[f"{STRIDE}{d}"].value) != (start, stride):
            reader.report(ProblemCode.INCONSISTENT, "the Workings rows of this row were changed: rows were inserted, "
                          "deleted, moved or sorted", ws.title, f"{WORK_ROW}{d}",
                          "make the plan again and copy your drivers into it")
            return None
        if not value:
            service_row, service_tier = d, str(ws[f"{TIER}{d}"].value or "").strip()
        versions: list[str | None] = []
        for m in range(1, 13):
            w = start + (m - 1) * stride
            found = (str(work[f"{W_LINE}{w}"].value or "").strip(), str(work[f"{W_SERVICE}{w}"].value or "").strip(),
                     str(work[f"{W_VALUE}{w}"].value or "").strip(), str(work[f"{W_MONTH}{w}"].value or ""),
                     work[f"{W_NO}{w}"].value, work[f"{W_DRIVER}{w}"].value)
            if found != (line, service, value, months[m - 1], m, d):
                what = " ".join(part for part in (line, service, value, months[m - 1]) if part)
                reader.report(ProblemCode.INCONSISTENT, f"expected {what} (month {m}, {DRIVERS} row {d}) on this row: "
                              "rows were inserted, deleted, moved or sorted", work.title, f"{W_LINE}{w}",
                              "make the plan again and copy your drivers into it")
                return None
            version = work[f"{W_VERSION}{w}"].value
            versions.append(str(version) if version not in (None, "") else None)
            agreement = agreement_key(line, service) in agreed
            reader.formulas(work, {f"{column}{w}": formula for column, formula in
                                   working_formulas(w, m, columns, slots, steps, stride=stride, own=not value,
                                                    agreement=agreement).items()})
            if not agreement:
                reader.empty(work, [f"{column}{w}" for column in blank], line, service)
        reader.formulas(ws, driver_formulas(i, bool(value), service_row))
        growth = reader.number(ws, f"{GROWTH}{d}", "growth")
        volumes = [reader.number(ws, f"{c}{d}", "volume") for c in MONTH_COLUMNS]
        if growth is None or any(v is None for v in volumes):
            continue
        plan_months = tuple(
            PlanMonth(month=months[m], volume=volumes[m], tariff_version=versions[m],
                      volume_ref=reader.ref(ws.title, f"{MONTH_COLUMNS[m]}{d}"),
                      cost_ref=reader.ref(ws.title, f"{block_column('plan', m)}{service_row}"))
            for m in range(12))
        result.append(PlanDriver(
            sheet=ws.title, business_line=line, business_line_ref=reader.ref(ws.title, f"{LINE}{d}"),
            service=service, service_ref=reader.ref(ws.title, f"{SERVICE}{d}"), tier=service_tier,
            tier_ref=reader.ref(ws.title, f"{TIER}{service_row}"), growth=growth,
            growth_ref=reader.ref(ws.title, f"{GROWTH}{d}"), months=plan_months, value=value))
    return result, rows
