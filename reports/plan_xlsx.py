"""The planning workbook: a summary, the rate card, the drivers and the cost workings; live formulas.

``plan_workbook(view) -> bytes`` writes it; ``read_plan_workbook(raw, file)`` reads a planner's
edited copy back (the drivers, with every changed formula reported by ``sheet!cell``). Both
use the one layout below, so a formula is checked against exactly what the writer writes.
docs/planning.md, "The planning workbook", describes the sheets for planners.

Four sheets, whatever the number of business lines (LibreOffice needs memory per sheet, and
groups formulas by column: docs/performance.md, "The planning workbook in LibreOffice"):

- "Summary": per business line the history, forecast, plan and loaded budget totals, each a
  ``SUMIF`` of the Drivers' totals by business line, and a total row.
- "Rate card": every tariff version in force in the fiscal year, one row per tier price (table
  ``Rates``; its first row, ``(no tariff in force)``, prices a month without a version at 0), the
  bands (table ``Bands``: one row per band, from, up to, unit price, flat fee, and whether a
  quantity on its From enters it), ``Bands per price`` rows for each priced price (the unused
  ones never entered), each service's tiers (the tier drop-down lists) and the Agreements. Named
  ranges (``RateKey``, ``RateModel``, ``RateFirstBand``, ``BandFrom`` ...) point at their columns.
- "Drivers": one row per business line and service (filterable by business line): the drivers
  (editable: volume per month, tier, growth %), then blocks of twelve months and a total: the
  plan cost (each month the Total of its row on the Workings), plan − forecast, the engine's
  forecast (volume and cost), the budget as loaded, last year's actual volume and cost.
- "Workings": one row per business line, service and month (the tariff version in force that
  month, the Drivers row it prices), each column a named step (``working_steps``): tier, rate
  card row, pricing model, quantity, billable, block size, billed in whole blocks, first band row,
  for each band whether it is entered (1/0), its quantity (graduated: ``MIN(MAX(billed − from,
  0), to − from)``; volume: the billed quantity in the highest band entered) and its amount
  (quantity × unit price + its flat fee when entered), usage amount (package: started blocks ×
  block price; pass-through: the cost plus markup; otherwise the bands' amounts), monthly fee,
  minimum top-up, and the Total, ``ROUND(..., MinorUnits)``: the currency's minor units
  (Summary!B6). When the rate card or the year needs them (``Steps``, flags on the Summary): the
  usage line (a price by dimension rounds its usage and the tier's terms apart), the quarterly
  and annual fees due that month (``RateFeesDue``), the agreement's row, the discounted charge,
  the discount and, on the fiscal year's last month, the commitment's true-up (an amount; or a
  quantity: the units committed and used at its tier, each priced at its bands). With rows of
  dimension values (``Steps.values``) each month of a service is its own row then a row per value,
  priced at the value's own price, the tier's terms, fees and discount once on its own row. Every
  row of a column holds the same formula relative to its row (one formula group), bar the
  true-up, which only the last month's rows have, and the agreement steps (``agreement_steps``),
  which only the rows of a business line and service with an agreement have (the others leave
  them empty: their Total adds 0).

A per-unit price is one open-ended band from 0 at its unit price, so it runs through the same
steps as graduated and volume bands; a fixed price has no band. The rounding is the engine's
half-up rounding once per business line, service and month. Only functions both Excel and
LibreOffice evaluate are used (IF, AND, OR, INDEX, MATCH, COUNTIF, SUMIF, SUMIFS, MIN, MAX, ROUND,
ROUNDUP, SUM).
Sheets are protected without a password (filtering stays allowed): formula cells are locked,
driver cells are not.

Text from input (names, codes) goes into cells through ``reports.xlsx.safe_text``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from billing.planning.budgets import PlanDriver, PlanMonth, PlanWorkbook
from billing.planning.workbook import (
    OPEN_BAND, AgreementRow, BandRow, PlanService, PlanSheet, PlanView, RateRow, agreement_key,
)
from billing.core.money import D, minor_units
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.core.periods import parse_month
from billing.files.fields import cell_text
from reports.xlsx import amount_format, safe_text

__all__ = [
    "OPEN_BAND",
    "RateRow",
    "BandRow",
    "PlanService",
    "PlanSheet",
    "PlanView",
    "plan_workbook",
    "read_plan_workbook",
    "is_plan_workbook",
    "band_slots",
    "optional_steps",
    "Steps",
    "working_steps",
    "working_columns",
    "working_formulas",
    "block_column",
    "DRIVERS",
    "WORKINGS",
    "DRIVER_FIRST_ROW",
    "WORK_FIRST_ROW",
]

SUMMARY = "Summary"
RATES = "Rate card"
DRIVERS = "Drivers"
WORKINGS = "Workings"
TITLE = "Chargeback plan FY"
VOLUME_FORMAT = "#,##0.00"
PRICE_FORMAT = "#,##0.00####"  # unit prices keep their decimals (0.146 is not shown as 0.15)
GROWTH_FORMAT = "0.0%"

_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=13)
_NOTE = Font(italic=True, color="555555")
_INPUT = PatternFill("solid", fgColor="FFF2CC")
_FORMULA = PatternFill("solid", fgColor="EDEDED")
_UNLOCKED = Protection(locked=False)

# --------------------------------------------------------------------------- the layout

# The Drivers sheet: a row per business line and service from DRIVER_FIRST_ROW.
DRIVER_HEADER_ROW = 4
DRIVER_FIRST_ROW = 5
DRIVER_COLUMNS = ("Business line", "Business line name", "Service", "Service name", "Value")
LINE, SERVICE, VALUE = "A", "C", "E"
MONTH_COLUMNS = tuple(get_column_letter(6 + i) for i in range(12))  # F..Q: the volumes
TIER, GROWTH, UNIT, WORK_ROW, STRIDE = "R", "S", "T", "U", "V"
_FIRST_BLOCK = 23  # W
# (key, title): each block is twelve months and a total
BLOCKS = (
    ("plan", "Plan: cost per month (the Total of its row on the Workings; this is the budget)"),
    ("variance", "Plan - forecast"),
    ("forecast_volume", "Forecast volume (engine; actual for months already rated)"),
    ("forecast_cost", "Forecast cost (engine; actual charges for months already rated)"),
    ("budget", "Budget as loaded"),
    ("history_volume", "History: actual volume of the year before"),
    ("history_cost", "History: actual charges of the year before"),
)
_BLOCK_INDEX = {key: i for i, (key, _title) in enumerate(BLOCKS)}
_AMOUNTS = {"plan", "variance", "forecast_cost", "budget", "history_cost"}


def block_column(key: str, month: int) -> str:
    """The Drivers column of block ``key``'s month ``month`` (0 to 11; 12: its Total)."""
    return get_column_letter(_FIRST_BLOCK + 13 * _BLOCK_INDEX[key] + month)


_LAST_DRIVER_COLUMN = block_column(BLOCKS[-1][0], 12)

# The Workings sheet: a row per business line, service and month from WORK_FIRST_ROW.
WORK_HEADER_ROW = 3
WORK_FIRST_ROW = 4
WORK_KEYS = ("Business line", "Service", "Value", "Month", "Month no.", "Version", "Drivers row")
W_LINE, W_SERVICE, W_VALUE, W_MONTH, W_NO, W_VERSION, W_DRIVER = "A", "B", "C", "D", "E", "F", "G"
_FIRST_STEP = 8  # H


RATE_COLUMNS = (
    # header, named range (or None), attribute
    ("Key", "RateKey", "key"),
    ("Service", None, "service"),
    ("Service name", None, "service_name"),
    ("Version", None, "version"),
    ("From", None, "effective_from"),
    ("To", None, "effective_to"),
    ("Tier", None, "tier"),
    ("Tier name", None, "tier_name"),
    ("Model", "RateModel", "model"),
    ("Unit price", "RateUnitPrice", "unit_price"),
    ("Block size", "RateBlockSize", "block_size"),
    ("Block price", "RateBlockPrice", "block_price"),
    ("Markup %", "RateMarkup", "markup_pct"),
    ("Monthly fee", "RateFee", "monthly_fee"),
    ("Included", "RateIncluded", "included"),
    ("Minimum", "RateMinimum", "minimum"),
    ("First band", "RateFirstBand", "first_band"),
    ("By value (1/0)", "RateByValue", "by_value"),
    ("Unlisted held (1/0)", "RateHeld", "held"),
    ("Value", None, "value"),
    ("Currency", None, "currency"),
    ("Unit", None, "unit"),
    ("Price", None, "description"),
)
FEE_FIRST_COLUMN = len(RATE_COLUMNS) + 1  # then one column per month: the fees due in it (RateFeesDue)
BAND_FIRST_COLUMN = FEE_FIRST_COLUMN + 12 + 1  # one empty column after the rates
BAND_COLUMNS = (
    ("Key", "BandKey", "key"),
    ("Band", None, "band"),
    ("From", "BandFrom", "lower"),
    ("Up to", "BandTo", "upper"),
    ("Unit price", "BandPrice", "unit_price"),
    ("Flat fee", "BandFee", "flat_fee"),
    ("Edges", None, "edges"),
    ("Fee at zero", None, "fee_at_zero"),
    ("Entered at From", "BandOnEdge", "on_edge"),
)
TIER_FIRST_COLUMN = BAND_FIRST_COLUMN + len(BAND_COLUMNS) + 1
RATE_HEADER_ROW = 3
NO_TARIFF = "(no tariff in force)"
"""The rate card's first row: all zeros, the price of a month no tariff version covers."""
MINOR_UNITS_CELL = "B6"  # on the Summary, named MinorUnits: the currency's minor units
BAND_SLOTS_CELL = "D6"  # on the Summary: how many bands each service's workings have
FEE_STEPS_CELL = "F6"  # on the Summary: 1 when the workings have a fees step (a price on the rate card has fees)
AGREEMENT_STEPS_CELL = "H6"  # on the Summary: 1 when they have the agreement steps (the year has agreements)
BY_VALUE_CELL = "J6"  # on the Summary: 1 when a price by dimension is on the rate card (its usage line rounds so)
VALUES_CELL = "L6"  # on the Summary: 1 when the Drivers have rows of dimension values (the workings add up each month's rows)
QUANTITIES_CELL = "N6"  # on the Summary: 1 when the workings have the quantity commitment steps (the year has one)
NO_AGREEMENT = "(no agreement)"
AGREEMENT_COLUMNS = (
    # header, named range (or None), attribute
    ("Key", "AgreementKey", "key"),
    ("Business line", None, "business_line"),
    ("Service", None, "service"),
    ("Fiscal year", None, "fiscal_year"),
    ("Discount %", "AgreementPct", "discount_pct"),
    ("Discount a month", "AgreementFixed", "discount_amount"),
    ("Before minimum (1/0)", "AgreementBefore", "before"),
    ("Commitment", "AgreementCommitted", "commitment_amount"),
    ("Committed quantity", "AgreementQuantity", "commitment_quantity"),
    ("At tier", "AgreementTier", "commitment_tier"),
    ("Commitment price", "AgreementPrice", "commitment_price"),
)



@dataclass(frozen=True, slots=True)
class Steps:
    """The optional parts of every service's cost workings in a workbook (the Summary says which,
    ``optional_steps``): a fees step, the agreement steps, a usage line rounded as a price by
    dimension charges it (its usage and the tier's terms each rounded)."""

    fees: bool = False
    agreements: bool = False
    by_value: bool = False
    values: bool = False  # rows of dimension values: each month's rows of a service add up on its first
    quantities: bool = False  # a quantity commitment's steps (the last month's rows only), with the agreement steps



def working_steps(slots: int, steps: Steps = Steps()) -> tuple[str, ...]:
    """The step columns of the cost workings, left to right, with ``slots`` bands and the
    optional ``steps``."""
    fees, agreements, values = steps.fees, steps.agreements, steps.values
    bands = []
    for k in range(1, slots + 1):
        bands += [f"Band {k} entered (1/0)", f"Band {k} quantity", f"Band {k} amount"]
    head = (["Tier", "Tier row", "Rate card row", "Pricing model", "Quantity", "By value (1/0)", "Held (1/0)",
             "Group quantity", "Priced quantity"] if values else ["Tier", "Rate card row", "Pricing model", "Quantity"])
    tail = ["Usage amount", *(["Group usage"] if values else []), "Monthly fee", "Minimum top-up"]
    if agreements or values:
        tail += ["Usage line", *(["Group lines"] if values else []), *(["Quarterly and annual fees"] if fees else [])]
        if agreements:
            tail += ["Agreement row", "Discounted charge", "Discount",
                     *(_quantity_steps(slots) if steps.quantities else []), "Commitment true-up"]
    elif fees:
        tail += ["Quarterly and annual fees"]
    return (*head, "Billable", "Block size", "Billed (whole blocks)", "First band row", *bands, *tail, "Total")


def _quantity_steps(slots: int) -> list[str]:
    """A quantity commitment's steps: the units committed and used at its tier, and each priced at
    the tier's bands (the shortfall is the units between them)."""
    names = ["Committed units", "Units used", "Commitment price row", "Commitment model", "Commitment block size",
             "Commitment first band"]
    for at in ("committed", "used"):
        names.append(f"Billed {at} (whole blocks)")
        for k in range(1, slots + 1):
            names += [f"Band {k} entered at {at} (1/0)", f"Band {k} at {at}"]
        names.append(f"Amount at {at}")
    return names


def working_columns(slots: int, steps: Steps = Steps()) -> dict[str, str]:
    """The column of each step of the cost workings."""
    return {step: get_column_letter(_FIRST_STEP + j) for j, step in enumerate(working_steps(slots, steps))}


#: the step with a formula on the fiscal year's last month's rows only (the service's own row)
_LAST_MONTH_ONLY = "Commitment true-up"


def agreement_steps(slots: int, steps: Steps = Steps()) -> tuple[str, ...]:
    """The steps only a row whose business line has an agreement for its service holds (from its
    agreement's row to the true-up); the other rows leave them empty, which their Total counts as 0."""
    names = working_steps(slots, steps)
    if "Agreement row" not in names:
        return ()
    return names[names.index("Agreement row"):names.index(_LAST_MONTH_ONLY) + 1]


def working_formulas(row: int, month: int, columns: dict[str, str], slots: int, steps: Steps = Steps(), *,
                     stride: int = 1, own: bool = True, agreement: bool = True) -> dict[str, str]:
    """The formula of each step (by column) of the Workings row ``row``, month ``month`` of the
    fiscal year (1 to 12; the row's own Month no.).

    Each is short and names its inputs: the row's Drivers row (``$G``: volume of month ``$E``,
    tier, growth), its dimension value (``$C``), the version in force (``$F``) and the Rate
    card's named columns. Every row of a column has the same formula relative to its row, but
    the true-up (the last month's row of the service, ``own``). With ``steps.values`` the rows of
    a month of a service (its own row, then a row per value: ``stride`` rows) add up on its own
    row: ``Group ...`` is the row's figure plus the next row's group figure when the next row is
    a value's. A row whose business line has no agreement for its service (``agreement`` False)
    has no formula in the ``agreement_steps``: its Total adds their empty cells, 0."""
    r, nxt = row, row + 1

    def at(step: str) -> str:
        return f"{columns[step]}{r}"

    def group(step: str, figure: str) -> str:
        return f'={figure}+IF(${W_VALUE}{nxt}<>"",{columns[step]}{nxt},0)'

    values = steps.values
    n, model, b, bb, f = at("Rate card row"), at("Pricing model"), at("Billable"), at("Billed (whole blocks)"), at("First band row")
    size = at("Block size")
    tier_row = f'IF(${W_VERSION}{r}="",1,MATCH(${W_SERVICE}{r}&"|"&${W_VERSION}{r}&"|"&{at("Tier")},RateKey,0))'
    q = at("Priced quantity") if values else at("Quantity")
    out = {
        columns["Tier"]: f"=INDEX(DriverTier,${W_DRIVER}{r})",
        columns["Pricing model"]: f"=INDEX(RateModel,{n})",
        columns["Quantity"]: f"=INDEX(DriverVolume,${W_DRIVER}{r},${W_NO}{r})*(1+INDEX(DriverGrowth,${W_DRIVER}{r}))",
        columns["Billable"]: f"=MAX(0,{q}-INDEX(RateIncluded,{n}))",
        columns["Block size"]: f"=INDEX(RateBlockSize,{n})",
        columns["Billed (whole blocks)"]: f"=IF({size}>0,ROUNDUP({b}/{size},0)*{size},{b})",
        columns["First band row"]: f"=INDEX(RateFirstBand,{n})",
    }
    if values:
        tr = at("Tier row")
        value_key = f'INDEX(RateKey,{tr})&"|"&${W_VALUE}{r}'
        held = at("Held (1/0)")
        out |= {
            columns["Tier row"]: f"={tier_row}",
            columns["Rate card row"]: (f'=IF(${W_VALUE}{r}="",{tr},IF(COUNTIF(RateKey,{value_key})=0,{tr},'
                                       f"MATCH({value_key},RateKey,0)))"),
            columns["By value (1/0)"]: f"=INDEX(RateByValue,{tr})",
            columns["Held (1/0)"]: f"=IF({n}={tr},INDEX(RateHeld,{tr}),0)",
            columns["Group quantity"]: group("Group quantity", at("Quantity")),
            columns["Priced quantity"]: (f'=IF({at("By value (1/0)")}=1,IF({held}=1,0,{at("Quantity")}),'
                                         f'IF(${W_VALUE}{r}="",{at("Group quantity")},0))'),
        }
    else:
        out[columns["Rate card row"]] = f"={tier_row}"
    amounts = []
    for k in range(1, slots + 1):
        band = f"{f}+{k - 1}" if k > 1 else f
        entered = at(f"Band {k} entered (1/0)")
        # volume pricing: only the highest band entered prices (all of) the quantity
        only = f"({entered}-{at(f'Band {k + 1} entered (1/0)')})" if k < slots else entered
        out[columns[f"Band {k} entered (1/0)"]] = (
            f"=({b}>INDEX(BandFrom,{band}))+({b}=INDEX(BandFrom,{band}))*INDEX(BandOnEdge,{band})")
        out[columns[f"Band {k} quantity"]] = (
            f'=IF({model}="volume",{only}*{bb},MIN(MAX({bb}-INDEX(BandFrom,{band}),0),'
            f"INDEX(BandTo,{band})-INDEX(BandFrom,{band})))")
        out[columns[f"Band {k} amount"]] = (
            f'={at(f"Band {k} quantity")}*INDEX(BandPrice,{band})+IF({model}="volume",{only},{entered})*INDEX(BandFee,{band})')
        amounts.append(at(f"Band {k} amount"))
    bands = "+".join(amounts)
    usage = (f'IF({model}="package",ROUNDUP({b}/{size},0)*INDEX(RateBlockPrice,{n}),'
             f'IF({model}="pass_through",{q}*(1+INDEX(RateMarkup,{n})/100),{bands}))')
    fee, topup, used = at("Monthly fee"), at("Minimum top-up"), at("Usage amount")
    if values:
        # a held row, and a value's row with nothing priced, give no line
        out[columns["Usage amount"]] = f'=IF(OR({held}=1,AND(${W_VALUE}{r}<>"",{q}=0)),0,{usage})'
        out[columns["Group usage"]] = group("Group usage", used)
        used = at("Group usage")  # the tier's terms and a discount are the month's, over every value
        out[columns["Monthly fee"]] = f'=IF(${W_VALUE}{r}="",INDEX(RateFee,{n}),0)'
        out[columns["Minimum top-up"]] = f'=IF(${W_VALUE}{r}="",MAX(0,INDEX(RateMinimum,{n})-{used}-{fee}),0)'
    else:
        out[columns["Usage amount"]] = f"={usage}"
        out[columns["Monthly fee"]] = f"=INDEX(RateFee,{n})"
        out[columns["Minimum top-up"]] = f"=MAX(0,INDEX(RateMinimum,{n})-{used}-{fee})"
    own_usage = at("Usage amount")
    charge = f"{used}+{fee}+{topup}"
    # a price by dimension charges its usage and the tier's terms on lines of their own, each rounded
    line = f"ROUND({own_usage}+{fee}+{topup},MinorUnits)"
    if steps.by_value:
        line = (f"IF(INDEX(RateByValue,{n})=1,ROUND({own_usage},MinorUnits)+ROUND({fee}+{topup},MinorUnits),{line})")
    fees = ""
    if "Quarterly and annual fees" in columns:
        due = f"INDEX(RateFeesDue,{n},${W_NO}{r})"
        out[columns["Quarterly and annual fees"]] = f'=IF(${W_VALUE}{r}="",{due},0)' if values else f"={due}"
        fees = f"+{at('Quarterly and annual fees')}"
    if "Usage line" not in columns:
        out[columns["Total"]] = f"={line}{fees}"
        return out
    out[columns["Usage line"]] = f"={line}"
    lines = at("Usage line")
    if values:
        out[columns["Group lines"]] = group("Group lines", lines)
        lines = at("Group lines")
    if "Discount" not in columns:
        out[columns["Total"]] = f'=IF(${W_VALUE}{r}<>"",0,{lines}{fees})'
        return out
    total = f"{lines}{fees}+{at('Discount')}+{at(_LAST_MONTH_ONLY)}"
    out[columns["Total"]] = f'=IF(${W_VALUE}{r}<>"",0,{total})' if values else f"={total}"
    if not agreement:
        return out
    key = f'${W_LINE}{r}&"|"&${W_SERVICE}{r}'
    out[columns["Agreement row"]] = f"=IF(COUNTIF(AgreementKey,{key})=0,1,MATCH({key},AgreementKey,0))"
    a = at("Agreement row")
    kept = f"(1-INDEX(AgreementPct,{a})/100)"
    discounted = (f"IF(INDEX(AgreementBefore,{a})=1,"
                  f"MAX(({used}+{fee})*{kept}-INDEX(AgreementFixed,{a}),INDEX(RateMinimum,{n}),0),"
                  f"MAX(({charge})*{kept}-INDEX(AgreementFixed,{a}),0))")
    off = f"ROUND(MIN(0,{at('Discounted charge')}-({charge})),MinorUnits)"
    if values:
        out[columns["Discounted charge"]] = f'=IF(${W_VALUE}{r}<>"",0,{discounted})'
        out[columns["Discount"]] = f'=IF(OR(${W_VALUE}{r}<>"",{charge}<=0),0,{off})'
    else:
        out[columns["Discounted charge"]] = f"={discounted}"
        out[columns["Discount"]] = f"=IF({charge}<=0,0,{off})"
    if month == 12 and own:
        # the year's rows of this business line and service: its twelve months, each `stride` rows
        first, last = r - 11 * stride, r + stride - 1
        year = "-".join(f"SUM({columns[step]}{first}:{columns[step]}{last})" for step in
                        ("Usage line", "Quarterly and annual fees", "Discount") if step in columns)
        committed = f"INDEX(AgreementCommitted,{a})"
        short = "0"
        if "Committed units" in columns:
            out |= _quantity_formulas(r, first, last, a, columns, slots)
            short = (f"IF({at('Units used')}<{at('Committed units')},"
                     f"MAX(0,ROUND({at('Amount at committed')}-{at('Amount at used')},MinorUnits)),0)")
        out[columns[_LAST_MONTH_ONLY]] = f"=IF({committed}>0,MAX(0,ROUND({committed}-{year},MinorUnits)),{short})"
    return out


def _quantity_formulas(r: int, first: int, last: int, a: str, columns: dict[str, str], slots: int) -> dict[str, str]:
    """The quantity commitment's steps on a service's last month's row ``r`` (its year's rows
    ``first`` to ``last``, agreement row in cell ``a``)."""

    def at(step: str) -> str:
        return f"{columns[step]}{r}"

    def span(column: str) -> str:
        return f"{column}{first}:{column}{last}"

    cr, model, size, f = (at("Commitment price row"), at("Commitment model"), at("Commitment block size"),
                          at("Commitment first band"))
    out = {
        columns["Committed units"]: f"=INDEX(AgreementQuantity,{a})",
        # the year's units at the commitment's tier, in months with a tariff in force
        columns["Units used"]: (f'=SUMIFS({span(columns["Quantity"])},{span(columns["Tier"])},INDEX(AgreementTier,{a}),'
                                f'{span(W_VERSION)},"<>")'),
        columns["Commitment price row"]: f'=IF(INDEX(AgreementPrice,{a})="",1,MATCH(INDEX(AgreementPrice,{a}),RateKey,0))',
        columns["Commitment model"]: f"=INDEX(RateModel,{cr})",
        columns["Commitment block size"]: f"=INDEX(RateBlockSize,{cr})",
        columns["Commitment first band"]: f"=INDEX(RateFirstBand,{cr})",
    }
    for name, units in (("committed", at("Committed units")), ("used", f"MAX(0,{at('Units used')})")):
        b = at(f"Billed {name} (whole blocks)")
        out[columns[f"Billed {name} (whole blocks)"]] = f"=IF({size}>0,ROUNDUP({units}/{size},0)*{size},{units})"
        amounts = []
        for k in range(1, slots + 1):
            band = f"{f}+{k - 1}" if k > 1 else f
            entered = at(f"Band {k} entered at {name} (1/0)")
            only = f"({entered}-{at(f'Band {k + 1} entered at {name} (1/0)')})" if k < slots else entered
            out[columns[f"Band {k} entered at {name} (1/0)"]] = (
                f"=({b}>INDEX(BandFrom,{band}))+({b}=INDEX(BandFrom,{band}))*INDEX(BandOnEdge,{band})")
            out[columns[f"Band {k} at {name}"]] = (
                f'=IF({model}="volume",{only}*({b}*INDEX(BandPrice,{band})+INDEX(BandFee,{band})),'
                f"MIN(MAX({b}-INDEX(BandFrom,{band}),0),INDEX(BandTo,{band})-INDEX(BandFrom,{band}))*INDEX(BandPrice,{band})"
                f"+{entered}*INDEX(BandFee,{band}))")
            amounts.append(at(f"Band {k} at {name}"))
        out[columns[f"Amount at {name}"]] = (
            f'=IF({model}="package",ROUNDUP({units}/{size},0)*INDEX(RateBlockPrice,{cr}),{"+".join(amounts)})')
    return out


def _layout(rows: Sequence[tuple[str, str, str]]) -> list[tuple[int, int]]:
    """Per Drivers row, (its first month's Workings row, the Workings rows a month of its service
    has: the service's own row and one per value), ``rows`` being (business line, service, value)
    per Drivers row. A service's twelve months follow each other, each month its own row then its
    values' rows."""
    out: list[tuple[int, int]] = []
    start, i = WORK_FIRST_ROW, 0
    while i < len(rows):
        k = 1
        while i + k < len(rows) and rows[i + k][2] and rows[i + k][:2] == rows[i][:2]:
            k += 1
        out += [(start + j, k) for j in range(k)]
        start += 12 * k
        i += k
    return out


def _driver_formulas(index: int, value: bool, service_row: int) -> dict[str, str]:
    """The formulas of the ``index``-th Drivers row (from 0), by column: the plan per month (the
    Total of its month's Workings row), plan − forecast and each block's total; on a value's row
    its service's tier and the totals of the volumes and amounts it has."""
    d = DRIVER_FIRST_ROW + index
    formulas = {}
    if value:
        formulas[f"{TIER}{d}"] = f"={TIER}{service_row}"
    else:
        for m in range(12):
            plan = block_column("plan", m)
            formulas[f"{plan}{d}"] = f"=INDEX(WorkTotal,${WORK_ROW}{d}+{m}*${STRIDE}{d})"
            formulas[f"{block_column('variance', m)}{d}"] = f"={plan}{d}-{block_column('forecast_cost', m)}{d}"
    for key, _title in BLOCKS:
        if value and key in ("plan", "variance", "budget"):
            continue
        formulas[f"{block_column(key, 12)}{d}"] = f"=SUM({block_column(key, 0)}{d}:{block_column(key, 11)}{d})"
    return formulas


SUMMARY_HEADER_ROW = 7
SUMMARY_COLUMNS = ("Business line", "Name", "Services", "History", "Forecast", "Plan", "Plan - forecast", "Budget loaded")
_SUMMARY_BLOCKS = {"D": "history_cost", "E": "forecast_cost", "F": "plan", "H": "budget"}


def _summary_formulas(row: int, last_driver: int) -> dict[str, str]:
    lines = f"{DRIVERS}!${LINE}${DRIVER_FIRST_ROW}:${LINE}${last_driver}"
    formulas = {}
    for column, key in _SUMMARY_BLOCKS.items():
        total = block_column(key, 12)
        formulas[f"{column}{row}"] = f"=SUMIF({lines},$A{row},{DRIVERS}!${total}${DRIVER_FIRST_ROW}:${total}${last_driver})"
    formulas[f"G{row}"] = f"=F{row}-E{row}"
    return formulas


def _summary_totals(first: int, last: int) -> dict[str, str]:
    return {f"{c}{last + 1}": f"=SUM({c}{first}:{c}{last})" for c in "DEFGH"}


def _quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


# --------------------------------------------------------------------------- writing


def _number(value: Decimal | None) -> Decimal | None:
    """A Decimal written in plain notation (``1E+2`` → ``100``)."""
    return None if value is None else Decimal(format(value, "f"))


def _text(ws, ref: str, value: object, *, font: Font | None = None) -> None:
    cell = safe_text(ws[ref], value)
    if font:
        cell.font = font


def _put(ws, ref: str, value, *, number_format: str | None = None, fill=None, unlocked: bool = False, font=None) -> None:
    cell = ws[ref]
    cell.value = _number(value) if isinstance(value, Decimal) else value
    if number_format:
        cell.number_format = number_format
    if fill:
        cell.fill = fill
    if unlocked:
        cell.protection = _UNLOCKED
    if font:
        cell.font = font


def _table(ws, name: str, first_row: int, last_row: int, last_column: str, first_column: str = "A") -> None:
    table = Table(displayName=name, ref=f"{first_column}{first_row}:{last_column}{max(last_row, first_row + 1)}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)



def optional_steps(view: PlanView) -> Steps:
    """The optional steps the workings need: fees when a price on the rate card has quarterly or
    annual fees, the agreement steps when the fiscal year has agreements, the usage line of a
    price by dimension when one is on the rate card."""
    return Steps(fees=any(any(rate.fees_due) for rate in view.rates), agreements=bool(view.agreements),
                 by_value=any(rate.by_value for rate in view.rates),
                 values=any(service.value for sheet in view.sheets for service in sheet.services),
                 quantities=any(a.commitment_quantity is not None for a in view.agreements))


def band_slots(view: PlanView) -> int:
    """Bands in each service's workings: the most bands any price on the rate card has (1 at least)."""
    counts: dict[str, int] = {}
    for band in view.bands:
        counts[band.key] = counts.get(band.key, 0) + 1
    return max([1, *counts.values()])


def _band_table(view: PlanView, slots: int) -> tuple[list[dict], dict[str, int]]:
    """The Bands table's rows, ``slots`` per price (the unused ones never entered: from and up
    to at the open edge, no price), and the row (from 1) each price's first band is on. The first
    ``slots`` rows are the bands of prices priced without bands. A per-unit price is one band from
    0, open-ended, at its unit price."""
    unused = {"lower": OPEN_BAND, "upper": OPEN_BAND, "unit_price": Decimal(0), "flat_fee": Decimal(0), "edges": "",
              "fee_at_zero": "", "on_edge": 0}
    by_key: dict[str, list[BandRow]] = {}
    for band in view.bands:
        by_key.setdefault(band.key, []).append(band)
    rows: list[dict] = [{"key": "", "band": "", **unused} for _ in range(slots)]
    first: dict[str, int] = {}
    for rate in view.rates:
        own: list[dict] = []
        if rate.model == "per_unit":
            own = [{"key": rate.key, "band": 1, "lower": Decimal(0), "upper": None, "unit_price": rate.unit_price or Decimal(0),
                    "flat_fee": Decimal(0), "edges": "inclusive", "fee_at_zero": "", "on_edge": 0}]
        for band in sorted(by_key.get(rate.key, ()), key=lambda b: b.band):
            exclusive = band.edges == "exclusive"
            on_edge = int((exclusive and band.lower > 0) or band.fee_at_zero == "charged")
            own.append({"key": rate.key, "band": band.band, "lower": band.lower, "upper": band.upper,
                        "unit_price": band.unit_price, "flat_fee": band.flat_fee, "edges": band.edges,
                        "fee_at_zero": band.fee_at_zero, "on_edge": on_edge})
        if not own:
            first[rate.key] = 1
            continue
        first[rate.key] = len(rows) + 1
        rows += own + [{"key": rate.key, "band": "", **unused} for _ in range(slots - len(own))]
    return rows, first


def _rate_card(wb: Workbook, ws, view: PlanView) -> dict[str, str]:
    money = amount_format(view.currency)
    slots = band_slots(view)
    bands, first_band = _band_table(view, slots)
    _text(ws, "A1", f"Rate card for FY{view.fiscal_year}: every tariff version in force in the year (read only)", font=_TITLE_FONT)
    _text(ws, "A2", f"An open-ended band is written as ending at {OPEN_BAND:,f}. Prices come from the engine's catalogue; "
                    "change tariffs there, not here.", font=_NOTE)
    header = RATE_HEADER_ROW
    for i, (title, _name, _attr) in enumerate(RATE_COLUMNS, start=1):
        _text(ws, f"{get_column_letter(i)}{header}", title, font=_BOLD)
    formats = {"unit_price": PRICE_FORMAT, "block_price": PRICE_FORMAT, "monthly_fee": money, "minimum": money}
    none = {attr: Decimal(0) for _t, _n, attr in RATE_COLUMNS}
    none.update(key=NO_TARIFF, service="", service_name="", version="", effective_from="", effective_to="", tier="",
                tier_name="", model="none", currency=view.currency, unit="", description="nothing is charged", first_band=1,
                by_value=0, held=0, value="")
    records = [none] + [{attr: (rate.key if attr == "key" else first_band[rate.key] if attr == "first_band"
                                else Decimal(0) if attr == "included" and rate.model == "pass_through"
                                else getattr(rate, attr))
                         for _t, _n, attr in RATE_COLUMNS} for rate in view.rates]
    for r, record in enumerate(records, start=header + 1):
        for i, (_title, _name, attr) in enumerate(RATE_COLUMNS, start=1):
            ref = f"{get_column_letter(i)}{r}"
            value = record[attr]
            if attr in ("block_size", "block_price", "unit_price", "markup_pct") and value is None:
                value = Decimal(0)  # not part of this price: 0, so every step can read it
            if isinstance(value, (Decimal, int)):
                _put(ws, ref, value, number_format=formats.get(attr))
            else:
                _text(ws, ref, value)
    last = header + len(records)
    fees_due = [(Decimal(0),) * 12] + [rate.fees_due or (Decimal(0),) * 12 for rate in view.rates]
    for m, month in enumerate(view.months):
        column = get_column_letter(FEE_FIRST_COLUMN + m)
        _text(ws, f"{column}{header}", f"Fees {month}", font=_BOLD)
        for r, due in enumerate(fees_due, start=header + 1):
            _put(ws, f"{column}{r}", due[m], number_format=money)
    _table(ws, "Rates", header, last, get_column_letter(FEE_FIRST_COLUMN + 11))
    for i, (_title, name, _attr) in enumerate(RATE_COLUMNS, start=1):
        if name:
            _define_range(wb, name, get_column_letter(i), header + 1, last)
    wb.defined_names["RateFeesDue"] = DefinedName("RateFeesDue", attr_text=(
        f"{_quoted(RATES)}!${get_column_letter(FEE_FIRST_COLUMN)}${header + 1}:"
        f"${get_column_letter(FEE_FIRST_COLUMN + 11)}${last}"))

    for i, (title, _name, _attr) in enumerate(BAND_COLUMNS):
        _text(ws, f"{get_column_letter(BAND_FIRST_COLUMN + i)}{header}", title, font=_BOLD)
    for r, band in enumerate(bands, start=header + 1):
        for i, (_title, _name, attr) in enumerate(BAND_COLUMNS):
            ref = f"{get_column_letter(BAND_FIRST_COLUMN + i)}{r}"
            value = band[attr]
            if attr == "upper" and value is None:
                value = OPEN_BAND
            if isinstance(value, str):
                _text(ws, ref, value)
            else:
                _put(ws, ref, value, number_format={"unit_price": PRICE_FORMAT, "flat_fee": money}.get(attr))
    band_last = header + len(bands)
    _table(ws, "Bands", header, band_last, get_column_letter(BAND_FIRST_COLUMN + len(BAND_COLUMNS) - 1),
           first_column=get_column_letter(BAND_FIRST_COLUMN))
    for i, (_title, name, _attr) in enumerate(BAND_COLUMNS):
        if name:
            _define_range(wb, name, get_column_letter(BAND_FIRST_COLUMN + i), header + 1, band_last)

    lists = {}
    for n, (service, tiers) in enumerate(view.tiers, start=1):
        column = get_column_letter(TIER_FIRST_COLUMN + n - 1)
        _text(ws, f"{column}{header}", service, font=_BOLD)
        for r, tier in enumerate(tiers, start=header + 1):
            _text(ws, f"{column}{r}", tier)
        lists[service] = f"TierList{n}"
        _define_range(wb, lists[service], column, header + 1, header + max(len(tiers), 1))
    _agreements(wb, ws, view, TIER_FIRST_COLUMN + len(view.tiers) + 1, money)
    ws.freeze_panes = f"B{header + 1}"
    for i, width in enumerate((24, 10, 26, 10, 11, 11, 9, 22, 12, 11, 10, 11, 9, 12, 10, 11, 10, 9, 12, 60), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    _protect(ws)
    return lists


def _agreements(wb: Workbook, ws, view: PlanView, first_column: int, money: str) -> None:
    """The Agreements table: a row per business line's agreement for a service in the fiscal
    year (its first row, ``(no agreement)``, all zeros: a service without one)."""
    header = RATE_HEADER_ROW
    none = AgreementRow(business_line="", service="", fiscal_year=view.fiscal_year, discount_pct=Decimal(0),
                        discount_amount=Decimal(0), before_minimum=False, commitment_amount=Decimal(0),
                        commitment_quantity=None, commitment_tier="")
    for i, (title, _name, _attr) in enumerate(AGREEMENT_COLUMNS):
        _text(ws, f"{get_column_letter(first_column + i)}{header}", title, font=_BOLD)
    rows = [none, *view.agreements]
    for r, agreement in enumerate(rows, start=header + 1):
        for i, (_title, _name, attr) in enumerate(AGREEMENT_COLUMNS):
            ref = f"{get_column_letter(first_column + i)}{r}"
            value = (NO_AGREEMENT if attr == "key" and agreement is none else agreement.key if attr == "key"
                     else int(agreement.before_minimum) if attr == "before" else getattr(agreement, attr))
            if isinstance(value, str):
                _text(ws, ref, value)
            elif value is not None:
                _put(ws, ref, value, number_format=money if attr in ("discount_amount", "commitment_amount") else None)
    last = header + len(rows)
    _table(ws, "Agreements", header, last, get_column_letter(first_column + len(AGREEMENT_COLUMNS) - 1),
           first_column=get_column_letter(first_column))
    for i, (_title, name, _attr) in enumerate(AGREEMENT_COLUMNS):
        if name:
            _define_range(wb, name, get_column_letter(first_column + i), header + 1, last)


def _define_range(wb: Workbook, name: str, column: str, first: int, last: int) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=f"{_quoted(RATES)}!${column}${first}:${column}${last}")



def _driver_rows(view: PlanView) -> list[tuple[PlanSheet, PlanService]]:
    """The Drivers' rows, top to bottom: each business line's services, business lines in order."""
    return [(sheet, service) for sheet in view.sheets for service in sheet.services]


def _keys(rows: Sequence[tuple[PlanSheet, PlanService]]) -> list[tuple[str, str, str]]:
    return [(sheet.business_line, service.service, service.value) for sheet, service in rows]


def plan_workbook(view: PlanView) -> bytes:
    """The planning workbook as .xlsx bytes."""
    wb = Workbook()
    wb.properties.creator = "chargeback"
    wb.properties.title = f"Chargeback plan FY{view.fiscal_year}"
    summary = wb.active
    summary.title = SUMMARY
    rates = wb.create_sheet(RATES)
    tier_lists = _rate_card(wb, rates, view)
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
    _text(ws, "A1", "Drivers: edit the yellow cells (volume per month, tier, growth %); filter by business line",
          font=_TITLE_FONT)
    actual = (f"Months up to {view.actual_through} are actual; later months are the engine's forecast. "
              if view.actual_through else "Every month is the engine's forecast. ")
    _text(ws, "A2", actual + f"Costs recalculate from the drivers and the Rate card on the {WORKINGS} sheet; "
                             f"amounts in {view.currency}.", font=_NOTE)
    _text(ws, "E3", "Volume per month", font=_BOLD)
    headers = [*DRIVER_COLUMNS, *view.months, "Tier", "Growth %", "Unit", "Workings row", "Rows a month"]
    for c, header in enumerate(headers, start=1):
        _text(ws, f"{get_column_letter(c)}{DRIVER_HEADER_ROW}", header, font=_BOLD)
    for key, title in BLOCKS:
        _text(ws, f"{block_column(key, 0)}3", title, font=_BOLD)
        labels = view.history_months if key.startswith("history") else view.months
        for m, label in enumerate([*labels, "Total"]):
            _text(ws, f"{block_column(key, m)}{DRIVER_HEADER_ROW}", label, font=_BOLD)
    layout = _layout(_keys(rows))
    service_row = DRIVER_FIRST_ROW
    for i, (sheet, service) in enumerate(rows):
        d = DRIVER_FIRST_ROW + i
        service_row = d if not service.value else service_row
        for column, value in zip("ABCDE", (sheet.business_line, sheet.name, service.service, service.service_name,
                                           service.value)):
            _text(ws, f"{column}{d}", value)
        for m, column in enumerate(MONTH_COLUMNS):
            _put(ws, f"{column}{d}", service.volumes[m], number_format=VOLUME_FORMAT, fill=_INPUT, unlocked=True)
        if not service.value:
            _text(ws, f"{TIER}{d}", service.tier)
            ws[f"{TIER}{d}"].fill, ws[f"{TIER}{d}"].protection = _INPUT, _UNLOCKED
        _put(ws, f"{GROWTH}{d}", Decimal(0), number_format=GROWTH_FORMAT, fill=_INPUT, unlocked=True)
        _text(ws, f"{UNIT}{d}", service.unit)
        _put(ws, f"{WORK_ROW}{d}", layout[i][0])
        _put(ws, f"{STRIDE}{d}", layout[i][1])
        for ref, formula in _driver_formulas(i, bool(service.value), service_row).items():
            column = ref.rstrip("0123456789")
            amount = column not in {block_column("forecast_volume", 12), block_column("history_volume", 12)}
            _put(ws, ref, formula, number_format="General" if column == TIER else money if amount else VOLUME_FORMAT,
                 fill=_FORMULA,
                 font=_BOLD if ref.rstrip("0123456789") == block_column("plan", 12) else None)
        for key, values in (("forecast_volume", service.forecast_volumes), ("forecast_cost", service.forecast_amounts),
                            ("budget", service.budget_amounts), ("history_volume", service.history_volumes),
                            ("history_cost", service.history_amounts)):
            if service.value and key == "budget":
                continue  # a budget is the service's
            for m in range(12):
                _put(ws, f"{block_column(key, m)}{d}", values[m], number_format=money if key in _AMOUNTS else VOLUME_FORMAT)

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
        ws.auto_filter.ref = f"A{DRIVER_HEADER_ROW}:{_LAST_DRIVER_COLUMN}{last}"
    else:
        _text(ws, f"A{first}", "No business line uses any service in this year.")
    ws.freeze_panes = f"{MONTH_COLUMNS[0]}{DRIVER_FIRST_ROW}"
    for column, width in zip("ABCDE", (14, 26, 12, 26, 12)):
        ws.column_dimensions[column].width = width
    for c in range(5, _FIRST_BLOCK + 13 * len(BLOCKS)):
        ws.column_dimensions[get_column_letter(c)].width = 12
    _protect(ws)


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
    _text(ws, "A1", "Cost workings: one row per business line, service and month, each column a named step "
                    "(formulas over the Drivers and the Rate card)", font=_TITLE_FONT)
    _text(ws, "A2", "Read a row left to right: its Total is the month's cost on the Drivers' Plan. "
                    "Filter by business line or service."
                    + (" The agreement steps are empty where the business line has no agreement for the service."
                       if steps.agreements else ""), font=_NOTE)
    for c, header in enumerate([*WORK_KEYS, *columns], start=1):
        _text(ws, f"{get_column_letter(c)}{WORK_HEADER_ROW}", header, font=_BOLD)
    for i, ((sheet, service), (start, stride)) in enumerate(zip(rows, _layout(_keys(rows)))):
        d = DRIVER_FIRST_ROW + i
        for m in range(1, 13):
            w = start + (m - 1) * stride
            _text(ws, f"{W_LINE}{w}", sheet.business_line)
            _text(ws, f"{W_SERVICE}{w}", service.service)
            if service.value:
                _text(ws, f"{W_VALUE}{w}", service.value)
            _text(ws, f"{W_MONTH}{w}", view.months[m - 1])
            _put(ws, f"{W_NO}{w}", m)
            if service.versions[m - 1] is not None:
                _text(ws, f"{W_VERSION}{w}", service.versions[m - 1])
            _put(ws, f"{W_DRIVER}{w}", d)
            for column, formula in working_formulas(w, m, columns, slots, steps, stride=stride, own=not service.value,
                                                    agreement=agreement_key(sheet.business_line, service.service)
                                                    in agreed).items():
                _put(ws, f"{column}{w}", formula, number_format=formats[column], fill=_FORMULA,
                     font=_BOLD if column == total else None)
    if rows:
        ws.auto_filter.ref = f"A{WORK_HEADER_ROW}:{total}{WORK_FIRST_ROW + 12 * len(rows) - 1}"
    ws.freeze_panes = f"{get_column_letter(_FIRST_STEP)}{WORK_FIRST_ROW}"
    for column, width in zip("ABCDEFG", (14, 12, 10, 9, 6, 9, 8)):
        ws.column_dimensions[column].width = width
    for column in columns.values():
        ws.column_dimensions[column].width = 12
    _protect(ws)


def _summary(ws, view: PlanView, rows: list[tuple[PlanSheet, PlanService]]) -> None:
    money = amount_format(view.currency)
    _text(ws, "A1", f"{TITLE}{view.fiscal_year}", font=_TITLE_FONT)
    _text(ws, "A2", "Fiscal year")
    _put(ws, "B2", view.fiscal_year)
    _text(ws, "A3", "Currency")
    _text(ws, "B3", view.currency)
    _text(ws, "A4", "Months")
    _text(ws, "B4", f"{view.months[0]} to {view.months[-1]}")
    _text(ws, "A5", f"Edit the drivers on the {DRIVERS} sheet (filter it by business line); load the edited workbook "
                    "back with `chargeback budget load` to make its plan the budget.", font=_NOTE)
    _text(ws, "A6", "Minor units")
    _put(ws, MINOR_UNITS_CELL, minor_units(view.currency))
    _text(ws, "C6", "Bands per price")
    _put(ws, BAND_SLOTS_CELL, band_slots(view))
    steps = optional_steps(view)
    _text(ws, "E6", "Fee steps")
    _put(ws, FEE_STEPS_CELL, int(steps.fees))
    _text(ws, "G6", "Agreement steps")
    _put(ws, AGREEMENT_STEPS_CELL, int(steps.agreements))
    _text(ws, "I6", "Usage by value")
    _put(ws, BY_VALUE_CELL, int(steps.by_value))
    _text(ws, "K6", "Value rows")
    _put(ws, VALUES_CELL, int(steps.values))
    _text(ws, "M6", "Quantity commitment steps")
    _put(ws, QUANTITIES_CELL, int(steps.quantities))
    for c, header in enumerate(SUMMARY_COLUMNS, start=1):
        _text(ws, f"{get_column_letter(c)}{SUMMARY_HEADER_ROW}", header, font=_BOLD)
    first = SUMMARY_HEADER_ROW + 1
    last_driver = max(DRIVER_FIRST_ROW, DRIVER_FIRST_ROW + len(rows) - 1)
    for r, sheet in enumerate(view.sheets, start=first):
        _text(ws, f"A{r}", sheet.business_line)
        _text(ws, f"B{r}", sheet.name)
        _put(ws, f"C{r}", sum(1 for service in sheet.services if not service.value))
        for ref, formula in _summary_formulas(r, last_driver).items():
            _put(ws, ref, formula, number_format=money, fill=_FORMULA)
    last = first + len(view.sheets) - 1
    if view.sheets:
        _table(ws, "PlanSummary", SUMMARY_HEADER_ROW, last, get_column_letter(len(SUMMARY_COLUMNS)))
        _text(ws, f"A{last + 1}", "Total", font=_BOLD)
        for ref, formula in _summary_totals(first, last).items():
            _put(ws, ref, formula, number_format=money, fill=_FORMULA, font=_BOLD)
    else:
        _text(ws, f"A{first}", "No business line uses any service in this year.")
    ws.freeze_panes = f"A{first}"
    for column, width in zip("ABCDEFGH", (14, 30, 10, 16, 16, 16, 16, 16)):
        ws.column_dimensions[column].width = width
    _protect(ws)


def _protect(ws) -> None:
    """Locked cells cannot change (no password: it prevents accidents, it is not access
    control); columns may still be widened and a filter set."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.autoFilter = False


# --------------------------------------------------------------------------- reading back



def is_plan_workbook(raw: bytes) -> bool:
    """True when ``raw`` is an .xlsx this module wrote (its Summary sheet's title says so)."""
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


def normalise_formula(text: str) -> str:
    """A formula as compared: no spaces, quotes, ``$`` or ``_xlfn.`` outside string literals,
    upper case; string literals as written (Excel and LibreOffice re-save formulas so)."""
    parts = text.lstrip("=").split('"')
    for i in range(0, len(parts), 2):  # outside string literals
        parts[i] = re.sub(r"\s+|\$|'", "", parts[i]).upper().replace("_XLFN.", "")
    return '"'.join(parts)


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def ref(self, sheet: str, cell: str) -> SourceRef:
        location = f"{_quoted(sheet) if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', sheet) else sheet}!{cell}"
        return SourceRef(file=self.file, location=location)

    def report(self, code: ProblemCode, message: str, sheet: str, cell: str, hint: str | None = None,
               severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(code=code, message=message, source=self.ref(sheet, cell), hint=hint, severity=severity))

    def number(self, ws, cell: str, what: str) -> Decimal | None:
        value = ws[cell].value
        if value is None or (isinstance(value, str) and not value.strip()):
            return Decimal(0)
        if isinstance(value, str) and value.startswith("="):
            self.report(ProblemCode.VALUE_INVALID, f"the {what} holds a formula ({value[:40]})", ws.title, cell,
                        "type a number: a driver cell must hold a value")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            self.report(ProblemCode.NOT_A_NUMBER, f"the {what} {cell_text(value)!r} is not a number", ws.title, cell)
            return None
        try:
            return D(cell_text(value))
        except ValueError:
            self.report(ProblemCode.NOT_A_NUMBER, f"the {what} {cell_text(value)!r} is not a number", ws.title, cell)
            return None

    def empty(self, ws, cells: Sequence[str], line: str, service: str) -> None:
        """``cells`` are agreement steps of a row without an agreement: the writer leaves them empty."""
        for cell in cells:
            value = ws[cell].value
            if value not in (None, ""):
                self.report(ProblemCode.INCONSISTENT, f"this agreement step holds {cell_text(value)!r}, but {line} has "
                            f"no agreement for {service}: the cell is empty in the plan", ws.title, cell,
                            "clear the cell or make the plan again; agreements come from the tariffs")

    def formulas(self, ws, expected: dict[str, str]) -> None:
        for cell, formula in expected.items():
            value = ws[cell].value
            if not (isinstance(value, str) and value.startswith("=")):
                self.report(ProblemCode.INCONSISTENT, f"the formula in this cell was replaced by {cell_text(value)!r}",
                            ws.title, cell, f"put the formula back ({formula[:60]}...) or make the plan again")
            elif normalise_formula(value) != normalise_formula(formula):
                self.report(ProblemCode.INCONSISTENT, "the formula in this cell was changed", ws.title, cell,
                            "costs are computed from the drivers only: undo the change or make the plan again")



def read_plan_workbook(raw: bytes, file: str) -> tuple[PlanWorkbook | None, list[Problem]]:
    """The drivers of a planning workbook, or None with every problem found (``sheet!cell``):
    a changed or replaced formula, a formula or text in a driver cell, rows or columns moved.
    Business lines, services and tiers are checked by ``billing.planning.budgets.budget_from_plan``."""
    reader = _Reader(file)
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
            reader.formulas(summary, _summary_formulas(r, last_driver))
        if lines:
            reader.formulas(summary, _summary_totals(first, first + len(lines) - 1))
    if drivers is None or any(p.severity is Severity.ERROR for p in reader.problems):
        return None, reader.problems
    return PlanWorkbook(file=file, fiscal_year=int(year), currency=currency, drivers=tuple(drivers)), reader.problems


def _headers_moved(reader: _Reader, ws, row: int, expected: dict[str, str]) -> bool:
    for column, header in expected.items():
        if ws[f"{column}{row}"].value != header:
            reader.report(ProblemCode.INCONSISTENT, f"expected the heading {header!r} here: columns were inserted, deleted "
                          "or moved", ws.title, f"{column}{row}", "make the plan again and copy your drivers into it")
            return True
    return False


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


def _read_drivers(reader: _Reader, ws, work, slots: int, steps: Steps, agreed: set[str]
                  ) -> tuple[list[PlanDriver], list[tuple[str, str, str]]] | None:
    """The drivers of every row of the Drivers sheet, and (business line, service, value) of each
    row; None when rows or columns were moved. ``agreed``: the keys of the agreements (their rows
    hold the agreement steps, the other rows leave them empty)."""
    fixed = dict(zip("ABCDE", DRIVER_COLUMNS)) | {TIER: "Tier", GROWTH: "Growth %", UNIT: "Unit", WORK_ROW: "Workings row",
                                                   STRIDE: "Rows a month"}
    columns = working_columns(slots, steps)
    blank = [columns[step] for step in agreement_steps(slots, steps)]
    keys = {get_column_letter(c): header for c, header in enumerate([*WORK_KEYS, *columns], start=1)}
    if _headers_moved(reader, ws, DRIVER_HEADER_ROW, fixed) or _headers_moved(reader, work, WORK_HEADER_ROW, keys):
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
    for i, ((line, service, value), (start, stride)) in enumerate(zip(rows, _layout(rows))):
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
        reader.formulas(ws, _driver_formulas(i, bool(value), service_row))
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
