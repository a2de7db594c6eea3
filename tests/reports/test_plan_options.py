"""Every pricing option the plan workbook prices, recalculated by LibreOffice from its cost
workings and compared with the engine's own pricing (``tariffs.pricing.price_usage``, rounded
once by ``round_minor``) to the cent, month by month, on quantities chosen to sit on and around
band edges, block boundaries and the included quantity."""

from decimal import Decimal as D

import pytest

from billing.core.money import round_minor
from billing.planning.workbook import PlanService, PlanSheet, PlanView, RateRow, price_bands
from reports.plan_xlsx import SECTIONS, plan_workbook, section_rows
from tariffs.model import Band, BandEdges, FeeAtZero, PricingModel, TierPrice
from tariffs.pricing import price_usage
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
    plan_row = section_rows([key for key, _t, _k in SECTIONS].index("plan"), len(PRICES))[2]
    cells = {f"FIN!{c}{plan_row + i}": (price, VOLUMES[m])
             for i, price in enumerate(PRICES.values()) for m, c in enumerate("CDEFGHIJKLMN")}
    [recalculated] = recalculate([path], tmp_path / "recalculated")
    figures = cell_values(recalculated, cells)
    wrong = {cell: (figures[cell], engine(price, volume, currency)) for cell, (price, volume) in cells.items()
             if abs(figures[cell] - engine(price, volume, currency)) >= D("0.000001")}
    assert wrong == {}
    # the options do change the figures: a started block, the exclusive edge, the fee at zero
    assert engine(PRICES["BLOCKS"], D(101), currency) == engine(PRICES["BLOCKS"], D(150), currency)
    assert engine(PRICES["EXCLUSIVE"], D(100), currency) != engine(PRICES["GRADUATED"], D(100), currency)
    assert engine(PRICES["AT_ZERO"], D(0), currency) == D(10)
