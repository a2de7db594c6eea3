"""The Rate card sheet: every tariff version in force in the fiscal year (table ``Rates``), their
bands (``Bands``), each service's tiers (the drop-down lists) and the Agreements, with the named
ranges the formulas read them by."""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from billing.planning.workbook import OPEN_BAND, AgreementRow, BandRow, PlanView
from reports.plan_xlsx.cells import BOLD, NOTE, PRICE_FORMAT, TITLE_FONT, add_table, protect, put, put_text
from reports.plan_xlsx.layout import (
    AGREEMENT_COLUMNS, BAND_COLUMNS, BAND_FIRST_COLUMN, FEE_FIRST_COLUMN, NO_AGREEMENT, NO_TARIFF, RATE_COLUMNS,
    RATE_HEADER_ROW, RATES, TIER_FIRST_COLUMN, quoted,
)
from reports.plan_xlsx.steps import band_slots
from reports.xlsx import amount_format


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


def rate_card_sheet(wb: Workbook, ws, view: PlanView) -> dict[str, str]:
    money = amount_format(view.currency)
    slots = band_slots(view)
    bands, first_band = _band_table(view, slots)
    put_text(ws, "A1", f"Rate card for FY{view.fiscal_year}: every tariff version in force in the year (read only)", font=TITLE_FONT)
    put_text(ws, "A2", f"An open-ended band is written as ending at {OPEN_BAND:,f}. Prices come from the engine's catalogue; "
                    "change tariffs there, not here.", font=NOTE)
    header = RATE_HEADER_ROW
    for i, (title, _name, _attr) in enumerate(RATE_COLUMNS, start=1):
        put_text(ws, f"{get_column_letter(i)}{header}", title, font=BOLD)
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
                put(ws, ref, value, number_format=formats.get(attr))
            else:
                put_text(ws, ref, value)
    last = header + len(records)
    fees_due = [(Decimal(0),) * 12] + [rate.fees_due or (Decimal(0),) * 12 for rate in view.rates]
    for m, month in enumerate(view.months):
        column = get_column_letter(FEE_FIRST_COLUMN + m)
        put_text(ws, f"{column}{header}", f"Fees {month}", font=BOLD)
        for r, due in enumerate(fees_due, start=header + 1):
            put(ws, f"{column}{r}", due[m], number_format=money)
    add_table(ws, "Rates", header, last, get_column_letter(FEE_FIRST_COLUMN + 11))
    for i, (_title, name, _attr) in enumerate(RATE_COLUMNS, start=1):
        if name:
            _define_range(wb, name, get_column_letter(i), header + 1, last)
    wb.defined_names["RateFeesDue"] = DefinedName("RateFeesDue", attr_text=(
        f"{quoted(RATES)}!${get_column_letter(FEE_FIRST_COLUMN)}${header + 1}:"
        f"${get_column_letter(FEE_FIRST_COLUMN + 11)}${last}"))

    for i, (title, _name, _attr) in enumerate(BAND_COLUMNS):
        put_text(ws, f"{get_column_letter(BAND_FIRST_COLUMN + i)}{header}", title, font=BOLD)
    for r, band in enumerate(bands, start=header + 1):
        for i, (_title, _name, attr) in enumerate(BAND_COLUMNS):
            ref = f"{get_column_letter(BAND_FIRST_COLUMN + i)}{r}"
            value = band[attr]
            if attr == "upper" and value is None:
                value = OPEN_BAND
            if isinstance(value, str):
                put_text(ws, ref, value)
            else:
                put(ws, ref, value, number_format={"unit_price": PRICE_FORMAT, "flat_fee": money}.get(attr))
    band_last = header + len(bands)
    _table_with_ranges(wb, ws, "Bands", BAND_COLUMNS, first_column=BAND_FIRST_COLUMN, header=header, last=band_last)

    lists = {}
    for n, (service, tiers) in enumerate(view.tiers, start=1):
        column = get_column_letter(TIER_FIRST_COLUMN + n - 1)
        put_text(ws, f"{column}{header}", service, font=BOLD)
        for r, tier in enumerate(tiers, start=header + 1):
            put_text(ws, f"{column}{r}", tier)
        lists[service] = f"TierList{n}"
        _define_range(wb, lists[service], column, header + 1, header + max(len(tiers), 1))
    _agreements(wb, ws, view, TIER_FIRST_COLUMN + len(view.tiers) + 1, money)
    ws.freeze_panes = f"B{header + 1}"
    for i, width in enumerate((24, 10, 26, 10, 11, 11, 9, 22, 12, 11, 10, 11, 9, 12, 10, 11, 10, 9, 12, 60), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    protect(ws)
    return lists


def _agreements(wb: Workbook, ws, view: PlanView, first_column: int, money: str) -> None:
    """The Agreements table: a row per business line's agreement for a service in the fiscal
    year (its first row, ``(no agreement)``, all zeros: a service without one)."""
    header = RATE_HEADER_ROW
    none = AgreementRow(business_line="", service="", fiscal_year=view.fiscal_year, discount_pct=Decimal(0),
                        discount_amount=Decimal(0), before_minimum=False, commitment_amount=Decimal(0),
                        commitment_quantity=None, commitment_tier="")
    for i, (title, _name, _attr) in enumerate(AGREEMENT_COLUMNS):
        put_text(ws, f"{get_column_letter(first_column + i)}{header}", title, font=BOLD)
    rows = [none, *view.agreements]
    for r, agreement in enumerate(rows, start=header + 1):
        for i, (_title, _name, attr) in enumerate(AGREEMENT_COLUMNS):
            ref = f"{get_column_letter(first_column + i)}{r}"
            value = (NO_AGREEMENT if attr == "key" and agreement is none else agreement.key if attr == "key"
                     else int(agreement.before_minimum) if attr == "before" else getattr(agreement, attr))
            if isinstance(value, str):
                put_text(ws, ref, value)
            elif value is not None:
                put(ws, ref, value, number_format=money if attr in ("discount_amount", "commitment_amount") else None)
    last = header + len(rows)
    _table_with_ranges(wb, ws, "Agreements", AGREEMENT_COLUMNS, first_column=first_column, header=header, last=last)


def _table_with_ranges(wb: Workbook, ws, table: str, columns, *, first_column: int, header: int, last: int) -> None:
    """``columns`` (title, range name, attribute) from ``first_column`` as the Excel table
    ``table`` (rows ``header`` to ``last``), each named column also a range of its own."""
    add_table(ws, table, header, last, get_column_letter(first_column + len(columns) - 1),
              first_column=get_column_letter(first_column))
    for i, (_title, name, _attr) in enumerate(columns):
        if name:
            _define_range(wb, name, get_column_letter(first_column + i), header + 1, last)


def _define_range(wb: Workbook, name: str, column: str, first: int, last: int) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quoted(RATES)}!${column}${first}:${column}${last}")
