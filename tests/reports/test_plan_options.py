"""Every pricing option the plan workbook prices, recalculated by LibreOffice from its cost
workings and compared with the engine's own pricing (``tariffs.pricing.price_usage``, rounded
once by ``round_minor``) to the cent, month by month, on quantities chosen to sit on and around
band edges, block boundaries and the included quantity."""

from decimal import Decimal as D

import pytest

from billing.core.money import round_minor
from billing.planning.budgets import budget_from_plan, plan_year
from billing.planning.workbook import PlanService, PlanSheet, PlanView, RateRow, agreement_rows, price_bands, rate_card
from reports.plan_xlsx import (
    DRIVER_FIRST_ROW, WORK_FIRST_ROW, Steps, agreement_steps, block_column, optional_steps, plan_workbook,
    read_plan_workbook, working_columns,
)
from tariffs.load import load_catalogue
from tariffs.model import Band, BandEdges, FeeAtZero, PricingModel, TierPrice
from tariffs.pricing import price_usage
from tariffs.validate import validate_catalogue
from tests.planning.test_plan_workbook import cell_values, recalculate

MONTHS = tuple(f"2027-{m:02d}" for m in range(1, 13))
BANDS = (Band(up_to=D(100), unit_price=D("0.5"), flat_fee=D("10")), Band(up_to=D(500), unit_price=D("0.3"), flat_fee=D("5")),
         Band(up_to=None, unit_price=D("0.125")))
PRICES = {
    "PER_UNIT": TierPrice(model=PricingModel.PER_UNIT, unit_price=D("1.2345"), included_quantity=D(10), monthly_fee=D(5)),
    "GRADUATED": TierPrice(model=PricingModel.GRADUATED, bands=BANDS, minimum_charge=D(30)),
    "VOLUME": TierPrice(model=PricingModel.VOLUME, bands=BANDS, monthly_fee=D("2.5")),
    "BLOCKS": TierPrice(model=PricingModel.GRADUATED, bands=BANDS, block_size=D(50)),
    "VOL_BLOCKS_EXCL": TierPrice(model=PricingModel.VOLUME, bands=BANDS, block_size=D(50), band_edges=BandEdges.EXCLUSIVE),
    "EXCLUSIVE": TierPrice(model=PricingModel.GRADUATED, bands=BANDS, band_edges=BandEdges.EXCLUSIVE),
    "AT_ZERO": TierPrice(model=PricingModel.GRADUATED, bands=BANDS, flat_fee_at_zero=FeeAtZero.CHARGED, included_quantity=D(3)),
    "PACKAGE": TierPrice(model=PricingModel.PACKAGE, block_size=D(25), block_price=D("19.99"), minimum_charge=D(20)),
    "PASS": TierPrice(model=PricingModel.PASS_THROUGH, markup_pct=D("7.5")),
    "FIXED": TierPrice(model=PricingModel.FIXED, monthly_fee=D("1234.565")),
}
VOLUMES = tuple(D(v) for v in ("0", "1", "99.99", "100", "100.01", "149", "150", "500", "501", "777.77", "10", "13"))


def view(currency: str) -> PlanView:
    rates, bands, services = [], [], []
    for code, price in PRICES.items():
        rates.append(RateRow(service=code, service_name=code, version="1", effective_from="2027-01-01", effective_to="",
                             tier="t", tier_name="T", model=price.model.value, unit_price=price.unit_price,
                             block_size=price.block_size, block_price=price.block_price, markup_pct=price.markup_pct,
                             monthly_fee=price.monthly_fee, included=price.included_quantity, minimum=price.minimum_charge,
                             currency=currency, unit="unit", description=code))
        bands += price_bands(code, "1", "t", price)
        zeros = (D(0),) * 12
        services.append(PlanService(service=code, service_name=code, unit="unit", tier="t", versions=("1",) * 12,
                                    volumes=VOLUMES, forecast_volumes=VOLUMES, forecast_amounts=zeros,
                                    budget_amounts=(None,) * 12, history_volumes=zeros, history_amounts=zeros))
    return PlanView(fiscal_year=2027, months=MONTHS, history_months=MONTHS, actual_through=None, currency=currency,
                    rates=tuple(rates), bands=tuple(bands), tiers=tuple((c, ("t",)) for c in PRICES),
                    sheets=(PlanSheet(business_line="FIN", name="Finance", services=tuple(services)),))


def engine(price: TierPrice, volume: D, currency: str) -> D:
    cost = volume if price.model is PricingModel.PASS_THROUGH else D(0)
    return round_minor(price_usage(price, volume, cost=cost).amount, currency)


@pytest.mark.libreoffice
@pytest.mark.parametrize("currency", ["USD", "JPY", "BHD"])
def test_libreoffice_prices_every_option_from_the_workings_as_the_engine_does(tmp_path, currency):
    path = tmp_path / f"options-{currency}.xlsx"
    path.write_bytes(plan_workbook(view(currency)))
    cells = {f"Drivers!{block_column('plan', m)}{DRIVER_FIRST_ROW + i}": (price, VOLUMES[m])
             for i, price in enumerate(PRICES.values()) for m in range(12)}
    [recalculated] = recalculate([path], tmp_path / "recalculated")
    figures = cell_values(recalculated, cells)
    wrong = {cell: (figures[cell], engine(price, volume, currency)) for cell, (price, volume) in cells.items()
             if abs(figures[cell] - engine(price, volume, currency)) >= D("0.000001")}
    assert wrong == {}
    # the options do change the figures: a started block, the exclusive edge, the fee at zero
    assert engine(PRICES["BLOCKS"], D(101), currency) == engine(PRICES["BLOCKS"], D(150), currency)
    assert engine(PRICES["EXCLUSIVE"], D(100), currency) != engine(PRICES["GRADUATED"], D(100), currency)
    assert engine(PRICES["AT_ZERO"], D(0), currency) == D(10)


TERMS_CATALOGUE = """\
units:
  - {code: u, name: units}
services:
  - {code: FEES, name: Fees and blocks, unit: u, kind: it, owner: IT, default_tier: t,
     tiers: [{code: t, name: T, funding_level: standard}]}
  - {code: DISC, name: Fixed discount before the minimum, unit: u, kind: it, owner: IT, default_tier: t,
     tiers: [{code: t, name: T, funding_level: standard}]}
  - {code: DIMS, name: By region, unit: u, kind: it, owner: IT, default_tier: t, dimension: region,
     tiers: [{code: t, name: T, funding_level: standard}]}
  - {code: HELD, name: By region held, unit: u, kind: it, owner: IT, default_tier: t, dimension: region,
     tiers: [{code: t, name: T, funding_level: standard}]}
  - {code: QTY, name: Units committed at graduated blocks, unit: u, kind: it, owner: IT, default_tier: t,
     tiers: [{code: t, name: T, funding_level: standard}]}
  - {code: QVOL, name: Units committed at volume bands, unit: u, kind: it, owner: IT, default_tier: t,
     tiers: [{code: t, name: T, funding_level: standard}]}
tariffs:
  - service: FEES
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: graduated
        block_size: 50
        bands: [{up_to: 100, unit_price: "0.5", flat_fee: "10"}, {up_to: 500, unit_price: "0.3"}, {unit_price: "0.125"}]
        minimum_charge: "30"
        fees:
          - {name: Licence, amount: "1200.005", every: annual, billing: in_advance}
          - {name: Support, amount: "100.01", every: quarterly, billing: spread}
  - service: DISC
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t: {model: per_unit, unit_price: "1.2345", minimum_charge: "120"}
  - service: DIMS
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: volume
        monthly_fee: "12.5"
        minimum_charge: "40"
        unknown: default
        bands: [{up_to: 100, unit_price: "0.4"}, {unit_price: "0.2"}]
        by_value:
          eu-west: {bands: [{up_to: 100, unit_price: "0.3"}, {unit_price: "0.1"}]}
        fees:
          - {name: Region licence, amount: "90", every: quarterly, billing: in_advance}
  - service: HELD
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: per_unit
        monthly_fee: "7.77"
        unknown: quarantine
        by_value:
          eu-west: {unit_price: "0.3"}
  - service: QTY
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: graduated
        block_size: 10
        monthly_fee: "3"
        bands: [{up_to: 1000, unit_price: "0.15", flat_fee: "5"}, {unit_price: "0.1"}]
  - service: QVOL
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: volume
        bands: [{up_to: 1000, unit_price: "0.2"}, {unit_price: "0.12"}]
agreements:
  - {business_line: FIN, service: FEES, fiscal_year: 2027, commitment: {amount: "9000"}, discount: {percent: "12.5"}}
  - {business_line: FIN, service: QTY, fiscal_year: 2027, commitment: {quantity: 5000, tier: t}}
  - {business_line: OPS, service: QVOL, fiscal_year: 2027, commitment: {quantity: 3000, tier: t}, discount: {percent: 10}}
  - {business_line: FIN, service: DISC, fiscal_year: 2027, discount: {amount: "25", applies: before_minimum}}
  - {business_line: FIN, service: DIMS, fiscal_year: 2027, discount: {percent: 5}, commitment: {amount: "50"}}
  - {business_line: OPS, service: FEES, fiscal_year: 2027, discount: {percent: 50}}
"""
TERM_VOLUMES = tuple(D(v) for v in ("0", "1", "99.99", "100", "100.01", "149", "150", "500", "501", "777.77", "10", "13"))


def valid_catalogue(tmp_path, text: str, currency: str):
    """``text`` (a catalogue with ``CUR`` for its currency) written to a tariffs folder and
    loaded: a catalogue ``tariffs validate`` accepts."""
    source = tmp_path / "tariffs"
    source.mkdir()
    (source / "catalogue.yaml").write_text(text.replace("CUR", currency), encoding="utf-8")
    catalogue, problems = load_catalogue(source)
    assert problems == [] and validate_catalogue(catalogue) == []
    return catalogue


def terms_view(catalogue, currency: str) -> PlanView:
    """The plan of FIN and OPS taking every service of ``catalogue`` all year, as the plan job
    builds its rate card and agreements (``billing.planning.workbook``)."""
    codes = [s.code for s in catalogue.services]
    rates, bands = rate_card(catalogue, codes, MONTHS, currency, 1)
    zeros = (D(0),) * 12
    sheets = tuple(PlanSheet(business_line=line, name=line, services=tuple(
        PlanService(service=code, service_name=code, unit="u", tier="t", versions=("1",) * 12, volumes=TERM_VOLUMES,
                    forecast_volumes=TERM_VOLUMES, forecast_amounts=zeros, budget_amounts=(None,) * 12,
                    history_volumes=zeros, history_amounts=zeros) for code in codes)) for line in ("FIN", "OPS"))
    return PlanView(fiscal_year=2027, months=MONTHS, history_months=MONTHS, actual_through=None, currency=currency,
                    rates=tuple(rates), bands=tuple(bands), tiers=tuple((c, ("t",)) for c in codes), sheets=sheets,
                    agreements=tuple(agreement_rows(catalogue, 2027, {(l, c) for l in ("FIN", "OPS") for c in codes})))


@pytest.mark.libreoffice
@pytest.mark.parametrize("currency", ["USD", "JPY", "BHD"])
def test_libreoffice_prices_fees_discounts_true_ups_and_a_price_by_dimension_as_the_engine_does(tmp_path, currency):
    # a block band with quarterly and annual fees, 12.5 % off and a commitment trued-up in
    # December (FIN); a fixed discount before the minimum; a price by region (the plan's volume
    # names no region: the default price, the tier's fee and minimum once) with a fee, a discount
    # and a commitment; a price by region that holds unlisted values (its terms only); OPS: 50 %
    # off and no commitment. Each Plan cell, recalculated by LibreOffice, is the engine's month
    # (billing.planning.budgets.plan_year: rating's own functions) to the minor unit.
    catalogue = valid_catalogue(tmp_path, TERMS_CATALOGUE, currency)
    plan = terms_view(catalogue, currency)
    assert optional_steps(plan) == Steps(fees=True, agreements=True, by_value=True, quantities=True)
    path = tmp_path / f"terms-{currency}.xlsx"
    path.write_bytes(plan_workbook(plan))
    codes = [s.code for s in catalogue.services]
    expected = {}
    cells = {}
    for n, line in enumerate(("FIN", "OPS")):
        for i, code in enumerate(codes):
            year = plan_year(catalogue, line, code, "t", MONTHS, [catalogue.tariffs[i]] * 12, TERM_VOLUMES, 1, currency)
            row = DRIVER_FIRST_ROW + n * len(codes) + i  # the Drivers row of the line's service
            for m in range(12):
                expected[f"Drivers!{block_column('plan', m)}{row}"] = year[m]
                cells[(line, code, m)] = f"Drivers!{block_column('plan', m)}{row}"
    [recalculated] = recalculate([path], tmp_path / "recalculated")
    figures = cell_values(recalculated, expected)
    wrong = {cell: (figures[cell], month) for cell, month in expected.items()
             if abs(figures[cell] - month.amount) >= D("0.000001")}
    assert wrong == {}
    # every term does change the figures: fees in advance and spread, a discount before and after
    # the minimum, a true-up, the region's terms once
    fin = {code: [expected[cells[("FIN", code, m)]] for m in range(12)] for code in codes}
    assert fin["FEES"][0].fees > fin["FEES"][1].fees > 0 and fin["FEES"][-1].true_up > 0
    assert all(m.discount < 0 for m in fin["FEES"][1:]) and any(m.discount < 0 for m in fin["DISC"])
    assert any(m.discount == 0 and m.usage > 0 for m in fin["DISC"])  # the minimum holds
    assert fin["DIMS"][0].fees > 0 and fin["DIMS"][-1].true_up == 0 and fin["HELD"][5].amount == round_minor(D("7.77"), currency)
    # quantity commitments, by hand: the year's 2,401.77 units of 5,000 committed at graduated bands in
    # blocks of 10: 5,000 cost 1,000 x 0.15 + 5.00 + 4,000 x 0.10 = 555.00, 2,410 (whole blocks) cost
    # 150.00 + 5.00 + 1,410 x 0.10 = 296.00: the shortfall's units are worth 259.00; of 3,000 at volume
    # bands: 3,000 x 0.12 - 2,401.77 x 0.12 = 71.7876
    assert fin["QTY"][-1].true_up == round_minor(D("259"), currency) and fin["QTY"][10].true_up == 0
    ops = {code: [expected[cells[("OPS", code, m)]] for m in range(12)] for code in codes}
    assert ops["QVOL"][-1].true_up == round_minor(D("71.7876"), currency) and ops["QTY"][-1].true_up == 0


def test_only_rows_with_an_agreement_hold_the_agreement_steps_and_reading_back_checks_both(tmp_path):
    # FIN has agreements for FEES, QTY, DISC and DIMS, OPS for QVOL and FEES: the other rows leave
    # the agreement steps empty (their Total adds 0), and a planner's copy is refused when a
    # formula of an agreement's row changes or a value is typed into a row without one
    import io

    from openpyxl import load_workbook

    catalogue = valid_catalogue(tmp_path, TERMS_CATALOGUE, "USD")
    plan = terms_view(catalogue, "USD")
    steps, raw = optional_steps(plan), plan_workbook(plan)
    slots = max(1, int(load_workbook(io.BytesIO(raw))["Summary"]["D6"].value))
    columns = working_columns(slots, steps)
    agreement = [columns[step] for step in agreement_steps(slots, steps)]
    assert agreement[0] == columns["Agreement row"] and agreement[-1] == columns["Commitment true-up"]
    wb = load_workbook(io.BytesIO(raw))
    work = wb["Workings"]
    held = {}
    for w in range(WORK_FIRST_ROW, work.max_row + 1):
        key = (work[f"A{w}"].value, work[f"B{w}"].value)
        filled = [c for c in agreement if work[f"{c}{w}"].value not in (None, "")]
        held.setdefault(key, set()).update(filled)
        assert str(work[f"{columns['Total']}{w}"].value).startswith("=")
    with_steps = {key for key, filled in held.items() if filled}
    assert with_steps == {("FIN", "FEES"), ("FIN", "QTY"), ("FIN", "DISC"), ("FIN", "DIMS"), ("OPS", "QVOL"), ("OPS", "FEES")}
    assert held[("FIN", "QTY")] == set(agreement)  # the quantity commitment's steps on its December row
    read, problems = read_plan_workbook(raw, "plan.xlsx")
    assert problems == [] and read is not None

    def row_of(line: str, service: str, month: int) -> int:
        return next(w for w in range(WORK_FIRST_ROW, work.max_row + 1) if (work[f"A{w}"].value, work[f"B{w}"].value,
                                                                            work[f"E{w}"].value) == (line, service, month))

    def refused(cell: str, value) -> list[str]:
        edited = load_workbook(io.BytesIO(raw))
        edited["Workings"][cell] = value
        out = io.BytesIO()
        edited.save(out)
        read, problems = read_plan_workbook(out.getvalue(), "plan.xlsx")
        assert read is None
        return [f"{p.source.location}: {p.message}" for p in problems]

    plain = row_of("OPS", "QTY", 3)
    assert refused(f"{columns['Discount']}{plain}", -40) == [
        f"Workings!{columns['Discount']}{plain}: this agreement step holds '-40', but OPS has no agreement for QTY: "
        "the cell is empty in the plan"]
    december = row_of("OPS", "DISC", 12)
    assert refused(f"{columns['Commitment true-up']}{december}", "=100") == [
        f"Workings!{columns['Commitment true-up']}{december}: this agreement step holds '=100', but OPS has no agreement "
        "for DISC: the cell is empty in the plan"]
    agreed = row_of("FIN", "FEES", 5)
    cell = f"{columns['Discount']}{agreed}"
    assert refused(cell, "=0") == [f"Workings!{cell}: the formula in this cell was changed"]
    true_up = f"{columns['Commitment true-up']}{row_of('FIN', 'FEES', 12)}"
    assert refused(true_up, 0) == [f"Workings!{true_up}: the formula in this cell was replaced by '0'"]


VALUES_CATALOGUE = """\
units:
  - {code: u, name: units}
services:
  - {code: DIMS, name: By region, unit: u, kind: it, owner: IT, default_tier: t, dimension: region,
     tiers: [{code: t, name: T, funding_level: standard}]}
  - {code: HELD, name: By region held, unit: u, kind: it, owner: IT, default_tier: t, dimension: region,
     tiers: [{code: t, name: T, funding_level: standard}]}
tariffs:
  - service: DIMS
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: volume
        monthly_fee: "12.5"
        minimum_charge: "40"
        unknown: default
        bands: [{up_to: 100, unit_price: "0.4"}, {unit_price: "0.2"}]
        by_value:
          eu-west: {bands: [{up_to: 100, unit_price: "0.3"}, {unit_price: "0.1"}]}
          us-east: {model: graduated, block_size: 25, bands: [{up_to: 100, unit_price: "0.35", flat_fee: "3"}, {unit_price: "0.15"}]}
        fees:
          - {name: Region licence, amount: "90", every: quarterly, billing: in_advance}
  - service: HELD
    version: "1"
    effective_from: 2026-01-01
    currency: CUR
    tiers:
      t:
        model: per_unit
        monthly_fee: "7.77"
        minimum_charge: "20"
        unknown: quarantine
        by_value:
          eu-west: {unit_price: "0.3"}
agreements:
  - {business_line: FIN, service: DIMS, fiscal_year: 2027, discount: {percent: 5}, commitment: {amount: "1500"}}
  - {business_line: FIN, service: HELD, fiscal_year: 2027, discount: {amount: "5", applies: before_minimum}}
"""
#: per service, the volume naming no region and each region's (ap-south is listed by neither price)
REGION_VOLUMES = {
    "": tuple(D(v) for v in ("0", "5", "0", "40", "0", "0", "12.5", "0", "0", "3", "0", "0")),
    "ap-south": tuple(D(v) for v in ("30", "0", "7", "0", "100", "0", "0", "0", "1", "0", "0", "0")),
    "eu-west": tuple(D(v) for v in ("150", "99.99", "100", "100.01", "0", "250", "1", "0", "0", "80", "0", "10")),
    "us-east": tuple(D(v) for v in ("80", "101", "0", "25", "100", "125.5", "0", "0", "0", "24.99", "0", "1")),
}


@pytest.mark.libreoffice
@pytest.mark.parametrize("currency", ["USD", "JPY", "BHD"])
def test_libreoffice_prices_each_dimension_value_at_its_own_price_as_the_engine_does(tmp_path, currency):
    # FIN plans DIMS and HELD per region: each region's row is priced at its value's price (us-east:
    # graduated bands sold in blocks of 25), ap-south (listed by neither) at DIMS's default price and
    # held under HELD's `unknown: quarantine`, the volume naming no region likewise; the tier's fee,
    # minimum, quarterly fee, discount and commitment once per month over every region. Each Plan
    # cell, recalculated by LibreOffice from the Workings, is the engine's month (plan_year with the
    # regions' volumes: rating's own price_by_value) to the minor unit.
    catalogue = valid_catalogue(tmp_path, VALUES_CATALOGUE, currency)
    codes = [s.code for s in catalogue.services]
    rates, bands = rate_card(catalogue, codes, MONTHS, currency, 1)
    assert {r.key for r in rates} >= {"DIMS|1|t|eu-west", "DIMS|1|t|us-east", "HELD|1|t|eu-west"}
    zeros = (D(0),) * 12
    services = tuple(
        PlanService(service=code, service_name=code, unit="u", tier="t", versions=("1",) * 12, volumes=volumes,
                    forecast_volumes=volumes, forecast_amounts=zeros, budget_amounts=(None,) * 12, history_volumes=zeros,
                    history_amounts=zeros, value=value)
        for code in codes for value, volumes in REGION_VOLUMES.items())
    plan = PlanView(fiscal_year=2027, months=MONTHS, history_months=MONTHS, actual_through=None, currency=currency,
                    rates=tuple(rates), bands=tuple(bands), tiers=tuple((c, ("t",)) for c in codes),
                    sheets=(PlanSheet(business_line="FIN", name="FIN", services=services),),
                    agreements=tuple(agreement_rows(catalogue, 2027, {("FIN", c) for c in codes})))
    assert optional_steps(plan) == Steps(fees=True, agreements=True, by_value=True, values=True)
    path = tmp_path / f"values-{currency}.xlsx"
    path.write_bytes(plan_workbook(plan))
    expected, cells = {}, {}
    for i, code in enumerate(codes):
        parts = [tuple((v, REGION_VOLUMES[v][m]) for v in REGION_VOLUMES if v) for m in range(12)]
        totals = [sum((q for _v, q in parts[m]), REGION_VOLUMES[""][m]) for m in range(12)]
        year = plan_year(catalogue, "FIN", code, "t", MONTHS, [catalogue.tariffs[i]] * 12, totals, 1, currency, values=parts)
        row = DRIVER_FIRST_ROW + i * len(REGION_VOLUMES)  # the service's own row; its regions' rows below it
        for m in range(12):
            cells[(code, m)] = f"Drivers!{block_column('plan', m)}{row}"
            expected[cells[(code, m)]] = year[m]
    # the workbook reads back as the same drivers, and the budget it loads is the engine's figures
    read, problems = read_plan_workbook(path.read_bytes(), path.name)
    assert problems == [] and [d.value for d in read.drivers] == [v for _c in codes for v in REGION_VOLUMES]
    entries, problems = budget_from_plan(read, catalogue=catalogue, business_lines={"FIN"})
    assert problems == [] and {e.source.location: e.amount for e in entries} == {c: m.amount for c, m in expected.items()}
    [recalculated] = recalculate([path], tmp_path / "recalculated")
    figures = cell_values(recalculated, expected)
    wrong = {cell: (figures[cell], month) for cell, month in expected.items()
             if abs(figures[cell] - month.amount) >= D("0.000001")}
    assert wrong == {}
    dims = [expected[cells[("DIMS", m)]] for m in range(12)]
    held = [expected[cells[("HELD", m)]] for m in range(12)]
    # by hand, DIMS in January: eu-west 150 at volume bands 150 x 0.1 = 15.00; us-east 80 in blocks of
    # 25 = 100: 100 x 0.35 + 3.00 = 38.00; ap-south 30 at the default 30 x 0.4 = 12.00; terms 12.50 (the
    # minimum 40.00 is met); the quarter's licence 90.00; 5 % off 77.50 = -3.875
    assert dims[0].usage == round_minor(D("15") + D("38") + D("12") + D("12.5"), currency)
    assert dims[0].fees == round_minor(D("90"), currency) and dims[0].discount == -round_minor(D("3.875"), currency)
    assert dims[-1].true_up > 0  # the year falls short of 1,500.00
    # HELD in January: eu-west 150 x 0.3 = 45.00; ap-south and the unnamed volume held; terms 7.77
    assert held[0].usage == round_minor(D("45") + D("7.77"), currency)
    # May: nothing priced (ap-south's 100 held): the fee 7.77 topped up to the minimum 20.00, which the
    # fixed discount before the minimum leaves as it is
    assert held[4].usage == round_minor(D("20"), currency) and held[4].discount == 0
