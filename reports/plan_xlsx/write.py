"""``plan_workbook(view) -> bytes``: the planning workbook written, sheet by sheet (the Summary,
the Rate card from ``rate_card``, the Drivers, the Workings), with the names its formulas use."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from billing.core.money import minor_units
from billing.planning.workbook import PlanService, PlanSheet, PlanView, agreement_key
from reports.plan_xlsx.cells import (
    BOLD, FORMULA_FILL, GROWTH_FORMAT, INPUT_FILL, NOTE, TITLE_FONT, UNLOCKED, VOLUME_FORMAT, add_table, protect, put,
    put_text,
)
from reports.plan_xlsx.formulas import driver_formulas, summary_formulas, summary_totals, working_formulas
from reports.plan_xlsx.layout import (
    AGREEMENT_STEPS_CELL, AMOUNT_BLOCKS, BAND_SLOTS_CELL, BLOCKS, BY_VALUE_CELL, DRIVER_COLUMNS, DRIVER_FIRST_ROW,
    DRIVER_HEADER_ROW, DRIVERS, FEE_STEPS_CELL, FIRST_BLOCK, FIRST_STEP, GROWTH, LAST_DRIVER_COLUMN, MINOR_UNITS_CELL,
    MONTH_COLUMNS, QUANTITIES_CELL, RATES, STRIDE, SUMMARY, SUMMARY_COLUMNS, SUMMARY_HEADER_ROW, TIER, TITLE, UNIT,
    VALUES_CELL, W_DRIVER, W_LINE, W_MONTH, W_NO, W_SERVICE, W_VALUE, W_VERSION, WORK_FIRST_ROW, WORK_HEADER_ROW,
    WORK_KEYS, WORK_ROW, WORKINGS, block_column, work_rows,
)
from reports.plan_xlsx.rate_card import rate_card_sheet
from reports.plan_xlsx.steps import band_slots, optional_steps, working_columns
from reports.xlsx import amount_format


def _driver_rows(view: PlanView) -> list[tuple[PlanSheet, PlanService]]:
    """The Drivers' rows, top to bottom: each business line's services, business lines in order."""
    return [(sheet, service) for sheet in view.sheets for service in sheet.services]


def _row_keys(rows: Sequence[tuple[PlanSheet, PlanService]]) -> list[tuple[str, str, str]]:
    return [(sheet.business_line, service.service, service.value) for sheet, service in rows]


def plan_workbook(view: PlanView) -> bytes:
    """The planning workbook as .xlsx bytes."""
    wb = Workbook()
    wb.properties.creator = "chargeback"
    wb.properties.title = f"Chargeback plan FY{view.fiscal_year}"
    summary = wb.active
    summary.title = SUMMARY
    rates = wb.create_sheet(RATES)
    tier_lists = rate_card_sheet(wb, rates, view)
    rows = _driver_rows(view)
    _drivers(wb.create_sheet(DRIVERS), view, rows, tier_lists)
    _workings(wb.create_sheet(WORKINGS), view, rows)
    _summary(summary, view, rows)
    wb.defined_names["MinorUnits"] = DefinedName("MinorUnits", attr_text=f"{SUMMARY}!${MINOR_UNITS_CELL[0]}${MINOR_UNITS_CELL[1:]}")
    last = max(DRIVER_FIRST_ROW, DRIVER_FIRST_ROW + len(rows) - 1)
    # from row 1, so that INDEX(DriverTier, r) is the Drivers sheet's row r
    for name, first, end in (("DriverVolume", MONTH_COLUMNS[0], MONTH_COLUMNS[-1]), ("DriverTier", TIER, TIER),
                             ("DriverGrowth", GROWTH, GROWTH)):
        wb.defined_names[name] = DefinedName(name, attr_text=f"{DRIVERS}!${first}$1:${end}${last}")
    total = working_columns(band_slots(view), optional_steps(view))["Total"]
    work_last = max(WORK_FIRST_ROW, WORK_FIRST_ROW + 12 * len(rows) - 1)
    wb.defined_names["WorkTotal"] = DefinedName("WorkTotal", attr_text=f"{WORKINGS}!${total}$1:${total}${work_last}")
    wb.calculation.fullCalcOnLoad = True
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _drivers(ws, view: PlanView, rows: list[tuple[PlanSheet, PlanService]], tier_lists: dict[str, str]) -> None:
    money = amount_format(view.currency)
    put_text(ws, "A1", "Drivers: edit the yellow cells (volume per month, tier, growth %); filter by business line",
          font=TITLE_FONT)
    actual = (f"Months up to {view.actual_through} are actual; later months are the engine's forecast. "
              if view.actual_through else "Every month is the engine's forecast. ")
    put_text(ws, "A2", actual + f"Costs recalculate from the drivers and the Rate card on the {WORKINGS} sheet; "
                             f"amounts in {view.currency}.", font=NOTE)
    put_text(ws, "E3", "Volume per month", font=BOLD)
    headers = [*DRIVER_COLUMNS, *view.months, "Tier", "Growth %", "Unit", "Workings row", "Rows a month"]
    for c, header in enumerate(headers, start=1):
        put_text(ws, f"{get_column_letter(c)}{DRIVER_HEADER_ROW}", header, font=BOLD)
    for key, title in BLOCKS:
        put_text(ws, f"{block_column(key, 0)}3", title, font=BOLD)
        labels = view.history_months if key.startswith("history") else view.months
        for m, label in enumerate([*labels, "Total"]):
            put_text(ws, f"{block_column(key, m)}{DRIVER_HEADER_ROW}", label, font=BOLD)
    layout = work_rows(_row_keys(rows))
    service_row = DRIVER_FIRST_ROW
    for i, (sheet, service) in enumerate(rows):
        d = DRIVER_FIRST_ROW + i
        service_row = d if not service.value else service_row
        for column, value in zip("ABCDE", (sheet.business_line, sheet.name, service.service, service.service_name,
                                           service.value)):
            put_text(ws, f"{column}{d}", value)
        for m, column in enumerate(MONTH_COLUMNS):
            put(ws, f"{column}{d}", service.volumes[m], number_format=VOLUME_FORMAT, fill=INPUT_FILL, unlocked=True)
        if not service.value:
            put_text(ws, f"{TIER}{d}", service.tier)
            ws[f"{TIER}{d}"].fill, ws[f"{TIER}{d}"].protection = INPUT_FILL, UNLOCKED
        put(ws, f"{GROWTH}{d}", Decimal(0), number_format=GROWTH_FORMAT, fill=INPUT_FILL, unlocked=True)
        put_text(ws, f"{UNIT}{d}", service.unit)
        put(ws, f"{WORK_ROW}{d}", layout[i][0])
        put(ws, f"{STRIDE}{d}", layout[i][1])
        for ref, formula in driver_formulas(i, bool(service.value), service_row).items():
            column = ref.rstrip("0123456789")
            amount = column not in {block_column("forecast_volume", 12), block_column("history_volume", 12)}
            put(ws, ref, formula, number_format="General" if column == TIER else money if amount else VOLUME_FORMAT,
                 fill=FORMULA_FILL,
                 font=BOLD if ref.rstrip("0123456789") == block_column("plan", 12) else None)
        for key, values in (("forecast_volume", service.forecast_volumes), ("forecast_cost", service.forecast_amounts),
                            ("budget", service.budget_amounts), ("history_volume", service.history_volumes),
                            ("history_cost", service.history_amounts)):
            if service.value and key == "budget":
                continue  # a budget is the service's
            for m in range(12):
                put(ws, f"{block_column(key, m)}{d}", values[m], number_format=money if key in AMOUNT_BLOCKS else VOLUME_FORMAT)

    first, last = DRIVER_FIRST_ROW, DRIVER_FIRST_ROW + len(rows) - 1
    if rows:
        volume = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                errorTitle="Volume", error="A volume is a number, zero or more.")
        volume.add(f"{MONTH_COLUMNS[0]}{first}:{MONTH_COLUMNS[-1]}{last}")
        growth = DataValidation(type="decimal", operator="between", formula1="-0.99", formula2="10", allow_blank=True,
                                errorTitle="Growth", error="Growth is a percentage from -99 % to 1000 %.")
        growth.add(f"{GROWTH}{first}:{GROWTH}{last}")
        ws.add_data_validation(volume)
        ws.add_data_validation(growth)
        by_list: dict[str, DataValidation] = {}
        for i, (_sheet, service) in enumerate(rows):
            name = tier_lists.get(service.service)
            if name is None or service.value:
                continue
            if name not in by_list:
                by_list[name] = DataValidation(type="list", formula1=name, allow_blank=False, errorTitle="Tier",
                                               error=f"Pick one of {service.service}'s tiers.")
                ws.add_data_validation(by_list[name])
            by_list[name].add(f"{TIER}{first + i}")
        ws.auto_filter.ref = f"A{DRIVER_HEADER_ROW}:{LAST_DRIVER_COLUMN}{last}"
    else:
        put_text(ws, f"A{first}", "No business line uses any service in this year.")
    ws.freeze_panes = f"{MONTH_COLUMNS[0]}{DRIVER_FIRST_ROW}"
    for column, width in zip("ABCDE", (14, 26, 12, 26, 12)):
        ws.column_dimensions[column].width = width
    for c in range(5, FIRST_BLOCK + 13 * len(BLOCKS)):
        ws.column_dimensions[get_column_letter(c)].width = 12
    protect(ws)


_MONEY_STEPS = {"Usage amount", "Group usage", "Monthly fee", "Minimum top-up", "Usage line", "Group lines",
                "Quarterly and annual fees", "Discounted charge", "Discount", "Commitment true-up", "Total",
                "Amount at committed", "Amount at used"}
_PLAIN_STEPS = {"Tier", "Tier row", "Rate card row", "Pricing model", "First band row", "Agreement row",
                "Commitment price row", "Commitment model", "Commitment first band"}


def _step_format(step: str, money: str) -> str:
    if step in _MONEY_STEPS or step.endswith(" amount") or step.endswith((" at committed", " at used")):
        return money
    if step in _PLAIN_STEPS or step.endswith("(1/0)"):
        return "General"
    return VOLUME_FORMAT


def _workings(ws, view: PlanView, rows: list[tuple[PlanSheet, PlanService]]) -> None:
    money = amount_format(view.currency)
    slots, steps = band_slots(view), optional_steps(view)
    columns = working_columns(slots, steps)
    formats = {columns[step]: _step_format(step, money) for step in columns}
    total = columns["Total"]
    agreed = {agreement.key for agreement in view.agreements}
    put_text(ws, "A1", "Cost workings: one row per business line, service and month, each column a named step "
                    "(formulas over the Drivers and the Rate card)", font=TITLE_FONT)
    put_text(ws, "A2", "Read a row left to right: its Total is the month's cost on the Drivers' Plan. "
                    "Filter by business line or service."
                    + (" The agreement steps are empty where the business line has no agreement for the service."
                       if steps.agreements else ""), font=NOTE)
    for c, header in enumerate([*WORK_KEYS, *columns], start=1):
        put_text(ws, f"{get_column_letter(c)}{WORK_HEADER_ROW}", header, font=BOLD)
    for i, ((sheet, service), (start, stride)) in enumerate(zip(rows, work_rows(_row_keys(rows)))):
        d = DRIVER_FIRST_ROW + i
        for m in range(1, 13):
            w = start + (m - 1) * stride
            put_text(ws, f"{W_LINE}{w}", sheet.business_line)
            put_text(ws, f"{W_SERVICE}{w}", service.service)
            if service.value:
                put_text(ws, f"{W_VALUE}{w}", service.value)
            put_text(ws, f"{W_MONTH}{w}", view.months[m - 1])
            put(ws, f"{W_NO}{w}", m)
            if service.versions[m - 1] is not None:
                put_text(ws, f"{W_VERSION}{w}", service.versions[m - 1])
            put(ws, f"{W_DRIVER}{w}", d)
            for column, formula in working_formulas(w, m, columns, slots, steps, stride=stride, own=not service.value,
                                                    agreement=agreement_key(sheet.business_line, service.service)
                                                    in agreed).items():
                put(ws, f"{column}{w}", formula, number_format=formats[column], fill=FORMULA_FILL,
                     font=BOLD if column == total else None)
    if rows:
        ws.auto_filter.ref = f"A{WORK_HEADER_ROW}:{total}{WORK_FIRST_ROW + 12 * len(rows) - 1}"
    ws.freeze_panes = f"{get_column_letter(FIRST_STEP)}{WORK_FIRST_ROW}"
    for column, width in zip("ABCDEFG", (14, 12, 10, 9, 6, 9, 8)):
        ws.column_dimensions[column].width = width
    for column in columns.values():
        ws.column_dimensions[column].width = 12
    protect(ws)


def _summary(ws, view: PlanView, rows: list[tuple[PlanSheet, PlanService]]) -> None:
    money = amount_format(view.currency)
    put_text(ws, "A1", f"{TITLE}{view.fiscal_year}", font=TITLE_FONT)
    put_text(ws, "A2", "Fiscal year")
    put(ws, "B2", view.fiscal_year)
    put_text(ws, "A3", "Currency")
    put_text(ws, "B3", view.currency)
    put_text(ws, "A4", "Months")
    put_text(ws, "B4", f"{view.months[0]} to {view.months[-1]}")
    put_text(ws, "A5", f"Edit the drivers on the {DRIVERS} sheet (filter it by business line); load the edited workbook "
                    "back with `chargeback budget load` to make its plan the budget.", font=NOTE)
    put_text(ws, "A6", "Minor units")
    put(ws, MINOR_UNITS_CELL, minor_units(view.currency))
    put_text(ws, "C6", "Bands per price")
    put(ws, BAND_SLOTS_CELL, band_slots(view))
    steps = optional_steps(view)
    put_text(ws, "E6", "Fee steps")
    put(ws, FEE_STEPS_CELL, int(steps.fees))
    put_text(ws, "G6", "Agreement steps")
    put(ws, AGREEMENT_STEPS_CELL, int(steps.agreements))
    put_text(ws, "I6", "Usage by value")
    put(ws, BY_VALUE_CELL, int(steps.by_value))
    put_text(ws, "K6", "Value rows")
    put(ws, VALUES_CELL, int(steps.values))
    put_text(ws, "M6", "Quantity commitment steps")
    put(ws, QUANTITIES_CELL, int(steps.quantities))
    for c, header in enumerate(SUMMARY_COLUMNS, start=1):
        put_text(ws, f"{get_column_letter(c)}{SUMMARY_HEADER_ROW}", header, font=BOLD)
    first = SUMMARY_HEADER_ROW + 1
    last_driver = max(DRIVER_FIRST_ROW, DRIVER_FIRST_ROW + len(rows) - 1)
    for r, sheet in enumerate(view.sheets, start=first):
        put_text(ws, f"A{r}", sheet.business_line)
        put_text(ws, f"B{r}", sheet.name)
        put(ws, f"C{r}", sum(1 for service in sheet.services if not service.value))
        for ref, formula in summary_formulas(r, last_driver).items():
            put(ws, ref, formula, number_format=money, fill=FORMULA_FILL)
    last = first + len(view.sheets) - 1
    if view.sheets:
        add_table(ws, "PlanSummary", SUMMARY_HEADER_ROW, last, get_column_letter(len(SUMMARY_COLUMNS)))
        put_text(ws, f"A{last + 1}", "Total", font=BOLD)
        for ref, formula in summary_totals(first, last).items():
            put(ws, ref, formula, number_format=money, fill=FORMULA_FILL, font=BOLD)
    else:
        put_text(ws, f"A{first}", "No business line uses any service in this year.")
    ws.freeze_panes = f"A{first}"
    for column, width in zip("ABCDEFGH", (14, 30, 10, 16, 16, 16, 16, 16)):
        ws.column_dimensions[column].width = width
    protect(ws)
