"""The planning workbook: a summary, the rate card, the drivers and the cost workings; live formulas.

``plan_workbook(view) -> bytes`` writes it; ``read_plan_workbook(raw, file)`` reads a planner's
edited copy back (the drivers, with every changed formula reported by ``sheet!cell``). Both
use the one layout (``layout``, ``steps``, ``formulas``), so a formula is checked against exactly what
the writer writes.
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

The package, a module a job: ``layout`` (where every sheet, row and column is), ``steps`` (the
named steps of the cost workings, and which a workbook has), ``formulas`` (every formula, by
cell), ``cells`` (how a cell is written and styled), ``rate_card`` (the Rate card sheet), ``write``
(the workbook, sheet by sheet), ``refusals`` (what reading a copy back refuses, by ``sheet!cell``)
and ``read`` (the drivers read back).
"""

from __future__ import annotations

from billing.planning.workbook import OPEN_BAND, BandRow, PlanService, PlanSheet, PlanView, RateRow
from reports.plan_xlsx.formulas import working_formulas
from reports.plan_xlsx.layout import (
    DRIVER_FIRST_ROW, DRIVERS, GROWTH, MONTH_COLUMNS, TIER, WORK_FIRST_ROW, WORKINGS, block_column,
)
from reports.plan_xlsx.read import is_plan_workbook, read_plan_workbook
from reports.plan_xlsx.steps import Steps, agreement_steps, band_slots, optional_steps, working_columns, working_steps
from reports.plan_xlsx.write import plan_workbook

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
    "agreement_steps",
    "block_column",
    "DRIVERS",
    "WORKINGS",
    "DRIVER_FIRST_ROW",
    "WORK_FIRST_ROW",
    "MONTH_COLUMNS",
    "TIER",
    "GROWTH",
]
