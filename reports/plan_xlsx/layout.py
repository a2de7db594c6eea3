"""Where everything is in the planning workbook: its sheets, their header and first rows, the
columns of the Drivers, the Workings, the Rate card's tables and the Summary, and which Workings
rows price each Drivers row. The writer (``write``, ``rate_card``) and the reader (``read``) both
use it, so a cell is read back where it was written."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.utils import get_column_letter

SUMMARY = "Summary"
RATES = "Rate card"
DRIVERS = "Drivers"
WORKINGS = "Workings"
TITLE = "Chargeback plan FY"

# The Drivers sheet: a row per business line and service from DRIVER_FIRST_ROW.
DRIVER_HEADER_ROW = 4
DRIVER_FIRST_ROW = 5
DRIVER_COLUMNS = ("Business line", "Business line name", "Service", "Service name", "Value")
LINE, SERVICE, VALUE = "A", "C", "E"
MONTH_COLUMNS = tuple(get_column_letter(6 + i) for i in range(12))  # F..Q: the volumes
TIER, GROWTH, UNIT, WORK_ROW, STRIDE = "R", "S", "T", "U", "V"
FIRST_BLOCK = 23  # W
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
AMOUNT_BLOCKS = {"plan", "variance", "forecast_cost", "budget", "history_cost"}


def block_column(key: str, month: int) -> str:
    """The Drivers column of block ``key``'s month ``month`` (0 to 11; 12: its Total)."""
    return get_column_letter(FIRST_BLOCK + 13 * _BLOCK_INDEX[key] + month)


LAST_DRIVER_COLUMN = block_column(BLOCKS[-1][0], 12)

# The Workings sheet: a row per business line, service and month from WORK_FIRST_ROW.
WORK_HEADER_ROW = 3
WORK_FIRST_ROW = 4
WORK_KEYS = ("Business line", "Service", "Value", "Month", "Month no.", "Version", "Drivers row")
W_LINE, W_SERVICE, W_VALUE, W_MONTH, W_NO, W_VERSION, W_DRIVER = "A", "B", "C", "D", "E", "F", "G"
FIRST_STEP = 8  # H


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


def work_rows(rows: Sequence[tuple[str, str, str]]) -> list[tuple[int, int]]:
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


SUMMARY_HEADER_ROW = 7
SUMMARY_COLUMNS = ("Business line", "Name", "Services", "History", "Forecast", "Plan", "Plan - forecast", "Budget loaded")
SUMMARY_BLOCKS = {"D": "history_cost", "E": "forecast_cost", "F": "plan", "H": "budget"}


def quoted(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"
