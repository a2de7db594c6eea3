"""Every formula the planning workbook holds, by cell: the cost workings' steps
(``working_formulas``), the Drivers' plan, variance and totals, the Summary's totals by business
line. The writer writes them and the reader compares a planner's copy with them."""

from __future__ import annotations

from reports.plan_xlsx.layout import (
    BLOCKS, DRIVER_FIRST_ROW, DRIVERS, LINE, STRIDE, SUMMARY_BLOCKS, TIER, W_DRIVER, W_LINE, W_NO, W_SERVICE, W_VALUE,
    W_VERSION, WORK_ROW, block_column,
)
from reports.plan_xlsx.steps import LAST_MONTH_ONLY, Steps


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
        band = _band(f, k)
        entered = at(f"Band {k} entered (1/0)")
        # volume pricing: only the highest band entered prices (all of) the quantity
        only = f"({entered}-{at(f'Band {k + 1} entered (1/0)')})" if k < slots else entered
        out[columns[f"Band {k} entered (1/0)"]] = _entered(b, band)
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
    total = f"{lines}{fees}+{at('Discount')}+{at(LAST_MONTH_ONLY)}"
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
        out[columns[LAST_MONTH_ONLY]] = f"=IF({committed}>0,MAX(0,ROUND({committed}-{year},MinorUnits)),{short})"
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
            band = _band(f, k)
            entered = at(f"Band {k} entered at {name} (1/0)")
            only = f"({entered}-{at(f'Band {k + 1} entered at {name} (1/0)')})" if k < slots else entered
            out[columns[f"Band {k} entered at {name} (1/0)"]] = _entered(b, band)
            out[columns[f"Band {k} at {name}"]] = (
                f'=IF({model}="volume",{only}*({b}*INDEX(BandPrice,{band})+INDEX(BandFee,{band})),'
                f"MIN(MAX({b}-INDEX(BandFrom,{band}),0),INDEX(BandTo,{band})-INDEX(BandFrom,{band}))*INDEX(BandPrice,{band})"
                f"+{entered}*INDEX(BandFee,{band}))")
            amounts.append(at(f"Band {k} at {name}"))
        out[columns[f"Amount at {name}"]] = (
            f'=IF({model}="package",ROUNDUP({units}/{size},0)*INDEX(RateBlockPrice,{cr}),{"+".join(amounts)})')
    return out


def driver_formulas(index: int, value: bool, service_row: int) -> dict[str, str]:
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


def _band(first: str, k: int) -> str:
    """The Bands row of a price's ``k``-th band, its first band's row being ``first``."""
    return f"{first}+{k - 1}" if k > 1 else first


def _entered(quantity: str, band: str) -> str:
    """1 when ``quantity`` enters ``band``: above its lower edge, or on it where the price's edges
    are exclusive (BandOnEdge 1), else 0."""
    return f"=({quantity}>INDEX(BandFrom,{band}))+({quantity}=INDEX(BandFrom,{band}))*INDEX(BandOnEdge,{band})"


def summary_formulas(row: int, last_driver: int) -> dict[str, str]:
    lines = f"{DRIVERS}!${LINE}${DRIVER_FIRST_ROW}:${LINE}${last_driver}"
    formulas = {}
    for column, key in SUMMARY_BLOCKS.items():
        total = block_column(key, 12)
        formulas[f"{column}{row}"] = f"=SUMIF({lines},$A{row},{DRIVERS}!${total}${DRIVER_FIRST_ROW}:${total}${last_driver})"
    formulas[f"G{row}"] = f"=F{row}-E{row}"
    return formulas


def summary_totals(first: int, last: int) -> dict[str, str]:
    return {f"{c}{last + 1}": f"=SUM({c}{first}:{c}{last})" for c in "DEFGH"}
